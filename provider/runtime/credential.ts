/**
 * The provider process's credential (issue 9: one token request per credential at a time). Pure of Pulumi;
 * @azure/identity is loaded on first use, so preview (check/diff) never loads it.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

/** Variables DefaultAzureCredential chooses its source by: a change of them means another credential. */
const SOURCE_ENV = [
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_USERNAME',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
];

let cached: { key: string; credential: TokenCredential } | undefined;

/**
 * Credentials come from the environment at run time (az login, managed identity, AZURE_* variables). One
 * credential per provider process, shared by every resource the host runs and by both ARM and the managed
 * instance's SQL logins (Entra ID), with one token request at a time (see SharedTokenCredential): 20 resources
 * starting together ask for one token per scope, not 20. A provider host's environment does not change; in a
 * process that changes it (tests, rehearsals in-process) a new source gets a new credential.
 */
export function credential(): TokenCredential {
  const key = JSON.stringify(SOURCE_ENV.map((name) => process.env[name] ?? null));
  if (cached?.key !== key) {
    const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
    cached = { key, credential: new SharedTokenCredential(new DefaultAzureCredential()) };
  }
  return cached.credential;
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
