#!/usr/bin/env node
// @ts-check
/**
 * Uploads a folder of DAG files to a Microsoft Fabric Apache Airflow job through the Fabric REST
 * "Apache Airflow Job files" API (beta):
 *   PUT {endpoint}/v1/workspaces/{workspaceId}/apacheAirflowJobs/{jobId}/files/{filePath}?beta=true
 * with the file's bytes as application/octet-stream (microsoft/fabric-rest-api-specs
 * `apacheAirflowJob/swagger.json`, Files_Create_Or_Update). Paths must start with `dags/` or
 * `plugins/`; a file may have at most 2 MB. Every file is checked before the first request, so a
 * bad bundle uploads nothing. PUT overwrites: running it again leaves the same files.
 *
 * Files an earlier bundle had and this one has not are deleted (DELETE .../files/{filePath}?beta=true),
 * so a module removed from the DAG's library does not stay in the DAG folder. Only files this uploader
 * wrote are ever deleted: it keeps their list in the job, in `dags/fabric_upload_manifest.json`, and
 * records each path there before it writes the file, so a run that fails halfway leaves nothing a later
 * run does not know it owns. Files someone else put in the job are never touched. A file it cannot delete
 * stays on that list and fails the step, naming it: the new DAG may still import a module left in its folder.
 *
 * Its calls are tried again as the provider's Fabric SDK client tries them (see {@link waitsWithin}), within
 * the provider's timeout, FABRIC_TIMEOUT, for the whole upload, calls, waits and sign-ins midway alike; a call
 * or sign-in still unanswered when it runs out is ended. Its token is refreshed as the client's bearer token
 * policy refreshes it: within five minutes of the expiry its source gave, and after a 401, once per call.
 *
 *   node fabric-upload-files.mjs --workspace-id <guid> --job-id <guid> --files <folder>
 *
 * {endpoint} is the Fabric provider's: FABRIC_ENDPOINT (the provider block's `endpoint` reaches the step
 * as FABRIC_ENDPOINT), https://api.fabric.microsoft.com by default, taken as the provider's Fabric SDK
 * takes it (trailing slashes trimmed, lowercased, an absolute URL); its host is the workspace's private
 * link host, {workspace id without dashes}.z{its first two characters}.w.{host}, when
 * FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT (the block's use_workspace_private_link_endpoint) is true,
 * as the SDK makes it. The token is for the Fabric API's scope, https://api.fabric.microsoft.com/.default,
 * whatever the endpoint, as the SDK asks for it.
 *
 * No secret is ever an argument. The bearer token for https://api.fabric.microsoft.com comes from the
 * environment, in the Fabric provider's order (internal/auth/credential.go getAuthMethod), so the
 * upload acts as the identity Terraform signed in as:
 *   1. a managed identity, when FABRIC_USE_MSI (or, when it is unset, ARM_USE_MSI) is true: the
 *      user-assigned one FABRIC_CLIENT_ID/ARM_CLIENT_ID names, else the system-assigned one. The
 *      token comes from App Service's or Functions' identity endpoint when IDENTITY_ENDPOINT and
 *      IDENTITY_HEADER are set (api-version 2019-08-01, header X-IDENTITY-HEADER), else from the
 *      Instance Metadata Service of an Azure VM or scale set
 *      (http://169.254.169.254/metadata/identity/oauth2/token, api-version 2018-02-01, header
 *      Metadata: true), as azidentity's ManagedIdentityCredential, which the provider uses, picks and
 *      calls them (ARM_MSI_ENDPOINT, the azurerm provider's msi_endpoint, is not read: neither the
 *      Fabric provider nor azidentity reads it); the
 *      sources it picks that this step cannot call (Service Fabric, Azure Arc, Cloud Shell, Azure ML)
 *      stop the step, naming the variable. IMDS is asked again while it updates (410, up to 70 s), is
 *      throttled or fails transiently;
 *   2. workload identity federation, when FABRIC_USE_OIDC (or, when it is unset, ARM_USE_OIDC) is
 *      true: the assertion is FABRIC_OIDC_TOKEN/ARM_OIDC_TOKEN or the content of the file
 *      FABRIC_OIDC_TOKEN_FILE_PATH/ARM_OIDC_TOKEN_FILE_PATH names, else an ID token from the
 *      endpoint FABRIC_OIDC_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_URL/ARM_OIDC_REQUEST_URL names
 *      (GitHub Actions'), with FABRIC_OIDC_REQUEST_TOKEN/ACTIONS_ID_TOKEN_REQUEST_TOKEN/
 *      SYSTEM_ACCESSTOKEN/ARM_OIDC_REQUEST_TOKEN as bearer (internal/auth/oidc.go). With
 *      FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID set, the assertion is instead the ID token of that Azure
 *      DevOps service connection (workload identity federation), from SYSTEM_OIDCREQUESTURI with that
 *      bearer, as azidentity's AzurePipelinesCredential gets it;
 *   3. the Azure Developer CLI login (`azd auth token`), when FABRIC_USE_DEV_CLI/ARM_USE_DEV_CLI is true;
 *   4. the Azure CLI login, when FABRIC_USE_CLI/ARM_USE_CLI is true (see 6);
 *   5. a client secret, FABRIC_CLIENT_SECRET/ARM_CLIENT_SECRET or the content of the file
 *      FABRIC_CLIENT_SECRET_FILE_PATH/ARM_CLIENT_SECRET_FILE_PATH names;
 *   6. the Azure CLI login (`az account get-access-token --output json`), which also covers `az login --identity`.
 *      Both CLIs are asked for a token in FABRIC_TENANT_ID/ARM_TENANT_ID when it is set, as the
 *      provider asks them (azidentity's AzureCLICredential --tenant, AzureDeveloperCLICredential --tenant-id).
 *      Either CLI is stopped, failing the step, when it has given no token within the provider's timeout,
 *      FABRIC_TIMEOUT (a Go duration, 10m by default), which bounds the provider's own call of it; so
 *      is a call to Entra ID, a managed identity endpoint or an OIDC token endpoint not answered by then,
 *      its waits between tries included. A sign-in midway through the upload (a refresh, or after a 401)
 *      has what is left of the upload's FABRIC_TIMEOUT instead. Entra ID is asked again on 408, 429 and
 *      5xx as azidentity asks it (see {@link entraWaits}).
 * The service principal of 2 and 5 is FABRIC_CLIENT_ID/ARM_CLIENT_ID or the content of the file
 * FABRIC_CLIENT_ID_FILE_PATH/ARM_CLIENT_ID_FILE_PATH names, in FABRIC_TENANT_ID/ARM_TENANT_ID.
 * Every list of names is read as the provider reads it (internal/provider/config/envvars.go,
 * internal/provider/utils/envvars.go and values.go): the first variable that is set wins, even when
 * it is empty; a file's content (trimmed) wins over its variable, and the two must not differ.
 * A switch is on for 1, t, T, TRUE, true or True, as the provider parses it. The provider refuses
 * more than one of the four switches on, and FABRIC_USE_MSI or FABRIC_USE_OIDC with a client secret.
 * The Entra ID host of 2 and 5 is the provider's cloud, FABRIC_ENVIRONMENT/ARM_ENVIRONMENT (public,
 * usgovernment or china), as the provider gives it to azidentity (cloud.Configuration, which
 * azidentity prefers to AZURE_AUTHORITY_HOST, so it is not read there); for an Azure DevOps service
 * connection, whose credential the provider gives no cloud, it is AZURE_AUTHORITY_HOST as azidentity
 * reads it, else the public cloud's.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const FABRIC_SCOPE = 'https://api.fabric.microsoft.com/.default';
/** A managed identity endpoint takes the resource, not the scope (azidentity trims "/.default" too). */
const FABRIC_RESOURCE = FABRIC_SCOPE.replace(/\/\.default$/, '');
const IMDS_TOKEN_ENDPOINT = 'http://169.254.169.254/metadata/identity/oauth2/token';
/** The Fabric provider's default `endpoint` (internal/provider/config/constants.go DefaultFabricEndpointURL). */
const DEFAULT_ENDPOINT = 'https://api.fabric.microsoft.com';
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
/** The Fabric provider's default `timeout` (FABRIC_TIMEOUT), a Go duration. */
const DEFAULT_TIMEOUT = '10m';
/** The files API's limit; the smaller reading of "2 MB". */
const MAX_FILE_BYTES = 2_000_000;
const ALLOWED_FOLDERS = ['dags/', 'plugins/'];
/** The job's record of the files this uploader wrote there: the only files it may delete. */
const MANIFEST_PATH = 'dags/fabric_upload_manifest.json';
/**
 * Statuses worth another try, those the provider's Fabric SDK client tries again (the defaults of azcore's
 * retry policy, policy_retry.go setDefaults): a timeout, throttling, and transient server and gateway errors.
 */
const RETRIABLE = new Set([408, 429, 500, 502, 503, 504]);
/**
 * Connection failures worth another try: the connection dropped or timed out midway. A refused
 * connection or an unknown host is a wrong endpoint or no network, and fails at once.
 */
const RETRIABLE_NETWORK = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
/**
 * Statuses of the Instance Metadata Service worth another try: 404 and 410 while it updates, 429,
 * and transient 5xx (learn.microsoft.com, managed identities, how-to-use-vm-token, error handling).
 */
const IMDS_RETRIABLE = new Set([404, 410, 429, 500, 502, 503, 504]);
/**
 * IMDS answers 410 while it updates, which may last 70 seconds (how-to-use-vm-token, error handling):
 * a 410 is asked again every 10 seconds, 7 times (MSAL's IMDS retry policy, imds_retry_based_on_errors.md).
 */
const IMDS_UPDATING_WAIT_SECONDS = 10;
const IMDS_UPDATING_ATTEMPTS = 8;
const MAX_ATTEMPTS = 5;
/**
 * Tries of a call to Entra ID's token endpoint: azidentity sends it through an azcore pipeline with the default
 * retry policy (azidentity.go newPipelineAdapter; runtime/policy_retry.go setDefaults: 3 retries, waits of at most 60 s).
 */
const ENTRA_ATTEMPTS = 4;
/** The bearer of an OIDC request, in the provider's order (internal/provider/config/envvars.go). */
const OIDC_REQUEST_TOKEN_VARIABLES = ['FABRIC_OIDC_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'SYSTEM_ACCESSTOKEN', 'ARM_OIDC_REQUEST_TOKEN'];
const MAX_RETRY_WAIT_SECONDS = 60;
/** azcore refreshes a token when it expires within 5 minutes, at most every 30 seconds (sdk/internal/temporal/resource.go). */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
const TOKEN_REFRESH_INTERVAL_MS = 30_000;

class UploadError extends Error {}

async function main() {
  const { values } = parseArgs({
    options: {
      'workspace-id': { type: 'string' },
      'job-id': { type: 'string' },
      files: { type: 'string' },
    },
    strict: true,
  });
  const workspaceId = required(values['workspace-id'], '--workspace-id');
  const jobId = required(values['job-id'], '--job-id');
  const folder = required(values.files, '--files');

  const files = await bundleFiles(folder);
  if (files.length === 0) {
    throw new UploadError(`no files under ${folder}: nothing to upload`);
  }
  const base = `${fabricEndpoint(process.env, workspaceId)}/v1/workspaces/${encodeURIComponent(workspaceId)}/apacheAirflowJobs/${encodeURIComponent(jobId)}/files`;
  const timeout = providerTimeout(process.env);
  const token = await accessToken(process.env, firstSignInLimit(process.env));
  const budget = uploadBudget(timeout);
  /** @type {FilesApi} */
  const api = { base, budget, token, signIn: () => accessToken(process.env, signInLimitWithin(budget)) };
  const previous = await readManifest(api);
  const current = files.map((file) => file.path);
  let recorded = previous;
  if (current.some((path) => !previous.includes(path))) {
    recorded = [...previous, ...current.filter((path) => !previous.includes(path))];
    await writeManifest(api, recorded);
  }
  for (const [written, file] of files.entries()) {
    await send(api, 'PUT', file.path, file.bytes).catch((error) => {
      if (written === 0 || !(error instanceof UploadError)) {
        throw error;
      }
      throw new UploadError(
        `${error.message}\n  ${written} of the bundle's ${files.length} files were written before it: the job's DAG folder mixes them with ` +
          "the earlier bundle's, and the DAG refuses to import until they are one bundle again. Run terraform apply again, which uploads every file again",
      );
    });
    console.log(`fabric-upload: ${file.path} (${file.bytes.length} bytes)`);
  }
  const stale = previous.filter((path) => !current.includes(path));
  /** @type {{ path: string, reason: string }[]} */
  const kept = [];
  for (const path of stale) {
    try {
      await send(api, 'DELETE', path, undefined, [404]);
      console.log(`fabric-upload: ${path} deleted (an earlier bundle uploaded it, this one has it no more)`);
    } catch (error) {
      if (!(error instanceof UploadError)) {
        throw error;
      }
      kept.push({ path, reason: error.message });
    }
  }
  // The files not deleted stay on the list, so the next run deletes them.
  const listed = [...current, ...kept.map((file) => file.path)];
  if (recorded.length !== listed.length) {
    await writeManifest(api, listed);
  }
  if (kept.length > 0) {
    // A stale module left in the DAG folder can still be imported by the new DAG: the step must fail.
    throw new UploadError(
      `the bundle's ${files.length} file(s) were all uploaded, but ${kept.length} of the ${stale.length} file(s) an earlier bundle uploaded ` +
        `and this one no longer has could not be deleted:\n  ${kept.map((file) => file.reason).join('\n  ')}\n` +
        "  The job's DAG folder still holds them beside the new bundle, and the DAG may import them (a module removed from its library, " +
        'an old version of a file that moved). Run terraform apply again, which deletes them (they stay on the list in ' +
        `${MANIFEST_PATH}), or delete them in the Apache Airflow job's files in Fabric`,
    );
  }
  console.log(
    `fabric-upload: ${files.length} file(s) uploaded, ${stale.length} deleted, in Apache Airflow job ${jobId} of workspace ${workspaceId}`,
  );
}

/**
 * @typedef {object} FilesApi
 * @property {string} base the files API's URL for the job
 * @property {UploadBudget} budget
 * @property {BearerToken} token the token the calls carry, replaced when it is refreshed
 * @property {() => Promise<BearerToken>} signIn a new token, from the source the first came from
 */
/** @typedef {{ text: string, endsAtMs: number }} UploadBudget when the upload's calls and their retries' waits must be over */
/**
 * @typedef {{ value: string, expiresOnMs?: number, acquiredAtMs: number, refreshTriedAtMs?: number }} BearerToken expiresOnMs: when the
 * source says it expires; refreshTriedAtMs: when a refresh that failed began
 */

/**
 * The provider's timeout as the time the whole upload may take at the files API, its calls and the waits
 * before their retries together, as the provider's timeout bounds one of its operations (its calls run
 * under a context with that deadline, which ends a call that hangs and the retries' waits).
 * @param {{ ms: number, text: string }} timeout @returns {UploadBudget}
 */
function uploadBudget(timeout) {
  return { text: timeout.text, endsAtMs: Date.now() + timeout.ms };
}

/**
 * The Fabric API endpoint the provider calls for the workspace: its `endpoint`, FABRIC_ENDPOINT when set
 * (trimmed, even empty, as the provider reads it), else https://api.fabric.microsoft.com, as fabric-sdk-go's
 * NewServiceClient takes it (internal/iruntime/service_client.go getEndpoint: trailing slashes trimmed,
 * lowercased, an absolute URL). Its clients add the version path (/v1/workspaces/...). With the provider's
 * `use_workspace_private_link_endpoint` on (FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT), the SDK's
 * PrivateLinkPolicy (internal/iruntime/private_link_policy.go) sends a workspace's requests to its private
 * link host instead: {workspace id without dashes}.z{its first two characters}.w.{the endpoint's host}.
 * @param {NodeJS.ProcessEnv} env @param {string} workspaceId
 */
function fabricEndpoint(env, workspaceId) {
  const endpoint = (env.FABRIC_ENDPOINT === undefined ? DEFAULT_ENDPOINT : env.FABRIC_ENDPOINT.trim()).replace(/\/+$/, '').toLowerCase();
  const url = urlOf(endpoint, "FABRIC_ENDPOINT (the Fabric provider's endpoint, e.g. https://api.fabric.microsoft.com)");
  // The policy rewrites only paths whose workspace id parses as a GUID.
  if (!providerSwitch(env, 'FABRIC_USE_WORKSPACE_PRIVATE_LINK_ENDPOINT') || !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(workspaceId)) {
    return endpoint;
  }
  const id = workspaceId.replaceAll('-', '').toLowerCase();
  const prefix = `${id}.z${id.slice(0, 2)}.w.`;
  if (!url.host.startsWith(prefix)) {
    url.host = `${prefix}${url.host}`;
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * The paths the manifest lists, or none when there is no manifest (a new job, or one an uploader
 * without manifests filled). Entries that are not paths this uploader could have written are ignored.
 * @param {FilesApi} api
 * @returns {Promise<string[]>}
 */
async function readManifest(api) {
  const response = await send(api, 'GET', MANIFEST_PATH, undefined, [404]);
  if (response.status === 404) {
    return [];
  }
  // A body that cannot be read fails the step: read as no list, the list's earlier files would be forgotten.
  const text = await response.text().catch((error) => {
    throw new UploadError(`GET ${MANIFEST_PATH} failed: ${describeCallError(error, api.budget)}`);
  });
  let listed;
  try {
    listed = JSON.parse(text).files;
  } catch {
    listed = undefined;
  }
  if (!Array.isArray(listed)) {
    console.warn(`fabric-upload: ${MANIFEST_PATH} does not hold a list of files; no earlier file is deleted this time`);
    return [];
  }
  const paths = listed.filter(
    (path) =>
      typeof path === 'string' &&
      path !== MANIFEST_PATH &&
      ALLOWED_FOLDERS.some((folder) => path.startsWith(folder)) &&
      path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
  );
  return [...new Set(paths)];
}

/** @param {FilesApi} api @param {string[]} paths */
async function writeManifest(api, paths) {
  const manifest = {
    description: 'Files fabric-upload-files.mjs uploaded to this job. It deletes those a later bundle no longer has, and no other file.',
    files: [...paths].sort(),
  };
  await send(api, 'PUT', MANIFEST_PATH, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
}

/** @param {string | undefined} value @param {string} name */
function required(value, name) {
  if (!value) {
    throw new UploadError(`${name} is required`);
  }
  return value;
}

/**
 * Every file under the folder, with its path in the job, checked against the API's limits.
 * @param {string} folder
 * @returns {Promise<{ path: string, bytes: Buffer }[]>}
 */
async function bundleFiles(folder) {
  const entries = await readdir(folder, { recursive: true }).catch((error) => {
    throw new UploadError(`cannot read ${folder}: ${error.message}`);
  });
  const files = [];
  const problems = [];
  for (const entry of entries.sort()) {
    const absolute = join(folder, entry);
    const info = await stat(absolute);
    if (!info.isFile()) {
      continue;
    }
    const path = relative(folder, absolute).split(sep).join('/');
    if (path === MANIFEST_PATH) {
      problems.push(`${path}: reserved for the uploader's list of the files it uploaded`);
    } else if (!ALLOWED_FOLDERS.some((allowed) => path.startsWith(allowed))) {
      problems.push(`${path}: the files API accepts only paths under ${ALLOWED_FOLDERS.join(' or ')}`);
    } else if (info.size > MAX_FILE_BYTES) {
      problems.push(`${path}: ${info.size} bytes, more than the files API's limit of ${MAX_FILE_BYTES} bytes (2 MB)`);
    } else {
      files.push({ path, bytes: await readFile(absolute) });
    }
  }
  if (problems.length > 0) {
    throw new UploadError(`nothing uploaded, ${problems.length} file(s) cannot be:\n  ${problems.join('\n  ')}`);
  }
  return files;
}

/**
 * One call of the files API on one file, tried again as the provider tries its calls again (see {@link waitsWithin}),
 * with a fresh token (see {@link freshToken}); on a 401, signed in anew and tried once more, as the provider's
 * bearer token policy expires its token on a 401.
 * @param {FilesApi} api
 * @param {'GET' | 'PUT' | 'DELETE'} method
 * @param {string} path the file's path in the job
 * @param {Buffer} [bytes] the body of a PUT
 * @param {number[]} [answers] statuses besides 2xx that answer the call rather than fail it
 * @returns {Promise<Response>}
 */
async function send(api, method, path, bytes, answers = []) {
  // Slashes kept, each segment escaped, as Microsoft's semantic-link-labs sends the path (sempy_labs
  // `create_or_update_apache_airflow_job_file`: .../files/{file_path}); fabric-sdk-go escapes them as %2F.
  const url = `${api.base}/${path.split('/').map(encodeURIComponent).join('/')}?beta=true`;
  const outlasted =
    `retrying would outlast the Fabric provider's timeout, FABRIC_TIMEOUT (${api.budget.text}), ` +
    "which bounds the whole upload, its calls and their retries' waits, its other files' included";
  const request = async () => ({
    method,
    headers: { Authorization: `Bearer ${(await freshToken(api)).value}`, ...(bytes ? { 'Content-Type': 'application/octet-stream' } : {}) },
    body: bytes ? new Uint8Array(bytes) : undefined,
    // Each try ends when the budget does: a call that hangs cannot hold the apply past it.
    signal: AbortSignal.timeout(Math.max(1, api.budget.endsAtMs - Date.now())),
  });
  let response;
  let signedInAgain = false;
  try {
    response = await fetchRetrying(url, request, RETRIABLE, true, waitsWithin(api.budget));
    if (response.status === 401) {
      await response.body?.cancel();
      api.token = await signInAgain(api, `${method} ${path}`);
      signedInAgain = true;
      response = await fetchRetrying(url, request, RETRIABLE, true, waitsWithin(api.budget));
    }
  } catch (error) {
    if (error instanceof UploadError) {
      throw error;
    }
    const retried = RETRIABLE_NETWORK.has(/** @type {{ cause?: { code?: string } }} */ (error).cause?.code ?? '') ? `; ${outlasted}` : '';
    throw new UploadError(`${method} ${path} failed: ${describeCallError(error, api.budget)} (${url.split('?')[0]})${retried}`);
  }
  if (response.ok || answers.includes(response.status)) {
    return response;
  }
  const again = signedInAgain ? '; it was signed in anew after a first 401, and Fabric refused the new token too' : '';
  throw new UploadError(`${method} ${path} failed: ${await describeFailure(response)}${again}${RETRIABLE.has(response.status) ? `; ${outlasted}` : ''}`);
}

/**
 * Why a call got no answer: the budget ran out during it (the call's timeout), or fetch's own error.
 * @param {unknown} error @param {UploadBudget} budget
 */
function describeCallError(error, budget) {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return (
      `no answer within the Fabric provider's timeout, FABRIC_TIMEOUT (${budget.text}), which bounds the whole upload, ` +
      "its calls and their retries' waits, its other files' included: Fabric or the network may be slow; raise FABRIC_TIMEOUT, or run terraform apply again later"
    );
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The token, refreshed first when its source said when it expires and that is less than five minutes
 * away, as azcore's bearer token policy refreshes it (temporal.Resource: within 5 minutes of expiry,
 * at most every 30 seconds; a failed refresh of a token that has not expired keeps it).
 * @param {FilesApi} api
 */
async function freshToken(api) {
  const { expiresOnMs, acquiredAtMs, refreshTriedAtMs } = api.token;
  const now = Date.now();
  if (expiresOnMs === undefined || now < expiresOnMs - TOKEN_REFRESH_MARGIN_MS) {
    return api.token;
  }
  if (now < expiresOnMs) {
    // At most every 30 seconds, a failed try included: else a source that fails is asked again before every call.
    if (now - Math.max(acquiredAtMs, refreshTriedAtMs ?? 0) < TOKEN_REFRESH_INTERVAL_MS) {
      return api.token;
    }
    api.token = await api.signIn().catch(() => ({ ...api.token, refreshTriedAtMs: now }));
    return api.token;
  }
  api.token = await api.signIn().catch((error) => {
    throw new UploadError(`the Fabric token expired during the upload and could not be refreshed: ${error instanceof Error ? error.message : error}`);
  });
  return api.token;
}

/**
 * A new token after Fabric refused one (401): the token may have expired or been revoked midway.
 * @param {FilesApi} api @param {string} call
 */
async function signInAgain(api, call) {
  return api.signIn().catch((error) => {
    throw new UploadError(`${call} failed: HTTP 401, and signing in again failed: ${error instanceof Error ? error.message : error}`);
  });
}

/**
 * The waits of the files API's calls, as the provider's Fabric SDK client waits (azcore's retry policy,
 * which the provider sets to retry without a limit of attempts and with no cap on a wait: provider.go
 * createDefaultClient): the whole wait Fabric asks for (see {@link retryAfterSeconds}), else a backoff of 2, 4, 8 ... (at most 60)
 * seconds; while the wait ends within the budget, the provider's timeout, which bounds one operation of
 * the provider, its calls included. One budget for the whole upload, not one per call: a bundle of
 * hundreds of files, each throttled almost that long, would otherwise hold the apply for hours.
 * @param {UploadBudget} budget
 * @returns {(attempt: number, response?: Response) => number | undefined}
 */
function waitsWithin(budget) {
  return (attempt, response) => {
    // azcore takes a Retry-After of 0 (or none, or a date that has passed) as no advice, and backs off.
    const asked = response && retryAfterSeconds(response);
    const wait = asked ? asked : Math.min(2 ** attempt, MAX_RETRY_WAIT_SECONDS);
    if (Date.now() + wait * 1000 > budget.endsAtMs) {
      return undefined;
    }
    return wait;
  };
}

/**
 * The waits of a managed identity endpoint's calls: at most MAX_ATTEMPTS tries, after Retry-After or a
 * backoff (at most 60 seconds); for the Instance Metadata Service, a 410 (IMDS updating) is tried again
 * for IMDS_UPDATING_ATTEMPTS in all, every IMDS_UPDATING_WAIT_SECONDS.
 * @param {boolean} imds
 * @returns {(attempt: number, response?: Response) => number | undefined}
 */
function identityEndpointWaits(imds) {
  return (attempt, response) => {
    const imdsUpdating = imds && response?.status === 410;
    if (attempt >= (imdsUpdating ? IMDS_UPDATING_ATTEMPTS : MAX_ATTEMPTS)) {
      return undefined;
    }
    const asked = response && retryAfterSeconds(response);
    return Math.min(asked ?? (imdsUpdating ? IMDS_UPDATING_WAIT_SECONDS : 2 ** attempt), MAX_RETRY_WAIT_SECONDS);
  };
}

/**
 * The waits of a sign-in's calls (Entra ID's token endpoint, the OIDC request URLs), as azcore's default retry policy
 * waits: at most ENTRA_ATTEMPTS tries, after the wait it asks for, none when that is over 60 s (its MaxRetryDelay),
 * else a backoff of 2, 4, 8 s; none that would end past the sign-in's deadline, so the endpoint's answer, not a
 * timeout, fails the step.
 * @param {SignInLimit} limit
 * @returns {(attempt: number, response?: Response) => number | undefined}
 */
function entraWaits(limit) {
  return (attempt, response) => {
    const asked = response && retryAfterSeconds(response);
    const wait = asked ? asked : Math.min(2 ** attempt, MAX_RETRY_WAIT_SECONDS);
    const allowed = attempt < ENTRA_ATTEMPTS && wait <= MAX_RETRY_WAIT_SECONDS && Date.now() + wait * 1000 <= limit.endsAtMs;
    return allowed ? wait : undefined;
  };
}

/**
 * fetch, tried again on the given statuses and, when asked, on a dropped connection, after the wait
 * `waits` gives for the attempt and the answer (none after a dropped connection); the answer, or
 * fetch's error, once it gives none.
 * @param {string} url @param {RequestInit | (() => Promise<RequestInit>)} init the request, or what makes each try's
 * @param {Set<number>} statuses @param {boolean} retryNetwork
 * @param {(attempt: number, response?: Response) => number | undefined} waits seconds, or undefined: no more tries
 * @returns {Promise<Response>}
 */
async function fetchRetrying(url, init, statuses, retryNetwork, waits) {
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch(url, typeof init === 'function' ? await init() : init);
    } catch (error) {
      const code = /** @type {{ cause?: { code?: string } }} */ (error).cause?.code;
      const wait = retryNetwork && code && RETRIABLE_NETWORK.has(code) ? waits(attempt) : undefined;
      if (wait === undefined) {
        throw error;
      }
      await sleep(wait, typeof init === 'function' ? undefined : init.signal);
      continue;
    }
    const wait = statuses.has(response.status) ? waits(attempt, response) : undefined;
    if (wait === undefined) {
      return response;
    }
    await sleep(wait, typeof init === 'function' ? undefined : init.signal);
  }
}

/**
 * The wait a response asks for, in seconds, read as azcore's retry policy, which the provider's clients use, reads it
 * (sdk/azcore/internal/shared/shared.go RetryAfter): from the first of retry-after-ms, x-ms-retry-after-ms and
 * Retry-After that it has. Fabric and Entra ID document only Retry-After; the milliseconds headers are Azure's
 * finer form, which azcore (and @azure/core-rest-pipeline) prefer when present. One that is not a whole number
 * of milliseconds above 0 is no advice (0), as in azcore. Retry-After in either of its forms (RFC 9110 section
 * 10.2.3): delay-seconds, or an HTTP-date, as the seconds until then (0 once it has passed); undefined when
 * there is none that is either.
 * @param {Response} response
 */
function retryAfterSeconds(response) {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const milliseconds = response.headers.get(name)?.trim();
    if (milliseconds) {
      // Go's strconv.Atoi: an optional sign, then decimal digits.
      return /^[+-]?\d+$/.test(milliseconds) && Number(milliseconds) > 0 ? Number(milliseconds) / 1000 : 0;
    }
  }
  // No header must not read as "retry now": Number(null) is 0.
  const header = response.headers.get('retry-after')?.trim();
  const given = header ? Number(header) : NaN;
  if (Number.isFinite(given) && given >= 0) {
    return given;
  }
  const date = header ? httpDateMs(header) : undefined;
  return date === undefined ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An HTTP-date (RFC 9110 section 5.6.7) in milliseconds since the epoch: the IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", or one of the obsolete forms a recipient must also accept,
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime's "Sun Nov  6 08:49:37 1994", all in UTC; undefined otherwise.
 * @param {string} text
 */
function httpDateMs(text) {
  const time = '(\\d{2}):(\\d{2}):(\\d{2})';
  const fixdate = new RegExp(`^[A-Z][a-z]{2}, (\\d{2}) ([A-Z][a-z]{2}) (\\d{4}) ${time} GMT$`).exec(text);
  const rfc850 = new RegExp(`^[A-Z][a-z]+, (\\d{2})-([A-Z][a-z]{2})-(\\d{2}) ${time} GMT$`).exec(text);
  const asctime = new RegExp(`^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \\d]\\d) ${time} (\\d{4})$`).exec(text);
  let parts;
  if (fixdate) {
    parts = { day: fixdate[1], month: fixdate[2], year: Number(fixdate[3]), clock: fixdate.slice(4, 7) };
  } else if (rfc850) {
    // A two-digit year more than 50 years ahead is the last past year ending in those digits (RFC 9110).
    const year = 2000 + Number(rfc850[3]);
    parts = { day: rfc850[1], month: rfc850[2], year: year > new Date().getUTCFullYear() + 50 ? year - 100 : year, clock: rfc850.slice(4, 7) };
  } else if (asctime) {
    parts = { day: asctime[2], month: asctime[1], year: Number(asctime[6]), clock: asctime.slice(3, 6) };
  } else {
    return undefined;
  }
  const month = MONTHS.indexOf(parts.month);
  const [hours, minutes, seconds] = parts.clock.map(Number);
  const ms = Date.UTC(parts.year, month, Number(parts.day), hours, minutes, seconds);
  return month < 0 || Number.isNaN(ms) ? undefined : ms;
}

/**
 * A wait that ends early, failing with the signal's reason, when the signal aborts: a call's deadline bounds the
 * waits between its tries too, as azcore's retry policy ends its wait when the call's context is done.
 * @param {number} seconds @param {AbortSignal | null} [signal]
 */
function sleep(seconds, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      return reject(signal.reason);
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(undefined);
    }, seconds * 1000);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * "HTTP 403 Forbidden: InsufficientPrivileges: <message> (request id ...)" from Fabric's ErrorResponse.
 * @param {Response} response
 */
async function describeFailure(response) {
  const text = await response.text().catch(() => '');
  let detail = text.slice(0, 500);
  try {
    const body = JSON.parse(text);
    detail = [body.errorCode, body.message].filter(Boolean).join(': ') || detail;
    if (body.requestId) {
      detail += ` (request id ${body.requestId})`;
    }
  } catch {
    // not JSON: keep the text
  }
  const hint = {
    401: ' - the token was refused: check the Azure login or the FABRIC_*/ARM_* variables',
    403: ' - the deployer needs Contributor (or higher) on the workspace, and the tenant setting "Service principals can use Fabric APIs" for a service principal',
    404: ' - the workspace or Apache Airflow job does not exist (yet)',
  }[response.status] ?? '';
  return `HTTP ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}${hint}`;
}

/**
 * A bearer token for the Fabric API, from the deployer's environment; see the file comment.
 * @param {NodeJS.ProcessEnv} env @param {SignInLimit} limit
 * @returns {Promise<BearerToken>}
 */
async function accessToken(env, limit) {
  const acquiredAtMs = Date.now();
  return { ...(await tokenFromSource(env, limit)), acquiredAtMs };
}

/** @typedef {{ value: string, expiresOnMs?: number }} SourceToken a token, and when its source says it expires */

/**
 * The token of the first source the provider would sign in with.
 * @param {NodeJS.ProcessEnv} env @param {SignInLimit} limit
 * @returns {Promise<SourceToken>}
 */
async function tokenFromSource(env, limit) {
  const clientId = await valueOrFile(env, ['FABRIC_CLIENT_ID', 'ARM_CLIENT_ID'], ['FABRIC_CLIENT_ID_FILE_PATH', 'ARM_CLIENT_ID_FILE_PATH']);
  const tenantId = providerString(env, 'FABRIC_TENANT_ID', 'ARM_TENANT_ID');
  if (tenantId && !/^[0-9a-zA-Z.-]+$/.test(tenantId)) {
    throw new UploadError('FABRIC_TENANT_ID (or ARM_TENANT_ID) is not a tenant id: use the tenant\'s GUID or domain name');
  }
  const authority = entraAuthority(env);
  if (providerSwitch(env, 'FABRIC_USE_MSI', 'ARM_USE_MSI')) {
    return managedIdentityToken(env, clientId, limit);
  }
  if (providerSwitch(env, 'FABRIC_USE_OIDC', 'ARM_USE_OIDC')) {
    requireServicePrincipal(clientId, tenantId);
    const serviceConnectionId = providerString(env, 'FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID');
    // azidentity's AzurePipelinesCredential, which the provider gives no cloud, reads AZURE_AUTHORITY_HOST.
    return clientCredentialsToken(serviceConnectionId ? env.AZURE_AUTHORITY_HOST || DEFAULT_AUTHORITY : authority, tenantId, clientId, {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: serviceConnectionId ? await azurePipelinesToken(env, serviceConnectionId, limit) : await federatedToken(env, limit),
    }, limit);
  }
  if (providerSwitch(env, 'FABRIC_USE_DEV_CLI', 'ARM_USE_DEV_CLI')) {
    return cliToken('azd', ['auth', 'token', '--output', 'json', ...(tenantId ? ['--tenant-id', tenantId] : []), '--scope', FABRIC_SCOPE], limit);
  }
  if (providerSwitch(env, 'FABRIC_USE_CLI', 'ARM_USE_CLI')) {
    return cliToken('az', azureCliArguments(tenantId), limit);
  }
  refuseClientCertificate(env);
  const clientSecret = await valueOrFile(
    env,
    ['FABRIC_CLIENT_SECRET', 'ARM_CLIENT_SECRET'],
    ['FABRIC_CLIENT_SECRET_FILE_PATH', 'ARM_CLIENT_SECRET_FILE_PATH'],
  );
  if (clientSecret) {
    requireServicePrincipal(clientId, tenantId);
    return clientCredentialsToken(authority, tenantId, clientId, { client_secret: clientSecret }, limit);
  }
  return cliToken('az', azureCliArguments(tenantId), limit);
}

/**
 * The Entra ID host of the provider's cloud (internal/provider/provider.go mapConfig: FABRIC_ENVIRONMENT
 * or ARM_ENVIRONMENT, public by default, to azidentity's cloud.AzurePublic, AzureGovernment or AzureChina,
 * whose authority host azidentity prefers to AZURE_AUTHORITY_HOST: azidentity.go setAuthorityHost).
 * @param {NodeJS.ProcessEnv} env
 */
function entraAuthority(env) {
  const environment = providerString(env, 'FABRIC_ENVIRONMENT', 'ARM_ENVIRONMENT') || 'public';
  /** @type {Record<string, string>} */
  const hosts = { public: DEFAULT_AUTHORITY, usgovernment: 'https://login.microsoftonline.us', china: 'https://login.chinacloudapi.cn' };
  if (!Object.hasOwn(hosts, environment)) {
    throw new UploadError(`FABRIC_ENVIRONMENT (or ARM_ENVIRONMENT) is "${environment}": the Fabric provider takes public, usgovernment or china`);
  }
  return hosts[environment];
}

/**
 * The Fabric provider signs in with a client certificate where one is set (before a client secret);
 * this step does not read certificates, and would otherwise upload as another identity than
 * Terraform acts as (the secret's service principal, or the Azure CLI's user).
 * @param {NodeJS.ProcessEnv} env
 */
function refuseClientCertificate(env) {
  // Read as the provider reads them (GetCertOrFileCert): the first set of each list, trimmed, when not empty.
  const certificate = [
    ['FABRIC_CLIENT_CERTIFICATE', 'ARM_CLIENT_CERTIFICATE'],
    ['FABRIC_CLIENT_CERTIFICATE_FILE_PATH', 'ARM_CLIENT_CERTIFICATE_FILE_PATH', 'ARM_CLIENT_CERTIFICATE_PATH'],
  ]
    .map((names) => names.find((name) => env[name] !== undefined))
    .find((name) => name !== undefined && providerString(env, name) !== '');
  if (certificate) {
    throw new UploadError(
      `${certificate} is set: the Fabric provider signs in with that client certificate, which this upload step does not read. ` +
        'Sign both in without a secret to keep (FABRIC_USE_MSI for a managed identity, FABRIC_USE_OIDC for workload identity federation), ' +
        'or with FABRIC_CLIENT_SECRET, or with the Azure CLI (FABRIC_USE_CLI)',
    );
  }
}

/** @param {string} clientId @param {string} tenantId */
function requireServicePrincipal(clientId, tenantId) {
  if (!clientId || !tenantId) {
    throw new UploadError(
      'set FABRIC_CLIENT_ID (or ARM_CLIENT_ID, or a file in FABRIC_CLIENT_ID_FILE_PATH) and FABRIC_TENANT_ID (or ARM_TENANT_ID) to sign in as a service principal',
    );
  }
}

/**
 * `az account get-access-token` for the Fabric scope, in the provider's tenant when it has one, as
 * azidentity's AzureCLICredential (which the provider gives its tenant) adds --tenant.
 * @param {string} tenantId
 */
function azureCliArguments(tenantId) {
  return [
    'account',
    'get-access-token',
    '--scope',
    FABRIC_SCOPE,
    ...(tenantId ? ['--tenant', tenantId] : []),
    '--output',
    'json',
  ];
}

/**
 * The first of the variables that is set, trimmed, even when it is empty: the Fabric provider's
 * getMultiEnvVar and GetStringValue (internal/provider/utils/envvars.go), so FABRIC_CLIENT_ID=""
 * hides ARM_CLIENT_ID as it does for the provider.
 * @param {NodeJS.ProcessEnv} env @param {string[]} names
 */
function providerString(env, ...names) {
  const name = names.find((candidate) => env[candidate] !== undefined);
  return name === undefined ? '' : String(env[name]).trim();
}

/**
 * A switch read as the Fabric provider reads it (getEnvBool): the first of the variables that is set
 * decides, and it is on for Go's true values only.
 * @param {NodeJS.ProcessEnv} env @param {string[]} names
 */
function providerSwitch(env, ...names) {
  const name = names.find((candidate) => env[candidate] !== undefined);
  return name !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(/** @type {string} */ (env[name]));
}

/**
 * A value from its variables or from the file the *_FILE_PATH variables name, as the provider's
 * GetValueOrFileValue (internal/provider/utils/values.go) reads it: the file's content, trimmed, wins;
 * a value that differs from it is an error. Neither value nor content is ever printed.
 * @param {NodeJS.ProcessEnv} env @param {string[]} valueNames @param {string[]} fileNames
 */
async function valueOrFile(env, valueNames, fileNames) {
  const value = providerString(env, ...valueNames);
  const file = providerString(env, ...fileNames);
  if (!file) {
    return value;
  }
  const fileVariable = /** @type {string} */ (fileNames.find((name) => env[name] !== undefined));
  const content = (
    await readFile(file, 'utf8').catch((error) => {
      throw new UploadError(`cannot read the file ${fileVariable} names (${file}): ${error.code ?? error.message}`);
    })
  ).trim();
  if (value && value !== content) {
    const valueVariable = valueNames.find((name) => env[name] !== undefined);
    throw new UploadError(`${valueVariable} and the content of the file ${fileVariable} names differ: remove one or make them match`);
  }
  return content;
}

/**
 * The assertion for workload identity federation, as the provider's OIDC config gets it
 * (internal/auth/oidc.go getAssertion): the token (or its file) when there is one, else an ID token
 * from the request URL with the request token as bearer.
 * @param {NodeJS.ProcessEnv} env @param {SignInLimit} limit
 */
async function federatedToken(env, limit) {
  const token = await valueOrFile(env, ['FABRIC_OIDC_TOKEN', 'ARM_OIDC_TOKEN'], ['FABRIC_OIDC_TOKEN_FILE_PATH', 'ARM_OIDC_TOKEN_FILE_PATH']);
  if (token) {
    return token;
  }
  const requestUrl = providerString(env, 'FABRIC_OIDC_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ARM_OIDC_REQUEST_URL');
  const requestToken = providerString(env, ...OIDC_REQUEST_TOKEN_VARIABLES);
  if (requestUrl && requestToken) {
    const url = urlOf(requestUrl, 'the OIDC request URL (FABRIC_OIDC_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_URL or ARM_OIDC_REQUEST_URL)');
    if (!url.searchParams.get('audience')) {
      url.searchParams.set('audience', 'api://AzureADTokenExchange');
    }
    const headers = { Accept: 'application/json', Authorization: `Bearer ${requestToken}` };
    // Asked again on a dropped connection, 408, 429 and 5xx within the sign-in's limit, as the sign-in's other calls are:
    // @actions/core's getIDToken asks GitHub again too (actions/toolkit oidc-utils.ts: an HttpClient with allowRetries,
    // which retries 502, 503 and 504).
    const init = { headers, signal: signInDeadline(limit) };
    const response = await fetchRetrying(url.href, init, RETRIABLE, true, entraWaits(limit)).catch((error) => {
      // The origin only: the provider keeps the whole request URL out of its logs.
      throw new UploadError(`cannot reach the OIDC request URL at ${url.origin} (${timedOut(error, limit) ?? error.cause?.code ?? error.message})`);
    });
    if (!response.ok) {
      throw new UploadError(`the OIDC request URL refused an ID token: ${await describeFailure(response)}`);
    }
    const value = /** @type {{ value?: unknown }} */ (await response.json().catch(() => ({}))).value;
    if (typeof value !== 'string' || value === '') {
      throw new UploadError('the OIDC request URL answered without an ID token (no "value")');
    }
    return value;
  }
  throw new UploadError(
    'OIDC sign-in is on (FABRIC_USE_OIDC/ARM_USE_OIDC) but there is no token: set FABRIC_OIDC_TOKEN or FABRIC_OIDC_TOKEN_FILE_PATH, ' +
      'run in GitHub Actions with id-token: write, or in Azure Pipelines set FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID and SYSTEM_ACCESSTOKEN',
  );
}

/**
 * A URL from a variable, or a clear error naming the variable (not its value, which may carry a secret).
 * @param {string} value @param {string} variable
 */
function urlOf(value, variable) {
  if (!URL.canParse(value)) {
    throw new UploadError(`${variable} is not a URL`);
  }
  return new URL(value);
}

/**
 * The ID token of an Azure DevOps service connection with workload identity federation, as
 * azidentity's AzurePipelinesCredential (which the provider uses when FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID
 * is set) asks for it: POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=..., the
 * request token (SYSTEM_ACCESSTOKEN, mapped from $(System.AccessToken)) as bearer; the answer's oidcToken.
 * @param {NodeJS.ProcessEnv} env @param {string} serviceConnectionId @param {SignInLimit} limit
 */
async function azurePipelinesToken(env, serviceConnectionId, limit) {
  const requestToken = providerString(env, ...OIDC_REQUEST_TOKEN_VARIABLES);
  if (!requestToken) {
    throw new UploadError(
      'FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID is set but there is no request token: map SYSTEM_ACCESSTOKEN: $(System.AccessToken) ' +
        "into the step's environment (or set FABRIC_OIDC_REQUEST_TOKEN)",
    );
  }
  if (!env.SYSTEM_OIDCREQUESTURI) {
    throw new UploadError('FABRIC_AZURE_DEVOPS_SERVICE_CONNECTION_ID is set but SYSTEM_OIDCREQUESTURI is not: run the step in an Azure Pipelines job');
  }
  const url = urlOf(env.SYSTEM_OIDCREQUESTURI, 'SYSTEM_OIDCREQUESTURI');
  url.searchParams.set('api-version', '7.1');
  url.searchParams.set('serviceConnectionId', serviceConnectionId);
  const init = {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${requestToken}`,
      'Content-Type': 'application/json',
      // Asks Azure DevOps for a status rather than a redirect to its sign-in page.
      'X-TFS-FedAuthRedirect': 'Suppress',
    },
    signal: signInDeadline(limit),
  };
  // azidentity sends this request through its client's pipeline (doForClient), whose retry policy asks again on a
  // dropped connection, 408, 429 and 5xx: so does this, within the sign-in's limit.
  const response = await fetchRetrying(url.href, init, RETRIABLE, true, entraWaits(limit)).catch((error) => {
    throw new UploadError(`cannot reach Azure DevOps' OIDC endpoint ${url.origin}${url.pathname} (${timedOut(error, limit) ?? error.cause?.code ?? error.message})`);
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.oidcToken !== 'string' || body.oidcToken === '') {
    const trace = ['x-vss-e2eid', 'x-msedge-ref']
      .map((header) => (response.headers.get(header) ? `${header} ${response.headers.get(header)}` : ''))
      .filter(Boolean)
      .join(', ');
    const hint = response.ok
      ? ' (no oidcToken in the answer)'
      : ` - is SYSTEM_ACCESSTOKEN mapped from $(System.AccessToken), and may this pipeline use service connection ${serviceConnectionId}?`;
    throw new UploadError(
      `Azure DevOps gave no OIDC token for service connection ${serviceConnectionId}: HTTP ${response.status}${body.message ? ` ${String(body.message).split('\n')[0]}` : ''}${trace ? ` (${trace})` : ''}${hint}`,
    );
  }
  return body.oidcToken;
}

/**
 * @param {string} authority
 * @param {string} tenantId
 * @param {string} clientId
 * @param {Record<string, string>} credential
 * @param {SignInLimit} limit
 */
async function clientCredentialsToken(authority, tenantId, clientId, credential, limit) {
  const url = `${authority.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  const init = {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, scope: FABRIC_SCOPE, ...credential }),
    signal: signInDeadline(limit),
  };
  // Entra ID throttles a client_credentials grant with 429 and Retry-After (MSAL's "Client throttling"), and its 5xx pass.
  const response = await fetchRetrying(url, init, RETRIABLE, true, entraWaits(limit)).catch((error) => {
    throw new UploadError(`cannot reach Entra ID at ${url} (${timedOut(error, limit) ?? error.cause?.code ?? error.message})`);
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new UploadError(
      `Entra ID refused a token for ${clientId}: HTTP ${response.status} ${body.error ?? ''} ${String(body.error_description ?? '').split('\n')[0]}`.trim() +
        ` (${new URL(url).origin})`,
    );
  }
  const body = /** @type {{ access_token: string, expires_in?: number | string }} */ (await response.json());
  const lifetime = Number(body.expires_in);
  return { value: body.access_token, expiresOnMs: body.expires_in !== undefined && Number.isFinite(lifetime) ? Date.now() + lifetime * 1000 : undefined };
}

/**
 * A token of the host's managed identity, from the endpoint the host offers (see the file comment).
 * @param {NodeJS.ProcessEnv} env
 * @param {string | undefined} clientId the user-assigned identity's client id; none for the system-assigned one
 * @param {SignInLimit} limit
 */
async function managedIdentityToken(env, clientId, limit) {
  const appService = managedIdentitySource(env) === 'App Service';
  const url = appService
    ? urlOf(/** @type {string} */ (env.IDENTITY_ENDPOINT), 'IDENTITY_ENDPOINT')
    : new URL(IMDS_TOKEN_ENDPOINT);
  url.searchParams.set('api-version', appService ? '2019-08-01' : '2018-02-01');
  url.searchParams.set('resource', FABRIC_RESOURCE);
  if (clientId) {
    url.searchParams.set('client_id', clientId);
  }
  /** @type {Record<string, string>} */
  const headers = appService ? { 'X-IDENTITY-HEADER': /** @type {string} */ (env.IDENTITY_HEADER) } : { Metadata: 'true' };
  const identity = clientId ? `the user-assigned managed identity ${clientId}` : 'the system-assigned managed identity';
  const endpoint = `${url.origin}${url.pathname}`;
  let response;
  try {
    const init = { headers, signal: signInDeadline(limit) };
    response = await fetchRetrying(url.href, init, appService ? RETRIABLE : IMDS_RETRIABLE, false, identityEndpointWaits(!appService));
  } catch (error) {
    throw new UploadError(
      `cannot reach the managed identity endpoint ${endpoint} (${timedOut(error, limit) ?? /** @type {{ cause?: { code?: string } }} */ (error).cause?.code ?? error}): ` +
        'FABRIC_USE_MSI/ARM_USE_MSI needs an Azure VM or scale set (IMDS) or App Service/Functions (IDENTITY_ENDPOINT and IDENTITY_HEADER)',
    );
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.access_token !== 'string' || body.access_token === '') {
    const reason = [body.error, body.error_description ?? body.message].filter(Boolean).join(' ').split('\n')[0];
    let hint = '';
    if (response.ok) {
      hint = ' (no access_token in the answer)';
    } else if (response.status === 400) {
      hint = clientId
        ? ' - is that identity assigned to this machine or app? FABRIC_CLIENT_ID (or ARM_CLIENT_ID) must be its client id'
        : ' - does this machine or app have a system-assigned identity? For a user-assigned one, set FABRIC_CLIENT_ID to its client id';
    }
    throw new UploadError(`${endpoint} gave no Fabric token for ${identity}: HTTP ${response.status}${reason ? ` ${reason}` : ''}${hint}`);
  }
  // Seconds since the epoch, a number or a string (IMDS and App Service 2019-08-01 alike).
  const expiresOn = Number(body.expires_on);
  return { value: body.access_token, expiresOnMs: body.expires_on !== undefined && expiresOn > 0 ? expiresOn * 1000 : undefined };
}

/**
 * When a sign-in must be over, its calls, tries and waits together: the provider's timeout, FABRIC_TIMEOUT, after
 * the first sign-in began, as that timeout bounds azidentity's calls as it bounds every call the provider makes; for
 * a sign-in midway through the upload (a refresh, or after a 401), the end of the upload's budget, which the same
 * timeout bounds as a whole. A token source that does not answer cannot hang `terraform apply`.
 * @typedef {{ endsAtMs: number, text: string, within: string }} SignInLimit text: how long, as errors name it;
 * within: what ran out, as "no answer within ..." names it
 */

/** @param {NodeJS.ProcessEnv} env @returns {SignInLimit} */
function firstSignInLimit(env) {
  const timeout = providerTimeout(env);
  return { endsAtMs: Date.now() + timeout.ms, text: timeout.text, within: `the Fabric provider's timeout, FABRIC_TIMEOUT (${timeout.text})` };
}

/** @param {UploadBudget} budget @returns {SignInLimit} */
function signInLimitWithin(budget) {
  const left = `the ${(Math.max(0, budget.endsAtMs - Date.now()) / 1000).toFixed(1)}s left of the whole upload's FABRIC_TIMEOUT (${budget.text})`;
  return { endsAtMs: budget.endsAtMs, text: left, within: `${left}, the Fabric provider's timeout` };
}

/** @param {SignInLimit} limit */
function signInDeadline(limit) {
  return AbortSignal.timeout(Math.max(1, limit.endsAtMs - Date.now()));
}

/**
 * "no answer within ... FABRIC_TIMEOUT" when a sign-in call ran out of time, else undefined.
 * @param {unknown} error @param {SignInLimit} limit
 */
function timedOut(error, limit) {
  return error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${limit.within}` : undefined;
}

/**
 * The managed identity source azidentity's ManagedIdentityCredential (which the Fabric provider uses)
 * picks, in its order (managed_identity_client.go newManagedIdentityClient; a variable counts when it
 * is set, even empty): App Service or Functions, else IMDS. The sources this step cannot call stop it,
 * naming the variable, rather than let it ask another endpoint than the provider does.
 * @param {NodeJS.ProcessEnv} env
 * @returns {'App Service' | 'IMDS'}
 */
function managedIdentitySource(env) {
  const isSet = (/** @type {string} */ name) => env[name] !== undefined;
  let unsupported;
  if (isSet('IDENTITY_ENDPOINT') && isSet('IDENTITY_HEADER')) {
    if (!isSet('IDENTITY_SERVER_THUMBPRINT')) {
      return 'App Service';
    }
    unsupported = 'IDENTITY_SERVER_THUMBPRINT is set: the Fabric provider signs in with the Service Fabric managed identity';
  } else if (isSet('IDENTITY_ENDPOINT') && isSet('IMDS_ENDPOINT')) {
    unsupported = 'IDENTITY_ENDPOINT and IMDS_ENDPOINT are set: the Fabric provider signs in with the Azure Arc managed identity';
  } else if (!isSet('IDENTITY_ENDPOINT') && isSet('MSI_ENDPOINT')) {
    unsupported = `MSI_ENDPOINT is set: the Fabric provider signs in with the ${isSet('MSI_SECRET') ? 'Azure Machine Learning' : 'Cloud Shell'} managed identity`;
  }
  if (unsupported) {
    throw new UploadError(
      `${unsupported}, which this upload step cannot ask for a token. Sign both in another way there ` +
        '(the Azure CLI login, e.g. "az login --identity", with FABRIC_USE_MSI/ARM_USE_MSI unset)',
    );
  }
  return 'IMDS';
}

/**
 * A token from the Azure CLI (az account get-access-token, which prints JSON with the token in "accessToken")
 * or the Azure Developer CLI (azd auth token, which prints JSON with the token in "token"), and when it expires,
 * as azidentity's AzureCLICredential and AzureDeveloperCLICredential read them: az's "expires_on" (seconds since
 * the epoch, Azure CLI 2.54 and later), else its "expiresOn" (the local time, "2025-01-31 13:45:07.123456");
 * azd's "expiresOn" (RFC 3339).
 * The CLI is killed (as azidentity kills it: SIGKILL) when it has not answered within the provider's
 * timeout (see {@link providerTimeout}), so a CLI waiting on a prompt or a dead network cannot hang `terraform apply`.
 * @param {'az' | 'azd'} cli @param {string[]} args @param {SignInLimit} limit
 */
async function cliToken(cli, args, limit) {
  const name = cli === 'az' ? 'the Azure CLI' : 'the Azure Developer CLI';
  try {
    // On Windows through cmd.exe, as azidentity runs them ("cmd.exe /c az ..."): it finds az.cmd and azd.exe
    // by their bare names (the arguments are fixed words and a checked tenant id, nothing to quote).
    const { stdout } = await promisify(execFile)(cli, args, { shell: process.platform === 'win32', timeout: Math.max(1, limit.endsAtMs - Date.now()), killSignal: 'SIGKILL' });
    const answer = JSON.parse(stdout);
    const token = cli === 'az' ? answer.accessToken : answer.token;
    if (typeof token !== 'string' || !token) {
      throw new Error('empty token');
    }
    return { value: token, expiresOnMs: cliTokenExpiry(answer) };
  } catch (error) {
    const reason = /** @type {{ code?: string, killed?: boolean, signal?: string, stderr?: string, message?: string }} */ (error);
    if (reason.killed && reason.signal === 'SIGKILL') {
      throw new UploadError(
        `${name} (${cli} ${args.slice(0, 2).join(' ')}) gave no Fabric token within ${limit.text} and was stopped: it may be waiting for a prompt ` +
          `or for the network. Run "${cli} ${args.join(' ')}" where Terraform runs to see why, or raise FABRIC_TIMEOUT ` +
          "(the Fabric provider's timeout, which also bounds its own call of the CLI)",
      );
    }
    // JSON.parse's message quotes the start of what it read, which may be a token: never shown.
    const detail =
      reason.code === 'ENOENT'
        ? `${name} (${cli}) is not installed`
        : error instanceof SyntaxError
          ? 'its output is not the JSON it prints with --output json'
          : (reason.stderr || reason.message || '').trim();
    throw new UploadError(
      cli === 'az'
        ? `cannot get a Fabric token from the Azure CLI (${detail}): run "az login", set FABRIC_USE_MSI for a managed identity, or set FABRIC_CLIENT_ID/FABRIC_TENANT_ID with FABRIC_USE_OIDC or FABRIC_CLIENT_SECRET (ARM_* work too)`
        : `cannot get a Fabric token from the Azure Developer CLI (${detail}): run "azd auth login", or unset FABRIC_USE_DEV_CLI/ARM_USE_DEV_CLI`,
    );
  }
}

/**
 * When a CLI's token expires, in milliseconds since the epoch; undefined when it does not say.
 * @param {{ expires_on?: unknown, expiresOn?: unknown }} answer
 */
function cliTokenExpiry(answer) {
  const epochSeconds = Number(answer.expires_on);
  if (answer.expires_on !== undefined && answer.expires_on !== null && epochSeconds > 0) {
    return epochSeconds * 1000;
  }
  if (typeof answer.expiresOn !== 'string') {
    return undefined;
  }
  // az's "2025-01-31 13:45:07.123456" is local time: Date reads a date-time without an offset as local.
  const ms = Date.parse(answer.expiresOn.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The Fabric provider's `timeout` (FABRIC_TIMEOUT, a Go duration, 10m by default;
 * internal/provider/config/constants.go DefaultTimeout), which bounds every call the provider makes,
 * its retries and its own call of a CLI included (azidentity's 10-second CLI limit applies only to a
 * caller that set no deadline, and the provider's calls carry that timeout): how long a CLI may take
 * to give a token, and how long the upload's retries may wait in all.
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ ms: number, text: string }}
 */
function providerTimeout(env) {
  const text = env.FABRIC_TIMEOUT === undefined ? DEFAULT_TIMEOUT : env.FABRIC_TIMEOUT.trim();
  const ms = goDurationMilliseconds(text);
  if (ms === undefined || ms <= 0) {
    throw new UploadError(`FABRIC_TIMEOUT is "${text}": the Fabric provider takes a positive Go duration such as 90s, 10m or 1h30m`);
  }
  // Node's timers take at most 2^31 - 1 ms (about 24.8 days) and fire a longer delay at once.
  return { ms: Math.min(Math.ceil(ms), 2 ** 31 - 1), text };
}

/**
 * A duration as Go's time.ParseDuration reads it (an optional sign, + or -, then a sequence of decimal
 * numbers, each with a unit: ns, us, µs, ms, s, m, h; or "0" alone), in milliseconds; undefined when it is not one.
 * @param {string} text
 */
function goDurationMilliseconds(text) {
  const sign = text.startsWith('-') ? -1 : 1;
  const unsigned = text.replace(/^[-+]/, '');
  if (unsigned === '0') {
    return 0;
  }
  /** @type {Record<string, number>} */
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...unsigned.matchAll(/(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/g)];
  if (parts.map((part) => part[0]).join('') !== unsigned || parts.length === 0 || parts.some(([, number]) => !/\d/.test(number))) {
    return undefined;
  }
  return sign * parts.reduce((total, [, number, unit]) => total + Number(number) * units[unit], 0);
}

main().catch((error) => {
  console.error(`fabric-upload: ${error instanceof UploadError ? error.message : error?.stack ?? error}`);
  process.exitCode = 1;
});
