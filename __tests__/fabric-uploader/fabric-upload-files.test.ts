import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeFabric, InjectedFailure } from './fabric-files-api-fake';
import { ACCESS_TOKEN, bundleFolder, JOB, MANIFEST, putsOf, run, eachTestWithFakeFabric, TENANT, TWO_MB, withSecret, WORKSPACE } from './uploader-harness';

/** The uploader runs as the deployment step would run it: a separate node process. */
// One or two such processes per test: seconds each when npm test runs the DAG's tests beside jest on two cores.
jest.setTimeout(30_000);

describe('lib/hosts/fabric/fabric-upload-files.mjs against a fake Fabric files API', () => {
  it('is type-checked strictly by npm run typecheck (it is JavaScript, outside tsconfig.json)', () => {
    const typecheck: string = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).scripts.typecheck;
    const uploaderCheck = typecheck.split('&&').map((command) => command.trim()).find((command) => command.endsWith('lib/hosts/fabric/fabric-upload-files.mjs'));
    expect(uploaderCheck?.split(' ')).toEqual(expect.arrayContaining(['tsc', '--noEmit', '--allowJs', '--checkJs', '--strict']));
  });

  let fake: FakeFabric;
  let az: { folder: string; argsFile: string };
  let withCli: Record<string, string>;
  eachTestWithFakeFabric((session) => ({ fake, az, withCli } = session));

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

});
