import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Fabric "Apache Airflow Job files" API (beta), the Entra ID token
 * endpoint and the managed identity token endpoints, written from microsoft/fabric-rest-api-specs
 * `apacheAirflowJob/swagger.json`, the OAuth 2.0 client-credentials grant, and Microsoft's managed
 * identity documentation (the Instance Metadata Service of a VM, `how-to-use-vm-token`; App Service's
 * and Functions' `IDENTITY_ENDPOINT`, `overview-managed-identity`), as Azure/azure-sdk-for-go
 * `sdk/azidentity/managed_identity_client.go` calls them, and Azure Pipelines' OIDC token endpoint
 * (`SYSTEM_OIDCREQUESTURI`, as `sdk/azidentity/azure_pipelines_credential.go` calls it). It knows nothing of the uploader it tests.
 */

/** One request the fake received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
  /** The fields of a form body (the token endpoint's). */
  readonly form?: Record<string, string>;
  /** When it arrived (`Date.now()`). */
  readonly at: number;
}

/**
 * A response the fake gives instead of the normal one, `times` times, for requests on one file path, on an
 * identity endpoint's path, on an OIDC request URL's path or on Entra ID's token endpoint's path (`/{tenant}/oauth2/v2.0/token`; any token endpoint's, for `'hang'`).
 */
export interface InjectedFailure {
  /**
   * The HTTP status; `'reset'`: the connection is dropped without a response; `'hang'`: no response ever comes;
   * `'cut'`: a 200 whose body is cut off midway.
   */
  readonly status: number | 'reset' | 'hang' | 'cut';
  readonly times: number;
  readonly retryAfterSeconds?: number;
  /** The Retry-After header as given (an HTTP-date, say), instead of `retryAfterSeconds`. */
  readonly retryAfter?: string;
  /** Other response headers, as given (`retry-after-ms`, say). */
  readonly headers?: Record<string, string>;
  /** How long the response takes to come. */
  readonly delayMs?: number;
  readonly errorCode?: string;
}

/** What the fake accepts. */
export interface FakeFabricOptions {
  readonly workspaceId: string;
  readonly jobId: string;
  /** The bearer token the files API accepts. */
  readonly accessToken: string;
  /** Client secret the token endpoint accepts. */
  readonly clientSecret?: string;
  /** Client assertion (federated token) the token endpoint accepts. */
  readonly clientAssertion?: string;
  /** Request token GitHub Actions would give the job, for the OIDC token request. */
  readonly githubRequestToken?: string;
  /** The Azure Pipelines job the OIDC token endpoint serves; without it the endpoint refuses every request. */
  readonly azurePipelines?: FakeAzurePipelines;
  /** The managed identities of the host the identity endpoints serve; without it they know none. */
  readonly managedIdentity?: FakeManagedIdentities;
  /**
   * With it, the token endpoint issues a new token each time (`<accessToken>-<n>`), valid this long, and the
   * files API accepts only those tokens, until they expire; without it, the token endpoint gives `accessToken`,
   * which never expires.
   */
  readonly tokenLifetimeSeconds?: number;
}

/** What Azure Pipelines' OIDC token endpoint knows of the running job. */
export interface FakeAzurePipelines {
  /** The job's `System.AccessToken`, the endpoint's bearer. */
  readonly systemAccessToken: string;
  /** The id of the service connection (with workload identity federation) the pipeline may use. */
  readonly serviceConnectionId: string;
}

/** What a host's managed identity endpoints know. */
export interface FakeManagedIdentities {
  /** Whether the host has a system-assigned identity. */
  readonly systemAssigned: boolean;
  /** Client ids of the user-assigned identities assigned to the host. */
  readonly userAssignedClientIds: readonly string[];
  /** The value App Service puts in `IDENTITY_HEADER`, which its endpoint expects in `X-IDENTITY-HEADER`. */
  readonly identityHeader: string;
}

/** Where the fake serves the job's OIDC token endpoint (Azure Pipelines gives its URL in `SYSTEM_OIDCREQUESTURI`). */
export const AZURE_PIPELINES_OIDC_PATH = '/project/_apis/distributedtask/hubs/build/plans/plan/jobs/job/oidctoken';
/** Where the fake answers GitHub Actions' ID token request (ACTIONS_ID_TOKEN_REQUEST_URL). */
export const GITHUB_OIDC_PATH = '/github/idtoken';
const OIDC_REQUEST_PATHS = [GITHUB_OIDC_PATH, AZURE_PIPELINES_OIDC_PATH];
/** Where the fake serves the Instance Metadata Service's token endpoint (the path IMDS has at 169.254.169.254). */
export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
/** Where the fake serves an App Service identity endpoint (App Service gives its URL in `IDENTITY_ENDPOINT`). */
export const APP_SERVICE_TOKEN_PATH = '/msi/token';
const FABRIC_RESOURCE = 'https://api.fabric.microsoft.com';

const MAX_FILE_BYTES = 2_000_000;

export class FakeFabric {
  /** Files in the job, by path. */
  public readonly files = new Map<string, Buffer>();
  public readonly requests: ReceivedRequest[] = [];
  public readonly failures = new Map<string, InjectedFailure>();
  /** The tokens the token endpoint issued, with when each expires (`Date.now()`), when they have a lifetime. */
  public readonly issuedTokens = new Map<string, number>();
  private readonly server: Server;

  private constructor(private readonly options: FakeFabricOptions) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) => reply(response, 500, { errorCode: 'FakeError', message: String(error) }));
    });
  }

  static async start(options: FakeFabricOptions): Promise<FakeFabric> {
    const fake = new FakeFabric(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get puts(): ReceivedRequest[] {
    return this.requests.filter((request) => request.method === 'PUT');
  }

  get deletes(): ReceivedRequest[] {
    return this.requests.filter((request) => request.method === 'DELETE');
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
    // A request left hanging would keep the server open.
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const body = await readBody(request);
    this.requests.push({
      method: request.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      headers: request.headers,
      bodyBytes: body.length,
      ...(request.headers['content-type'] === 'application/x-www-form-urlencoded'
        ? { form: Object.fromEntries(new URLSearchParams(body.toString('utf8'))) }
        : {}),
      at: Date.now(),
    });
    // An identity or token endpoint that never answers.
    const hanging = this.failures.get(url.pathname);
    if (hanging?.status === 'hang' && hanging.times > 0) {
      this.failures.set(url.pathname, { ...hanging, times: hanging.times - 1 });
      return;
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (request.method === 'POST' && token) {
      const failure = this.failures.get(url.pathname);
      if (failure && failure.times > 0 && typeof failure.status === 'number') {
        this.failures.set(url.pathname, { ...failure, times: failure.times - 1 });
        return reply(response, failure.status, { error: 'temporarily_unavailable', error_description: 'AADSTS50196: injected failure' }, injectedHeaders(failure));
      }
      return this.issueToken(new URLSearchParams(body.toString('utf8')), response);
    }
    const oidcFailure = OIDC_REQUEST_PATHS.includes(url.pathname) ? this.failures.get(url.pathname) : undefined;
    if (oidcFailure && oidcFailure.times > 0 && typeof oidcFailure.status === 'number') {
      this.failures.set(url.pathname, { ...oidcFailure, times: oidcFailure.times - 1 });
      return reply(response, oidcFailure.status, { message: 'injected failure' }, injectedHeaders(oidcFailure));
    }
    if (request.method === 'GET' && url.pathname === GITHUB_OIDC_PATH) {
      const allowed = request.headers.authorization === `Bearer ${this.options.githubRequestToken}`;
      const audience = url.searchParams.get('audience') === 'api://AzureADTokenExchange';
      return allowed && audience ? reply(response, 200, { value: this.options.clientAssertion }) : reply(response, 401, {});
    }
    if (request.method === 'POST' && url.pathname === AZURE_PIPELINES_OIDC_PATH) {
      return this.issueAzurePipelinesToken(url, request, response);
    }
    if (request.method === 'GET' && (url.pathname === IMDS_TOKEN_PATH || url.pathname === APP_SERVICE_TOKEN_PATH)) {
      return this.issueManagedIdentityToken(url, request, response);
    }
    // Under any path: an endpoint (FABRIC_ENDPOINT) may be a proxy's URL with a path of its own.
    const file = /^(?:\/.*)?\/v1\/workspaces\/([^/]+)\/apacheAirflowJobs\/([^/]+)\/files\/(.+)$/.exec(url.pathname);
    if (file && ['GET', 'PUT', 'DELETE'].includes(request.method ?? '')) {
      const filePath = file[3].split('/').map(decodeURIComponent).join('/');
      return this.onFile(decodeURIComponent(file[1]), decodeURIComponent(file[2]), filePath, url, request, body, response);
    }
    reply(response, 404, { errorCode: 'EntityNotFound', message: `no route for ${request.method} ${url.pathname}` });
  }

  private issueToken(form: URLSearchParams, response: ServerResponse): void {
    const secretOk = this.options.clientSecret !== undefined && form.get('client_secret') === this.options.clientSecret;
    const assertionOk =
      this.options.clientAssertion !== undefined &&
      form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
      form.get('client_assertion') === this.options.clientAssertion;
    if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'https://api.fabric.microsoft.com/.default') {
      return reply(response, 400, { error: 'invalid_request', error_description: 'AADSTS900144: bad grant or scope' });
    }
    if (!secretOk && !assertionOk) {
      return reply(response, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
    }
    const lifetime = this.options.tokenLifetimeSeconds;
    if (lifetime === undefined) {
      return reply(response, 200, { token_type: 'Bearer', expires_in: 3599, access_token: this.options.accessToken });
    }
    const token = `${this.options.accessToken}-${this.issuedTokens.size + 1}`;
    this.issuedTokens.set(token, Date.now() + lifetime * 1000);
    reply(response, 200, { token_type: 'Bearer', expires_in: lifetime, access_token: token });
  }

  /** Whether the files API takes the request's bearer token. */
  private authorized(authorization: string | undefined): boolean {
    if (this.options.tokenLifetimeSeconds === undefined) {
      return authorization === `Bearer ${this.options.accessToken}`;
    }
    const expiresAt = this.issuedTokens.get(authorization?.replace(/^Bearer /, '') ?? '');
    return expiresAt !== undefined && Date.now() < expiresAt;
  }

  /** An ID token of a service connection, for the job whose `System.AccessToken` is the bearer. */
  private issueAzurePipelinesToken(url: URL, request: IncomingMessage, response: ServerResponse): void {
    const pipelines = this.options.azurePipelines;
    if (pipelines === undefined || request.headers.authorization !== `Bearer ${pipelines.systemAccessToken}`) {
      return reply(response, 401, { message: 'TF400813: The user is not authorized to access this resource.' }, { 'x-vss-e2eid': 'e2e-1' });
    }
    if (url.searchParams.get('api-version') !== '7.1') {
      return reply(response, 400, { message: 'The requested REST API version is not supported.' });
    }
    if (url.searchParams.get('serviceConnectionId') !== pipelines.serviceConnectionId) {
      return reply(response, 400, { message: `Service connection ${url.searchParams.get('serviceConnectionId')} was not found.` }, { 'x-vss-e2eid': 'e2e-2' });
    }
    reply(response, 200, { oidcToken: this.options.clientAssertion });
  }

  /** IMDS (api-version 2018-02-01, header `Metadata: true`) or App Service (2019-08-01, `X-IDENTITY-HEADER`). */
  private issueManagedIdentityToken(url: URL, request: IncomingMessage, response: ServerResponse): void {
    const failure = this.failures.get(url.pathname);
    if (failure && failure.times > 0 && typeof failure.status === 'number') {
      this.failures.set(url.pathname, { ...failure, times: failure.times - 1 });
      return reply(response, failure.status, { error: 'temporarily_unavailable', error_description: 'injected failure' }, injectedHeaders(failure));
    }
    const imds = url.pathname === IMDS_TOKEN_PATH;
    const identities = this.options.managedIdentity;
    if (imds ? request.headers.metadata !== 'true' : request.headers['x-identity-header'] !== identities?.identityHeader) {
      return reply(response, 400, { error: 'invalid_request', error_description: imds ? 'Required metadata header not specified' : 'Invalid identity header' });
    }
    if (url.searchParams.get('api-version') !== (imds ? '2018-02-01' : '2019-08-01')) {
      return reply(response, 400, { error: 'invalid_request', error_description: 'Unsupported api-version' });
    }
    if (url.searchParams.get('resource') !== FABRIC_RESOURCE) {
      return reply(response, 400, { error: 'invalid_resource', error_description: `AADSTS500011: The resource principal named ${url.searchParams.get('resource')} was not found` });
    }
    const clientId = url.searchParams.get('client_id');
    const known = clientId === null ? identities?.systemAssigned === true : (identities?.userAssignedClientIds ?? []).includes(clientId);
    if (!known) {
      return reply(response, 400, { error: 'invalid_request', error_description: 'Identity not found' });
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresOn = String(now + 86_399);
    reply(response, 200, {
      access_token: this.options.accessToken,
      client_id: clientId ?? 'system-assigned-client-id',
      expires_on: expiresOn,
      resource: FABRIC_RESOURCE,
      token_type: 'Bearer',
      ...(imds ? { expires_in: '86399', ext_expires_in: '86399', not_before: String(now) } : {}),
    });
  }

  private onFile(
    workspaceId: string,
    jobId: string,
    filePath: string,
    url: URL,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ): void {
    if (!this.authorized(request.headers.authorization)) {
      return reply(response, 401, { errorCode: 'TokenNotValid', message: 'Access token is invalid' });
    }
    if (url.searchParams.get('beta') !== 'true') {
      return reply(response, 400, { errorCode: 'InvalidParameter', message: "The 'beta' query parameter must be true" });
    }
    if (workspaceId !== this.options.workspaceId || jobId !== this.options.jobId) {
      return reply(response, 404, { errorCode: 'ItemNotFound', message: 'The requested Apache Airflow job was not found' });
    }
    const failure = this.failures.get(filePath);
    if (failure && failure.times > 0) {
      this.failures.set(filePath, { ...failure, times: failure.times - 1 });
      if (failure.status === 'hang') {
        return;
      }
      if (failure.status === 'reset') {
        return void request.socket.destroy();
      }
      if (failure.status === 'cut') {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '1000' });
        response.write('{"files": [');
        return void setTimeout(() => request.socket.destroy(), 50);
      }
      const status = failure.status;
      const answer = () => reply(response, status, { errorCode: failure.errorCode ?? 'Injected', message: 'injected failure', requestId: 'req-1' }, injectedHeaders(failure));
      return void (failure.delayMs === undefined ? answer() : setTimeout(answer, failure.delayMs));
    }
    if (!filePath.startsWith('dags/') && !filePath.startsWith('plugins/')) {
      return reply(response, 400, { errorCode: 'InvalidFilePath', message: 'Files must be located within the dags/ or plugins/ folders' });
    }
    if (request.method === 'GET') {
      const content = this.files.get(filePath);
      if (content === undefined) {
        return reply(response, 404, { errorCode: 'ItemNotFound', message: 'The requested file was not found' });
      }
      response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return void response.end(content);
    }
    if (request.method === 'DELETE') {
      if (!this.files.delete(filePath)) {
        return reply(response, 404, { errorCode: 'ItemNotFound', message: 'The requested file was not found' });
      }
      return reply(response, 200, undefined);
    }
    if (body.length > MAX_FILE_BYTES) {
      return reply(response, 400, { errorCode: 'FileTooLarge', message: 'The maximum supported file size is 2 MB' });
    }
    this.files.set(filePath, body);
    reply(response, 200, undefined);
  }
}

/** The headers of an injected failure's response: its own, and Retry-After as given or in seconds. */
function injectedHeaders(failure: InjectedFailure): Record<string, string> {
  const retryAfter = failure.retryAfter ?? (failure.retryAfterSeconds === undefined ? undefined : String(failure.retryAfterSeconds));
  return { ...failure.headers, ...(retryAfter === undefined ? {} : { 'Retry-After': retryAfter }) };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}
