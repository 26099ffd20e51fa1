/**
 * The HTTP transport rules of every ARM request the provider sends (SqlManagementClient and RawArm): one retry
 * policy that replaces the SDK's default (3 retries, then the operation fails at its first throttled GET).
 *
 * Budget: a request is retried for as long as its deadline allows. The deadline is the earliest of the ambient
 * deadline of the wait it belongs to (provider/runtime/deadline.ts, set by the Waiter and RawArm.waitLro), the
 * deadline of the operation the client was built for (`deadlineInMs` from construction) and `maxBudgetInMs` from
 * the request's start. Each attempt gets a timeout of min(time left, `requestTimeoutInMs`), so a stalled request
 * cannot hang past the deadline; when no attempt fits any more, DeadlineExceeded (a Timeout with the last answer)
 * is thrown, which the Waiter reports with the last state it saw.
 *
 * Waits: a Retry-After (seconds or HTTP date; also retry-after-ms / x-ms-retry-after-ms) is honoured exactly,
 * never shortened; without one the wait backs off exponentially from 1 s to 30 s. A wait that would end past the
 * deadline is not started.
 *
 * Which retries are safe, per method:
 * - 429 (throttled): ARM refused the request without acting on it (Azure Resource Manager request limits and
 *   throttling, learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
 *   retried for every method.
 * - A connection that could not be made (ECONNREFUSED, ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH): the
 *   request never reached Azure: retried for every method.
 * - 408/500/502/503/504, a connection reset, no answer within the request timeout: Azure may have acted.
 *   GET and HEAD read only, PUT and PATCH (this project only sends whole, absolute bodies: a repeat asks for the
 *   same state) are idempotent: retried. DELETE and POST (drop, breaking a link, failover, completeRestore) are
 *   NOT sent again: a 5xx answer is returned to the caller as Azure's error; after a lost answer a DELETE is
 *   checked with a GET of the same URL (404: the resource is gone, answered as 204; otherwise the outcome is
 *   unknown) and a POST surfaces `AzureOutcomeUnknown`. The callers' steps then re-read the real state (every
 *   step of both resources starts from what is there) instead of repeating the call.
 *
 * Progress: a throttling episode prints one line when it starts ("Azure is throttling …"), one at most every 30 s
 * while it lasts, and one when it ends; other transient answers print one line per retry.
 */

import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type SendRequest,
} from '@azure/core-rest-pipeline';
import { MigrationError } from '../core/errors';
import { formatDuration } from '../core/clock';
import { ambientDeadline, DeadlineExceeded } from '../runtime/deadline';

export interface ArmPipelineOptions {
  /** Deadline of the operation the client serves, from now (the client is built per provider operation). */
  deadlineInMs?: number;
  /** Progress lines (the resource's logger). */
  log?: (line: string) => void;
  /** Longest single attempt (default 60 s). */
  requestTimeoutInMs?: number;
  /** Retry budget of a request when no deadline applies (default 10 min). */
  maxBudgetInMs?: number;
  /** Injectable for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignalLike) => Promise<void>;
}

interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The client options that install the policy (spread into SqlManagementClient / ServiceClient options). */
export function armPipelineOptions(options: ArmPipelineOptions = {}): {
  retryOptions: { maxRetries: number };
  additionalPolicies: Array<{ policy: PipelinePolicy; position: 'perCall' }>;
} {
  return {
    // The SDK's own retry policy stays in the pipeline but retries nothing: this policy decides.
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy: armRetryPolicy(options), position: 'perCall' }],
  };
}

export const ARM_RETRY_POLICY = 'sqlmiArmRetryPolicy';

const TRANSIENT_RETRY_LIMITS = new WeakMap<PipelineRequest, number>();

/**
 * Caps the retries of 408/5xx answers for one request (throttling is still retried as Retry-After asks). For a
 * read whose 5xx is also a state the service reports: restore details answer 500 for a database that is not an
 * LRS restore or whose restore failed (../shared/recordings/lrs-ps-stop-foreign-database, lrs-ps-failed-start v4),
 * so retrying it until the deadline would only hang the caller.
 */
export function limitTransientRetries<R extends PipelineRequest>(request: R, retries: number): R {
  TRANSIENT_RETRY_LIMITS.set(request, retries);
  return request;
}

const THROTTLED = 429;
const TRANSIENT_STATUS = new Set([408, 500, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH']);
/** Errors raised before a connection carried the request: Azure never saw it. */
const UNREACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Errors after the request may have been received. */
const LOST = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
]);

const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
const THROTTLE_LINE_EVERY_MS = 30_000;
const EXPIRED_GRACE_MS = 10_000;

interface Failure {
  kind: 'unreached' | 'lost' | 'timeout';
  error: unknown;
  text: string;
}

export function armRetryPolicy(options: ArmPipelineOptions = {}): PipelinePolicy {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const requestTimeout = options.requestTimeoutInMs ?? 60_000;
  const maxBudget = options.maxBudgetInMs ?? 10 * 60_000;
  const clientDeadline = options.deadlineInMs === undefined ? undefined : now() + options.deadlineInMs;
  const log = options.log ?? (() => undefined);
  /** Set when a request ran into the deadline of its wait. */
  let expired = false;

  return {
    name: ARM_RETRY_POLICY,
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      try {
        return await send(request, next);
      } catch (e) {
        if (e instanceof DeadlineExceeded && ambientDeadline() !== undefined) expired = true;
        throw e;
      }
    },
  };

  async function send(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
    const method = request.method.toUpperCase();
    const ambient = ambientDeadline();
    const deadline = Math.min(
      ambient ?? Number.POSITIVE_INFINITY,
      clientDeadline ?? Number.POSITIVE_INFINITY,
      // Once a wait of this operation ran out of time, a request outside any wait (the best-effort read of the
      // state for the error report) gets a short grace, not the rest of the operation's budget.
      ambient === undefined && expired ? now() + EXPIRED_GRACE_MS : Number.POSITIVE_INFINITY,
      now() + maxBudget,
    );
    let attempt = 0;
    let transientRetries = 0;
    let throttledSince: number | undefined;
    let lastThrottleLine = Number.NEGATIVE_INFINITY;
    let lastAnswer = 'no answer yet';
    for (;;) {
      attempt += 1;
      const left = deadline - now();
      if (left <= 0) throw deadlineError(method, request, lastAnswer);
      const outcome = await attemptOnce(request, next, Math.min(left, requestTimeout));
      if (outcome.kind === 'response') {
        const response = outcome.response;
        if (response.status !== THROTTLED && !TRANSIENT_STATUS.has(response.status)) {
          if (throttledSince !== undefined) {
            log(`Azure stopped throttling after ${formatDuration(now() - throttledSince)}; going on`);
          }
          if (outcome.thrown !== undefined) throw outcome.thrown;
          return response;
        }
        lastAnswer = describeAnswer(response);
        if (response.status !== THROTTLED) transientRetries += 1;
        const limit = TRANSIENT_RETRY_LIMITS.get(request);
        if (
          response.status !== THROTTLED &&
          (!IDEMPOTENT.has(method) || (limit !== undefined && transientRetries > limit))
        ) {
          // Azure's error, as is, for the caller (the service may have acted: not sent again).
          if (outcome.thrown !== undefined) throw outcome.thrown;
          return response;
        }
        const wait = waitBefore(response, attempt);
        if (now() + wait > deadline) {
          throw deadlineError(
            method,
            request,
            `${lastAnswer}; the next attempt would be due in ${formatDuration(wait)}`,
          );
        }
        if (response.status === THROTTLED) {
          throttledSince ??= now();
          if (now() - lastThrottleLine >= THROTTLE_LINE_EVERY_MS) {
            lastThrottleLine = now();
            log(
              `Azure is throttling requests (${lastAnswer}): waiting ${formatDuration(wait)} as it asks, ` +
                `then retrying (${formatDuration(deadline - now())} left before the deadline)`,
            );
          }
        } else {
          log(`Azure answered ${lastAnswer} to ${method}: retrying in ${formatDuration(wait)}`);
        }
        await sleep(wait, request.abortSignal);
        continue;
      }
      // No answer.
      const failure = outcome.failure;
      lastAnswer = failure.text;
      if (failure.kind !== 'unreached' && !IDEMPOTENT.has(method)) {
        return unsafeWithoutAnswer(method, request, next, failure, lastAnswer);
      }
      const wait = backoff(attempt);
      if (now() + wait > deadline) throw deadlineError(method, request, lastAnswer, failure.error);
      log(`${failure.text} on ${method}: retrying in ${formatDuration(wait)}`);
      await sleep(wait, request.abortSignal);
    }
  }

  /** One attempt with its own timeout; the caller's abort signal still ends it. */
  async function attemptOnce(
    request: PipelineRequest,
    next: SendRequest,
    timeoutMs: number,
  ): Promise<
    { kind: 'response'; response: PipelineResponse; thrown?: unknown } | { kind: 'failed'; failure: Failure }
  > {
    const callerSignal = request.abortSignal;
    const controller = new AbortController();
    let timedOut = false;
    const onCallerAbort = () => controller.abort();
    callerSignal?.addEventListener('abort', onCallerAbort);
    if (callerSignal?.aborted) controller.abort();
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    request.abortSignal = controller.signal;
    try {
      return { kind: 'response', response: await next(request) };
    } catch (e) {
      if (callerSignal?.aborted) throw e;
      // An error answer the client's deserialization already turned into a RestError: still an answer.
      const answered = (e as { response?: PipelineResponse })?.response;
      if (answered && typeof answered.status === 'number')
        return { kind: 'response', response: answered, thrown: e };
      if (timedOut) {
        return {
          kind: 'failed',
          failure: {
            kind: 'timeout',
            error: e,
            text: `no answer from Azure within ${formatDuration(timeoutMs)}`,
          },
        };
      }
      const code = errorCode(e);
      if (code !== undefined && UNREACHED.has(code)) {
        return {
          kind: 'failed',
          failure: { kind: 'unreached', error: e, text: `could not reach Azure (${code})` },
        };
      }
      if ((code !== undefined && LOST.has(code)) || /socket hang up|ECONNRESET/i.test(messageOf(e))) {
        return {
          kind: 'failed',
          failure: {
            kind: 'lost',
            error: e,
            text: `lost the connection to Azure (${code ?? 'socket hang up'})`,
          },
        };
      }
      throw e;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      request.abortSignal = callerSignal;
    }
  }

  /**
   * A DELETE or POST that may have reached Azure but got no answer is never sent again. A DELETE is checked with
   * a GET of its URL: gone (404) is the outcome the DELETE asked for, answered as 204; anything else, and any POST,
   * is an unknown outcome for the caller to resolve by reading the state.
   */
  async function unsafeWithoutAnswer(
    method: string,
    request: PipelineRequest,
    next: SendRequest,
    failure: Failure,
    lastAnswer: string,
  ): Promise<PipelineResponse> {
    if (method === 'DELETE') {
      const headers = createHttpHeaders(request.headers.toJSON());
      headers.delete('content-type');
      headers.delete('content-length');
      const check = await attemptOnce(
        createPipelineRequest({ url: request.url, method: 'GET', headers, abortSignal: request.abortSignal }),
        next,
        Math.max(1, Math.min(requestTimeout, 30_000)),
      ).catch(() => undefined);
      if (check?.kind === 'response' && check.response.status === 404) {
        log(
          `${lastAnswer} on DELETE; the resource is gone, so the DELETE took effect (not sending it again)`,
        );
        return { status: 204, headers: check.response.headers, request };
      }
    }
    throw new MigrationError(
      'AzureOutcomeUnknown',
      `${lastAnswer} after sending ${method} ${pathOf(request.url)}: Azure may or may not have acted on it, and the ` +
        'provider does not send it a second time.',
      {
        cause: failure.error,
        lastState: lastAnswer,
        hint: 'run up (or destroy) again: every step reads the real state first and follows an operation already in flight',
      },
    );
  }
}

function deadlineError(
  method: string,
  request: PipelineRequest,
  lastAnswer: string,
  cause?: unknown,
): DeadlineExceeded {
  return new DeadlineExceeded(
    `The deadline passed before Azure answered ${method} ${pathOf(request.url)} (${lastAnswer}).`,
    lastAnswer,
    cause,
  );
}

/** How long to wait before the next attempt after a throttled or transient answer. */
function waitBefore(response: PipelineResponse, attempt: number): number {
  return retryAfterMs(response.headers) ?? backoff(attempt);
}

/** 1 s, 2 s, 4 s … 30 s, plus up to 20 % jitter (never less than the base). */
function backoff(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (attempt - 1));
  return Math.round(base * (1 + Math.random() * 0.2));
}

/** The wait a Retry-After header asks for, in ms (seconds, or an HTTP date); undefined without one. */
export function retryAfterMs(headers: { get(name: string): string | undefined }): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = headers.get(name);
    if (v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim());
  }
  const raw = headers.get('retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function describeAnswer(response: PipelineResponse): string {
  let code: string | undefined;
  try {
    code = (JSON.parse(response.bodyAsText ?? '') as { error?: { code?: string } })?.error?.code;
  } catch {
    code = undefined;
  }
  const ra = response.headers.get('retry-after');
  return `HTTP ${response.status}${code ? ` ${code}` : ''}${ra !== undefined ? ` (Retry-After ${ra})` : ''}`;
}

function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The path of a URL without its query (no signatures or tokens in messages). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.replace(/\?.*$/, '');
  }
}

function abortableSleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort);
  });
}

function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}
