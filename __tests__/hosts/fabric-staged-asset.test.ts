import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { removeStagedFolders, stagedAsset } from '../../lib/private/fabric/staged-asset';

// Every synth of a Fabric stack stages its generated files in the temporary folder before cdktf
// copies them beside the stack; left there, each `cdktf synth`/`deploy` and CI run adds a folder.
describe('stagedAsset', () => {
  it('copies the files beside the stack, and its staging folder is removed when the process exits', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'staged-asset-test-'));
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'fabric');
      const asset = stagedAsset(stack, 'Files', new Map([['dags/a.py', 'print(1)\n']]));
      const staging = (asset as unknown as { sourcePath: string }).sourcePath;
      app.synth();
      expect(readFileSync(join(outdir, 'stacks', 'fabric', asset.path, 'dags', 'a.py'), 'utf8')).toBe('print(1)\n');
      expect(existsSync(staging)).toBe(true);
      expect(process.listeners('exit')).toContain(removeStagedFolders);
      removeStagedFolders();
      expect(existsSync(staging)).toBe(false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
