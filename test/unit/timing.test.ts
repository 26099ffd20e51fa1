/**
 * Downtime the tool adds at a cutover (issue 9), on a fake clock through the real workflows and the
 * production waiter: the failover call comes at most one poll interval after the LSNs became equal and
 * stable plus the window, whatever the window and the interval; completeRestore comes at most one poll
 * interval after the last backup was restored. Fake time only: these are exact, not timed.
 */
import assert from 'node:assert/strict';
import { gateTimingRun, lrsTimingRun } from '../support/cutoverTiming';

/** (window, poll interval) pairs: the defaults, windows that are no multiple of P, a window below P. */
const PAIRS: [number, number][] = [
  [60_000, 5_000],
  [10_000, 1_000],
  [7_000, 3_000],
  [2_500, 1_000],
  [1_000, 5_000],
  [15_000, 4_000],
];

describe('cutover timing (fake clock, real workflows)', () => {
  for (const [windowMs, pollMs] of PAIRS) {
    it(`link: failover at most one poll interval after stable + window (window ${windowMs} ms, P ${pollMs} ms)`, async () => {
      // The workload stops at several phases of the polling cycle, with and without replication lag.
      const worst: { overheadMs: number; stopAfterMs: number; lagMs: number }[] = [];
      for (let k = 0; k < 7; k++) {
        for (const lagMs of [0, Math.round(pollMs * 0.37)]) {
          const stopAfterMs = 3 * pollMs + Math.round((k * pollMs) / 7) + 1;
          const r = await gateTimingRun({ windowMs, pollMs, stopAfterMs, lagMs });
          assert.ok(r.failoverAtMs !== undefined, 'the failover was issued');
          assert.ok(
            r.overheadMs >= 0,
            `never before the window has passed (stop ${stopAfterMs}, lag ${lagMs}: ${r.overheadMs} ms)`,
          );
          worst.push({ overheadMs: r.overheadMs, stopAfterMs, lagMs });
        }
      }
      const w = worst.reduce((a, b) => (b.overheadMs > a.overheadMs ? b : a));
      assert.ok(
        w.overheadMs <= pollMs,
        `overhead ${w.overheadMs} ms > P ${pollMs} ms (workload stopped at +${w.stopAfterMs} ms, lag ${w.lagMs} ms)`,
      );
    });
  }

  it('link: a gate over 8 databases keeps the bound', async () => {
    const r = await gateTimingRun({ windowMs: 7_000, pollMs: 3_000, stopAfterMs: 10_001, databases: 8 });
    assert.ok(r.overheadMs >= 0 && r.overheadMs <= 3_000, `overhead ${r.overheadMs} ms`);
  });

  for (const pollMs of [1_000, 5_000, 30_000]) {
    it(`LRS: completeRestore at most one poll interval after the last backup is restored (P ${pollMs} ms)`, async () => {
      let worst = 0;
      for (let k = 0; k < 5; k++) {
        // The DBA uploads the tail-log backup long after the wait began (the waiter had time to back off).
        const uploadAfterMs = 20 * pollMs + Math.round((k * pollMs) / 5) + 1;
        const r = await lrsTimingRun({ pollMs, uploadAfterMs, restoreMs: 6 * pollMs + 7 });
        assert.ok(r.completeAtMs !== undefined, 'completeRestore was issued');
        assert.ok(r.overheadMs >= 0, 'never before the last backup is restored');
        worst = Math.max(worst, r.overheadMs);
      }
      assert.ok(worst <= pollMs, `overhead ${worst} ms > P ${pollMs} ms`);
    });
  }
});
