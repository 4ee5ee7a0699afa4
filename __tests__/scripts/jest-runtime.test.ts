/**
 * jest.runtime.js, the unit and slow suites' jest runtime: an installed package's file is read once per
 * worker (jest's own runtime reads it again for every test file), everything else as jest reads it,
 * and each test file still evaluates its modules afresh. The runtimes here are the class's methods on
 * the state jest's runtime keeps per test file (its two file caches and its config), one per "test file".
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Runtime from 'jest-runtime';

const REPO = join(__dirname, '..', '..');
const SharedPackageSourcesRuntime = require('../../jest.runtime.js') as typeof Runtime;

type FileReader = { readFile(path: string): string; wrapCodeInModuleWrapper(code: string): string };

/** A runtime's per-test-file state, as jest's runtime has it, with the class's methods. */
function runtimeOf(RuntimeClass: typeof Runtime, injectGlobals = true): FileReader {
  return Object.assign(Object.create(RuntimeClass.prototype), {
    _cacheFS: new Map<string, string>(),
    _cacheFSBuffer: new Map<string, Buffer>(),
    _config: { injectGlobals, sandboxInjectedGlobals: [] },
  }) as FileReader;
}

describe('jest.runtime.js', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'adm-jest-runtime-'));
    mkdirSync(join(folder, 'node_modules', 'pkg'), { recursive: true });
    mkdirSync(join(folder, 'lib'), { recursive: true });
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('is the runtime of the unit suite (and so of the slow suite, which extends its config)', () => {
    const { runtime, rootDir } = { rootDir: REPO, ...require('../../jest.config.js') };
    expect(runtime.replace('<rootDir>', rootDir)).toBe(join(REPO, 'jest.runtime.js'));
  });

  it("reads an installed package's file once for every test file of a worker", () => {
    const path = join(folder, 'node_modules', 'pkg', 'index.js');
    writeFileSync(path, 'exports.version = 1;\n');
    expect(runtimeOf(SharedPackageSourcesRuntime).readFile(path)).toBe('exports.version = 1;\n');
    writeFileSync(path, 'exports.version = 2;\n');
    // The next test file's runtime: the text already read (jest's own runtime reads the file again).
    expect(runtimeOf(SharedPackageSourcesRuntime).readFile(path)).toBe('exports.version = 1;\n');
    expect(runtimeOf(Runtime).readFile(path)).toBe('exports.version = 2;\n');
  });

  it("reads the library's and the tests' files again for each test file, as jest does", () => {
    const path = join(folder, 'lib', 'index.js');
    writeFileSync(path, 'exports.version = 1;\n');
    expect(runtimeOf(SharedPackageSourcesRuntime).readFile(path)).toBe('exports.version = 1;\n');
    writeFileSync(path, 'exports.version = 2;\n');
    expect(runtimeOf(SharedPackageSourcesRuntime).readFile(path)).toBe('exports.version = 2;\n');
  });

  it('wraps code as jest does, for each wrapper (with and without the injected jest global)', () => {
    const path = join(folder, 'node_modules', 'pkg', 'wrapped.js');
    writeFileSync(path, 'exports.wrapped = true;\n');
    for (const injectGlobals of [true, false]) {
      const text = runtimeOf(SharedPackageSourcesRuntime, injectGlobals).readFile(path);
      for (const code of [text, 'exports.other = 1;\n']) {
        expect(runtimeOf(SharedPackageSourcesRuntime, injectGlobals).wrapCodeInModuleWrapper(code)).toBe(
          runtimeOf(Runtime, injectGlobals).wrapCodeInModuleWrapper(code),
        );
      }
    }
    expect(runtimeOf(SharedPackageSourcesRuntime, true).wrapCodeInModuleWrapper('x')).toMatch(/,jest\)\{x\n\}\}\);$/);
    expect(runtimeOf(SharedPackageSourcesRuntime, false).wrapCodeInModuleWrapper('x')).toMatch(/__filename\)\{x\n\}\}\);$/);
  });

  it('leaves module instances to each test file: a module registry of its own evaluates an installed module again', () => {
    const mine = require('cdktf/lib/tokens/private/stack-trace');
    let isolated: unknown;
    jest.isolateModules(() => {
      isolated = require('cdktf/lib/tokens/private/stack-trace');
    });
    expect(isolated).not.toBe(mine);
    expect(Object.keys(isolated as object)).toEqual(Object.keys(mine));
  });
});
