import assert from 'node:assert/strict';
import { FakeClock } from '../../provider/core/clock';
import type { TimeoutError } from '../../provider/core/errors';
import { watchFor } from '../../provider/core/watch';
import { ambientDeadline } from '../../provider/runtime/deadline';
import { type Waiter, waitFor } from '../../provider/runtime/waiter';
import { runOnFakeTime } from '../support/cutoverTiming';
import { drive } from './fakes';

describe('waiter', () => {
  it('polls until done, printing a line per change with the deadline', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    let n = 0;
    const v = await drive(
      clock,
      waitFor({
        what: 'the counter to reach 3',
        poll: async () => ++n,
        judge: (s) => (s >= 3 ? { done: true } : { done: false, waiting: 'still counting' }),
        describe: (s) => `counter ${s}`,
        clock,
        deadline: clock.now() + 60_000,
        intervalMs: 1000,
        progress: (l) => lines.push(l),
      }),
    );
    assert.equal(v, 3);
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^waiting for the counter to reach 3: counter 1; still counting \(deadline 2026-01-05T09:01:00Z, 1m0s left\)|left\)$/,
    );
    assert.match(lines[2], /^done: /);
  });

  it('backs off while nothing changes and stops at the deadline with the last state', async () => {
    const clock = new FakeClock();
    let polls = 0;
    const p = waitFor({
      what: 'godot',
      poll: async () => {
        polls++;
        return 'absent';
      },
      judge: () => ({ done: false, waiting: 'not here' }),
      describe: (s) => s,
      clock,
      deadline: clock.now() + 100_000,
      intervalMs: 1000,
      maxIntervalMs: 8000,
    });
    await assert.rejects(drive(clock, p, 500), (e: TimeoutError) => {
      assert.equal(e.code, 'Timeout');
      assert.equal(e.lastState, 'absent');
      return true;
    });
    assert.ok(polls < 40, `backoff expected, got ${polls} polls in 100 s`);
    assert.ok(polls > 10);
  });

  it('polls when the judge says the next poll is due, not on its backoff schedule', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const at: number[] = [];
    await runOnFakeTime(
      clock,
      waitFor({
        what: 'a window to end',
        poll: async () => at.push(clock.now() - t0),
        judge: (n) =>
          n >= 6 ? { done: true } : { done: false, waiting: 'not yet', dueAt: clock.now() + 333 },
        describe: () => 'unchanged',
        clock,
        deadline: t0 + 60_000,
        intervalMs: 1000,
        maxIntervalMs: 8000,
      }),
    );
    assert.deepEqual(at, [0, 333, 666, 999, 1332, 1665]);
  });

  it('measures the interval from the start of one poll to the start of the next', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const at: number[] = [];
    await runOnFakeTime(
      clock,
      waitFor({
        what: 'a slow reading',
        poll: async () => {
          at.push(clock.now() - t0);
          await clock.sleep(400); // the reading itself takes 400 ms
          return at.length;
        },
        judge: (n) => (n >= 4 ? { done: true } : { done: false, waiting: 'reading' }),
        describe: (n) => `reading ${n}`,
        clock,
        deadline: t0 + 60_000,
        intervalMs: 1000,
      }),
    );
    assert.deepEqual(at, [0, 1000, 2000, 3000]);
  });

  it('a due time past the deadline ends the wait at the deadline with the last state', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    await assert.rejects(
      runOnFakeTime(
        clock,
        waitFor({
          what: 'later',
          poll: async () => 'waiting',
          judge: () => ({ done: false, waiting: 'no', dueAt: clock.now() + 3_600_000 }),
          describe: (s) => s,
          clock,
          deadline: t0 + 5_000,
          intervalMs: 1000,
        }),
      ),
      (e: TimeoutError) => e.code === 'Timeout' && e.lastState === 'waiting' && clock.now() === t0 + 5_000,
    );
  });

  it('stops at once on a failed verdict', async () => {
    const clock = new FakeClock();
    await assert.rejects(
      waitFor({
        what: 'x',
        poll: async () => 1,
        judge: () => ({ failed: new Error('broken chain') }),
        describe: () => '',
        clock,
        deadline: clock.now() + 1000,
        intervalMs: 10,
      }),
      /broken chain/,
    );
  });
});

describe('watch for a call in flight (core/watch.ts)', () => {
  it('makes its read at the window end with request time left, and tells went from still there', async () => {
    for (const cadence of ['end', 'interval'] as const) {
      for (const goesAt of [10_000, undefined]) {
        const clock = new FakeClock();
        const wait: Waiter = (o) => waitFor({ ...o, clock });
        const started = clock.now();
        const budgets: number[] = [];
        const went = await drive(
          clock,
          watchFor(wait, {
            what: 'the thing to go',
            poll: async () => {
              // What a request inside this poll may spend (runtime/deadline.ts); at or below 0 it is not sent.
              budgets.push(ambientDeadline()! - Date.now());
              return goesAt !== undefined && clock.now() - started >= goesAt ? 'gone' : 'there';
            },
            ended: (s) => s === 'gone',
            describe: (s) => s,
            waiting: 'it looks as before',
            until: started + 30_000,
            intervalMs: 2_000,
            clock,
            first: { state: 'there' },
            cadence,
          }),
        );
        const label = `${cadence}, ${goesAt === undefined ? 'stays' : 'goes'}`;
        assert.equal(went, goesAt !== undefined, label);
        assert.ok(
          budgets.length > 0 && budgets.every((b) => b > 0),
          `${label}: budgets ${budgets.join(', ')}`,
        );
        // 'end' reads once more, at the window's end; the first state is the caller's read.
        if (cadence === 'end') assert.equal(budgets.length, 1, label);
        if (goesAt === undefined) assert.ok(clock.now() - started >= 30_000, label);
      }
    }
  });
});
