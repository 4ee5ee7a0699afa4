import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';

/**
 * A folder of generated files made into a cdktf asset: synth copies it beside the stack's
 * Terraform JSON (`assets/<id>/<hash>/`), so `terraform apply` finds it wherever it runs from.
 * The files are written to a fresh temporary folder first because assets are copied from disk.
 */
export function stagedAsset(scope: Construct, id: string, files: ReadonlyMap<string, string | Buffer>): TerraformAsset {
  const folder = mkdtempSync(join(tmpdir(), 'fabric-airflow-'));
  for (const [relativePath, content] of files) {
    const target = join(folder, ...relativePath.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return new TerraformAsset(scope, id, { path: folder, type: AssetType.DIRECTORY });
}
