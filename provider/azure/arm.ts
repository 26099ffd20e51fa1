import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { MigrationError } from '../core/errors';
import { lrsHint } from '../core/lrs/hints';

export const PUBLIC_ARM = 'https://management.azure.com';

const SOVEREIGN_SCOPES: Record<string, string> = {
  'management.azure.com': 'https://management.azure.com/.default',
  'management.chinacloudapi.cn': 'https://management.chinacloudapi.cn/.default',
  'management.usgovcloudapi.net': 'https://management.usgovcloudapi.net/.default',
};

export interface ArmTarget {
  endpoint: string;
  scope: string;
}

/**
 * Where ARM is: the resource's armEndpoint, else SQLMI_ARM_ENDPOINT (rehearsals against the sandbox),
 * else the public cloud. Unknown hosts (stand-ins, private clouds) use the public cloud's token scope.
 */
export function resolveArm(armEndpoint: string | undefined | null, log?: (line: string) => void): ArmTarget {
  const raw = armEndpoint || process.env.SQLMI_ARM_ENDPOINT || PUBLIC_ARM;
  const endpoint = raw.replace(/\/+$/, '');
  const host = new URL(endpoint).host.toLowerCase();
  const scope = SOVEREIGN_SCOPES[host] ?? SOVEREIGN_SCOPES['management.azure.com'];
  if (endpoint !== PUBLIC_ARM) log?.(`using Azure Resource Manager at ${endpoint}`);
  return { endpoint, scope };
}

let cachedCredential: TokenCredential | undefined;

/**
 * Credentials come from the environment at run time (az login, managed identity, AZURE_* variables). One
 * credential per provider process, shared by every resource the host runs, with one token request at a time
 * (see SharedTokenCredential): 20 resources starting together ask for one token, not 20.
 */
export function credential(): TokenCredential {
  if (!cachedCredential) {
    const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
    cachedCredential = new SharedTokenCredential(new DefaultAzureCredential());
  }
  return cachedCredential;
}

/**
 * A credential that asks its inner credential for one token at a time and shares the answer: callers that ask
 * while a request is in flight wait for it, and a token is reused by every caller of the same scopes (and tenant
 * and claims) until five minutes before it expires (or its refreshAfter time). A failed request is not
 * remembered: the next caller asks again.
 */
export class SharedTokenCredential implements TokenCredential {
  private readonly tokens = new Map<string, AccessToken>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const key = JSON.stringify([[scopes].flat().sort(), options?.tenantId ?? '', options?.claims ?? '']);
    const fresh = this.fresh(key);
    if (fresh) return fresh;
    // One request at a time: wait for the one in flight (whatever its scopes), then look again.
    const turn = this.queue.then(async () => {
      const cached = this.fresh(key);
      if (cached) return cached;
      // Not the first caller's abort signal: the answer serves every caller waiting for it.
      const token = await this.inner.getToken(scopes, { ...options, abortSignal: undefined });
      if (token) this.tokens.set(key, token);
      return token;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private fresh(key: string): AccessToken | undefined {
    const token = this.tokens.get(key);
    if (!token) return undefined;
    const renewAt = Math.min(token.expiresOnTimestamp - 5 * 60_000, token.refreshAfterTimestamp ?? Infinity);
    return this.now() < renewAt ? token : undefined;
  }
}

interface AzureErrorLike {
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { error?: { code?: string; message?: string } };
}

/** Keeps Azure's code, adds what to do next. */
export function fromAzureError(e: unknown, doing: string): MigrationError {
  if (e instanceof MigrationError) return e;
  const err = (e ?? {}) as AzureErrorLike;
  const inner = err.details?.error;
  const code = inner?.code ?? err.code;
  const message = inner?.message ?? err.message ?? String(e);
  const status = err.statusCode;
  if ((e as Error)?.name === 'AbortError') {
    return new MigrationError('Timeout', `Timed out ${doing}.`, {
      cause: e,
      hint: 'raise the deadline input and run up again (it resumes)',
    });
  }
  if (
    status === 401 ||
    code === 'CredentialUnavailableError' ||
    (e as Error)?.name === 'CredentialUnavailableError' ||
    (e as Error)?.name === 'AuthenticationError'
  ) {
    return new MigrationError(
      'AzureAuthentication',
      `Could not authenticate to Azure while ${doing}: ${message}`,
      {
        cause: e,
        causeCode: code ?? status,
        hint: 'sign in (az login), or run with a managed identity or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET in the environment',
      },
    );
  }
  return new MigrationError(
    'AzureError',
    `Azure refused ${doing}${status ? ` (HTTP ${status})` : ''}: ${message}`,
    {
      cause: e,
      causeCode: code ?? status,
      hint:
        lrsHint(code) ??
        (status && status >= 500
          ? 'Azure had a server error; run up again (every step resumes)'
          : status === 403
            ? 'the identity running Pulumi lacks permission on the managed instance'
            : undefined),
    },
  );
}
