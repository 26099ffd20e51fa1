import https from 'node:https';
import {
  type ManagedDatabase,
  SqlManagementClient,
  type SqlManagementClientOptionalParams,
} from '@azure/arm-sql';
import { DefaultAzureCredential } from '@azure/identity';
import type { Sandbox } from '../../sandbox';

export const COLLATION = 'SQL_Latin1_General_CP1_CI_AS';
export const ARM_SCOPE = 'https://management.azure.com/.default';

/**
 * A SqlManagementClient exactly as a provider builds one: the real DefaultAzureCredential (configured by the
 * sandbox's environment variables, set in this process) and the stand-in's URL as endpoint. In-process the CA
 * is passed as `tlsOptions` (NODE_EXTRA_CA_CERTS is only read at process start). Retries are fast.
 */
export function armClient(sb: Sandbox, options: SqlManagementClientOptionalParams = {}): SqlManagementClient {
  const env = sb.envOverrides();
  for (const name of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_TOKEN_CREDENTIALS'])
    process.env[name] = env[name];
  return new SqlManagementClient(new DefaultAzureCredential(), sb.instance.subscriptionId, {
    endpoint: sb.arm.url,
    credentialScopes: [ARM_SCOPE],
    tlsOptions: { ca: sb.arm.ca },
    retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    ...options,
  });
}

/** The body of a managed database PUT that starts LRS on `folder` of the sandbox container. */
export function lrsDatabase(
  sb: Sandbox,
  folder: string,
  overrides: Partial<ManagedDatabase> = {},
): ManagedDatabase {
  return {
    location: sb.instance.location,
    createMode: 'RestoreExternalBackup',
    storageContainerUri: sb.storage.containerUrl(folder),
    storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
    collation: COLLATION,
    autoCompleteRestore: false,
    ...overrides,
  };
}

/** Polls `check` (real time) until it returns a value other than undefined/false, or fails after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Runs `action` while simulated time moves on by `stepMs` every few real ms (the SDK pollers then see
 * operations finish), and stops moving it when the action settles.
 */
export async function whileAdvancing<T>(sb: Sandbox, stepMs: number, action: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => sb.clock.advance(stepMs), 5);
  try {
    return await action();
  } finally {
    clearInterval(timer);
  }
}

/** Expects `promise` to reject and returns the error. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; statusCode?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; statusCode?: number };
  }
  throw new Error('expected a rejection');
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** A raw https request to the ARM stand-in (trusting its CA), for what the SDK would not send. */
export function rawRequest(
  sb: Sandbox,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null } = {},
): Promise<RawResponse> {
  const token =
    options.token === undefined
      ? sb.arm.server.tokens.issue('https://management.azure.com').token
      : options.token;
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${sb.arm.url}${path}`,
      {
        method,
        ca: sb.arm.ca,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(text ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: raw ? JSON.parse(raw) : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** The `error.code` of an ARM error body. */
export function errorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } } | undefined)?.error?.code;
}
