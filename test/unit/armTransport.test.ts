import assert from 'node:assert/strict';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
  RestError,
} from '@azure/core-rest-pipeline';
import { SharedTokenCredential } from '../../provider/azure/arm';
import { armRetryPolicy, limitTransientRetries } from '../../provider/azure/pipeline';
import { RawArm, type RawResponse } from '../../provider/azure/rawArm';
import { FakeClock } from '../../provider/core/clock';
import { MigrationError } from '../../provider/core/errors';
import { withDeadline } from '../../provider/runtime/deadline';

/**
 * The ARM transport rules (provider/azure/pipeline.ts), the link's LRO poller (RawArm.waitLro) and the shared
 * credential, against scripted answers: no network, a fake clock for every wait the code chooses.
 */

type Answer =
  | number
  | { status: number; headers?: Record<string, string>; body?: unknown; thrown?: boolean }
  | Error
  | 'stall';

/** A `next` that answers from a script and records what was sent. */
function scripted(answers: Answer[]) {
  const sent: string[] = [];
  const next = async (request: PipelineRequest): Promise<PipelineResponse> => {
    sent.push(request.method);
    const a = answers.shift() ?? 200;
    if (a === 'stall') {
      return new Promise((_, reject) => {
        request.abortSignal?.addEventListener('abort', () =>
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
        );
      });
    }
    if (a instanceof Error) throw a;
    const r = typeof a === 'number' ? { status: a } : a;
    const response: PipelineResponse = {
      status: r.status,
      headers: createHttpHeaders(r.headers ?? {}),
      request,
      bodyAsText: r.body === undefined ? undefined : JSON.stringify(r.body),
    };
    // core-client's deserialization throws error answers of SDK operations as RestErrors that carry them.
    if ('thrown' in r && r.thrown) throw new RestError('error answer', { statusCode: r.status, response });
    return response;
  };
  return { sent, next };
}

const reset = () => new RestError('socket hang up', { code: 'ECONNRESET' });
const refused = () => new RestError('connect ECONNREFUSED', { code: 'ECONNREFUSED' });
const throttled = (seconds: number) => ({
  status: 429,
  headers: { 'retry-after': String(seconds) },
  body: { error: { code: 'SubscriptionRequestsThrottled', message: 'throttled' } },
});

/** A policy on a fake clock: sleeps move the clock and are recorded. */
function policy(deadlineInMs: number, extra: { requestTimeoutInMs?: number } = {}) {
  const clock = new FakeClock(Date.now()); // ambient deadlines are wall-clock times
  const sleeps: number[] = [];
  const lines: string[] = [];
  const p = armRetryPolicy({
    deadlineInMs,
    now: () => clock.now(),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    log: (line) => lines.push(line),
    ...extra,
  });
  return { p, clock, sleeps, lines };
}

const req = (method: string) =>
  createPipelineRequest({
    url: 'https://arm.test/subscriptions/s/resourceGroups/g/x?api-version=1',
    method: method as 'GET',
  });

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise;
  } catch (e) {
    return e as MigrationError;
  }
  throw new Error('expected a rejection');
}

describe('ARM transport (provider/azure/pipeline.ts)', () => {
  it('survives a throttling storm, waiting exactly what Retry-After asks, and says Azure is throttling', async () => {
    const { p, sleeps, lines } = policy(120_000);
    const { sent, next } = scripted([...Array.from({ length: 12 }, () => throttled(3)), 200]);
    const r = await p.sendRequest(req('GET'), next);
    assert.equal(r.status, 200);
    assert.equal(sent.length, 13, 'more than the SDK default of 3 retries');
    assert.deepEqual(sleeps, Array(12).fill(3_000), 'never sooner than Retry-After');
    assert.match(lines[0], /Azure is throttling requests \(HTTP 429 SubscriptionRequestsThrottled/);
    assert.ok(lines.length <= 3, `one line per episode and per 30 s, not per retry: ${lines.join(' | ')}`);
    assert.match(lines.at(-1) ?? '', /stopped throttling/);
  });

  it('retries an error answer that the SDK client already threw as a RestError', async () => {
    const { p, sleeps } = policy(60_000);
    const { sent, next } = scripted([{ ...throttled(2), thrown: true }, { status: 503, thrown: true }, 200]);
    assert.equal((await p.sendRequest(req('GET'), next)).status, 200);
    assert.equal(sent.length, 3);
    assert.equal(sleeps[0], 2_000);
    const post = policy(60_000);
    const b = scripted([{ status: 500, thrown: true }]);
    await assert.rejects(post.p.sendRequest(req('POST'), b.next), (e: RestError) => e.statusCode === 500);
    assert.deepEqual(b.sent, ['POST']);
  });

  it('a GET whose 500 is also a state (restore details of a non-LRS or failed restore) is retried only as limited', async () => {
    const { p, sleeps } = policy(600_000);
    const { sent, next } = scripted([500, 500, 500, 500, 500]);
    const request = limitTransientRetries(req('GET'), 2);
    assert.equal((await p.sendRequest(request, next)).status, 500, 'the answer, well before the deadline');
    assert.equal(sent.length, 3);
    assert.equal(sleeps.length, 2);
    // Throttling is no answer about the state: still retried as Retry-After asks, whatever the limit.
    const t = policy(600_000);
    const b = scripted([throttled(1), throttled(1), throttled(1), 200]);
    assert.equal((await t.p.sendRequest(limitTransientRetries(req('GET'), 0), b.next)).status, 200);
    assert.equal(b.sent.length, 4);
  });

  it('throttles a DELETE and a POST too (429: ARM did not act), each still sent until accepted', async () => {
    for (const method of ['DELETE', 'POST']) {
      const { p } = policy(60_000);
      const { sent, next } = scripted([throttled(1), throttled(1), 202]);
      assert.equal((await p.sendRequest(req(method), next)).status, 202);
      assert.deepEqual(sent, [method, method, method]);
    }
  });

  it('stops at the deadline with the last answer when throttling outlasts it', async () => {
    const { p, clock } = policy(10_000);
    const started = clock.now();
    const { next } = scripted(Array.from({ length: 50 }, () => throttled(4)));
    const e = await rejection(p.sendRequest(req('GET'), next));
    assert.equal(e.code, 'Timeout');
    assert.match(e.lastState ?? '', /HTTP 429 SubscriptionRequestsThrottled/);
    assert.ok(clock.now() - started <= 10_000, 'no wait started that would end past the deadline');
  });

  it('uses the ambient deadline of the wait when it is earlier than the client deadline', async () => {
    const { p, clock } = policy(10 * 60_000);
    const started = clock.now();
    const { sent, next } = scripted(Array.from({ length: 50 }, () => throttled(2)));
    const e = await rejection(withDeadline(started + 5_000, () => p.sendRequest(req('GET'), next)));
    assert.equal(e.code, 'Timeout');
    assert.ok(clock.now() - started <= 5_000);
    assert.equal(sent.length, 3, 'at 0, 2 and 4 s; the next would be due after the deadline');
  });

  it('after a wait ran out of time, a read outside any wait gets a short grace, not the operation budget', async () => {
    const { p, clock } = policy(60 * 60_000);
    const started = clock.now();
    const storm = scripted(Array.from({ length: 100 }, () => throttled(2)));
    await rejection(withDeadline(started + 3_000, () => p.sendRequest(req('GET'), storm.next)));
    const after = clock.now();
    const e = await rejection(p.sendRequest(req('GET'), storm.next));
    assert.equal(e.code, 'Timeout');
    assert.ok(clock.now() - after <= 10_000, 'the follow-up read gave up within the grace');
  });

  it('retries transient answers and lost connections of GET, PUT and PATCH', async () => {
    for (const method of ['GET', 'PUT', 'PATCH']) {
      const { p } = policy(60_000);
      const { sent, next } = scripted([503, reset(), 500, 200]);
      assert.equal((await p.sendRequest(req(method), next)).status, 200);
      assert.equal(sent.length, 4);
    }
  });

  it('never sends a DELETE twice after a lost answer: a GET that finds the resource gone means done', async () => {
    const { p } = policy(60_000);
    const { sent, next } = scripted([reset(), 404]);
    const r = await p.sendRequest(req('DELETE'), next);
    assert.equal(r.status, 204);
    assert.deepEqual(sent, ['DELETE', 'GET']);
  });

  it('a DELETE whose resource is still there after a lost answer is an unknown outcome, not a second DELETE', async () => {
    const { p } = policy(60_000);
    const { sent, next } = scripted([reset(), 200]);
    const e = await rejection(p.sendRequest(req('DELETE'), next));
    assert.equal(e.code, 'AzureOutcomeUnknown');
    assert.match(e.hint ?? '', /reads the real state/);
    assert.deepEqual(sent, ['DELETE', 'GET']);
  });

  it('never sends a POST twice after a lost answer or a 5xx; retries it when Azure was never reached', async () => {
    const lost = policy(60_000);
    const a = scripted([reset()]);
    assert.equal((await rejection(lost.p.sendRequest(req('POST'), a.next))).code, 'AzureOutcomeUnknown');
    assert.deepEqual(a.sent, ['POST']);

    const failed = policy(60_000);
    const b = scripted([503, 200]);
    assert.equal(
      (await failed.p.sendRequest(req('POST'), b.next)).status,
      503,
      "Azure's answer, for the caller",
    );
    assert.deepEqual(b.sent, ['POST']);

    const unreached = policy(60_000);
    const c = scripted([refused(), 202]);
    assert.equal((await unreached.p.sendRequest(req('POST'), c.next)).status, 202);
    assert.deepEqual(c.sent, ['POST', 'POST']);
  });

  it('a stalled GET fails at the deadline (per-request timeout), with what it saw', async () => {
    const { p } = policy(60_000, { requestTimeoutInMs: 30 });
    const { sent, next } = scripted(['stall', 'stall', 'stall', 'stall', 'stall', 'stall']);
    const e = await rejection(withDeadline(Date.now() + 200, () => p.sendRequest(req('GET'), next)));
    assert.equal(e.code, 'Timeout');
    assert.match(e.lastState ?? '', /no answer from Azure within/);
    assert.ok(sent.length >= 1);
  });
});

/** RawArm with scripted poll answers (no HTTP). */
class ScriptedArm extends RawArm {
  polls: number[] = [];
  constructor(
    private readonly answers: RawResponse[],
    private readonly clock: FakeClock,
  ) {
    super('https://arm.test', undefined, { getToken: async () => null });
  }
  override async call(): Promise<RawResponse> {
    this.polls.push(this.clock.now());
    return this.answers.shift() ?? { status: 200, body: { status: 'Succeeded' }, headers: {} };
  }
}

const accepted = (retryAfter?: string): RawResponse => ({
  status: 202,
  body: { operation: 'DistributedAvailabilityGroupsDropLink', startTime: '2024-10-30T15:05:56.983Z' },
  headers: {
    'azure-asyncoperation': 'https://arm.test/op?api-version=1',
    location: 'https://arm.test/result?api-version=1',
    ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  },
});
const running = (retryAfter?: string): RawResponse => ({
  status: 200,
  body: { name: 'x', status: 'InProgress', startTime: 't' },
  headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
});

function lroOptions(clock: FakeClock, intervalMs: number, deadlineMs: number) {
  return {
    deadlineMs,
    intervalMs,
    now: () => clock.now(),
    sleep: async (ms: number) => clock.advance(ms),
  };
}

function gaps(times: number[], start: number): number[] {
  return times.map((t, i) => t - (i === 0 ? start : times[i - 1]));
}

describe('link LRO poller (RawArm.waitLro)', () => {
  it('never polls faster than the poll interval, even with Retry-After: 0', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const arm = new ScriptedArm([running('0'), running('0'), running('0')], clock);
    await arm.waitLro(accepted('0'), 'removing the link', lroOptions(clock, 5_000, 60_000));
    assert.deepEqual(gaps(arm.polls, start), [5_000, 5_000, 5_000, 5_000]);
  });

  it('never polls sooner than a Retry-After longer than the poll interval (terminal polls carry one too)', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const arm = new ScriptedArm([running('60'), running('15')], clock);
    await arm.waitLro(accepted('15'), 'removing the link', lroOptions(clock, 5_000, 10 * 60_000));
    assert.deepEqual(gaps(arm.polls, start), [15_000, 60_000, 15_000]);
  });

  it('polls at its own interval without Retry-After, and depends on no resource in the 202 body', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const arm = new ScriptedArm([running()], clock);
    await arm.waitLro(accepted(), 'switching the link', lroOptions(clock, 2_000, 60_000));
    assert.deepEqual(gaps(arm.polls, start), [2_000, 2_000]);
  });

  it("an operation that ends Failed or Canceled is a typed error with Azure's code and a next step", async () => {
    for (const status of ['Failed', 'Canceled']) {
      const clock = new FakeClock();
      const ended: RawResponse = {
        status: 200,
        body: { name: 'x', status, error: { code: 'SomeServiceCode', message: 'It went wrong.' } },
        headers: {},
      };
      const arm = new ScriptedArm([running(), ended], clock);
      const e = await rejection(
        arm.waitLro(accepted(), 'removing the link L', lroOptions(clock, 1_000, 60_000)),
      );
      assert.equal(e.code, 'AzureError');
      assert.equal(e.causeCode, 'SomeServiceCode');
      assert.match(e.message, new RegExp(`removing the link L ended ${status}: It went wrong\\.`));
      assert.doesNotMatch(e.message, /refused|HTTP 400/, 'Azure accepted the request; its operation failed');
      assert.ok(e.hint, 'a next step');
    }
  });

  it('fails at the deadline with the last status when the next allowed poll would come after it', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const arm = new ScriptedArm([running('15'), running('15'), running('15')], clock);
    const e = await rejection(arm.waitLro(accepted('15'), 'failing over', lroOptions(clock, 1_000, 40_000)));
    assert.equal(e.code, 'Timeout');
    assert.match(e.lastState ?? '', /operation InProgress; Azure asked to poll again in 15s/);
    assert.ok(clock.now() - start <= 40_000);
  });
});

describe('shared credential (one token request per credential at a time)', () => {
  function counting(delayMs = 5) {
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let expiresIn = 3_600_000;
    let fail = false;
    const inner: TokenCredential = {
      async getToken(scopes) {
        calls.push([scopes].flat().join(' '));
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, delayMs));
        inFlight -= 1;
        if (fail) throw new Error('identity endpoint said 500');
        return {
          token: `t${calls.length}`,
          expiresOnTimestamp: Date.now() + expiresIn,
        } satisfies AccessToken;
      },
    };
    return {
      inner,
      calls,
      maxInFlight: () => maxInFlight,
      setExpiresIn: (ms: number) => (expiresIn = ms),
      setFail: (f: boolean) => (fail = f),
    };
  }

  it('20 concurrent callers make one token request and share the token', async () => {
    const c = counting();
    const shared = new SharedTokenCredential(c.inner);
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => shared.getToken('https://management.azure.com/.default')),
    );
    assert.equal(c.calls.length, 1);
    assert.ok(tokens.every((t) => t?.token === 't1'));
    await shared.getToken('https://management.azure.com/.default');
    assert.equal(c.calls.length, 1, 'cached until shortly before it expires');
  });

  it('asks again for a token near its expiry, and one scope at a time', async () => {
    const c = counting();
    const shared = new SharedTokenCredential(c.inner);
    c.setExpiresIn(60_000); // within the renewal margin
    await shared.getToken('a');
    await shared.getToken('a');
    assert.equal(c.calls.length, 2);
    c.setExpiresIn(3_600_000);
    await Promise.all([shared.getToken('b'), shared.getToken('c'), shared.getToken('b')]);
    assert.deepEqual(c.calls.slice(2).sort(), ['b', 'c']);
    assert.equal(c.maxInFlight(), 1);
  });

  it('does not remember a failure: the next caller asks again', async () => {
    const c = counting();
    const shared = new SharedTokenCredential(c.inner);
    c.setFail(true);
    const results = await Promise.allSettled([shared.getToken('a'), shared.getToken('a')]);
    assert.ok(results.every((r) => r.status === 'rejected'));
    c.setFail(false);
    assert.equal((await shared.getToken('a'))?.token, `t${c.calls.length}`);
  });
});
