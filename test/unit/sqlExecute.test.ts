/**
 * provider/sql/execute.ts without a server: which failures are transient, reads retried within the deadline,
 * changes verified before they are ever sent again, and the waiter turning a deadline-bounded poll's timeout
 * into its own timeout with the last state seen.
 */
import * as assert from 'node:assert/strict';
import { systemClock } from '../../provider/core/clock';
import { MigrationError } from '../../provider/core/errors';
import { type Attempt, classify, executeChange, executeRead } from '../../provider/sql/execute';
import { waitFor } from '../../provider/runtime/waiter';

const sqlError = (number: number, cls = 16) =>
  Object.assign(new Error(`error ${number}`), { number, class: cls, code: 'EREQUEST' });
const socketError = (code: string) => Object.assign(new Error(`read ${code}`), { code, number: code });

/** Attempts that answer from a script: an Error is thrown, 'hang' never settles, anything else is returned. */
function scripted<T>(script: Array<T | Error | 'hang'>) {
  const timeouts: number[] = [];
  let cancels = 0;
  const attempt: Attempt<T> = (timeoutMs) => {
    timeouts.push(timeoutMs);
    const step = script.shift();
    const result =
      step === 'hang'
        ? new Promise<T>(() => undefined)
        : step instanceof Error
          ? Promise.reject(step)
          : Promise.resolve(step as T);
    return { result, cancel: () => void cancels++ };
  };
  return { attempt, timeouts, cancels: () => cancels };
}

const options = (deadlineInMs: number) => ({
  clock: systemClock,
  deadline: Date.now() + deadlineInMs,
  doing: 'reading the LSNs of Orders on SQL Server',
  toError: (e: unknown) =>
    new MigrationError('SqlError', `SQL error ${(e as { number?: unknown }).number}`, {
      causeCode: (e as { number?: number }).number,
    }),
  backoffMs: { first: 1, max: 5 },
});

describe('SQL execution: transient vs permanent', () => {
  it('classifies by SQL error number, severity and socket code', () => {
    for (const n of [1205, 1222, 1204, 40613, 40501, 40197, 10054, 10053, 4060, 596])
      assert.equal(classify(sqlError(n)), 'transient', String(n));
    assert.equal(classify(sqlError(0, 20)), 'transient', 'severity 20: the session ended');
    assert.equal(
      classify(Object.assign(sqlError(0, 20), { precedingErrors: [sqlError(596, 21)] })),
      'transient',
    );
    for (const c of ['ECONNRESET', 'ESOCKET', 'ECONNCLOSED', 'ETIMEOUT'])
      assert.equal(classify(socketError(c)), 'transient', c);
    for (const n of [15151, 2812, 102, 208, 18456, 41104])
      assert.equal(classify(sqlError(n)), 'permanent', String(n));
    assert.equal(classify(Object.assign(new Error('Login failed'), { code: 'ELOGIN' })), 'permanent');
  });
});

describe('SQL execution: reads', () => {
  it('retries transient errors within the deadline and returns the answer', async () => {
    const s = scripted<string>([sqlError(1205, 13), socketError('ECONNRESET'), sqlError(0, 20), 'rows']);
    assert.equal(await executeRead(s.attempt, options(5_000)), 'rows');
    assert.equal(s.timeouts.length, 4);
    assert.ok(
      s.timeouts.every((t) => t > 0 && t <= 5_000),
      'each attempt bounded by the deadline',
    );
  });

  it('caps one attempt (readAttemptMs) so a stuck session is replaced while the deadline allows', async () => {
    const s = scripted<string>(['hang', 'rows']);
    assert.equal(await executeRead(s.attempt, { ...options(5_000), readAttemptMs: 50 }), 'rows');
    assert.deepEqual(s.timeouts[0], 50);
    assert.equal(s.cancels(), 1, 'the stuck attempt was cancelled');
  });

  it('fails at once on a permanent error, keeping its number', async () => {
    const s = scripted<string>([sqlError(208), 'rows']);
    await assert.rejects(executeRead(s.attempt, options(5_000)), (e: MigrationError) => {
      assert.equal(e.code, 'SqlError');
      assert.equal(e.causeCode, 208);
      return true;
    });
    assert.equal(s.timeouts.length, 1);
  });

  it('a request that never answers ends at the deadline with code Timeout and is cancelled', async () => {
    const s = scripted<string>(['hang', 'hang', 'hang']);
    await assert.rejects(executeRead(s.attempt, options(150)), (e: MigrationError) => {
      assert.equal(e.code, 'Timeout');
      assert.match(e.message, /reading the LSNs of Orders on SQL Server/);
      assert.match(e.lastState ?? '', /ETIMEOUT/);
      return true;
    });
    assert.ok(s.cancels() >= 1);
  });

  it('transient errors until the deadline end as Timeout with the last error code', async () => {
    const s = scripted<string>(Array.from({ length: 10_000 }, () => sqlError(1205, 13)));
    await assert.rejects(executeRead(s.attempt, options(100)), (e: MigrationError) => {
      assert.equal(e.code, 'Timeout');
      assert.equal(e.causeCode, 1205);
      return true;
    });
  });
});

describe('SQL execution: changes', () => {
  it('after a lost answer, a change found in place is not sent again', async () => {
    const s = scripted<unknown>([sqlError(0, 20)]);
    let verified = 0;
    await executeChange(s.attempt, async () => (verified++, true), options(5_000));
    assert.equal(s.timeouts.length, 1, 'sent once');
    assert.equal(verified, 1);
  });

  it('a change found not in place is sent again, and each send is verified first', async () => {
    const s = scripted<unknown>([socketError('ECONNRESET'), sqlError(1205, 13), undefined]);
    const checks: boolean[] = [];
    await executeChange(s.attempt, async () => (checks.push(false), false), options(5_000));
    assert.equal(s.timeouts.length, 3);
    assert.deepEqual(checks, [false, false], 'verified after each failed send, before the next');
  });

  it('leaves part of the deadline for the verify read', async () => {
    const s = scripted<unknown>([undefined]);
    await executeChange(s.attempt, async () => true, options(4_000));
    assert.ok(s.timeouts[0] <= 3_000, `attempt timeout ${s.timeouts[0]}`);
  });

  it('a permanent error is not verified and not repeated', async () => {
    const s = scripted<unknown>([sqlError(15151)]);
    let verified = 0;
    await assert.rejects(
      executeChange(s.attempt, async () => (verified++, true), options(5_000)),
      (e: MigrationError) => e.causeCode === 15151,
    );
    assert.equal(verified, 0);
    assert.equal(s.timeouts.length, 1);
  });

  it('when whether it took effect cannot be read, it says so and does not resend', async () => {
    const s = scripted<unknown>([sqlError(0, 20), undefined]);
    await assert.rejects(
      executeChange(
        s.attempt,
        async () => {
          throw new MigrationError('Timeout', 'no answer');
        },
        options(5_000),
      ),
      (e: MigrationError) => {
        assert.equal(e.code, 'SqlOutcomeUnknown');
        assert.match(e.hint ?? '', /run up again/);
        return true;
      },
    );
    assert.equal(s.timeouts.length, 1);
  });
});

describe('waiter with deadline-bounded polls', () => {
  it("a poll's Timeout at the deadline becomes the wait's timeout with the last state seen", async () => {
    let n = 0;
    const deadline = Date.now() + 100;
    await assert.rejects(
      waitFor({
        what: 'the LSN gate',
        clock: systemClock,
        deadline,
        intervalMs: 10,
        poll: async (w) => {
          assert.equal(w.deadline, deadline, 'the poll is told the deadline');
          if (n++ === 0) return 'hardened 42';
          await new Promise((r) => setTimeout(r, Math.max(0, w.deadline - Date.now()) + 5));
          throw new MigrationError('Timeout', 'Timed out reading the LSNs');
        },
        judge: () => ({ done: false, waiting: 'not stable' }),
        describe: (s) => s,
      }),
      (e: MigrationError) => {
        assert.equal(e.code, 'Timeout');
        assert.match(e.message, /waiting for the LSN gate/);
        assert.equal(e.lastState, 'hardened 42');
        return true;
      },
    );
  });
});
