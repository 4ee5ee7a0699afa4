/**
 * What `npm pack` ships. The working tree is copied (as a fresh clone would have it, plus the
 * build output and caches a developer's tree accumulates), built with the real build config into
 * that copy, and packed there with `npm pack --dry-run --ignore-scripts`: the repository's own
 * `dist/` is never touched, so this runs beside the other tests and needs no earlier build.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';

const REPO = join(__dirname, '..', '..');
const SCHEMA = 'schema/migration-plan.schema.json';

interface PackedFile {
  readonly path: string;
  readonly size: number;
}

interface PackResult {
  readonly name: string;
  readonly version: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

interface Manifest {
  readonly name: string;
  readonly main?: string;
  readonly types?: string;
  readonly exports?: unknown;
  readonly files?: readonly string[];
  readonly scripts?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

/** Files a fresh clone has (tracked, or new and not ignored), repository-relative with `/`. */
function sourceFiles(): string[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\0')
      .filter((path) => path !== '');
  } catch {
    // Not a git checkout (an unpacked source archive): walk it, skipping what .gitignore lists.
    const skip = new Set(['.git', 'node_modules', 'dist', 'cdktf.out', '__pycache__', '.pytest_cache', 'coverage']);
    listed = readdirSync(REPO, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(REPO, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .filter((path) => !path.split('/').some((part) => skip.has(part) || part.startsWith('.venv')))
      .filter((path) => !path.endsWith('.tgz') && !path.endsWith('.pyc'));
  }
  // Tracked but deleted in the working tree: not there to pack.
  return listed.filter((path) => existsSync(join(REPO, path)) && statSync(join(REPO, path)).isFile()).sort();
}

/** Ignored artefacts of a developer's tree that must never reach the package. */
const DECOYS = [
  'dist/__tests__/package/package-contents.test.js',
  'dist/__tests__/package/package-contents.test.d.ts',
  'dags/migration_orchestration_lib/__pycache__/plan.cpython-311.pyc',
  'dags/tests/__pycache__/conftest.cpython-311-pytest-8.3.4.pyc',
  'dags/.pytest_cache/README.md',
  'cdktf.out/stacks/contoso-sql/cdk.tf.json',
  '.venv/pyvenv.cfg',
  'coverage/lcov.info',
  'platform-azure-db-migration-0.1.0.tgz',
  // The build emits no source maps; a stray one (an older build) must still stay out.
  'dist/lib/index.js.map',
  // The bundled app and its map are the repository's app, not the library.
  'dist/app.js',
  'dist/app.js.map',
  'dist/app-bundle.js',
  'dist/app-bundle.js.map',
  'dist/app-bundle.cache',
];

/** A package that is not relative and not a Node built-in, reduced to its name (`@scope/name`). */
function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function runNpm(args: string[], cwd: string): string {
  const execPath = process.env.npm_execpath;
  const [command, prefix] =
    execPath && /npm-cli\.js$/.test(execPath) ? [process.execPath, [execPath]] : ['npm', [] as string[]];
  return execFileSync(command, [...prefix, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * The repository's documents a text sends its reader to: `docs/<page>.md` and `dags/README.md`
 * (the README's links, an example plan's comment, a construct's error message, the DAG's docstrings).
 */
function documentsNamedIn(text: string): string[] {
  return [...text.matchAll(/\b(?:docs\/[\w.-]+\.md|dags\/README\.md)\b/g)].map((match) => match[0]);
}

/** Every string target of an `exports` map (conditions and subpaths flattened). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

function normalize(path: string): string {
  return posix.normalize(path).replace(/^\.\//, '');
}

describe('npm package contents', () => {
  let staging: string;
  let sources: string[];
  let manifest: Manifest;
  let packed: PackResult;
  let shipped: string[];

  beforeAll(() => {
    sources = sourceFiles();
    manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Manifest;
    staging = mkdtempSync(join(tmpdir(), 'adm-pack-'));
    for (const path of sources) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      cpSync(join(REPO, path), join(staging, path));
    }
    for (const path of DECOYS) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      writeFileSync(join(staging, path), 'decoy: must not be packed\n');
    }
    // The real build (what `prepack` runs), into the copy; node_modules only for the compiler.
    symlinkSync(join(REPO, 'node_modules'), join(staging, 'node_modules'), 'dir');
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: staging,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } finally {
      unlinkSync(join(staging, 'node_modules'));
    }
    const results = JSON.parse(runNpm(['pack', '--dry-run', '--json', '--ignore-scripts'], staging)) as PackResult[];
    packed = results[0];
    shipped = packed.files.map((file) => file.path).sort();
    process.stdout.write(
      `npm pack: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked\n`,
    );
  }, 180_000);

  afterAll(() => {
    if (staging) rmSync(staging, { recursive: true, force: true });
  });

  test('ships the compiled library, its deployment scripts, the DAG package, the plan schema, the examples, the README and the pages it links, nothing else', () => {
    const libraryModules = sources
      .filter((path) => path.startsWith('lib/') && path.endsWith('.ts') && !path.endsWith('.d.ts'))
      .map((path) => `dist/${path.slice(0, -'.ts'.length)}`);
    const dagPackage = sources.filter(
      (path) =>
        path === 'dags/migration_orchestration.py' ||
        // The DAG folder's .airflowignore as the hosts deploy it (not the repository's own).
        path === 'dags/deployed.airflowignore' ||
        // The runtime requirements per Airflow: 3.1 or later, Fabric's 2.10.5, Data Factory's 2.6.3 on Python 3.8.
        /^dags\/requirements(-fabric|-data-factory)?\.txt$/.test(path) ||
        (path.startsWith('dags/migration_orchestration_lib/') && path.endsWith('.py') && !path.split('/').includes('tests')) ||
        /^dags\/migration_orchestration_lib\/contracts\/[^/]+\.json$/.test(path),
    );
    const expected = [
      'package.json',
      ...sources.filter((path) => /^(README|LICEN[CS]E)(\.[a-z]+)?$/i.test(path)),
      ...libraryModules.flatMap((module) => [`${module}.js`, `${module}.d.ts`]),
      // The data the library imports, which the compiler writes beside its modules.
      ...sources.filter((path) => path.startsWith('lib/') && path.endsWith('.json')).map((path) => `dist/${path}`),
      ...dagPackage,
      ...sources.filter((path) => path.startsWith('examples/')),
      // The pages the README, the examples and the library's messages send a reader to: the DAG's README and every page of docs/.
      ...sources.filter((path) => path === 'dags/README.md' || /^docs\/[^/]+\.md$/.test(path)),
      ...sources.filter((path) => path === SCHEMA),
      // Scripts a deployment step runs with plain Node (the Fabric DAG uploader), shipped as source.
      ...sources.filter((path) => path.startsWith('lib/') && path.endsWith('.mjs')),
    ].sort();

    expect(libraryModules).toContain('dist/lib/index');
    expect(dagPackage).toContain('dags/migration_orchestration_lib/__init__.py');
    expect(dagPackage).toContain('dags/migration_orchestration_lib/contracts/migration_events.json');
    expect(shipped).toEqual(expected);
  });

  test('ships no tests, caches, source maps, app entry point, CI files, scripts or build leftovers', () => {
    const forbidden = [
      /^__tests__\//,
      /^dist\/__tests__\//,
      /^dist\/main\./,
      /\.map$/,
      /(^|\/)__pycache__\//,
      /\.pyc$/,
      /(^|\/)\.pytest_cache\//,
      /^dags\/tests\//,
      /^dags\/(pytest\.ini|run-tests\.sh|requirements-airflow\d+\.txt|conftest\.py)$/,
      /^cdktf\.out\//,
      /^\.ci\//,
      /^scripts\//,
      /^bench\//,
      /^coverage\//,
      /^\.venv/,
      /^node_modules\//,
      /^(lib|main)\b.*\.ts$/,
      /^(tsconfig.*|jest\.config\.js|eslint\.config\.mjs|cdktf\.json|package-lock\.json|\.gitignore)$/,
      /\.tgz$/,
    ];
    const offenders = shipped.filter((path) => forbidden.some((pattern) => pattern.test(path)));
    expect(offenders).toEqual([]);
    // The decoys were really there to be picked up.
    for (const decoy of DECOYS) expect(existsSync(join(staging, decoy))).toBe(true);
    expect(existsSync(join(staging, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(staging, 'dist', 'lib', 'index.js.map'))).toBe(true);
  });

  test('every page of the repository that a shipped file names is shipped (a consumer has only node_modules)', () => {
    const missing = new Set<string>();
    for (const file of shipped.filter((path) => /\.(md|ya?ml|json|js|mjs|py)$/.test(path))) {
      for (const page of documentsNamedIn(readFileSync(join(staging, file), 'utf8'))) {
        if (sources.includes(page) && !shipped.includes(page)) missing.add(`${page}, named in ${file}`);
      }
    }
    expect([...missing].sort()).toEqual([]);
  });

  test('the plan JSON Schema is shipped as soon as it exists', () => {
    expect(manifest.files).toContain(SCHEMA);
    if (existsSync(join(REPO, SCHEMA))) {
      expect(shipped).toContain(SCHEMA);
      expect(() => JSON.parse(readFileSync(join(REPO, SCHEMA), 'utf8'))).not.toThrow();
    }
  });

  test('main, types and every export target are in the package', () => {
    expect(manifest.main).toBe('dist/lib/index.js');
    expect(manifest.types).toBe('dist/lib/index.d.ts');
    expect(manifest.exports).toMatchObject({
      '.': { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' },
      './package.json': './package.json',
    });
    // `types` must come first: TypeScript and Node take the first condition that matches.
    expect(Object.keys((manifest.exports as Record<string, object>)['.'])[0]).toBe('types');
    const targets = [manifest.main!, manifest.types!, ...exportTargets(manifest.exports)].map(normalize);
    // The schema is generated by another part of the build; until it exists, its export waits for it.
    const pending = existsSync(join(REPO, SCHEMA)) ? [] : [SCHEMA];
    const missing = targets.filter((target) => !shipped.includes(target) && !pending.includes(target));
    expect(missing).toEqual([]);
  });

  test('the compiled library requires only its dependencies, its peers, Node built-ins and shipped files', () => {
    const allowed = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const problems: string[] = [];
    for (const file of shipped.filter((path) => path.endsWith('.js'))) {
      const code = readFileSync(join(staging, file), 'utf8');
      for (const [, specifier] of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        if (specifier.startsWith('.')) {
          const target = posix.join(posix.dirname(file), specifier);
          const candidates = [target, `${target}.js`, `${target}.json`, `${target}/index.js`];
          if (!candidates.some((candidate) => shipped.includes(candidate))) {
            problems.push(`${file}: require("${specifier}") is not in the package`);
          }
          continue;
        }
        const name = packageNameOf(specifier);
        if (name && !allowed.has(name)) problems.push(`${file}: require("${specifier}") is not a dependency or peer`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('cdktf, constructs and the azurerm provider are peers; yaml and zod are dependencies; the own build is pinned', () => {
    const peers = manifest.peerDependencies ?? {};
    const dependencies = manifest.dependencies ?? {};
    const dev = manifest.devDependencies ?? {};
    for (const peer of ['cdktf', 'constructs', '@cdktf/provider-azurerm']) {
      expect(peers[peer]).toBeDefined();
      expect(dependencies[peer]).toBeUndefined();
      expect(dev[peer]).toBeDefined();
    }
    expect(Object.keys(dependencies).sort()).toEqual(['yaml', 'zod']);
    expect(dev.cdktf).toMatch(/^\d+\.\d+\.\d+$/);
    expect(dev['@cdktf/provider-azurerm']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.scripts?.prepack).toMatch(/npm run build/);
  });
});
