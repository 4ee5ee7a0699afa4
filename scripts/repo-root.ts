/** The repository root, whether a script runs from `scripts/` (jest) or compiled from `dist/scripts/`. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function repoRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
