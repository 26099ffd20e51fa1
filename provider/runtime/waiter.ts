import { type Clock, formatDuration, iso } from '../core/clock';
import { TimeoutError } from '../core/errors';
import { DeadlineExceeded, withDeadline } from './deadline';

export type Verdict = { done: true } | { done: false; waiting: string } | { failed: Error };

export interface WaitOptions<T> {
  /** What is awaited, as a user reads it: "last backup 'log_05.trn' to be restored". */
  what: string;
  /** Reads the current state (one call = one poll). Errors propagate unless `retryable` says otherwise. */
  poll: () => Promise<T>;
  /** Judges a state: done, still waiting (with the reason shown in progress lines), or failed. */
  judge: (state: T) => Verdict;
  /** Short text of a state for progress lines and for the timeout error ("restored log_03 (62%)"). */
  describe: (state: T) => string;
  clock: Clock;
  /** Absolute deadline in ms since the epoch. */
  deadline: number;
  intervalMs: number;
  /** Upper bound of the backoff when the state does not change between polls (default: intervalMs). */
  maxIntervalMs?: number;
  /** Progress sink; one concise line per change of the described state, and a heartbeat otherwise. */
  progress?: (line: string) => void;
  /** Heartbeat: repeat an unchanged progress line at most this often (default 60 s). */
  heartbeatMs?: number;
  hint?: string;
}

/** A waiter bound to a clock and a progress sink: what workflows in core receive. */
export type Waiter = <T>(options: Omit<WaitOptions<T>, 'clock' | 'progress'>) => Promise<T>;

/**
 * The one waiter of the project: polls with a deadline and a gentle backoff while nothing changes, prints
 * what is awaited with the current figure and the deadline, and on timeout throws an error that carries the
 * last state seen.
 */
export async function waitFor<T>(options: WaitOptions<T>): Promise<T> {
  const { clock, deadline } = options;
  const started = clock.now();
  const maxInterval = Math.max(options.intervalMs, options.maxIntervalMs ?? options.intervalMs);
  const heartbeat = options.heartbeatMs ?? 60_000;
  let interval = options.intervalMs;
  let lastText: string | undefined;
  let lastPrinted = Number.NEGATIVE_INFINITY;
  for (;;) {
    let state: T;
    try {
      // The transport under the poll derives its per-request timeouts and retry budget from this deadline (in
      // wall-clock time: the clock may be a fake one).
      state = await withDeadline(Date.now() + (deadline - clock.now()), options.poll);
    } catch (e) {
      // A request that could not finish before the deadline: the timeout of this wait, with the last state seen.
      if (e instanceof DeadlineExceeded) {
        throw new TimeoutError(
          options.what,
          formatDuration(clock.now() - started),
          lastText ?? `no state read yet (${e.lastAnswer})`,
          options.hint,
        );
      }
      throw e;
    }
    const verdict = options.judge(state);
    const text = options.describe(state);
    if ('failed' in verdict) throw verdict.failed;
    if (verdict.done) {
      if (lastText !== undefined) options.progress?.(`done: ${options.what}: ${text}`);
      return state;
    }
    const now = clock.now();
    if (text !== lastText || now - lastPrinted >= heartbeat) {
      options.progress?.(
        `waiting for ${options.what}: ${text}; ${verdict.waiting} (deadline ${iso(deadline)}, ${formatDuration(Math.max(0, deadline - now))} left)`,
      );
      lastPrinted = now;
    }
    interval = text === lastText ? Math.min(maxInterval, Math.ceil(interval * 1.5)) : options.intervalMs;
    lastText = text;
    if (now >= deadline) {
      throw new TimeoutError(options.what, formatDuration(now - started), text, options.hint);
    }
    await clock.sleep(Math.min(interval, Math.max(0, deadline - now)));
  }
}
