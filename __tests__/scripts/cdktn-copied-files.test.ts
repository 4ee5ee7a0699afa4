/**
 * scripts/cdktn-test.sh runs the jest suites in a scratch copy of the repository made from its `wanted`
 * pattern: a file the jest configuration names that the pattern leaves out breaks that run only (jest.runtime.js
 * did: "Module <rootDir>/jest.runtime.js in the runtime option was not found"). And its `test_paths` name the
 * test of the token creation stacks, whose CDK Terrain case runs only where the fork is installed; the tests it leaves
 * out of the fork's run (its `fork_neutral_tests`, and the plan's from its type-check) load no cdktf, constructs or
 * provider, so they would prove on the fork only what the unit suite does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
/** The configuration the script's jest runs with, and what it requires. */
const JEST_FILES = ['jest.config.js', 'jest.suites.js'];

/** The script's `wanted` pattern, as bash's `=~` reads it (POSIX ERE, which this one writes as JavaScript reads it). */
function copiedPattern(script: string): RegExp {
  const wanted = /^wanted='([^']+)'$/m.exec(script)?.[1];
  if (wanted === undefined) throw new Error("scripts/cdktn-test.sh has no wanted='...' line");
  return new RegExp(wanted);
}

/** The files (not folders) the jest configuration names under `<rootDir>`, and the configuration's own files. */
function filesJestNeeds(configs: readonly string[]): string[] {
  const named = configs.flatMap((config) => [...config.matchAll(/<rootDir>\/([^'"\s]+\.[cm]?[jt]s)['"]/g)].map((match) => match[1]));
  return [...new Set([...JEST_FILES, ...named])];
}

describe('the files CDK Terrain test copies', () => {
  const script = readFileSync(join(ROOT, 'scripts', 'cdktn-test.sh'), 'utf8');
  const configs = JEST_FILES.map((file) => readFileSync(join(ROOT, file), 'utf8'));

  test('every file the jest configuration names is copied', () => {
    const needed = filesJestNeeds(configs);
    expect(needed).toEqual(expect.arrayContaining(['jest.runtime.js', 'jest.transform.js', '__tests__/setup.ts']));
    expect(needed.filter((file) => !copiedPattern(script).test(file))).toEqual([]);
  });

  test('a file the pattern leaves out is named', () => {
    const without = script.replace('transform|runtime', 'transform');
    expect(filesJestNeeds(configs).filter((file) => !copiedPattern(without).test(file))).toEqual(['jest.runtime.js']);
  });
});

/** The test files and folders the script's jest runs (its `test_paths=(...)` line). */
const testPaths = (script: string): string[] => /^test_paths=\(([^)]*)\)$/m.exec(script)?.[1].split(/\s+/) ?? [];

describe('the tests CDK Terrain test runs', () => {
  const script = readFileSync(join(ROOT, 'scripts', 'cdktn-test.sh'), 'utf8');

  test('include the token creation stacks, whose CDK Terrain case is skipped where the fork is not installed', () => {
    expect(testPaths(script)).toContain('__tests__/scripts/token-creation-stacks.test.ts');
    expect(testPaths(script.replace(' __tests__/scripts/token-creation-stacks.test.ts', ''))).not.toContain('__tests__/scripts/token-creation-stacks.test.ts');
  });
});

/** The test files the script's jest leaves out (its `fork_neutral_tests=(...)` line). */
const forkNeutralTests = (script: string): string[] => /^fork_neutral_tests=\(([^)]*)\)$/m.exec(script)?.[1].split(/\s+/) ?? [];

/**
 * The packages a test file loads, as jest runs it (each file's types stripped by esbuild, imports used only as types
 * dropped): its imports and those of the repository's files it loads, followed; the packages' own not.
 */
function packagesLoadedBy(file: string): string[] {
  const { metafile } = buildSync({ entryPoints: [join(ROOT, file)], bundle: true, write: false, metafile: true, platform: 'node', packages: 'external', logLevel: 'silent' });
  const imports = Object.values(metafile.inputs).flatMap((input) => input.imports);
  return [...new Set(imports.filter((found) => found.external && !/^(\.|node:)/.test(found.path)).map((found) => found.path))].sort();
}
const CDKTF_OR_PROVIDER = /^(cdktf|cdktn|constructs|@cdktf\/|@cdktn\/)/;

describe('the tests CDK Terrain test leaves out', () => {
  const script = readFileSync(join(ROOT, 'scripts', 'cdktn-test.sh'), 'utf8');

  test('are test files of the folders it runs, and load no cdktf, constructs or provider', () => {
    const neutral = forkNeutralTests(script);
    expect(neutral.length).toBeGreaterThan(0);
    for (const file of neutral) {
      expect(testPaths(script).some((path) => file.startsWith(`${path}/`))).toBe(true);
      expect([file, packagesLoadedBy(file).filter((name) => CDKTF_OR_PROVIDER.test(name))]).toEqual([file, []]);
    }
  });

  test("nor do the plan's tests, which its type-check leaves out", () => {
    const planTests = readdirSync(join(ROOT, '__tests__', 'plan')).filter((name) => name.endsWith('.test.ts'));
    expect(planTests.length).toBeGreaterThan(0);
    for (const name of planTests) {
      const file = `__tests__/plan/${name}`;
      expect([file, packagesLoadedBy(file).filter((found) => CDKTF_OR_PROVIDER.test(found))]).toEqual([file, []]);
    }
  });

  test('a test that loads cdktf is seen (planted)', () => {
    expect(packagesLoadedBy('__tests__/constructs/azure-regions.test.ts')).toEqual(expect.arrayContaining(['cdktf']));
  });
});
