import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { APP_SERVICE_TOKEN_PATH, AZURE_PIPELINES_OIDC_PATH, FakeFabric, GITHUB_OIDC_PATH, IMDS_TOKEN_PATH, InjectedFailure } from './fabric-files-api-fake';

/** The uploader runs as the deployment step would run it: a separate node process. */
// One or two such processes per test: seconds each when npm test runs the DAG's tests beside jest on two cores.
jest.setTimeout(30_000);
const UPLOADER = join(__dirname, '..', '..', 'lib', 'hosts', 'fabric', 'fabric-upload-files.mjs');
const HOSTS_TO_FAKE = join(__dirname, 'azure-hosts-to-fake.mjs');
/** An Entra ID authority host other than the public cloud's, as AZURE_AUTHORITY_HOST may name one. */
const OTHER_AUTHORITY = 'https://login.authority.example';
const WORKSPACE = 'A1B2C3D4-1111-2222-3333-444455556666';
const JOB = '22222222-2222-2222-2222-222222222222';
const TENANT = '33333333-3333-3333-3333-333333333333';
const CLIENT = '44444444-4444-4444-4444-444444444444';
const ACCESS_TOKEN = 'fabric-access-token';
const CLIENT_SECRET = 'deployer-client-secret';
const ASSERTION = 'federated-assertion';
const IDENTITY_HEADER = 'app-service-identity-header';
const SYSTEM_ACCESS_TOKEN = 'azure-pipelines-system-access-token';
const SERVICE_CONNECTION = '66666666-6666-6666-6666-666666666666';
const TWO_MB = 2_000_000;
/** Where the uploader keeps the list of the files it uploaded (its documented contract). */
const MANIFEST = 'dags/fabric_upload_manifest.json';

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A folder laid out like the staged asset: paths in the job, relative to it. */
function bundleFolder(files: Record<string, string | Buffer>): string {
  const folder = mkdtempSync(join(tmpdir(), 'fabric-upload-test-'));
  for (const [path, content] of Object.entries(files)) {
    const target = join(folder, ...path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return folder;
}

/**
 * A folder holding a fake `az` (or another CLI) that records its arguments and prints `output`,
 * after `delaySeconds` (a CLI waiting on a prompt or the network).
 */
function fakeAzureCli(output: string, cli = 'az', delaySeconds = 0): { folder: string; argsFile: string } {
  const folder = mkdtempSync(join(tmpdir(), `fake-${cli}-`));
  const argsFile = join(folder, 'args.json');
  const executable = join(folder, cli);
  writeFileSync(
    executable,
    `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify(process.argv.slice(2)));\n` +
      `setTimeout(() => console.log(${JSON.stringify(output)}), ${delaySeconds * 1000});\n`,
  );
  chmodSync(executable, 0o755);
  return { folder, argsFile };
}

/**
 * What `az account get-access-token --output json` prints (Azure CLI 2.54 and later): the token, and when
 * it expires, as local time (expiresOn) and as seconds since the epoch (expires_on).
 */
function azureCliAnswer(token: string, expiresOn = new Date(Date.now() + 3_600_000)): string {
  const local = new Date(expiresOn.getTime() - expiresOn.getTimezoneOffset() * 60_000).toISOString().replace('T', ' ').replace('Z', '000');
  return JSON.stringify({ accessToken: token, expiresOn: local, expires_on: Math.floor(expiresOn.getTime() / 1000), tenant: TENANT, tokenType: 'Bearer' });
}

/**
 * A folder holding a fake `az` that counts its calls in `callsFile`: the first prints a token that expires in
 * `expiresInSeconds`; a later one runs `later` (JavaScript, with that answer in `answer`): a login gone bad midway.
 */
function fakeAzureCliChangingMidway(expiresInSeconds: number, later: string): { folder: string; callsFile: string } {
  const folder = mkdtempSync(join(tmpdir(), 'fake-az-midway-'));
  const callsFile = join(folder, 'calls.txt');
  writeFileSync(
    join(folder, 'az'),
    `#!${process.execPath}\nconst fs = require('fs');\nconst first = !fs.existsSync(${JSON.stringify(callsFile)});\n` +
      `fs.appendFileSync(${JSON.stringify(callsFile)}, 'call\\n');\n` +
      `const answer = JSON.stringify({ accessToken: ${JSON.stringify(ACCESS_TOKEN)}, expires_on: Math.floor(Date.now() / 1000) + ${expiresInSeconds} });\n` +
      `if (first) { console.log(answer); } else { ${later} }\n`,
  );
  chmodSync(join(folder, 'az'), 0o755);
  return { folder, callsFile };
}

function putsOf(fake: FakeFabric, path: string) {
  return fake.puts.filter((request) => request.path.endsWith(`/files/${path}`));
}

/**
 * Only what the uploader should see: PATH (for node and az), the fake's address as the Fabric
 * provider's endpoint (FABRIC_ENDPOINT), and the variables a test gives. Its requests for Entra ID's
 * public login host, the Instance Metadata Service and {@link OTHER_AUTHORITY} go to the fake
 * (azure-hosts-to-fake.mjs), so the uploader is pointed there by nothing it reads.
 */
function run(folder: string, fake: FakeFabric | string, env: Record<string, string>, jobId = JOB): Promise<RunResult> {
  const endpoint = typeof fake === 'string' ? fake : fake.origin;
  const routes = Object.fromEntries(['https://login.microsoftonline.com', 'http://169.254.169.254', OTHER_AUTHORITY].map((origin) => [origin, endpoint]));
  const args = [UPLOADER, '--workspace-id', WORKSPACE, '--job-id', jobId, '--files', folder];
  const base = { PATH: process.env.PATH ?? '', FABRIC_ENDPOINT: endpoint, NODE_OPTIONS: `--import "${HOSTS_TO_FAKE}"`, FAKE_AZURE_ROUTES: JSON.stringify(routes) };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('lib/hosts/fabric/fabric-upload-files.mjs against a fake Fabric files API', () => {
  it('is type-checked strictly by npm run typecheck (it is JavaScript, outside tsconfig.json)', () => {
    const typecheck: string = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).scripts.typecheck;
    const uploaderCheck = typecheck.split('&&').map((command) => command.trim()).find((command) => command.endsWith('lib/hosts/fabric/fabric-upload-files.mjs'));
    expect(uploaderCheck?.split(' ')).toEqual(expect.arrayContaining(['tsc', '--noEmit', '--allowJs', '--checkJs', '--strict']));
  });

  let fake: FakeFabric;
  let az: { folder: string; argsFile: string };
  let withCli: Record<string, string>;
  /** A service principal with a client secret, signing in at the fake's Entra ID. */
  const withSecret = () => ({ FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET: CLIENT_SECRET });

  beforeEach(async () => {
    fake = await FakeFabric.start({
      workspaceId: WORKSPACE,
      jobId: JOB,
      accessToken: ACCESS_TOKEN,
      clientSecret: CLIENT_SECRET,
      clientAssertion: ASSERTION,
      githubRequestToken: 'github-request-token',
      managedIdentity: { systemAssigned: true, userAssignedClientIds: [CLIENT], identityHeader: IDENTITY_HEADER },
      azurePipelines: { systemAccessToken: SYSTEM_ACCESS_TOKEN, serviceConnectionId: SERVICE_CONNECTION },
    });
    az = fakeAzureCli(azureCliAnswer(ACCESS_TOKEN));
    withCli = { PATH: `${az.folder}:${process.env.PATH}` };
  });

  afterEach(async () => {
    await fake.stop();
  });

  describe('uploading', () => {
    it('PUTs every file under dags/ and plugins/ as octet-stream with beta=true, byte for byte', async () => {
      const binary = Buffer.from([0, 255, 1, 254]);
      const folder = bundleFolder({
        'dags/migration_orchestration.py': 'print("dag")\n',
        'dags/migration_orchestration_lib/steps.py': '# steps\n',
        'dags/migration_plan.json': '{"name":"contoso-sql"}',
        'plugins/blob.bin': binary,
      });
      const result = await run(folder, fake, withCli);
      expect(result.code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual([
        MANIFEST,
        'dags/migration_orchestration.py',
        'dags/migration_orchestration_lib/steps.py',
        'dags/migration_plan.json',
        'plugins/blob.bin',
      ]);
      expect(fake.files.get('plugins/blob.bin')).toEqual(binary);
      expect(fake.files.get('dags/migration_plan.json')?.toString()).toBe('{"name":"contoso-sql"}');
      for (const put of fake.puts) {
        expect(put.path).toMatch(new RegExp(`^/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/(dags|plugins)/`));
        expect(put.query).toEqual({ beta: 'true' });
        expect(put.contentType).toBe('application/octet-stream');
        expect(put.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      }
      expect(result.stdout).toContain('4 file(s) uploaded, 0 deleted');
    });

    it("PUTs in path order: a bundle's manifest, its DAG file and its library's __init__.py before the other modules", async () => {
      // The DAG refuses a folder mixing two bundles only where its DAG file or __init__.py is new (dags/README.md, Files).
      const folder = bundleFolder({
        'dags/migration_plan.json': '{}',
        'dags/migration_orchestration_lib/airflow_compat.py': '# compat\n',
        'dags/migration_orchestration_lib/__init__.py': '# lib\n',
        'dags/migration_orchestration.py': '# dag\n',
        'dags/migration_bundle_manifest.json': '{"files": {}}',
      });
      expect((await run(folder, fake, withCli)).code).toBe(0);
      expect(fake.puts.map((request) => request.path.split('/files/')[1]).filter((path) => path !== MANIFEST)).toEqual([
        'dags/migration_bundle_manifest.json',
        'dags/migration_orchestration.py',
        'dags/migration_orchestration_lib/__init__.py',
        'dags/migration_orchestration_lib/airflow_compat.py',
        'dags/migration_plan.json',
      ]);
    });

    it('is idempotent: a second run leaves the same files', async () => {
      const folder = bundleFolder({ 'dags/a.py': 'a = 1\n', 'dags/lib/b.py': 'b = 2\n' });
      expect((await run(folder, fake, withCli)).code).toBe(0);
      const first = new Map(fake.files);
      expect((await run(folder, fake, withCli)).code).toBe(0);
      expect(fake.files).toEqual(first);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
      expect(putsOf(fake, 'dags/lib/b.py')).toHaveLength(2);
    });

    // The path is the URL's last segments: each escaped, so a space, a non-ASCII letter, '#', '?', '+' or '%' reaches Fabric as part of the name.
    it('escapes each segment of a path with spaces, non-ASCII letters and URL delimiters, keeping its slashes', async () => {
      const names = ['dags/my lib/café ü.py', 'dags/a+b#c?d%e.py', 'plugins/日本/x.py'];
      const result = await run(bundleFolder(Object.fromEntries(names.map((name) => [name, `# ${name}\n`]))), fake, withCli);
      expect(result.code).toBe(0);
      for (const name of names) {
        expect(fake.files.get(name)?.toString()).toBe(`# ${name}\n`);
      }
      expect(fake.puts.map((request) => request.path.split('/files/')[1])).toEqual(
        expect.arrayContaining(['dags/my%20lib/caf%C3%A9%20%C3%BC.py', 'dags/a%2Bb%23c%3Fd%25e.py', 'plugins/%E6%97%A5%E6%9C%AC/x.py']),
      );
      expect(fake.puts.every((request) => request.query.beta === 'true' && Object.keys(request.query).length === 1)).toBe(true);
    });

    it('accepts a file of exactly 2 MB', async () => {
      const folder = bundleFolder({ 'dags/migration_plan.json': Buffer.alloc(TWO_MB, 0x20) });
      expect((await run(folder, fake, withCli)).code).toBe(0);
      expect(fake.files.get('dags/migration_plan.json')).toHaveLength(TWO_MB);
    });
  });

  describe('deleting what an earlier bundle uploaded, and nothing else', () => {
    it('deletes the files an earlier bundle uploaded that this one no longer has', async () => {
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/lib/old.py': 'old\n', 'plugins/p.py': 'p\n' }), fake, withCli)).code).toBe(0);
      const result = await run(bundleFolder({ 'dags/a.py': 'a = 2\n', 'dags/lib/new.py': 'new\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST, 'dags/lib/new.py']);
      expect(fake.deletes.map((request) => [request.path.split('/files/')[1], request.query])).toEqual([
        ['dags/lib/old.py', { beta: 'true' }],
        ['plugins/p.py', { beta: 'true' }],
      ]);
      expect(result.stdout).toContain('2 file(s) uploaded, 2 deleted');
      expect(JSON.parse(fake.files.get(MANIFEST)?.toString() ?? '').files).toEqual(['dags/a.py', 'dags/lib/new.py']);
    });

    it('never deletes a file it did not upload', async () => {
      fake.files.set('dags/team_dag.py', Buffer.from('# the team\'s own DAG\n'));
      fake.files.set(MANIFEST, Buffer.from(JSON.stringify({ files: ['dags/old.py', '../outside.py', 'dags/../x.py'] })));
      fake.files.set('dags/old.py', Buffer.from('old\n'));
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST, 'dags/team_dag.py']);
      expect(fake.deletes.map((request) => request.path.split('/files/')[1])).toEqual(['dags/old.py']);
    });

    it('fails, forgetting nothing, when the manifest\'s answer is cut off midway', async () => {
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/old.py': 'old\n' }), fake, withCli)).code).toBe(0);
      const listed = fake.files.get(MANIFEST);
      fake.failures.set(MANIFEST, { status: 'cut', times: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`fabric-upload: GET ${MANIFEST} failed: `);
      expect(fake.files.get(MANIFEST)).toEqual(listed);
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli)).code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST]);
    });

    it('deletes nothing when the manifest is not a list of files', async () => {
      fake.files.set(MANIFEST, Buffer.from('not json'));
      fake.files.set('dags/old.py', Buffer.from('old\n'));
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect(fake.deletes).toEqual([]);
      expect(result.stderr).toContain(`${MANIFEST} does not hold a list of files; no earlier file is deleted this time`);
    });

    it('after a run that failed halfway, still deletes what that run wrote', async () => {
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/old.py': 'old\n' }), fake, withCli)).code).toBe(0);
      fake.failures.set('dags/z.py', { status: 403, times: 1, errorCode: 'InsufficientPrivileges' });
      const failed = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n', 'dags/z.py': 'z\n' }), fake, withCli);
      expect(failed.code).toBe(1);
      expect(fake.files.has('dags/b.py')).toBe(true);
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli)).code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST]);
    });

    // A module left in the DAG folder can still be imported by the new DAG: the step must not pass.
    it('tries every stale file and, when one cannot be deleted, fails naming it, keeps it on its list and deletes it on the next run', async () => {
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/lib/old_a.py': 'old\n', 'dags/lib/old_b.py': 'old\n' }), fake, withCli)).code).toBe(0);
      fake.failures.set('dags/lib/old_a.py', { status: 403, times: 1, errorCode: 'InsufficientPrivileges' });
      const failed = await run(bundleFolder({ 'dags/a.py': 'a = 2\n' }), fake, withCli);
      expect(failed.code).toBe(1);
      expect(fake.files.get('dags/a.py')?.toString()).toBe('a = 2\n');
      expect(fake.files.has('dags/lib/old_b.py')).toBe(false);
      expect(fake.files.has('dags/lib/old_a.py')).toBe(true);
      expect(failed.stderr).toContain(
        "the bundle's 1 file(s) were all uploaded, but 1 of the 2 file(s) an earlier bundle uploaded and this one no longer has could not be deleted:\n" +
          '  DELETE dags/lib/old_a.py failed: HTTP 403 Forbidden: InsufficientPrivileges',
      );
      expect(failed.stderr).toContain("The job's DAG folder still holds them beside the new bundle, and the DAG may import them");
      expect(failed.stderr).toContain(`Run terraform apply again, which deletes them (they stay on the list in ${MANIFEST})`);
      expect(failed.stderr).not.toMatch(/\n\s+at /);
      expect(JSON.parse(fake.files.get(MANIFEST)?.toString() ?? '').files).toEqual(['dags/a.py', 'dags/lib/old_a.py']);
      const again = await run(bundleFolder({ 'dags/a.py': 'a = 2\n' }), fake, withCli);
      expect(again.code).toBe(0);
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST]);
    });

    it('refuses a bundle holding a file at the manifest\'s path', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', [MANIFEST]: '{}' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${MANIFEST}: reserved for the uploader's list of the files it uploaded`);
      expect(fake.requests).toEqual([]);
    });
  });

  describe("calling the Fabric API at the provider's endpoint (FABRIC_ENDPOINT), as the provider does", () => {
    it('adds the API version path to FABRIC_ENDPOINT, trimmed of trailing slashes and lowercased, and still asks for the Fabric API\'s scope', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withSecret(), FABRIC_ENDPOINT: ` ${fake.origin}/Fabric-Proxy// ` });
      expect(result.code).toBe(0);
      expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        `POST /${TENANT}/oauth2/v2.0/token`,
        `GET /fabric-proxy/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/${MANIFEST}`,
        `PUT /fabric-proxy/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/${MANIFEST}`,
        `PUT /fabric-proxy/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/dags/a.py`,
      ]);
      expect(fake.requests[0].form?.scope).toBe('https://api.fabric.microsoft.com/.default');
    });

    it.each([
      ['true', 'https://a1b2c3d4111122223333444455556666.za1.w.api.fabric.microsoft.com'],
      ['false', 'https://api.fabric.microsoft.com'],
    ])("with FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT=%s, calls the workspace's private link host as the provider's SDK makes it, or the endpoint's", async (value, origin) => {
      const env = {
        ...withCli,
        FABRIC_ENDPOINT: 'https://api.fabric.microsoft.com',
        FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT: value,
        FAKE_AZURE_ROUTES: JSON.stringify({ [origin]: fake.origin }),
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(fake.puts.map((request) => `${request.headers['x-fake-original-origin']}${request.path}`)).toEqual([
        `${origin}/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/${MANIFEST}`,
        `${origin}/v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/dags/a.py`,
      ]);
    });

    it.each(['', 'api.fabric.microsoft.com'])('refuses FABRIC_ENDPOINT="%s", which is no absolute URL, before signing in', async (value) => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_ENDPOINT: value });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe("fabric-upload: FABRIC_ENDPOINT (the Fabric provider's endpoint, e.g. https://api.fabric.microsoft.com) is not a URL\n");
      expect(existsSync(az.argsFile)).toBe(false);
      expect(fake.requests).toEqual([]);
    });
  });

  describe('refusing a bundle the API would reject, before any request', () => {
    it('fails on a file over 2 MB, naming it, and uploads nothing', async () => {
      const folder = bundleFolder({ 'dags/a.py': 'a = 1\n', 'dags/migration_plan.json': Buffer.alloc(TWO_MB + 1, 0x20) });
      const result = await run(folder, fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('dags/migration_plan.json: 2000001 bytes, more than the files API\'s limit of 2000000 bytes (2 MB)');
      expect(fake.requests).toEqual([]);
    });

    it('fails on a path outside dags/ and plugins/', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'requirements.txt': 'x==1\n' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('requirements.txt: the files API accepts only paths under dags/ or plugins/');
      expect(fake.requests).toEqual([]);
    });

    it('fails on an empty folder', async () => {
      const result = await run(bundleFolder({}), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no files under .*: nothing to upload/);
    });
  });

  describe('failing the step on HTTP errors', () => {
    it('fails on 403 with the status, the file, Fabric\'s error code and a hint', async () => {
      fake.failures.set('dags/b.py', { status: 403, times: 1, errorCode: 'InsufficientPrivileges' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n', 'dags/c.py': 'c\n' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PUT dags/b.py failed: HTTP 403 Forbidden: InsufficientPrivileges: injected failure (request id req-1)');
      expect(result.stderr).toContain('Contributor (or higher) on the workspace');
      expect([...fake.files.keys()].sort()).toEqual(['dags/a.py', MANIFEST]);
      expect(result.stderr).toContain(
        "1 of the bundle's 3 files were written before it: the job's DAG folder mixes them with the earlier bundle's, " +
          'and the DAG refuses to import until they are one bundle again. Run terraform apply again, which uploads every file again',
      );
    });

    it('says nothing of a mix when the first file fails, before any was written', async () => {
      fake.failures.set('dags/a.py', { status: 403, times: 1, errorCode: 'InsufficientPrivileges' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PUT dags/a.py failed: HTTP 403 Forbidden');
      expect(result.stderr).not.toContain('were written before it');
    });

    it('fails on 404 when the job does not exist', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli, 'no-such-job');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('HTTP 404 Not Found: ItemNotFound');
      expect(result.stderr).toContain('does not exist (yet)');
    });

    it('fails at once on a status the Fabric provider does not retry (501), without retrying', async () => {
      fake.failures.set('dags/a.py', { status: 501, times: 1, errorCode: 'NotImplemented' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('HTTP 501 Not Implemented: NotImplemented');
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(1);
    });

    // The provider's SDK client retries 408, 429, 500, 502, 503 and 504 (azcore's retry policy), so a
    // transient one in the middle of the bundle must not leave the job's DAG folder half old, half new.
    it.each([408, 500])('retries %d, as the Fabric provider does, and then succeeds', async (status) => {
      fake.failures.set('dags/b.py', { status, times: 1, retryAfterSeconds: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n', 'dags/c.py': 'c\n' }), fake, withCli);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(putsOf(fake, 'dags/b.py')).toHaveLength(2);
      expect(fake.files.get('dags/c.py')?.toString()).toBe('c\n');
    });

    it('keeps retrying past five attempts while within the provider\'s timeout (FABRIC_TIMEOUT), as the provider does', async () => {
      fake.failures.set('dags/a.py', { status: 503, times: 6, retryAfterSeconds: 1, errorCode: 'ServiceUnavailable' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(7);
    });

    it('never asks again before the Retry-After Fabric gave, and fails at once, naming FABRIC_TIMEOUT, when that wait would end past it', async () => {
      fake.failures.set('dags/a.py', { status: 429, times: 1, retryAfterSeconds: 3, errorCode: 'RequestBlocked' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '2s' });
      expect(result.code).toBe(1);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(1);
      expect(result.stderr).toContain('PUT dags/a.py failed: HTTP 429 Too Many Requests: RequestBlocked');
      expect(result.stderr).toContain("retrying would outlast the Fabric provider's timeout, FABRIC_TIMEOUT (2s)");
    });

    it('retries 429 after Retry-After and then succeeds', async () => {
      fake.failures.set('dags/a.py', { status: 429, times: 2, retryAfterSeconds: 0 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(3);
      expect(fake.files.get('dags/a.py')?.toString()).toBe('a\n');
    });

    it('backs off before retrying a 429 that has no Retry-After', async () => {
      fake.failures.set('dags/a.py', { status: 429, times: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      const [refused, retried] = putsOf(fake, 'dags/a.py');
      expect(retried.at - refused.at).toBeGreaterThanOrEqual(1_500);
    });

    // A wait per call would let a bundle of hundreds of files each throttled near FABRIC_TIMEOUT hold the apply for hours.
    it('bounds the waits of the whole upload, not of each call, by the provider\'s timeout (FABRIC_TIMEOUT)', async () => {
      for (const path of ['dags/a.py', 'dags/b.py', 'dags/c.py']) {
        fake.failures.set(path, { status: 429, times: 1, retryAfterSeconds: 2, errorCode: 'RequestBlocked' });
      }
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n', 'dags/c.py': 'c\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '3s' });
      expect(result.code).toBe(1);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
      expect(putsOf(fake, 'dags/b.py')).toHaveLength(1);
      expect(putsOf(fake, 'dags/c.py')).toHaveLength(0);
      expect(result.stderr).toContain('PUT dags/b.py failed: HTTP 429 Too Many Requests: RequestBlocked');
      expect(result.stderr).toContain("retrying would outlast the Fabric provider's timeout, FABRIC_TIMEOUT (3s), which bounds the whole upload, its calls and their retries' waits");
    });

    it('gives up on a 503 that lasts past the provider\'s timeout (FABRIC_TIMEOUT)', async () => {
      fake.failures.set('dags/a.py', { status: 503, times: 99, retryAfterSeconds: 1, errorCode: 'ServiceUnavailable' });
      const started = Date.now();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '3s' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PUT dags/a.py failed: HTTP 503 Service Unavailable: ServiceUnavailable');
      expect(result.stderr).toContain("retrying would outlast the Fabric provider's timeout, FABRIC_TIMEOUT (3s)");
      expect(putsOf(fake, 'dags/a.py').length).toBeGreaterThanOrEqual(3);
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    // RFC 9110: Retry-After is delay-seconds or an HTTP-date; azcore's retry policy reads both.
    it('waits until the HTTP-date a Retry-After gives before asking again', async () => {
      const until = new Date(Date.now() + 8_000);
      fake.failures.set('dags/a.py', { status: 503, times: 1, retryAfter: until.toUTCString(), errorCode: 'ServiceUnavailable' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      const [, retried] = putsOf(fake, 'dags/a.py');
      // The date has whole seconds.
      expect(retried.at).toBeGreaterThanOrEqual(Math.floor(until.getTime() / 1000) * 1000);
    });

    // azcore's retry policy (sdk/azcore/internal/shared/shared.go RetryAfter), the provider's, reads retry-after-ms, then
    // x-ms-retry-after-ms, then Retry-After: the first one present decides. A Retry-After of 30 s would outlast FABRIC_TIMEOUT.
    it.each<[string, Record<string, string>]>([
      ['retry-after-ms before Retry-After', { 'retry-after-ms': '300', 'Retry-After': '30' }],
      ['x-ms-retry-after-ms before Retry-After', { 'x-ms-retry-after-ms': '300', 'Retry-After': '30' }],
      ['retry-after-ms before x-ms-retry-after-ms', { 'retry-after-ms': '300', 'x-ms-retry-after-ms': '30000' }],
      ['a retry-after-ms of 0 as no advice (a backoff), not falling back to Retry-After', { 'retry-after-ms': '0', 'Retry-After': '30' }],
    ])('reads %s, as the provider\'s client (azcore) does', async (_case, headers) => {
      fake.failures.set('dags/a.py', { status: 429, times: 1, headers, errorCode: 'RequestBlocked' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '20s' });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
    });

    it('never asks again before the retry-after-ms Fabric gave, even beside a shorter Retry-After', async () => {
      fake.failures.set('dags/a.py', { status: 503, times: 1, retryAfterSeconds: 1, headers: { 'retry-after-ms': '2500' }, errorCode: 'ServiceUnavailable' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      const [refused, retried] = putsOf(fake, 'dags/a.py');
      expect(retried.at - refused.at).toBeGreaterThanOrEqual(2_400);
    });

    // An HTTP-date is RFC 9110's other Retry-After; the time a call takes counts, as the provider's deadline counts it.
    it.each<[string, InjectedFailure, string]>([
      ['the HTTP-date a Retry-After gives is', { status: 429, times: 1, retryAfter: new Date(Date.now() + 600_000).toUTCString(), errorCode: 'RequestBlocked' }, 'HTTP 429 Too Many Requests: RequestBlocked'],
      ['a slow answer leaves too little for the Retry-After, the time calls take counting too: it is', { status: 503, times: 1, delayMs: 2_500, retryAfterSeconds: 1, errorCode: 'ServiceUnavailable' }, 'HTTP 503 Service Unavailable: ServiceUnavailable'],
    ])('fails at once, naming FABRIC_TIMEOUT, when %s past it', async (_case, failure, status) => {
      fake.failures.set('dags/a.py', failure);
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '3s' });
      expect(result.code).toBe(1);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(1);
      expect(result.stderr).toContain(`PUT dags/a.py failed: ${status}: injected failure (request id req-1); retrying would outlast the Fabric provider's timeout, FABRIC_TIMEOUT (3s)`);
    });

    it('ends a call that hangs when FABRIC_TIMEOUT runs out, failing clearly', async () => {
      fake.failures.set('dags/b.py', { status: 'hang', times: 1 });
      const started = Date.now();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n' }), fake, { ...withCli, FABRIC_TIMEOUT: '3s' });
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.stderr).toContain(
        "PUT dags/b.py failed: no answer within the Fabric provider's timeout, FABRIC_TIMEOUT (3s), which bounds the whole upload, its calls and their retries' waits",
      );
      expect(result.stderr).toContain("1 of the bundle's 2 files were written before it");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('retries a request whose connection dropped', async () => {
      fake.failures.set('dags/a.py', { status: 'reset', times: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli);
      expect(result.code).toBe(0);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
      expect(fake.files.get('dags/a.py')?.toString()).toBe('a\n');
    });

    it('fails with a clear message when the API cannot be reached', async () => {
      const closed = await FakeFabric.start({ workspaceId: WORKSPACE, jobId: JOB, accessToken: ACCESS_TOKEN });
      const endpoint = closed.origin;
      await closed.stop();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), endpoint, withCli);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/GET dags\/fabric_upload_manifest\.json failed: fetch failed/);
    });
  });

  describe('keeping the token fresh through a long upload, as the provider\'s bearer token policy does', () => {
    const tokenRequests = (on: FakeFabric) => on.requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'));

    it('signs in anew before a call when the token expired during a wait, so Fabric never sees it expired', async () => {
      const expiring = await FakeFabric.start({ workspaceId: WORKSPACE, jobId: JOB, accessToken: ACCESS_TOKEN, clientSecret: CLIENT_SECRET, tokenLifetimeSeconds: 3 });
      try {
        expiring.failures.set('dags/a.py', { status: 429, times: 1, retryAfterSeconds: 4, errorCode: 'RequestBlocked' });
        const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n' }), expiring, withSecret());
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(tokenRequests(expiring).length).toBeGreaterThanOrEqual(2);
        // The manifest's GET and PUT, a.py refused and retried, b.py: no call was refused for its token.
        expect(expiring.requests.filter((request) => request.path.includes('/files/'))).toHaveLength(5);
        const [refused, retried] = putsOf(expiring, 'dags/a.py').map((request) => request.authorization);
        expect(retried).not.toBe(refused);
        expect(expiring.files.get('dags/b.py')?.toString()).toBe('b\n');
      } finally {
        await expiring.stop();
      }
    });

    it("asks the Azure CLI again once the expiry it gave (expires_on) has passed", async () => {
      const folder = mkdtempSync(join(tmpdir(), 'fake-az-expiring-'));
      const callsFile = join(folder, 'calls.txt');
      // A token that expires in a second, as a CLI whose cached token is about to expire gives it.
      writeFileSync(
        join(folder, 'az'),
        `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(callsFile)}, 'call\\n');\n` +
          `console.log(JSON.stringify({ accessToken: ${JSON.stringify(ACCESS_TOKEN)}, expires_on: Math.floor(Date.now() / 1000) + 1 }));\n`,
      );
      chmodSync(join(folder, 'az'), 0o755);
      fake.failures.set('dags/a.py', { status: 503, times: 1, retryAfterSeconds: 3, errorCode: 'ServiceUnavailable' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: `${folder}:${process.env.PATH}` });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(readFileSync(callsFile, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
    });

    it("ends a refresh that hangs midway when the whole upload's FABRIC_TIMEOUT runs out, not a FABRIC_TIMEOUT later", async () => {
      // The first call gives a token that expires in a second; a later call hangs (a prompt nobody answers).
      const { folder, callsFile } = fakeAzureCliChangingMidway(1, 'setTimeout(() => console.log(answer), 60_000);');
      // The token expires during the 4 s wait; the refresh has the 2 s left of the upload's 6 s, not 6 s more.
      fake.failures.set('dags/a.py', { status: 503, times: 1, retryAfterSeconds: 4, errorCode: 'ServiceUnavailable' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: `${folder}:${process.env.PATH}`, FABRIC_TIMEOUT: '6s' });
      const ended = Date.now();
      expect(result.code).toBe(1);
      expect(readFileSync(callsFile, 'utf8').trim().split('\n')).toHaveLength(2);
      expect(result.stderr).toMatch(
        /the Fabric token expired during the upload and could not be refreshed: the Azure CLI \(az account get-access-token\) gave no Fabric token within the \d\.\ds left of the whole upload's FABRIC_TIMEOUT \(6s\) and was stopped/,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
      // The upload's budget began before its first call: 6 s from then, where a refresh of its own 6 s would end after 10.
      expect(ended - fake.requests[0].at).toBeLessThan(8_500);
    });

    it('after a refresh that failed, keeps the token and asks its source again only 30 seconds later, not before every call', async () => {
      // The first call gives a token that expires in 4 minutes (inside the 5-minute refresh margin); every later call fails.
      const { folder, callsFile } = fakeAzureCliChangingMidway(240, "console.error('ERROR: AADSTS50173: the grant has expired'); process.exit(1);");
      // The wait past the 30 seconds after sign-in, then a.py again and three more files: four calls a refresh is due before.
      fake.failures.set('dags/a.py', { status: 429, times: 1, retryAfterSeconds: 31, errorCode: 'RequestBlocked' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n', 'dags/b.py': 'b\n', 'dags/c.py': 'c\n', 'dags/d.py': 'd\n' }), fake, { PATH: `${folder}:${process.env.PATH}` });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // The sign-in, and one refresh that failed: the still valid token served the other calls.
      expect(readFileSync(callsFile, 'utf8').trim().split('\n')).toHaveLength(2);
      expect(fake.files.get('dags/d.py')?.toString()).toBe('d\n');
    }, 90_000);

    it('on a 401, signs in anew once and tries the call again', async () => {
      fake.failures.set('dags/a.py', { status: 401, times: 1, errorCode: 'TokenExpired' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withSecret());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(tokenRequests(fake)).toHaveLength(2);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
      expect(fake.files.get('dags/a.py')?.toString()).toBe('a\n');
    });

    it('fails clearly when Fabric refuses the new token too, signing in only once more', async () => {
      fake.failures.set('dags/a.py', { status: 401, times: 5, errorCode: 'TokenExpired' });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withSecret());
      expect(result.code).toBe(1);
      expect(tokenRequests(fake)).toHaveLength(2);
      expect(putsOf(fake, 'dags/a.py')).toHaveLength(2);
      expect(result.stderr).toContain(
        'PUT dags/a.py failed: HTTP 401 Unauthorized: TokenExpired: injected failure (request id req-1) - the token was refused: check the Azure login or the FABRIC_*/ARM_* variables; ' +
          'it was signed in anew after a first 401, and Fabric refused the new token too',
      );
      expect(result.stderr).not.toContain(CLIENT_SECRET);
    });
  });

  describe('signing in without a secret on the command line', () => {
    it('uses the Azure CLI login by default, for the Fabric scope', async () => {
      expect((await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withCli)).code).toBe(0);
      expect(JSON.parse(readFileSync(az.argsFile, 'utf8'))).toEqual([
        'account',
        'get-access-token',
        '--scope',
        'https://api.fabric.microsoft.com/.default',
        '--output',
        'json',
      ]);
    });

    it('explains what to do when the Azure CLI is missing', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: dirname(process.execPath) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('the Azure CLI (az) is not installed');
      expect(result.stderr).toContain('az login');
      expect(fake.puts).toEqual([]);
    });

    it('uses a client secret from ARM_* environment variables, and never prints it', async () => {
      const env = { ARM_CLIENT_ID: CLIENT, ARM_TENANT_ID: TENANT, ARM_CLIENT_SECRET: CLIENT_SECRET };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(fake.requests[0]).toMatchObject({ method: 'POST', path: `/${TENANT}/oauth2/v2.0/token` });
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(result.stdout + result.stderr).not.toContain(CLIENT_SECRET);
      expect(result.stdout + result.stderr).not.toContain(ACCESS_TOKEN);
    });

    it.each(['FABRIC_CLIENT_CERTIFICATE_FILE_PATH', 'ARM_CLIENT_CERTIFICATE'])(
      'refuses a client certificate (%s), which the provider would sign in with, instead of uploading as the secret\'s identity',
      async (variable) => {
        const env = { ARM_CLIENT_ID: CLIENT, ARM_TENANT_ID: TENANT, ARM_CLIENT_SECRET: CLIENT_SECRET, [variable]: 'deployer.pfx' };
        const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`${variable} is set: the Fabric provider signs in with that client certificate, which this upload step does not read`);
        expect(fake.requests).toEqual([]);
        expect(result.stdout + result.stderr).not.toContain(CLIENT_SECRET);
      },
    );

    it("signs in at the Entra ID host of the provider's cloud (FABRIC_ENVIRONMENT), which the provider prefers to AZURE_AUTHORITY_HOST", async () => {
      const env = { ...withSecret(), AZURE_AUTHORITY_HOST: OTHER_AUTHORITY, FABRIC_ENVIRONMENT: 'china' };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      // Azure China's Entra ID, unreachable here or refusing the test's tenant: either way, not the fake.
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('https://login.chinacloudapi.cn');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout + result.stderr).not.toContain(CLIENT_SECRET);
      expect(fake.requests).toEqual([]);
    });

    it.each([
      ['service principal with a client secret', {}],
      ['workload identity federation', { FABRIC_USE_OIDC: 'true', FABRIC_CLIENT_SECRET: '', FABRIC_OIDC_TOKEN: ASSERTION }],
    ])("signs a %s in at the public cloud's Entra ID even when AZURE_AUTHORITY_HOST names another, as the provider (which gives azidentity the public cloud) does", async (_, signIn) => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withSecret(), AZURE_AUTHORITY_HOST: OTHER_AUTHORITY, ...signIn });
      expect(result.code).toBe(0);
      const tokenRequests = fake.requests.filter((request) => request.path === `/${TENANT}/oauth2/v2.0/token`);
      expect(tokenRequests.map((request) => request.headers['x-fake-original-origin'])).toEqual(['https://login.microsoftonline.com']);
    });

    it('refuses a cloud the Fabric provider does not know, naming the variable', async () => {
      const env = { FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET: CLIENT_SECRET, ARM_ENVIRONMENT: 'german' };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('FABRIC_ENVIRONMENT (or ARM_ENVIRONMENT) is "german": the Fabric provider takes public, usgovernment or china');
      expect(fake.requests).toEqual([]);
    });

    it('reads the certificate variables as the provider does: the first set of each list, so an empty FABRIC_ one hides the ARM_ one', async () => {
      const env = {
        ARM_CLIENT_ID: CLIENT,
        ARM_TENANT_ID: TENANT,
        ARM_CLIENT_SECRET: CLIENT_SECRET,
        FABRIC_CLIENT_CERTIFICATE: ' ',
        ARM_CLIENT_CERTIFICATE: 'MIIK',
        FABRIC_CLIENT_CERTIFICATE_FILE_PATH: '',
        ARM_CLIENT_CERTIFICATE_PATH: 'deployer.pfx',
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it.each<[string, Record<string, string>, string, string]>([
      ['Entra ID', { FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET: CLIENT_SECRET }, `/${TENANT}/oauth2/v2.0/token`, 'cannot reach Entra ID at https://login.microsoftonline.com/'],
      ['the Instance Metadata Service', { FABRIC_USE_MSI: 'true' }, IMDS_TOKEN_PATH, 'cannot reach the managed identity endpoint http://169.254.169.254/metadata/identity/oauth2/token'],
    ])('stops waiting for %s after FABRIC_TIMEOUT, as the provider\'s deadline stops its sign-in, failing clearly', async (_name, signIn, path, named) => {
      fake.failures.set(path, { status: 'hang', times: 1 });
      const started = Date.now();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...signIn, FABRIC_TIMEOUT: '2s' });
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.stderr).toContain(`${named}`);
      expect(result.stderr).toContain("(no answer within the Fabric provider's timeout, FABRIC_TIMEOUT (2s))");
      expect(result.stderr).not.toContain(CLIENT_SECRET);
      expect(fake.puts).toEqual([]);
    });

    // Entra ID throttles a client_credentials grant with 429 and Retry-After; azidentity's pipeline (azcore's retry policy) asks again.
    it('asks Entra ID again after a 429, once the Retry-After it gave has passed, as azidentity does', async () => {
      fake.failures.set(`/${TENANT}/oauth2/v2.0/token`, { status: 429, times: 2, retryAfterSeconds: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withSecret());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const tokenRequests = fake.requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'));
      expect(tokenRequests).toHaveLength(3);
      expect(tokenRequests[1].at - tokenRequests[0].at).toBeGreaterThanOrEqual(950);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('fails with Entra ID\'s answer, never the secret, when it still throttles after four tries', async () => {
      fake.failures.set(`/${TENANT}/oauth2/v2.0/token`, { status: 429, times: 9, headers: { 'retry-after-ms': '100' } });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, withSecret());
      expect(result.code).toBe(1);
      expect(fake.requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'))).toHaveLength(4);
      expect(result.stderr).toContain(`Entra ID refused a token for ${CLIENT}: HTTP 429 temporarily_unavailable AADSTS50196: injected failure`);
      expect(result.stderr).not.toContain(CLIENT_SECRET);
      expect(fake.puts).toEqual([]);
    });

    it('fails clearly when Entra ID refuses the secret', async () => {
      const env = { FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET: 'wrong' };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Entra ID refused a token for ${CLIENT}: HTTP 401 invalid_client AADSTS7000215`);
      expect(result.stderr).not.toContain('wrong');
      expect(fake.puts).toEqual([]);
    });

    it.each([
      ['GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN)', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'],
      ['ARM_OIDC_REQUEST_URL/TOKEN, as the Fabric provider reads them', 'ARM_OIDC_REQUEST_URL', 'ARM_OIDC_REQUEST_TOKEN'],
    ])('uses workload identity federation with an ID token from %s', async (_, urlVariable, tokenVariable) => {
      const env = {
        ARM_USE_OIDC: 'true',
        ARM_CLIENT_ID: CLIENT,
        ARM_TENANT_ID: TENANT,
        [urlVariable]: `${fake.origin}/github/idtoken?api-version=2.0`,
        [tokenVariable]: 'github-request-token',
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        'GET /github/idtoken',
        `POST /${TENANT}/oauth2/v2.0/token`,
        `GET /v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/${MANIFEST}`,
        `PUT /v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/${MANIFEST}`,
        `PUT /v1/workspaces/${WORKSPACE}/apacheAirflowJobs/${JOB}/files/dags/a.py`,
      ]);
    });

    /** What a GitHub Actions job with `id-token: write` has in its environment. */
    const githubActionsStep = () => ({
      ARM_USE_OIDC: 'true',
      ARM_CLIENT_ID: CLIENT,
      ARM_TENANT_ID: TENANT,
      ACTIONS_ID_TOKEN_REQUEST_URL: `${fake.origin}${GITHUB_OIDC_PATH}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'github-request-token',
    });
    it.each([
      ['a 503', { status: 503, times: 2, retryAfterSeconds: 1 }],
      ['a 429 with retry-after-ms', { status: 429, times: 1, headers: { 'retry-after-ms': '200' } }],
    ])('asks GitHub for the ID token again after %s, as the sign-in asks Entra ID again, and signs in', async (_, failure) => {
      fake.failures.set(GITHUB_OIDC_PATH, failure);
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, githubActionsStep());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(fake.requests.filter((request) => request.path === GITHUB_OIDC_PATH)).toHaveLength(failure.times + 1);
      const tokenRequests = fake.requests.filter((request) => request.path === `/${TENANT}/oauth2/v2.0/token`);
      expect(tokenRequests.map((request) => request.form?.client_assertion)).toEqual([ASSERTION]);
    });

    it('fails with GitHub\'s answer, never the request token, when the ID token request still fails after four tries', async () => {
      fake.failures.set(GITHUB_OIDC_PATH, { status: 502, times: 9, headers: { 'retry-after-ms': '100' } });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, githubActionsStep());
      expect(result.code).toBe(1);
      expect(fake.requests.filter((request) => request.path === GITHUB_OIDC_PATH)).toHaveLength(4);
      expect(result.stderr).toContain('the OIDC request URL refused an ID token: HTTP 502');
      expect(result.stderr).not.toContain('github-request-token');
      expect(fake.puts).toEqual([]);
    });

    it('reads the OIDC switch as the Fabric provider does: 1 is on', async () => {
      const env = { FABRIC_USE_OIDC: '1', FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_OIDC_TOKEN: ASSERTION };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(fake.requests[0]).toMatchObject({ method: 'POST', path: `/${TENANT}/oauth2/v2.0/token` });
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('reads the OIDC switch as the Fabric provider does: FABRIC_USE_OIDC=false wins over ARM_USE_OIDC=true', async () => {
      // The provider takes the first of FABRIC_USE_OIDC, ARM_USE_OIDC that is set, so it signs in with the secret here.
      const env = {
        FABRIC_USE_OIDC: 'false',
        ARM_USE_OIDC: 'true',
        FABRIC_CLIENT_ID: CLIENT,
        FABRIC_TENANT_ID: TENANT,
        FABRIC_CLIENT_SECRET: CLIENT_SECRET,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('fails clearly, naming only its origin and never the bearer, when the OIDC request URL cannot be reached', async () => {
      const closed = await FakeFabric.start({ workspaceId: WORKSPACE, jobId: JOB, accessToken: ACCESS_TOKEN });
      const origin = closed.origin;
      const requestUrl = `${origin}/idtoken/plan-secret-path?api-version=2.0`;
      await closed.stop();
      const env = {
        FABRIC_USE_OIDC: 'true',
        FABRIC_CLIENT_ID: CLIENT,
        FABRIC_TENANT_ID: TENANT,
        FABRIC_OIDC_REQUEST_URL: requestUrl,
        FABRIC_OIDC_REQUEST_TOKEN: 'oidc-request-bearer',
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot reach the OIDC request URL at ${origin} (ECONNREFUSED)`);
      expect(result.stderr).not.toMatch(/\n\s+at |plan-secret-path|oidc-request-bearer/);
      expect(fake.requests).toEqual([]);
    });

    it('refuses OIDC without a token source, naming the variables to set', async () => {
      const env = { FABRIC_USE_OIDC: 'true', FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('OIDC sign-in is on (FABRIC_USE_OIDC/ARM_USE_OIDC) but there is no token');
    });
  });

  describe('reading the sign-in variables as the Fabric provider does', () => {
    const tokenRequests = () => fake.requests.filter((request) => request.path === `/${TENANT}/oauth2/v2.0/token`);
    /** A file holding `content`, as a CI system writes a credential to disk. */
    const fileWith = (content: string) => {
      const file = join(mkdtempSync(join(tmpdir(), 'fabric-credential-')), 'value');
      writeFileSync(file, content);
      return file;
    };

    it('takes the first variable that is set, even empty: FABRIC_CLIENT_SECRET="" hides ARM_CLIENT_SECRET, so the Azure CLI signs in', async () => {
      const env = {
        ...withCli,
        FABRIC_CLIENT_ID: CLIENT,
        FABRIC_TENANT_ID: TENANT,
        FABRIC_CLIENT_SECRET: '',
        ARM_CLIENT_SECRET: CLIENT_SECRET,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(tokenRequests()).toEqual([]);
      expect(JSON.parse(readFileSync(az.argsFile, 'utf8'))).toContain('get-access-token');
    });

    it('reads the client id and secret from the files FABRIC_CLIENT_ID_FILE_PATH and FABRIC_CLIENT_SECRET_FILE_PATH name, and never prints the secret', async () => {
      const env = {
        FABRIC_CLIENT_ID_FILE_PATH: fileWith(`${CLIENT}\n`),
        ARM_CLIENT_SECRET_FILE_PATH: fileWith(`${CLIENT_SECRET}\n`),
        FABRIC_TENANT_ID: TENANT,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(tokenRequests().map((request) => request.form?.client_id)).toEqual([CLIENT]);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(result.stdout + result.stderr).not.toContain(CLIENT_SECRET);
    });

    it('refuses a client id whose file says another, naming the variables and printing neither value', async () => {
      const env = {
        FABRIC_CLIENT_ID: CLIENT,
        FABRIC_CLIENT_ID_FILE_PATH: fileWith('55555555-5555-5555-5555-555555555555'),
        FABRIC_TENANT_ID: TENANT,
        FABRIC_CLIENT_SECRET: CLIENT_SECRET,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('FABRIC_CLIENT_ID and the content of the file FABRIC_CLIENT_ID_FILE_PATH names differ');
      expect(result.stderr).not.toContain('55555555');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(fake.requests).toEqual([]);
    });

    it('fails clearly when the file a *_FILE_PATH variable names cannot be read', async () => {
      const missing = join(tmpdir(), 'no-such-secret-file');
      const env = { FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET_FILE_PATH: missing };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot read the file FABRIC_CLIENT_SECRET_FILE_PATH names (${missing}): ENOENT`);
      expect(fake.requests).toEqual([]);
    });

    it('takes SYSTEM_ACCESSTOKEN as the OIDC request\'s bearer before ARM_OIDC_REQUEST_TOKEN, in the provider\'s order', async () => {
      const env = {
        ARM_USE_OIDC: 'true',
        ARM_CLIENT_ID: CLIENT,
        ARM_TENANT_ID: TENANT,
        ARM_OIDC_REQUEST_URL: `${fake.origin}/github/idtoken`,
        SYSTEM_ACCESSTOKEN: 'github-request-token',
        ARM_OIDC_REQUEST_TOKEN: 'not-the-request-token',
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(tokenRequests().map((request) => request.form?.client_assertion)).toEqual([ASSERTION]);
    });

    it('asks the OIDC request URL rather than reading AZURE_FEDERATED_TOKEN_FILE, which the provider does not read', async () => {
      const env = {
        FABRIC_USE_OIDC: 'true',
        FABRIC_CLIENT_ID: CLIENT,
        FABRIC_TENANT_ID: TENANT,
        AZURE_FEDERATED_TOKEN_FILE: fileWith('another-assertion'),
        ACTIONS_ID_TOKEN_REQUEST_URL: `${fake.origin}/github/idtoken`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'github-request-token',
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(tokenRequests().map((request) => request.form?.client_assertion)).toEqual([ASSERTION]);
    });
  });

  describe('signing in with the Azure CLI or Azure Developer CLI when the provider\'s switch says so', () => {
    const tokenRequests = () => fake.requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'));
    it('uses the Azure CLI, in the provider\'s tenant, when FABRIC_USE_CLI is true, even with a client secret set', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, ...withSecret(), FABRIC_USE_CLI: 'true' });
      expect(result.code).toBe(0);
      expect(tokenRequests()).toEqual([]);
      expect(JSON.parse(readFileSync(az.argsFile, 'utf8'))).toEqual([
        'account',
        'get-access-token',
        '--scope',
        'https://api.fabric.microsoft.com/.default',
        '--tenant',
        TENANT,
        '--output',
        'json',
      ]);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('never shows a token the Azure CLI printed in another form than JSON', async () => {
      const bare = fakeAzureCli('eyJ0eXAiOiJKV1QiLCJhbGciOi.bare-token-not-json');
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: `${bare.folder}:${process.env.PATH}` });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('its output is not the JSON it prints with --output json');
      expect(result.stdout + result.stderr).not.toMatch(/eyJ0|bare-token/);
      expect(fake.puts).toEqual([]);
    });

    it('uses the Azure Developer CLI (azd auth token) when ARM_USE_DEV_CLI is true', async () => {
      const azd = fakeAzureCli(JSON.stringify({ token: ACCESS_TOKEN, expiresOn: '2030-01-01T00:00:00Z' }), 'azd');
      const env = { PATH: `${azd.folder}:${withCli.PATH}`, ...withSecret(), ARM_USE_DEV_CLI: 'true' };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(tokenRequests()).toEqual([]);
      expect(JSON.parse(readFileSync(azd.argsFile, 'utf8'))).toEqual([
        'auth',
        'token',
        '--output',
        'json',
        '--tenant-id',
        TENANT,
        '--scope',
        'https://api.fabric.microsoft.com/.default',
      ]);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(result.stdout + result.stderr).not.toContain(ACCESS_TOKEN);
    });

    it.each([
      ['az', {}, azureCliAnswer(ACCESS_TOKEN)],
      ['azd', { FABRIC_USE_DEV_CLI: 'true' }, JSON.stringify({ token: ACCESS_TOKEN, expiresOn: '2030-01-01T00:00:00Z' })],
    ])('on Windows, asks cmd.exe for %s by the name it resolves (az.cmd, azd.exe), as azidentity runs "cmd.exe /c az ..."', async (cli, switches, output) => {
      // Node taken for Windows: child_process then runs the shell named by comspec, here a fake cmd.exe.
      const folder = mkdtempSync(join(tmpdir(), 'fake-windows-'));
      const windows = join(folder, 'windows.mjs');
      writeFileSync(windows, "Object.defineProperty(process, 'platform', { value: 'win32' });\n");
      const commandFile = join(folder, 'command.txt');
      const outputFile = join(folder, 'output.txt');
      writeFileSync(outputFile, `${output}\n`);
      const cmd = join(folder, 'cmd');
      // A shell script, so that it does not run with the uploader's NODE_OPTIONS.
      writeFileSync(cmd, `#!/bin/sh\nprintf '%s\\n' "$@" > '${commandFile}'\ncat '${outputFile}'\n`);
      chmodSync(cmd, 0o755);
      const env = { PATH: dirname(process.execPath), NODE_OPTIONS: `--import ${windows}`, comspec: cmd, ...switches };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      const commandLine = readFileSync(commandFile, 'utf8').trim().split('\n').at(-1) ?? '';
      expect(commandLine.split(' ')[0].replace(/^"/, '')).toBe(cli);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('explains what to do when the Azure Developer CLI is missing', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: dirname(process.execPath), FABRIC_USE_DEV_CLI: 'true' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('cannot get a Fabric token from the Azure Developer CLI (the Azure Developer CLI (azd) is not installed): run "azd auth login"');
      expect(fake.requests).toEqual([]);
    });
  });

  describe("stopping a CLI that gives no token within the Fabric provider's timeout (FABRIC_TIMEOUT)", () => {
    /** The CLI answers after 20 s: a prompt nobody answers, a network that does not. */
    const SLOW_SECONDS = 20;

    it.each([
      ['az', {}, azureCliAnswer(ACCESS_TOKEN), 'the Azure CLI (az account get-access-token)'],
      ['azd', { FABRIC_USE_DEV_CLI: 'true' }, JSON.stringify({ token: ACCESS_TOKEN }), 'the Azure Developer CLI (azd auth token)'],
    ])('stops %s after FABRIC_TIMEOUT, failing clearly and uploading nothing', async (cli, switches, output, named) => {
      const slow = fakeAzureCli(output, cli, SLOW_SECONDS);
      const started = Date.now();
      const env = { PATH: `${slow.folder}:${dirname(process.execPath)}`, FABRIC_TIMEOUT: '1.5s', ...switches };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan((SLOW_SECONDS - 5) * 1000);
      expect(result.stderr).toContain(`${named} gave no Fabric token within 1.5s and was stopped: it may be waiting for a prompt or for the network`);
      expect(result.stderr).toContain('or raise FABRIC_TIMEOUT');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(fake.requests).toEqual([]);
    });

    // "+1m" is 1m to Go's time.ParseDuration, and so to the provider; 700h is longer than Node's timers take (2^31 - 1 ms).
    it.each(['1m', '+1m', '700h'])('waits for a slow CLI within FABRIC_TIMEOUT=%s', async (timeout) => {
      const slow = fakeAzureCli(azureCliAnswer(ACCESS_TOKEN), 'az', 1);
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { PATH: `${slow.folder}:${dirname(process.execPath)}`, FABRIC_TIMEOUT: timeout });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it.each(['10', '', 'ten minutes', '0s', '-5m', '+', '-0', '+-5m'])('refuses FABRIC_TIMEOUT="%s", which is no positive Go duration, naming the variable', async (value) => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withCli, FABRIC_TIMEOUT: value });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`fabric-upload: FABRIC_TIMEOUT is "${value}": the Fabric provider takes a positive Go duration such as 90s, 10m or 1h30m\n`);
      expect(fake.requests).toEqual([]);
    });
  });

  describe('signing in with an Azure DevOps service connection (workload identity federation), as the Fabric provider does', () => {
    /** What a pipeline step that runs Terraform with a service connection's identity has in its environment. */
    const pipelineStep = () => ({
      FABRIC_USE_OIDC: 'true',
      FABRIC_CLIENT_ID: CLIENT,
      FABRIC_TENANT_ID: TENANT,
      FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID: SERVICE_CONNECTION,
      SYSTEM_ACCESSTOKEN: SYSTEM_ACCESS_TOKEN,
      SYSTEM_OIDCREQUESTURI: `${fake.origin}${AZURE_PIPELINES_OIDC_PATH}`,
    });
    const pipelineRequests = () => fake.requests.filter((request) => request.path === AZURE_PIPELINES_OIDC_PATH);

    it('asks Azure DevOps for the service connection\'s ID token and signs in with it, before any FABRIC_OIDC_TOKEN, never printing the access token', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...pipelineStep(), FABRIC_OIDC_TOKEN: 'stale-assertion' });
      expect(result.code).toBe(0);
      expect(pipelineRequests()).toEqual([
        expect.objectContaining({
          method: 'POST',
          query: { 'api-version': '7.1', serviceConnectionId: SERVICE_CONNECTION },
          authorization: `Bearer ${SYSTEM_ACCESS_TOKEN}`,
          headers: expect.objectContaining({ 'x-tfs-fedauthredirect': 'Suppress' }),
        }),
      ]);
      const tokenRequest = fake.requests.find((request) => request.path === `/${TENANT}/oauth2/v2.0/token`);
      expect(tokenRequest?.form).toMatchObject({ client_id: CLIENT, client_assertion: ASSERTION });
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(result.stdout + result.stderr).not.toContain(SYSTEM_ACCESS_TOKEN);
    });

    it('asks Azure DevOps again after a 503, as azidentity\'s pipeline does, and signs in', async () => {
      fake.failures.set(AZURE_PIPELINES_OIDC_PATH, { status: 503, times: 2, retryAfterSeconds: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, pipelineStep());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(pipelineRequests()).toHaveLength(3);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('signs the service connection in at AZURE_AUTHORITY_HOST whatever FABRIC_ENVIRONMENT says, as the provider (which gives its credential no cloud) does', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...pipelineStep(), AZURE_AUTHORITY_HOST: OTHER_AUTHORITY, FABRIC_ENVIRONMENT: 'usgovernment' });
      expect(result.code).toBe(0);
      const tokenRequests = fake.requests.filter((request) => request.path === `/${TENANT}/oauth2/v2.0/token`);
      expect(tokenRequests.map((request) => request.headers['x-fake-original-origin'])).toEqual([OTHER_AUTHORITY]);
    });

    it('fails clearly, uploading nothing, when Azure DevOps refuses the service connection', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, {
        ...pipelineStep(),
        FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID: 'not-this-pipelines-connection',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'Azure DevOps gave no OIDC token for service connection not-this-pipelines-connection: HTTP 400 Service connection not-this-pipelines-connection was not found. (x-vss-e2eid e2e-2)',
      );
      expect(result.stderr).toContain('may this pipeline use service connection not-this-pipelines-connection?');
      expect(result.stderr).not.toContain(SYSTEM_ACCESS_TOKEN);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(fake.puts).toEqual([]);
    });

    it.each([
      ['SYSTEM_ACCESSTOKEN', 'map SYSTEM_ACCESSTOKEN: $(System.AccessToken)'],
      ['SYSTEM_OIDCREQUESTURI', 'SYSTEM_OIDCREQUESTURI is not: run the step in an Azure Pipelines job'],
    ])('says what to do when %s is missing', async (missing, advice) => {
      const env: Record<string, string> = pipelineStep();
      delete env[missing];
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(advice);
      expect(fake.requests).toEqual([]);
    });
  });

  describe('signing in with a managed identity (FABRIC_USE_MSI), as the Fabric provider does', () => {
    /** No Azure CLI on the PATH: a token can only come from the identity endpoint. */
    const withoutCli = { PATH: dirname(process.execPath) };
    const identityRequests = () => fake.requests.filter((request) => [IMDS_TOKEN_PATH, APP_SERVICE_TOKEN_PATH].includes(request.path));

    it('gets the system-assigned identity\'s token from the Instance Metadata Service and uploads with it', async () => {
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withoutCli, FABRIC_USE_MSI: 'true' });
      expect(result.code).toBe(0);
      expect(fake.requests[0]).toMatchObject({
        method: 'GET',
        path: IMDS_TOKEN_PATH,
        query: { 'api-version': '2018-02-01', resource: 'https://api.fabric.microsoft.com' },
        headers: expect.objectContaining({ metadata: 'true' }),
      });
      expect(fake.puts.length).toBeGreaterThan(0);
      for (const put of fake.puts) {
        expect(put.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      }
      expect(fake.files.get('dags/a.py')?.toString()).toBe('a\n');
      expect(result.stdout + result.stderr).not.toContain(ACCESS_TOKEN);
    });

    it('asks for the user-assigned identity that FABRIC_CLIENT_ID names', async () => {
      const env = { ...withoutCli, FABRIC_USE_MSI: 'true', FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(identityRequests().map((request) => request.query)).toEqual([
        { 'api-version': '2018-02-01', resource: 'https://api.fabric.microsoft.com', client_id: CLIENT },
      ]);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('uses App Service\'s identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER) with ARM_USE_MSI, and never prints the header', async () => {
      const env = {
        ...withoutCli,
        ARM_USE_MSI: 'true',
        ARM_CLIENT_ID: CLIENT,
        IDENTITY_ENDPOINT: `${fake.origin}${APP_SERVICE_TOKEN_PATH}`,
        IDENTITY_HEADER,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(identityRequests()).toEqual([
        expect.objectContaining({
          path: APP_SERVICE_TOKEN_PATH,
          query: { 'api-version': '2019-08-01', resource: 'https://api.fabric.microsoft.com', client_id: CLIENT },
          headers: expect.objectContaining({ 'x-identity-header': IDENTITY_HEADER }),
        }),
      ]);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(result.stdout + result.stderr).not.toContain(IDENTITY_HEADER);
    });

    it("asks the Instance Metadata Service at its own address even when ARM_MSI_ENDPOINT (the azurerm provider's, which the Fabric provider does not read) names another", async () => {
      const elsewhere = await FakeFabric.start({ workspaceId: WORKSPACE, jobId: JOB, accessToken: 'another-identity-token' });
      const env = { ...withoutCli, FABRIC_USE_MSI: 'true', ARM_MSI_ENDPOINT: `${elsewhere.origin}${IMDS_TOKEN_PATH}` };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      await elsewhere.stop();
      expect(result.code).toBe(0);
      expect(elsewhere.requests).toEqual([]);
      expect(identityRequests().map((request) => [request.headers['x-fake-original-origin'], request.path])).toEqual([['http://169.254.169.254', IMDS_TOKEN_PATH]]);
    });

    it.each<[Record<string, string>, string]>([
      [{ IDENTITY_SERVER_THUMBPRINT: 'ab12' }, 'IDENTITY_SERVER_THUMBPRINT is set: the Fabric provider signs in with the Service Fabric managed identity'],
      [{ MSI_ENDPOINT: 'http://localhost:50342/oauth2/token' }, 'MSI_ENDPOINT is set: the Fabric provider signs in with the Cloud Shell managed identity'],
    ])('stops, naming the variable, where the provider would ask a managed identity endpoint this step cannot (%o)', async (source, message) => {
      const appService: Record<string, string> =
        'IDENTITY_SERVER_THUMBPRINT' in source ? { IDENTITY_ENDPOINT: `${fake.origin}${APP_SERVICE_TOKEN_PATH}`, IDENTITY_HEADER } : {};
      const env = { ...withoutCli, FABRIC_USE_MSI: 'true', ...appService, ...source };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stderr).not.toContain(IDENTITY_HEADER);
      expect(fake.requests).toEqual([]);
    });

    it('fails clearly, naming the variable, when an identity endpoint variable is not a URL', async () => {
      const env = { ...withoutCli, FABRIC_USE_MSI: 'true', IDENTITY_ENDPOINT: 'http//169.254.129.5:8081/msi/token', IDENTITY_HEADER };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('fabric-upload: IDENTITY_ENDPOINT is not a URL\n');
      expect(fake.requests).toEqual([]);
    });

    it('fails clearly, uploading nothing, when the endpoint refuses a token for the identity', async () => {
      const env = { ...withoutCli, FABRIC_USE_MSI: 'true', FABRIC_CLIENT_ID: 'not-assigned-client-id' };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `http://169.254.169.254${IMDS_TOKEN_PATH} gave no Fabric token for the user-assigned managed identity not-assigned-client-id: HTTP 400 invalid_request Identity not found`,
      );
      expect(result.stderr).toContain('FABRIC_CLIENT_ID (or ARM_CLIENT_ID) must be its client id');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(fake.puts).toEqual([]);
    });

    it('keeps asking the Instance Metadata Service while it updates (410) past the five attempts other errors get', async () => {
      // IMDS may answer 410 for up to 70 s; seven 410s in a row are still within that.
      fake.failures.set(IMDS_TOKEN_PATH, { status: 410, times: 7, retryAfterSeconds: 0 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withoutCli, FABRIC_USE_MSI: 'true' });
      expect(result.code).toBe(0);
      expect(identityRequests()).toHaveLength(8);
      expect(fake.puts[0].authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('waits 10 s before asking an updating Instance Metadata Service (410) again, so seven tries cover its 70 s', async () => {
      fake.failures.set(IMDS_TOKEN_PATH, { status: 410, times: 1 });
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withoutCli, FABRIC_USE_MSI: 'true' });
      expect(result.code).toBe(0);
      const [updating, answered] = identityRequests();
      expect(answered.at - updating.at).toBeGreaterThanOrEqual(9_500);
    });

    it("ends the wait for an updating Instance Metadata Service (410) when FABRIC_TIMEOUT runs out, not after it", async () => {
      fake.failures.set(IMDS_TOKEN_PATH, { status: 410, times: 8 });
      const started = Date.now();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withoutCli, FABRIC_USE_MSI: 'true', FABRIC_TIMEOUT: '3s' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `cannot reach the managed identity endpoint http://169.254.169.254${IMDS_TOKEN_PATH} (no answer within the Fabric provider's timeout, FABRIC_TIMEOUT (3s))`,
      );
      // IMDS asks for 10 s between tries: the first wait would end past the 3 s.
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(identityRequests()).toHaveLength(1);
      expect(fake.puts).toEqual([]);
    });

    it('fails clearly when no managed identity endpoint answers', async () => {
      const closed = await FakeFabric.start({ workspaceId: WORKSPACE, jobId: JOB, accessToken: ACCESS_TOKEN });
      const noImds = { FAKE_AZURE_ROUTES: JSON.stringify({ 'http://169.254.169.254': closed.origin }) };
      await closed.stop();
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, { ...withoutCli, FABRIC_USE_MSI: 'true', ...noImds });
      expect(result.code).toBe(1);
      // Refused or reset: which one depends on the machine's network, not on the uploader.
      expect(result.stderr).toMatch(new RegExp(`cannot reach the managed identity endpoint http://169\\.254\\.169\\.254${IMDS_TOKEN_PATH} \\((ECONNREFUSED|ECONNRESET)\\)`));
      expect(result.stderr).toContain('Azure VM or scale set (IMDS) or App Service/Functions');
      expect(fake.requests).toEqual([]);
    });

    it('leaves the other sign-ins alone when the switch is off (FABRIC_USE_MSI=false wins over ARM_USE_MSI=true)', async () => {
      const env = {
        ...withCli,
        FABRIC_USE_MSI: 'false',
        ARM_USE_MSI: 'true',
        IDENTITY_ENDPOINT: `${fake.origin}${APP_SERVICE_TOKEN_PATH}`,
        IDENTITY_HEADER,
      };
      const result = await run(bundleFolder({ 'dags/a.py': 'a\n' }), fake, env);
      expect(result.code).toBe(0);
      expect(identityRequests()).toEqual([]);
      expect(JSON.parse(readFileSync(az.argsFile, 'utf8'))).toContain('get-access-token');
    });
  });
});
