import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { STAGED_ASSETS_FOLDER, stagedAsset } from '../../lib/private/fabric/staged-asset';
import { temporaryFolder } from '../helpers/temporary-folder';

// Every synth of a Fabric stack stages its generated files before cdktf copies them beside the stack. Staged in the
// temporary directory, each synth left a folder there where the process's exit handler never ran (a consumer's jest
// worker): they are staged inside the app's output folder instead.
describe('stagedAsset', () => {
  function synthesized(outdir: string, files: Map<string, string>) {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'fabric');
    const asset = stagedAsset(stack, 'Files', files);
    app.synth();
    return { asset, beside: join(outdir, 'stacks', 'fabric', asset.path) };
  }

  it('copies the files beside the stack, staged inside the output folder, nothing in the temporary directory', () => {
    const temporary = temporaryFolder('staged-asset-test-');
    const outdir = join(temporary, 'cdktf.out');
    const tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = mkdtempSync(join(temporary, 'tmp-')); // os.tmpdir() reads it: where the old staging went
    try {
      const { beside } = synthesized(outdir, new Map([['dags/a.py', 'print(1)\n']]));

      expect(readFileSync(join(beside, 'dags', 'a.py'), 'utf8')).toBe('print(1)\n');
      expect(readdirSync(process.env.TMPDIR)).toEqual([]);
      const [staged] = readdirSync(join(outdir, STAGED_ASSETS_FOLDER));
      expect(readFileSync(join(outdir, STAGED_ASSETS_FOLDER, staged, 'dags', 'a.py'), 'utf8')).toBe('print(1)\n');
    } finally {
      process.env.TMPDIR = tmpdirBefore;
    }
  });

  it('stages afresh at each synth: a file an earlier synth staged is not copied again', () => {
    const outdir = join(temporaryFolder('staged-asset-test-'), 'cdktf.out');
    synthesized(outdir, new Map([['dags/a.py', 'print(1)\n'], ['dags/gone.py', 'print(2)\n']]));

    const { beside } = synthesized(outdir, new Map([['dags/a.py', 'print(1)\n']]));

    expect(readdirSync(join(beside, 'dags'))).toEqual(['a.py']);
    expect(existsSync(join(outdir, STAGED_ASSETS_FOLDER))).toBe(true);
  });
});
