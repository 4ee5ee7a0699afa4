import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AIRFLOWIGNORE_BLOB_NAME,
  BUNDLE_MANIFEST_BLOB_NAME,
  DAG_BLOB_NAME,
  loadDagBundle,
  parseRequirements,
  PLAN_BLOB_NAME,
  PLAN_SCHEMA_BLOB_NAME,
} from '../../lib/private/dag-bundle-loader';
import { findPackageRoot } from '../../lib/private/package-root';

describe('DAG bundle', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dag-bundle-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function writeTree(base: string, packageName: string): void {
    mkdirSync(join(base, 'dags', 'migration_orchestration_lib', '__pycache__'), { recursive: true });
    mkdirSync(join(base, 'dags', 'tests'), { recursive: true });
    writeFileSync(join(base, 'package.json'), JSON.stringify({ name: packageName }));
    writeFileSync(join(base, 'dags', 'migration_orchestration.py'), 'dag = None\n');
    writeFileSync(join(base, 'dags', 'migration_orchestration_lib', '__init__.py'), '');
    writeFileSync(join(base, 'dags', 'migration_orchestration_lib', 'plan.py'), 'PLAN = 1\n');
    mkdirSync(join(base, 'dags', 'migration_orchestration_lib', 'contracts'), { recursive: true });
    writeFileSync(join(base, 'dags', 'migration_orchestration_lib', 'contracts', 'events.json'), '{}\n');
    writeFileSync(join(base, 'dags', 'migration_orchestration_lib', '__pycache__', 'plan.cpython-311.pyc'), 'x');
    writeFileSync(join(base, 'dags', 'tests', 'test_plan.py'), 'def test(): pass\n');
    writeFileSync(join(base, 'dags', 'deployed.airflowignore'), 'migration_orchestration_lib/\n');
    writeFileSync(join(base, 'dags', '.airflowignore'), 'tests/\n');
    writeFileSync(join(base, 'dags', 'requirements.txt'), '# comment\nazure-identity==1.19.0  # why\n\n-r other.txt\npymssql==2.3.1\n');
    mkdirSync(join(base, 'schema'), { recursive: true });
    writeFileSync(join(base, 'schema', 'migration-plan.schema.json'), '{"type":"object"}\n');
  }

  it('finds our package above a start folder and skips a consumer project with a DAG of the same name', () => {
    writeTree(root, '@platform/azure-db-migration');
    const consumer = join(root, 'node_modules', 'consumer');
    writeTree(consumer, 'consumer-app');
    const start = join(consumer, 'dist', 'lib');
    mkdirSync(start, { recursive: true });
    expect(findPackageRoot(start)).toBe(root);
  });

  it('fails clearly when the DAG package is missing', () => {
    expect(() => findPackageRoot(root)).toThrow(/cannot find dags\/migration_orchestration.py in any folder above/);
  });

  it('says an installed copy without its DAG files is incomplete', () => {
    const installed = join(root, 'app', 'node_modules', '@platform', 'azure-db-migration', 'dist', 'lib', 'private');
    mkdirSync(installed, { recursive: true });
    expect(() => findPackageRoot(installed)).toThrow(/the package is incomplete: install it again$/);
  });

  it('tells an app that bundled the library to keep it external', () => {
    // esbuild inlines the library into the app's own dist/: __dirname is the app's folder.
    const bundledApp = join(root, 'app', 'dist');
    mkdirSync(bundledApp, { recursive: true });
    expect(() => findPackageRoot(bundledApp)).toThrow(
      /runs outside its package folder, as when a bundler .* inlines it .*keep @platform\/azure-db-migration external to the bundle \(esbuild --external:@platform\/azure-db-migration\)/,
    );
  });

  it('uploads the DAG file, its library and contracts, the plan, its schema, the deployed ignore file and requirements.txt, never tests or bytecode', () => {
    writeTree(root, '@platform/azure-db-migration');
    const bundle = loadDagBundle('{"name":"x"}\n', root);
    expect(bundle.files.map((f) => f.blobName)).toEqual([
      'dags/migration_orchestration.py',
      'dags/migration_orchestration_lib/__init__.py',
      'dags/migration_orchestration_lib/contracts/events.json',
      'dags/migration_orchestration_lib/plan.py',
      PLAN_BLOB_NAME,
      PLAN_SCHEMA_BLOB_NAME,
      BUNDLE_MANIFEST_BLOB_NAME,
      AIRFLOWIGNORE_BLOB_NAME,
      'requirements.txt',
    ]);
    // The deployed ignore file, not the repository's own (which keeps the library in local parses).
    expect(bundle.files.find((f) => f.blobName === AIRFLOWIGNORE_BLOB_NAME)?.content).toBe('migration_orchestration_lib/\n');
    expect(bundle.files.find((f) => f.blobName === PLAN_SCHEMA_BLOB_NAME)?.content).toBe('{"type":"object"}\n');
    expect(bundle.requirements).toEqual(['azure-identity==1.19.0', 'pymssql==2.3.1']);
    expect(bundle.files.find((f) => f.blobName.endsWith('events.json'))?.contentType).toBe('application/json');
    // MD5 of "PLAN = 1\n", as azurerm expects it (hex).
    expect(bundle.files.find((f) => f.blobName === 'dags/migration_orchestration_lib/plan.py')?.contentMd5).toBe(
      require('node:crypto').createHash('md5').update('PLAN = 1\n').digest('hex'),
    );
  });

  it('changes its content hash when any file or the plan changes', () => {
    writeTree(root, '@platform/azure-db-migration');
    const before = loadDagBundle('{"name":"x"}\n', root).contentHash;
    expect(loadDagBundle('{"name":"y"}\n', root).contentHash).not.toBe(before);
    writeFileSync(join(root, 'dags', 'migration_orchestration_lib', 'plan.py'), 'PLAN = 2\n');
    const afterCode = loadDagBundle('{"name":"x"}\n', root).contentHash;
    expect(afterCode).not.toBe(before);
    writeFileSync(join(root, 'schema', 'migration-plan.schema.json'), '{"type":"array"}\n');
    expect(loadDagBundle('{"name":"x"}\n', root).contentHash).not.toBe(afterCode);
  });

  /** The manifest's `files`: path below `dags/` -> SHA-256. */
  const manifestOf = (bundle: ReturnType<typeof loadDagBundle>): Record<string, string> =>
    JSON.parse(bundle.files.find((f) => f.blobName === BUNDLE_MANIFEST_BLOB_NAME)?.content ?? '{}').files;

  it("stamps the DAG folder: a manifest of the SHA-256 of each file it puts there, not .airflowignore (Fabric's upload leaves it out) nor requirements.txt", () => {
    const bundle = loadDagBundle('{"name":"x"}\n', findPackageRoot());
    const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const stamped = bundle.files.filter(
      (f) => f.blobName.startsWith('dags/') && f.blobName !== AIRFLOWIGNORE_BLOB_NAME && f.blobName !== BUNDLE_MANIFEST_BLOB_NAME,
    );
    expect(manifestOf(bundle)).toEqual(Object.fromEntries(stamped.map((f) => [f.blobName.slice('dags/'.length), sha256(f.content)])));
    expect(Object.keys(manifestOf(bundle))).toEqual(
      expect.arrayContaining(['migration_orchestration.py', 'migration_orchestration_lib/bundle_manifest.py', 'migration_plan.json', 'migration_plan.schema.json']),
    );
    expect(bundle.files.find((f) => f.blobName === DAG_BLOB_NAME)).toBeDefined();
  });

  it('changes the manifest when a library file or the plan changes', () => {
    writeTree(root, '@platform/azure-db-migration');
    const before = manifestOf(loadDagBundle('{"name":"x"}\n', root));
    const otherPlan = manifestOf(loadDagBundle('{"name":"y"}\n', root));
    expect(otherPlan['migration_plan.json']).not.toBe(before['migration_plan.json']);
    expect({ ...otherPlan, 'migration_plan.json': before['migration_plan.json'] }).toEqual(before);
    writeFileSync(join(root, 'dags', 'migration_orchestration_lib', 'plan.py'), 'PLAN = 2\n');
    const after = manifestOf(loadDagBundle('{"name":"x"}\n', root));
    expect(after['migration_orchestration_lib/plan.py']).not.toBe(before['migration_orchestration_lib/plan.py']);
    expect({ ...after, 'migration_orchestration_lib/plan.py': before['migration_orchestration_lib/plan.py'] }).toEqual(before);
  });

  it("writes the manifest the DAG's check reads: the one in __tests__/constructs/fixtures/stamped-bundle, which dags/tests/test_bundle_manifest.py checks", () => {
    // The fixture is a DAG folder as a host writes it; its plan has a non-ASCII name (hashes are of the UTF-8 bytes).
    const fixture = join(__dirname, 'fixtures', 'stamped-bundle');
    cpSync(join(fixture, 'migration_orchestration.py'), join(root, 'dags', 'migration_orchestration.py'));
    cpSync(join(fixture, 'migration_orchestration_lib'), join(root, 'dags', 'migration_orchestration_lib'), { recursive: true });
    mkdirSync(join(root, 'schema'));
    cpSync(join(fixture, 'migration_plan.schema.json'), join(root, 'schema', 'migration-plan.schema.json'));
    writeFileSync(join(root, 'dags', 'deployed.airflowignore'), 'migration_orchestration_lib/\n');
    writeFileSync(join(root, 'dags', 'requirements.txt'), 'pymssql==2.3.1\n');
    const bundle = loadDagBundle(readFileSync(join(fixture, 'migration_plan.json'), 'utf8'), root, 'dags/requirements.txt');
    expect(bundle.files.find((f) => f.blobName === BUNDLE_MANIFEST_BLOB_NAME)?.content).toBe(
      readFileSync(join(fixture, 'migration_bundle_manifest.json'), 'utf8'),
    );
  });

  it('parses pinned requirements without comments, blanks and pip options', () => {
    expect(parseRequirements('a==1\r\n  # c\n-e .\nb==2 # trailing\n')).toEqual(['a==1', 'b==2']);
  });
});
