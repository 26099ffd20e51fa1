import { randomBytes, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ServiceError } from '../world/errors';
import { Faults } from './faults';

/**
 * Bearer tokens for the ARM stand-in, issued through the Azure App Service managed identity contract
 * (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, api-version 2019-08-01), which the real `DefaultAzureCredential`
 * of @azure/identity (through MSAL's ManagedIdentityApplication) uses without reaching the internet.
 * ARM accepts only tokens issued here, for an ARM audience, not expired.
 *
 * MSAL caches the identity source (endpoint and secret) and its tokens process-wide, on first use. So the
 * authority and its endpoint are process-wide too (`sharedIdentity`): every ARM stand-in of a process accepts
 * the tokens of the one endpoint, and a second sandbox in the same process keeps working.
 */

/** Audiences ARM accepts (`resource` of the token request, i.e. the credential scope without `/.default`). */
const ARM_AUDIENCES = [
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
  'https://management.azure.com/',
  'https://management.azure.com',
];

export const SANDBOX_TENANT_ID = '00000000-0000-4000-8000-00000000c0de';

export interface IssuedToken {
  token: string;
  resource: string;
  clientId?: string;
  /** Real time (ms) the token expires. */
  expiresAt: number;
}

export class AuthenticationFailure extends ServiceError {
  constructor(
    code: string,
    message: string,
    readonly wwwAuthenticate: string,
  ) {
    super(code, message, 401);
  }
}

export class TokenAuthority {
  /** The secret a caller must send as X-IDENTITY-HEADER (the value of IDENTITY_HEADER). */
  readonly identityHeader = randomBytes(16).toString('hex');
  /**
   * Lifetime of issued tokens (real ms). MSAL caches a token until shortly before it expires, so a short
   * lifetime makes clients renew tokens during a test.
   */
  tokenLifetimeMs = 60 * 60 * 1000;
  /** Token requests answered, successful or not. */
  requestCount = 0;
  private readonly issued = new Map<string, IssuedToken>();

  /** Issues a token for `resource`, as the identity endpoint does. */
  issue(resource: string, clientId?: string): IssuedToken {
    const nowSec = Math.floor(Date.now() / 1000);
    const exp = nowSec + Math.floor(this.tokenLifetimeMs / 1000);
    const claims = {
      aud: resource,
      iss: `https://sts.windows.net/${SANDBOX_TENANT_ID}/`,
      iat: nowSec,
      nbf: nowSec,
      exp,
      tid: SANDBOX_TENANT_ID,
      oid: randomUUID(),
      appid: clientId ?? 'sandbox-managed-identity',
      idtyp: 'app',
    };
    const token =
      [{ typ: 'JWT', alg: 'none' }, claims].map(base64url).join('.') +
      '.' +
      randomBytes(16).toString('base64url');
    const issued = { token, resource, clientId, expiresAt: exp * 1000 };
    this.issued.set(token, issued);
    return issued;
  }

  /** Whether `token` is one this authority issued, unexpired, for an audience starting with `audience`. */
  accepts(token: string, audience: string): boolean {
    const t = this.issued.get(token);
    return !!t && t.expiresAt > Date.now() && t.resource.replace(/\/+$/, '').startsWith(audience);
  }

  /** Throws AuthenticationFailure unless `authorization` carries a valid token this authority issued. */
  verify(authorization: string | undefined): IssuedToken {
    if (!authorization) {
      throw this.failure(
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        "The authentication failed because of missing 'Authorization' header.",
      );
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    const token = match ? this.issued.get(match[1]) : undefined;
    if (!token) {
      throw this.failure(
        'InvalidAuthenticationToken',
        'The access token is invalid.',
        'The access token is invalid.',
      );
    }
    if (token.expiresAt <= Date.now()) {
      const message =
        `The access token expiry UTC time '${new Date(token.expiresAt).toUTCString()}' is earlier than current ` +
        `UTC time '${new Date().toUTCString()}'.`;
      throw this.failure('ExpiredAuthenticationToken', message, 'The access token has expired.');
    }
    if (!ARM_AUDIENCES.includes(token.resource)) {
      const message =
        `The access token has been obtained for wrong audience or resource '${token.resource}'. It should exactly ` +
        `match with one of the allowed audiences ${ARM_AUDIENCES.map((a) => `'${a}'`).join(',')}.`;
      throw this.failure(
        'InvalidAuthenticationTokenAudience',
        message,
        'The access token audience is invalid.',
      );
    }
    return token;
  }

  /**
   * Faults of the identity endpoint (kinds 429, 500, 503, slow, drop, stall; matched on method and path): token
   * requests that fail, answer late or never. No source describes the endpoint's own failures: the error bodies
   * take the shape of its other errors (`{statusCode, message}`).
   */
  readonly faults = new Faults();
  /** Token requests that received a token. */
  issuedCount = 0;

  /** HTTP handler of the identity endpoint (App Service managed identity contract, api-version 2019-08-01). */
  async handleIdentityRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestCount += 1;
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const fault = this.faults.take(req.method ?? 'GET', path);
    if (fault?.kind === 'drop') return void req.socket.destroy();
    if (fault?.kind === 'stall') return; // never answered; the client's timeout ends it
    if (fault?.kind === 'slow') await delay(fault.delayMs ?? 2_000);
    if (fault && fault.kind !== 'slow' && fault.kind !== 'lost') {
      const status =
        fault.kind === '429' || fault.kind === '503' || fault.kind === '403' ? Number(fault.kind) : 500;
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
      if (fault.kind === '429' || fault.retryAfterSeconds !== undefined) {
        headers['retry-after'] = String(fault.retryAfterSeconds ?? 1);
      }
      res.writeHead(status, headers);
      res.end(
        JSON.stringify({
          statusCode: status,
          message: `The identity endpoint failed (sandbox fault ${fault.kind}).`,
        }),
      );
      return;
    }
    const { status, body } = this.answerIdentityRequest(req);
    if (status === 200) this.issuedCount += 1;
    if (fault?.kind === 'lost') return void req.socket.destroy(); // issued, but the answer never arrives
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private answerIdentityRequest(req: IncomingMessage): { status: number; body: unknown } {
    if (req.method !== 'GET')
      return { status: 405, body: { statusCode: 405, message: 'Only GET is supported.' } };
    if (req.headers['x-identity-header'] !== this.identityHeader) {
      const message = 'Unauthorized request: X-IDENTITY-HEADER is missing or invalid.';
      return { status: 401, body: { statusCode: 401, message } };
    }
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    const resource = query.get('resource');
    if (!resource) {
      const body = { error: 'invalid_request', error_description: "The 'resource' parameter is required." };
      return { status: 400, body };
    }
    const clientId = query.get('client_id') ?? undefined;
    const issued = this.issue(resource, clientId);
    return {
      status: 200,
      body: {
        access_token: issued.token,
        expires_on: String(Math.floor(issued.expiresAt / 1000)),
        resource,
        token_type: 'Bearer',
        client_id: clientId ?? 'sandbox-managed-identity',
      },
    };
  }

  private failure(code: string, message: string, description: string): AuthenticationFailure {
    const challenge =
      `Bearer authorization_uri="https://login.microsoftonline.com/${SANDBOX_TENANT_ID}", ` +
      `error="invalid_token", error_description="${description}"`;
    return new AuthenticationFailure(code, message, challenge);
  }
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

let shared: { authority: TokenAuthority; endpoint: Promise<string> } | undefined;

/**
 * The process-wide token authority and its identity endpoint (`http://127.0.0.1:<port>/msi/token`, the value of
 * IDENTITY_ENDPOINT), started on first use. The server is unref'd: it never keeps the process alive.
 */
export function sharedIdentity(): { authority: TokenAuthority; endpoint: Promise<string> } {
  if (!shared) {
    const authority = new TokenAuthority();
    const server = http.createServer((req, res) => void authority.handleIdentityRequest(req, res));
    const endpoint = new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.unref();
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`);
      });
    });
    shared = { authority, endpoint };
  }
  return shared;
}
