/**
 * `npm run build`'s TypeScript step rebuilds an output deleted since the last build. tsc's incremental
 * build alone leaves it missing (it decides from dist/.tsbuildinfo, not from the outputs:
 * microsoft/TypeScript#30602); scripts/tsc-outputs.cjs removes the info file first when an output it
 * lists is missing. The builds here are real: the build script's commands before the app bundle, as
 * package.json has them, run with the repository's tsc on a small project of their own (a module, one
 * in a subfolder, a JSON module), whose scripts/ is the repository's.
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { expectedOutputs, removeUnlessOutputsExist } from '../../scripts/tsc-outputs.cjs';

const REPO = join(__dirname, '..', '..');
const TSC = require.resolve('typescript/bin/tsc');
const INFO = join('dist', '.tsbuildinfo');
const CONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'commonjs',
    lib: ['ES2022'],
    types: [],
    strict: true,
    declaration: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    outDir: 'dist',
    rootDir: '.',
    sourceMap: false,
    incremental: true,
    tsBuildInfoFile: 'dist/.tsbuildinfo',
  },
  include: ['lib/**/*.ts'],
};

/** package.json's build commands up to the app bundle's (the TypeScript step). */
function typescriptSteps(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const commands = scripts.build.split(' && ');
  const bundle = commands.findIndex((command) => command.includes('build-app.mjs'));
  expect(bundle).toBeGreaterThan(0);
  expect(commands.slice(0, bundle)).toContain('tsc -p tsconfig.build.json');
  return commands.slice(0, bundle);
}

describe("the build's TypeScript step restores a deleted output", () => {
  let project: string;
  const at = (...names: string[]) => join(project, ...names);
  const build = () => {
    for (const command of typescriptSteps()) {
      execSync(command, {
        cwd: project,
        env: { ...process.env, PATH: `${join(REPO, 'node_modules', '.bin')}${delimiter}${process.env.PATH}` },
        stdio: 'pipe',
      });
    }
  };

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'adm-tsc-outputs-'));
    mkdirSync(at('lib', 'sub'), { recursive: true });
    writeFileSync(at('tsconfig.build.json'), JSON.stringify(CONFIG));
    writeFileSync(at('lib', 'data.json'), '{ "answer": 42 }\n');
    writeFileSync(at('lib', 'sub', 'thing.ts'), 'export const thing = 2;\n');
    writeFileSync(at('lib', 'index.ts'), "import data from './data.json';\nexport { thing } from './sub/thing';\nexport const answer: number = data.answer;\n");
    symlinkSync(join(REPO, 'scripts'), at('scripts'), 'dir');
  });

  afterAll(() => {
    if (!project) return;
    unlinkSync(at('scripts'));
    rmSync(project, { recursive: true, force: true });
  });

  test('the info file lists exactly the outputs tsc wrote', () => {
    const emitted = execFileSync(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--listEmittedFiles'], { cwd: project, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.startsWith('TSFILE: '))
      .map((line) => line.slice('TSFILE: '.length))
      .filter((path) => path !== at(INFO));
    expect(emitted).toHaveLength(5);
    expect(expectedOutputs(at(INFO)).sort()).toEqual(emitted.sort());
  });

  test.each([['dist/lib/index.js'], ['dist/lib/sub/thing.d.ts'], ['dist/lib/data.json']])('%s deleted: the build writes it again', (output) => {
    build();
    const before = readFileSync(at(output), 'utf8');
    rmSync(at(output));
    build();
    expect(readFileSync(at(output), 'utf8')).toBe(before);
    expect(existsSync(at(INFO))).toBe(true);
  });

  test('with nothing changed, the info file and the outputs are left as they are (the build stays incremental)', () => {
    build();
    const times = [INFO, 'dist/lib/index.js', 'dist/lib/sub/thing.js'].map((path) => statSync(at(path)).mtimeMs);
    expect(removeUnlessOutputsExist(at(INFO))).toBeUndefined();
    build();
    expect([INFO, 'dist/lib/index.js', 'dist/lib/sub/thing.js'].map((path) => statSync(at(path)).mtimeMs)).toEqual(times);
  });

  test('an info file it cannot read is removed, and the build that follows is a full one', () => {
    build();
    writeFileSync(at(INFO), '{"version":"9.9"}');
    rmSync(at('dist', 'lib', 'index.d.ts'));
    expect(removeUnlessOutputsExist(at(INFO))).toMatch(/could not be read/);
    expect(existsSync(at(INFO))).toBe(false);
    build();
    expect(existsSync(at('dist', 'lib', 'index.d.ts'))).toBe(true);
  });
});
