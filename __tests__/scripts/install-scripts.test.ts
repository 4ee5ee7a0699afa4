/**
 * npm 11 ends every `npm ci` with a warning per dependency whose install script package.json's
 * `allowScripts` does not cover ("install scripts not yet covered by allowScripts"), and a later npm
 * blocks those scripts. Each locked package with one has a reviewed entry, so `npm ci` of the README's
 * first command stays quiet and runs them as it always did (esbuild's puts its native binary in place;
 * node-pty's, for cdktf-cli, checks its prebuilt binary and builds one where none fits).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));

type LockedPackages = Record<string, { version?: string; hasInstallScript?: boolean }>;

/** The locked packages with an install script (name@version) that no `allowScripts` entry names, by name or name@version. */
function unreviewedInstallScripts(packages: LockedPackages, allowScripts: Record<string, boolean> = {}): string[] {
  return Object.entries(packages)
    .filter(([, locked]) => locked.hasInstallScript)
    .map(([path, locked]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: locked.version }))
    .filter(({ name, version }) => !(name in allowScripts) && !(`${name}@${version}` in allowScripts))
    .map(({ name, version }) => `${name}@${version}`);
}

describe("package.json's allowScripts", () => {
  test('reviews every locked package with an install script', () => {
    expect(unreviewedInstallScripts(readJson('package-lock.json').packages, readJson('package.json').allowScripts)).toEqual([]);
  });

  test('a new package with an install script, or an entry for another version, is seen', () => {
    const packages: LockedPackages = {
      'node_modules/esbuild': { version: '0.28.2', hasInstallScript: true },
      'node_modules/cdktf-cli/node_modules/@cdktf/node-pty-prebuilt-multiarch': { version: '0.10.2', hasInstallScript: true },
      'node_modules/zod': { version: '4.1.0' },
    };
    expect(unreviewedInstallScripts(packages, { esbuild: true, '@cdktf/node-pty-prebuilt-multiarch@0.10.2': true })).toEqual([]);
    expect(unreviewedInstallScripts(packages, { 'esbuild@0.27.0': true })).toEqual(['esbuild@0.28.2', '@cdktf/node-pty-prebuilt-multiarch@0.10.2']);
  });
});
