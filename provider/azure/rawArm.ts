/**
 * ARM calls the SDK does not model (the 2025-01-01 link contract): requests through a core-client pipeline
 * (bearer token; retries, timeouts and the per-method retry rules of pipeline.ts), and long-running operations
 * polled here with a deadline, following Azure-AsyncOperation or Location as the ARM LRO rules say. The answer that
 * starts an operation is a 202 stub (`{operation, startTime}`, recordings lrs-continuous t2, link-errors 9): only
 * its status and headers are read, never a resource in its body.
 */

import type { TokenCredential } from '@azure/core-auth';
import type { ServiceClient } from '@azure/core-client';
import { formatDuration } from '../core/clock';
import { MigrationError } from '../core/errors';
import { withDeadline } from '../runtime/deadline';
import { credential, fromAzureError, resolveArm } from './arm';
import { armPipelineOptions, limitTransientRetries, retryAfterMs } from './pipeline';

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
    /** Deadline of the operation this client serves (retry budget of its requests; see pipeline.ts). */
    options: { deadlineInMs?: number } = {},
  ) {
    const target = resolveArm(armEndpoint, log);
    const { ServiceClient: Client } = require('@azure/core-client') as typeof import('@azure/core-client');
    this.client = new Client({
      endpoint: target.endpoint,
      credential: cred,
      credentialScopes: [target.scope],
      ...armPipelineOptions({ deadlineInMs: options.deadlineInMs, log }),
    });
    this.endpoint = target.endpoint;
  }

  /** `transientRetries` caps the retries of 408/5xx answers (see limitTransientRetries). */
  async send(
    method: string,
    pathOrUrl: string,
    body?: unknown,
    options: { transientRetries?: number } = {},
  ): Promise<RawResponse> {
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
    if (options.transientRetries !== undefined) limitTransientRetries(request, options.transientRetries);
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
   * Waits for a long-running operation started by `first` (a 201/202 with Azure-AsyncOperation or Location), with
   * a deadline. Follows Azure-AsyncOperation (status Succeeded/Failed/Canceled) or Location (202 until done).
   * Each poll comes no sooner than `intervalMs` after the previous answer and no sooner than the Retry-After that
   * answer carried (absent in the az CLI recordings, 15 on every poll, terminal ones included, in the PowerShell
   * ones); a poll that could only come after the deadline is not waited for: the wait fails then, with the last
   * status seen. The polls' requests run under the deadline (pipeline.ts: per-request timeouts, retries).
   */
  async waitLro(
    first: RawResponse,
    doing: string,
    o: { deadlineMs: number; intervalMs: number; sleep: (ms: number) => Promise<void>; now: () => number },
  ): Promise<void> {
    const asyncOp = first.headers['azure-asyncoperation'];
    const location = first.headers.location;
    if (!(first.status === 201 || first.status === 202) || (!asyncOp && !location)) return;
    const started = o.now();
    const deadline = started + o.deadlineMs;
    let last = `HTTP ${first.status} (accepted)`;
    let retryAfter = retryAfterOf(first.headers);
    for (;;) {
      const wait = Math.max(o.intervalMs, retryAfter ?? 0, 1);
      if (o.now() + wait > deadline) {
        throw new MigrationError(
          'Timeout',
          `Timed out after ${formatDuration(o.now() - started)} ${doing}: the Azure operation was still running.`,
          {
            lastState: `${last}${retryAfter !== undefined ? `; Azure asked to poll again in ${formatDuration(retryAfter)}` : ''}`,
            hint: 'it continues in Azure; run up again to resume (every step checks the real state first)',
          },
        );
      }
      await o.sleep(wait);
      const r = await withDeadline(Date.now() + (deadline - o.now()), () =>
        this.call('GET', asyncOp ?? location!, undefined, `${doing} (polling)`),
      );
      if (r.status === 404) throw armError(r, `${doing} (the operation is not known to Azure)`);
      retryAfter = retryAfterOf(r.headers);
      if (asyncOp) {
        const b = (r.body ?? {}) as { status?: string; error?: { code?: string; message?: string } };
        last = `operation ${b.status ?? `answer HTTP ${r.status}`}`;
        if (/^succeeded$/i.test(b.status ?? '')) return;
        if (/^(failed|canceled|cancelled)$/i.test(b.status ?? ''))
          throw operationEnded(b.status!, b.error, doing);
      } else {
        last = `operation result HTTP ${r.status}`;
        if (r.status !== 202) return;
      }
    }
  }
}

/**
 * An operation Azure accepted and then ended Failed or Canceled: Azure's code (the operation's error, else its
 * status), what it said, and a next step. Not "refused": the request was accepted (202).
 */
function operationEnded(
  status: string,
  error: { code?: string; message?: string } | undefined,
  doing: string,
): MigrationError {
  return new MigrationError(
    'AzureError',
    `The Azure operation ${doing} ended ${status}: ${error?.message ?? `operation ${status}`}`,
    {
      causeCode: error?.code ?? status,
      hint: "Azure's code says why; once its cause is dealt with, run up (or destroy) again: it reads the link as it is now and resumes from there",
    },
  );
}

/** Retry-After (or retry-after-ms) of an answer, in ms. */
function retryAfterOf(headers: Record<string, string | undefined>): number | undefined {
  return retryAfterMs({ get: (name) => headers[name] });
}

/** An ARM error answer as a typed error that keeps Azure's code. */
export function armError(r: RawResponse, doing: string): MigrationError {
  const b = (r.body ?? {}) as { error?: { code?: string; message?: string } };
  return fromAzureError(
    Object.assign(new Error(b.error?.message ?? `HTTP ${r.status}`), {
      statusCode: r.status,
      code: b.error?.code,
    }),
    doing,
  );
}
