/**
 * What the Fabric uploader's tests share: the uploader run as the deployment step runs it (a separate node
 * process), against a fake Fabric files API with its Entra ID, Instance Metadata Service and CI token endpoints
 * (fabric-files-api-fake.ts), and fake CLIs. Two test files use it, so that jest runs their waits (retries, backoffs,
 * a refresh's 30 s) side by side.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { temporaryFolder } from '../helpers/temporary-folder';
import { FakeFabric } from './fabric-files-api-fake';

export const UPLOADER = join(__dirname, '..', '..', 'lib', 'hosts', 'fabric', 'fabric-upload-files.mjs');
export const HOSTS_TO_FAKE = join(__dirname, 'azure-hosts-to-fake.mjs');
/** An Entra ID authority host other than the public cloud's, as AZURE_AUTHORITY_HOST may name one. */
export const OTHER_AUTHORITY = 'https://login.authority.example';
export const WORKSPACE = 'A1B2C3D4-1111-2222-3333-444455556666';
export const JOB = '22222222-2222-2222-2222-222222222222';
export const TENANT = '33333333-3333-3333-3333-333333333333';
export const CLIENT = '44444444-4444-4444-4444-444444444444';
export const ACCESS_TOKEN = 'fabric-access-token';
export const CLIENT_SECRET = 'deployer-client-secret';
export const ASSERTION = 'federated-assertion';
export const IDENTITY_HEADER = 'app-service-identity-header';
export const SYSTEM_ACCESS_TOKEN = 'azure-pipelines-system-access-token';
export const SERVICE_CONNECTION = '66666666-6666-6666-6666-666666666666';
export const TWO_MB = 2_000_000;
/** Where the uploader keeps the list of the files it uploaded (its documented contract). */
export const MANIFEST = 'dags/fabric_upload_manifest.json';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A folder laid out like the staged asset: paths in the job, relative to it. Removed after the test, as are the fake CLIs' folders. */
export function bundleFolder(files: Record<string, string | Buffer>): string {
  const folder = temporaryFolder('fabric-upload-test-');
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
export function fakeAzureCli(output: string, cli = 'az', delaySeconds = 0): { folder: string; argsFile: string } {
  const folder = temporaryFolder(`fake-${cli}-`);
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
export function azureCliAnswer(token: string, expiresOn = new Date(Date.now() + 3_600_000)): string {
  const local = new Date(expiresOn.getTime() - expiresOn.getTimezoneOffset() * 60_000).toISOString().replace('T', ' ').replace('Z', '000');
  return JSON.stringify({ accessToken: token, expiresOn: local, expires_on: Math.floor(expiresOn.getTime() / 1000), tenant: TENANT, tokenType: 'Bearer' });
}

/**
 * A folder holding a fake `az` that counts its calls in `callsFile`: the first prints a token that expires in
 * `expiresInSeconds`; a later one runs `later` (JavaScript, with that answer in `answer`): a login gone bad midway.
 */
export function fakeAzureCliChangingMidway(expiresInSeconds: number, later: string): { folder: string; callsFile: string } {
  const folder = temporaryFolder('fake-az-midway-');
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

export function putsOf(fake: FakeFabric, path: string) {
  return fake.puts.filter((request) => request.path.endsWith(`/files/${path}`));
}

/**
 * Only what the uploader should see: PATH (for node and az), the fake's address as the Fabric
 * provider's endpoint (FABRIC_ENDPOINT), and the variables a test gives. Its requests for Entra ID's
 * public login host, the Instance Metadata Service and {@link OTHER_AUTHORITY} go to the fake
 * (azure-hosts-to-fake.mjs), so the uploader is pointed there by nothing it reads.
 */
export function run(folder: string, fake: FakeFabric | string, env: Record<string, string>, jobId = JOB): Promise<RunResult> {
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

/** A service principal with a client secret, signing in at the fake's Entra ID. */
export const withSecret = () => ({ FABRIC_CLIENT_ID: CLIENT, FABRIC_TENANT_ID: TENANT, FABRIC_CLIENT_SECRET: CLIENT_SECRET });

/** A test's fake Fabric, and a fake `az` that signs in (on PATH in `withCli`). */
export interface FabricSession {
  readonly fake: FakeFabric;
  readonly az: { folder: string; argsFile: string };
  readonly withCli: Record<string, string>;
}

/** A fresh {@link FabricSession} for each test of the calling `describe`, handed to `use`; stopped after it. */
export function eachTestWithFakeFabric(use: (session: FabricSession) => void): void {
  let session: FabricSession | undefined;
  beforeEach(async () => {
    session = await startFakeFabric();
    use(session);
  });
  afterEach(async () => {
    await session?.fake.stop();
  });
}

async function startFakeFabric(): Promise<FabricSession> {
  const fake = await FakeFabric.start({
    workspaceId: WORKSPACE,
    jobId: JOB,
    accessToken: ACCESS_TOKEN,
    clientSecret: CLIENT_SECRET,
    clientAssertion: ASSERTION,
    githubRequestToken: 'github-request-token',
    managedIdentity: { systemAssigned: true, userAssignedClientIds: [CLIENT], identityHeader: IDENTITY_HEADER },
    azurePipelines: { systemAccessToken: SYSTEM_ACCESS_TOKEN, serviceConnectionId: SERVICE_CONNECTION },
  });
  const az = fakeAzureCli(azureCliAnswer(ACCESS_TOKEN));
  return { fake, az, withCli: { PATH: `${az.folder}:${process.env.PATH}` } };
}
