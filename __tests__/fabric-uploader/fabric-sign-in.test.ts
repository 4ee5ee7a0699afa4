import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { temporaryFolder } from '../helpers/temporary-folder';
import { APP_SERVICE_TOKEN_PATH, AZURE_PIPELINES_OIDC_PATH, FakeFabric, GITHUB_OIDC_PATH, IMDS_TOKEN_PATH } from './fabric-files-api-fake';
import { ACCESS_TOKEN, ASSERTION, azureCliAnswer, bundleFolder, CLIENT, CLIENT_SECRET, fakeAzureCli, fakeAzureCliChangingMidway, IDENTITY_HEADER, JOB, MANIFEST, OTHER_AUTHORITY, putsOf, run, SERVICE_CONNECTION, eachTestWithFakeFabric, SYSTEM_ACCESS_TOKEN, TENANT, withSecret, WORKSPACE } from './uploader-harness';

/** The uploader runs as the deployment step would run it: a separate node process. */
// One or two such processes per test: seconds each when npm test runs the DAG's tests beside jest on two cores.
jest.setTimeout(30_000);

describe('lib/hosts/fabric/fabric-upload-files.mjs signing in, against a fake Fabric files API', () => {
  let fake: FakeFabric;
  let az: { folder: string; argsFile: string };
  let withCli: Record<string, string>;
  eachTestWithFakeFabric((session) => ({ fake, az, withCli } = session));

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
      const folder = temporaryFolder('fake-az-expiring-');
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
      // The first call gives a token that expires in 2-3 s (expires_on is whole seconds: "+1" left as little as a
      // millisecond, and on a loaded machine it expired before the first call); a later call hangs (a prompt nobody answers).
      const { folder, callsFile } = fakeAzureCliChangingMidway(3, 'setTimeout(() => console.log(answer), 60_000);');
      // The token expires during the 4 s wait; the refresh has the second or two left of the upload's 6 s, not 6 s more.
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
      expect(fake.requests.length).toBeGreaterThan(0);
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
      const file = join(temporaryFolder('fabric-credential-'), 'value');
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
      const folder = temporaryFolder('fake-windows-');
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
