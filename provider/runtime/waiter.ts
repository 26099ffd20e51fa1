import { type Clock, formatDuration, iso } from '../core/clock';
import { MigrationError, TimeoutError } from '../core/errors';
import { DeadlineExceeded, withDeadline } from './deadline';

/**
 * A judge's verdict on one state. While waiting, `dueAt` (ms on the wait's clock) says when the next poll is
 * due: the waiter polls exactly then (never later, bounded by the deadline) instead of on its backoff
 * schedule. A judge that knows when the answer can change (the LSN gate knows when its window ends) uses it.
 */
export type Verdict = { done: true } | { done: false; waiting: string; dueAt?: number } | { failed: Error };

export interface WaitOptions<T> {
  /** What is awaited, as a user reads it: "last backup 'log_05.trn' to be restored". */
  what: string;
  /**
   * Reads the current state (one call = one poll). Errors propagate, except a 'Timeout' once the deadline has
   * passed (a request bounded by `deadline`): that is this wait's timeout, with the last state seen.
   */
  poll: (wait: { deadline: number }) => Promise<T>;
  /** Judges a state: done, still waiting (with the reason shown in progress lines), or failed. */
  judge: (state: T) => Verdict;
  /** Short text of a state for progress lines and for the timeout error ("restored log_03 (62%)"). */
  describe: (state: T) => string;
  clock: Clock;
  /** Absolute deadline in ms since the epoch. */
  deadline: number;
  /** Time from the start of one poll to the start of the next (a poll that takes longer is followed at once). */
  intervalMs: number;
  /**
   * Upper bound of the backoff when the state does not change between polls (default: intervalMs, no backoff).
   * A wait whose end is a cutover moment (downtime) passes intervalMs here: it never backs off.
   */
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
 * last state seen. Polls start on a fixed cadence (interval measured from the start of the previous poll, so
 * the time a poll takes does not stretch the interval), or when the judge says the next one is due.
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
    const pollStarted = clock.now();
    let state: T;
    try {
      // The transport under the poll derives its per-request timeouts and retry budget from this deadline: ARM
      // through the ambient deadline (wall-clock time: the clock may be a fake one), SQL through the argument.
      state = await withDeadline(Date.now() + (deadline - clock.now()), () => options.poll({ deadline }));
    } catch (e) {
      // A request that could not finish before the deadline: the timeout of this wait, with the last state seen.
      if (e instanceof DeadlineExceeded) {
        const seen = lastText ?? `no state read yet (${e.lastAnswer})`;
        throw new TimeoutError(options.what, formatDuration(clock.now() - started), seen, options.hint);
      }
      if (e instanceof MigrationError && e.code === 'Timeout' && clock.now() >= deadline) {
        const seen = lastText ?? `nothing read yet (${e.message})`;
        throw new TimeoutError(options.what, formatDuration(clock.now() - started), seen, options.hint);
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
    // The judge's due time wins over the backoff schedule (and resets it).
    const dueAt = verdict.dueAt;
    interval =
      dueAt === undefined && text === lastText
        ? Math.min(maxInterval, Math.ceil(interval * 1.5))
        : options.intervalMs;
    lastText = text;
    if (now >= deadline) {
      throw new TimeoutError(options.what, formatDuration(now - started), text, options.hint);
    }
    // Never two polls at the same instant (a due time at or before this poll's start would spin).
    const next = Math.min(Math.max(dueAt ?? pollStarted + interval, pollStarted + 1), deadline);
    await clock.sleep(Math.max(0, next - now));
  }
}
