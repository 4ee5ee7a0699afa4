import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { sqlPipelinesStack } from '../helpers/sql-pipelines-stack';

/**
 * `terraform validate` with the real providers of the offline mirror judges the synthesized
 * construct. Runs when TF_CLI_CONFIG_FILE points at the mirror's CLI config
 * (`/work/shared/terraform-providers/install.sh`) that exists, otherwise it is skipped.
 */
const mirror = process.env.TF_CLI_CONFIG_FILE;
const withMirror = mirror && existsSync(mirror) ? it : it.skip;

describe('SqlPipelines with the real azurerm provider', () => {
  withMirror(
    'passes terraform validate',
    () => {
      const { stack } = sqlPipelinesStack();
      const folder = join(Testing.fullSynth(stack), 'stacks', stack.node.id);
      const run = (...args: string[]) => execFileSync('terraform', args, { cwd: folder, encoding: 'utf8', env: process.env });
      run('init', '-backend=false', '-input=false', '-no-color');
      const result = JSON.parse(run('validate', '-json', '-no-color'));
      expect(result.diagnostics).toEqual([]);
      expect(result.valid).toBe(true);
    },
    180_000,
  );
});
