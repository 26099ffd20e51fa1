/**
 * ARM calls the SDK does not model (the 2025-01-01 link contract): requests through the SDK's own pipeline
 * (bearer token, retries of 429/5xx with Retry-After), and long-running operations polled here with a
 * deadline, following Azure-AsyncOperation or Location as the ARM LRO rules say.
 */

import type { TokenCredential } from '@azure/core-auth';
import type { ServiceClient } from '@azure/core-client';
import { MigrationError } from '../core/errors';
import { credential, fromAzureError, resolveArm } from './arm';

export interface RawResponse {
  status: number;
  body: unknown;
  headers: Record<string, string | undefined>;
}

export class RawArm {
  private readonly client: ServiceClient;
  readonly endpoint: string;

  constructor(
    armEndpoint: string | null | undefined,
    log?: (line: string) => void,
    cred: TokenCredential = credential(),
  ) {
    const target = resolveArm(armEndpoint, log);
    const { ServiceClient: Client } = require('@azure/core-client') as typeof import('@azure/core-client');
    this.client = new Client({
      endpoint: target.endpoint,
      credential: cred,
      credentialScopes: [target.scope],
    });
    this.endpoint = target.endpoint;
  }

  async send(method: string, pathOrUrl: string, body?: unknown): Promise<RawResponse> {
    const { createPipelineRequest, createHttpHeaders } =
      require('@azure/core-rest-pipeline') as typeof import('@azure/core-rest-pipeline');
    const url = /^https:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.endpoint}${pathOrUrl}`;
    const headers = createHttpHeaders({ accept: 'application/json' });
    if (body !== undefined) headers.set('content-type', 'application/json');
    const request = createPipelineRequest({
      url,
      method: method as 'GET',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const response = await this.client.sendRequest(request);
    let parsed: unknown;
    try {
      parsed = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      parsed = response.bodyAsText;
    }
    return { status: response.status, body: parsed, headers: response.headers.toJSON() };
  }

  /** Sends and turns ARM error bodies into typed errors (404 returns the response for the caller to judge). */
  async call(method: string, path: string, body: unknown, doing: string): Promise<RawResponse> {
    let r: RawResponse;
    try {
      r = await this.send(method, path, body);
    } catch (e) {
      throw fromAzureError(e, doing);
    }
    if (r.status >= 400 && r.status !== 404) throw armError(r, doing);
    return r;
  }

  /**
   * Waits for a long-running operation started by `first`, with a deadline. Follows Azure-AsyncOperation
   * (status Succeeded/Failed/Canceled) or Location (202 until done), honouring Retry-After.
   */
  async waitLro(
    first: RawResponse,
    doing: string,
    o: { deadlineMs: number; intervalMs: number; sleep: (ms: number) => Promise<void>; now: () => number },
  ): Promise<void> {
    const asyncOp = first.headers['azure-asyncoperation'];
    const location = first.headers.location;
    if (!(first.status === 201 || first.status === 202) || (!asyncOp && !location)) return;
    const deadline = o.now() + o.deadlineMs;
    let retryAfter = first.headers['retry-after'];
    for (;;) {
      const wait = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : o.intervalMs;
      if (o.now() + wait > deadline) {
        throw new MigrationError('Timeout', `Timed out ${doing}: the Azure operation was still running.`, {
          hint: 'it continues in Azure; run up again to resume (every step checks the real state first)',
        });
      }
      await o.sleep(Math.min(wait, o.intervalMs * 4));
      const r = await this.call('GET', asyncOp ?? location!, undefined, `${doing} (polling)`);
      retryAfter = r.headers['retry-after'];
      if (asyncOp) {
        const b = (r.body ?? {}) as { status?: string; error?: { code?: string; message?: string } };
        if (/^succeeded$/i.test(b.status ?? '')) return;
        if (/^(failed|canceled|cancelled)$/i.test(b.status ?? '')) {
          throw armError(
            {
              ...r,
              status: 400,
              body: { error: b.error ?? { code: b.status, message: `operation ${b.status}` } },
            },
            doing,
          );
        }
      } else if (r.status !== 202) {
        return;
      }
    }
  }
}

function armError(r: RawResponse, doing: string): MigrationError {
  const b = (r.body ?? {}) as { error?: { code?: string; message?: string } };
  return fromAzureError(
    Object.assign(new Error(b.error?.message ?? `HTTP ${r.status}`), {
      statusCode: r.status,
      code: b.error?.code,
    }),
    doing,
  );
}
