import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { App, AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';

/** Where {@link stagedAsset} writes, inside the app's output folder (`cdktf.out`). */
export const STAGED_ASSETS_FOLDER = '.staged-assets';

/**
 * A folder of generated files made into a cdktf asset: synth copies it beside the stack's
 * Terraform JSON (`assets/<id>/<hash>/`), so `terraform apply` finds it wherever it runs from.
 * Assets are copied from disk, so the files are written first to a folder of this construct inside
 * the app's output folder (`<outdir>/.staged-assets/<construct address>`), written afresh at each
 * synth: nothing is left in the temporary directory (it was, once per synth, where an exit
 * handler never ran: in jest workers), and it goes with the output folder.
 */
export function stagedAsset(scope: Construct, id: string, files: ReadonlyMap<string, string | Buffer>): TerraformAsset {
  const folder = join(resolve(App.of(scope).outdir), STAGED_ASSETS_FOLDER, `${scope.node.addr}-${id}`);
  rmSync(folder, { recursive: true, force: true }); // a file an earlier synth staged would be copied too
  mkdirSync(folder, { recursive: true });
  for (const [relativePath, content] of files) {
    const target = join(folder, ...relativePath.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return new TerraformAsset(scope, id, { path: folder, type: AssetType.DIRECTORY });
}
