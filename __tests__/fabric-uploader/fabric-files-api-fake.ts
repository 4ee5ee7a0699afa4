import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Fabric "Apache Airflow Job files" API (beta) and the Entra ID token
 * endpoint, written from microsoft/fabric-rest-api-specs `apacheAirflowJob/swagger.json` and the
 * OAuth 2.0 client-credentials grant. It knows nothing of the uploader it tests.
 */

/** One request the fake received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly bodyBytes: number;
  /** When it arrived (`Date.now()`). */
  readonly at: number;
}

/** A response the fake gives instead of the normal one, `times` times, for requests on one file path. */
export interface InjectedFailure {
  /** The HTTP status, or `'reset'`: the connection is dropped without a response. */
  readonly status: number | 'reset';
  readonly times: number;
  readonly retryAfterSeconds?: number;
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
}

const MAX_FILE_BYTES = 2_000_000;

export class FakeFabric {
  /** Files in the job, by path. */
  public readonly files = new Map<string, Buffer>();
  public readonly requests: ReceivedRequest[] = [];
  public readonly failures = new Map<string, InjectedFailure>();
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

  /** Base URL of the Fabric REST API (`.../v1`). */
  get endpoint(): string {
    return `${this.origin}/v1`;
  }

  get puts(): ReceivedRequest[] {
    return this.requests.filter((request) => request.method === 'PUT');
  }

  get deletes(): ReceivedRequest[] {
    return this.requests.filter((request) => request.method === 'DELETE');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
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
      bodyBytes: body.length,
      at: Date.now(),
    });
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (request.method === 'POST' && token) {
      return this.issueToken(new URLSearchParams(body.toString('utf8')), response);
    }
    if (request.method === 'GET' && url.pathname === '/github/idtoken') {
      const allowed = request.headers.authorization === `Bearer ${this.options.githubRequestToken}`;
      const audience = url.searchParams.get('audience') === 'api://AzureADTokenExchange';
      return allowed && audience ? reply(response, 200, { value: this.options.clientAssertion }) : reply(response, 401, {});
    }
    const file = /^\/v1\/workspaces\/([^/]+)\/apacheAirflowJobs\/([^/]+)\/files\/(.+)$/.exec(url.pathname);
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
    reply(response, 200, { token_type: 'Bearer', expires_in: 3599, access_token: this.options.accessToken });
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
    if (request.headers.authorization !== `Bearer ${this.options.accessToken}`) {
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
      if (failure.status === 'reset') {
        return void request.socket.destroy();
      }
      const headers: Record<string, string> =
        failure.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(failure.retryAfterSeconds) };
      return reply(response, failure.status, { errorCode: failure.errorCode ?? 'Injected', message: 'injected failure', requestId: 'req-1' }, headers);
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
