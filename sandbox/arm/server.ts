import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { makeSelfSignedCert } from '../tds/cert';
import { ServiceError } from '../world/errors';
import type { World } from '../world/world';
import { AuthenticationFailure, sharedIdentity, type TokenAuthority } from './auth';
import type { ArmContext, RouteFamily } from './context';
import { Faults, type InjectedFault } from './faults';
import { LroManager } from './lro';
import { RequestLog } from './requestLog';
import { type ArmResponse, type RouteMatch, Router } from './router';
import { ROUTE_FAMILIES } from './routes';

/**
 * The Azure Resource Manager stand-in: an https server (self-signed certificate, CA exposed as `ca`) for the
 * Microsoft.Sql paths, backed by the simulated world. Bearer tokens come from the (process-wide) plain-http
 * managed identity endpoint of auth.ts, which the real `DefaultAzureCredential` uses. Every request passes fault injection and lands in the
 * request log (except /_sandbox control routes).
 */

export interface ArmServerOptions {
  world: World;
  /** Retry-After of operation answers (see SandboxOptions.retryAfter). */
  retryAfter?: 'absent' | number;
  /** @deprecated use `retryAfter`; 0 means 'absent'. */
  retryAfterSeconds?: number;
  /** TLS key and certificate; default a fresh self-signed one for 127.0.0.1 and localhost. */
  tls?: { key: string; cert: string };
  /** More route families, registered after the built-in ones. */
  routes?: RouteFamily[];
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class ArmServer implements ArmContext {
  readonly world: World;
  readonly faults = new Faults();
  readonly requests = new RequestLog();
  readonly tokens: TokenAuthority;
  readonly router = new Router();
  readonly lro: LroManager;
  /** https://127.0.0.1:<port> */
  url = '';
  /** PEM of the certificate to trust (self-signed: it is its own CA). */
  readonly ca: string;
  /** http://127.0.0.1:<port>/msi/token (the value of IDENTITY_ENDPOINT). */
  identityEndpoint = '';
  private readonly server: https.Server;

  private constructor(options: ArmServerOptions, tls: { key: string; cert: string }, tokens: TokenAuthority) {
    this.world = options.world;
    this.tokens = tokens;
    this.ca = tls.cert;
    this.lro = new LroManager(options.world.clock, {
      retryAfter: options.retryAfter ?? (options.retryAfterSeconds ? options.retryAfterSeconds : 'absent'),
    });
    options.world.onTick(() => this.lro.settle());
    for (const register of [...ROUTE_FAMILIES, ...(options.routes ?? [])]) register(this.router, this);
    this.server = https.createServer(
      { key: tls.key, cert: tls.cert },
      (req, res) => void this.handle(req, res),
    );
  }

  static async start(options: ArmServerOptions): Promise<ArmServer> {
    const tls = options.tls ?? (await makeSelfSignedCert(['127.0.0.1', 'localhost']));
    const identity = sharedIdentity();
    const arm = new ArmServer(options, tls, identity.authority);
    arm.identityEndpoint = await identity.endpoint;
    arm.url = `https://127.0.0.1:${await listen(arm.server)}`;
    return arm;
  }

  /**
   * Environment for DefaultAzureCredential to get tokens here (App Service managed identity contract).
   * AZURE_TOKEN_CREDENTIALS keeps the credential chain to that one credential, so no developer credential on
   * the machine (Azure CLI …) answers instead.
   */
  credentialEnv(): Record<string, string> {
    return {
      IDENTITY_ENDPOINT: this.identityEndpoint,
      IDENTITY_HEADER: this.tokens.identityHeader,
      AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential',
    };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const simAt = this.world.clock.date().toISOString();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.url);
    const apiVersion = url.searchParams.get('api-version') ?? undefined;
    const match = this.router.match(method, url.pathname);
    const control = match.kind === 'route' && match.route.options.control === true;
    const log = (
      status: number,
      extra: { errorCode?: string; fault?: InjectedFault; unsentStatus?: number },
    ) => {
      if (control) return;
      this.requests.add({
        at: new Date(started).toISOString(),
        simAt,
        method,
        path: url.pathname,
        apiVersion,
        status,
        errorCode: extra.errorCode,
        fault: extra.fault?.kind,
        unsentStatus: extra.unsentStatus,
        durationMs: Date.now() - started,
      });
    };

    const fault = control ? undefined : this.faults.take(method, url.pathname);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      log(0, { fault });
      return;
    }
    if (fault?.kind === 'stall' && fault.when !== 'after') {
      // Neither acted on nor answered: the client's own timeout (or the server's stop) ends the connection.
      log(0, { fault });
      return;
    }
    if (fault?.kind === 'slow') await delay(fault.delayMs ?? 2_000);

    let response: ArmResponse;
    try {
      const rawBody = await readBody(req);
      if (fault && fault.kind !== 'slow' && fault.kind !== 'lost' && fault.kind !== 'stall') {
        response = faultResponse(fault);
      } else {
        // Operations finish on simulated time, whether anyone polls them or not.
        if (!control) this.lro.settle();
        response = await this.dispatch(method, url, apiVersion, match, rawBody, req.headers);
      }
    } catch (err) {
      response = errorResponse(err);
    }
    const errorCode = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
    if (fault?.kind === 'lost') {
      // Acted on, then the connection dropped before the answer: the client cannot know what happened.
      req.socket.destroy();
      log(0, { errorCode, fault, unsentStatus: response.status });
      return;
    }
    if (fault?.kind === 'stall') {
      // Acted on, then never answered: the connection stays open until the client gives up (or the server stops).
      log(0, { errorCode, fault, unsentStatus: response.status });
      return;
    }
    write(res, response, req.headers);
    log(response.status, { errorCode, fault });
  }

  private async dispatch(
    method: string,
    url: URL,
    apiVersion: string | undefined,
    match: RouteMatch,
    rawBody: Buffer,
    headers: IncomingHttpHeaders,
  ): Promise<ArmResponse> {
    const control = match.kind === 'route' && match.route.options.control === true;
    if (!control) {
      this.tokens.verify(headers.authorization);
      if (!apiVersion) {
        throw new ServiceError(
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
      }
    }
    if (match.kind === 'none') {
      // The gateway resolves the managed instance of a path first: a path no route serves under an instance that
      // does not exist answers 404 ResourceNotFound naming it (link-errors seq 3, where the instance name was
      // missing and ARM took 'distributedAvailabilityGroups' for it).
      const parent =
        /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Sql\/managedInstances\/([^/]+)/i.exec(
          url.pathname,
        );
      if (parent && !this.world.instance(parent[1], parent[2], decodeURIComponent(parent[3]))) {
        throw new ServiceError(
          'ResourceNotFound',
          `The Resource 'Microsoft.Sql/managedInstances/${decodeURIComponent(parent[3])}' under resource group ` +
            `'${decodeURIComponent(parent[2])}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
          404,
        );
      }
      const sql = /\/providers\/microsoft\.sql\//i.test(url.pathname);
      throw new ServiceError(
        sql ? 'InvalidResourceType' : 'NotFound',
        `The ARM stand-in serves no resource at '${url.pathname}'.`,
        404,
      );
    }
    if (match.kind === 'method-not-allowed') {
      throw new ServiceError(
        'MethodNotAllowed',
        `The method '${method}' is not allowed on '${url.pathname}'.`,
        405,
      );
    }
    let body: unknown;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        throw new ServiceError(
          'InvalidRequestContent',
          `The request content was invalid and could not be deserialized: ${(err as Error).message}`,
        );
      }
    }
    return match.route.handler({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
      params: match.params,
      apiVersion,
      baseUrl: this.url,
    });
  }
}

function faultResponse(fault: InjectedFault): ArmResponse {
  const retryAfter: Record<string, string> =
    fault.retryAfterSeconds !== undefined || fault.kind === '429'
      ? { 'Retry-After': String(fault.retryAfterSeconds ?? 1) }
      : {};
  switch (fault.kind) {
    case '429':
      return {
        status: 429,
        headers: retryAfter,
        body: new ServiceError(
          'SubscriptionRequestsThrottled',
          `Number of requests for the subscription exceeded the limit. Please try again after '${retryAfter['Retry-After']}' seconds.`,
        ).toBody(),
      };
    case '403':
      return {
        status: 403,
        body: new ServiceError(
          'AuthorizationFailed',
          'The client does not have authorization to perform this action.',
          403,
        ).toBody(),
      };
    case '503':
      return {
        status: 503,
        headers: retryAfter,
        body: new ServiceError(
          'ServiceUnavailable',
          'The service is temporarily unavailable. Please try again later.',
        ).toBody(),
      };
    default:
      return {
        status: 500,
        headers: retryAfter,
        body: new ServiceError(
          'InternalServerError',
          'An unexpected error occured while processing the request.',
        ).toBody(),
      };
  }
}

function errorResponse(err: unknown): ArmResponse {
  if (err instanceof AuthenticationFailure) {
    return { status: 401, headers: { 'WWW-Authenticate': err.wwwAuthenticate }, body: err.toBody() };
  }
  if (err instanceof ServiceError) return { status: err.statusCode, body: err.toBody() };
  // A client that gave up (a timeout of a slow or stalled request) aborts its request: nobody hears an answer.
  const aborted = (err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET';
  if (!aborted) console.error('[arm stand-in] unexpected error:', err);
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: new ServiceError('InternalServerError', message, 500).toBody() };
}

function write(res: ServerResponse, response: ArmResponse, requestHeaders: IncomingHttpHeaders): void {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': String(requestHeaders['x-ms-correlation-request-id'] ?? randomUUID()),
    ...response.headers,
  };
  const clientRequestId = requestHeaders['x-ms-client-request-id'];
  if (typeof clientRequestId === 'string') headers['x-ms-client-request-id'] = clientRequestId;
  if (response.body === undefined || response.status === 204) {
    res.writeHead(response.status, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ServiceError('RequestEntityTooLarge', 'The request body is too large.', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
