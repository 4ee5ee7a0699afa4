import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';

const stagedFolders = new Set<string>();

/**
 * Removes the folders {@link stagedAsset} wrote, once the process ends: cdktf copies an asset only
 * when the app synthesizes, after the constructs are built, so nothing earlier knows it is no longer
 * needed. Without it every synth of a Fabric stack (each `cdktf synth`/`deploy`, each CI run) left
 * a folder in the temporary directory.
 */
export function removeStagedFolders(): void {
  for (const folder of stagedFolders) rmSync(folder, { recursive: true, force: true });
  stagedFolders.clear();
}

/**
 * A folder of generated files made into a cdktf asset: synth copies it beside the stack's
 * Terraform JSON (`assets/<id>/<hash>/`), so `terraform apply` finds it wherever it runs from.
 * The files are written to a fresh temporary folder first because assets are copied from disk;
 * that folder goes when the process exits.
 */
export function stagedAsset(scope: Construct, id: string, files: ReadonlyMap<string, string | Buffer>): TerraformAsset {
  const folder = mkdtempSync(join(tmpdir(), 'fabric-airflow-'));
  if (!process.listeners('exit').includes(removeStagedFolders)) process.on('exit', removeStagedFolders);
  stagedFolders.add(folder);
  for (const [relativePath, content] of files) {
    const target = join(folder, ...relativePath.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return new TerraformAsset(scope, id, { path: folder, type: AssetType.DIRECTORY });
}
