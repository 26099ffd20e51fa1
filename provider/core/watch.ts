/**
 * Watching for a call an earlier run (or a lost answer) may have made, before making it again. Nothing in Azure
 * shows such a call in flight, and until its operation ends the resource looks as before: a link removal takes
 * 11–23 s, a failover ~15 s (recordings README; link-mgmt seq 8–10, link-errors), a database drop answers 404
 * within 8–15 s (lrs-ps-stop x8 → x1, lrs-cancel u6 → u10). So the resource is watched this long for the change
 * to come by itself, and at most a quarter of the operation's deadline (the rest is for the calls, their
 * operations and the verification, which share it).
 */
import type { Clock } from './clock';
import { MigrationError } from './errors';
import type { Waiter } from '../runtime/waiter';

export const IN_FLIGHT_WATCH_MS = 30_000;

/** The watch window for an operation with this deadline. */
export const watchWindowMs = (deadlineInMs: number): number => Math.min(IN_FLIGHT_WATCH_MS, deadlineInMs / 4);

export interface Watch<T> {
  /** What is watched for, as a user reads it: "a drop of db1 sent by an interrupted destroy". */
  what: string;
  poll: () => Promise<T>;
  /** True once the change came. */
  ended: (state: T) => boolean;
  describe: (state: T) => string;
  /** Progress text while it has not come: "the database looks as before". */
  waiting: string;
  /**
   * Absolute end of the watch (ms on the waiter's clock): now + watchWindowMs(deadline), or earlier. The last read
   * is made then, within one poll interval after it.
   */
  until: number;
  intervalMs: number;
  /** The waiter's clock (`until` is on it). */
  clock: Clock;
  /** The state the caller has just read: it stands for the watch's first poll (no second request for it). */
  first?: { state: T };
  /**
   * 'interval' (default): read on the waiter's cadence (every interval, backing off as that waiter does while
   * nothing changes: the provider's waiter up to 4×), for a caller that goes on as soon as the change comes (a
   * resumed cutover: downtime). 'end': read once more when the window ends, for a caller that only must not repeat
   * a call (a destroy): one request instead of several, the same wait when nothing was in flight.
   */
  cadence?: 'interval' | 'end';
}

/**
 * Watches through the project's waiter (progress lines, per-request deadlines) until the change comes (true) or
 * the window is over (false: the state is as before, the caller acts). Other errors propagate.
 */
export async function watchFor<T>(wait: Waiter, w: Watch<T>): Promise<boolean> {
  let first = w.first;
  const atEnd = w.cadence === 'end';
  let read = false;
  const over = new Error('the watch is over');
  try {
    await wait({
      what: w.what,
      poll: async () => {
        if (!first) {
          read = true;
          return w.poll();
        }
        const { state } = first;
        first = undefined;
        return state;
      },
      judge: (s) => {
        if (w.ended(s)) return { done: true };
        // A read made at or after the window's end is the last one.
        if (read && w.clock.now() >= w.until) return { failed: over };
        return { done: false, waiting: w.waiting, dueAt: atEnd ? w.until : undefined };
      },
      describe: w.describe,
      // The read at the window's end needs time of its own: a request at its wait's deadline has no budget left
      // (runtime/deadline.ts) and would not be sent. One poll interval past the window is that read's.
      deadline: w.until + w.intervalMs,
      intervalMs: w.intervalMs,
    });
    return true;
  } catch (err) {
    if (err === over || (err instanceof MigrationError && err.code === 'Timeout')) return false;
    throw err;
  }
}
