import { AsyncLocalStorage } from 'node:async_hooks';
import { MigrationError } from '../core/errors';

/**
 * The deadline of the wait a request belongs to, carried through async calls (AsyncLocalStorage), so that the
 * transport under an adapter (provider/azure/pipeline.ts; SQL execution may use it too) derives per-request timeouts
 * and retry budgets from it without every port signature carrying it. The Waiter runs each poll inside
 * `withDeadline`; nested scopes keep the earliest deadline.
 */

const scope = new AsyncLocalStorage<number>();

/** Runs `fn` with `deadline` (ms since the epoch) as the ambient deadline (the earlier one if already inside one). */
export function withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  const outer = scope.getStore();
  return scope.run(outer === undefined ? deadline : Math.min(outer, deadline), fn);
}

/** The ambient deadline, if the caller runs inside one. */
export function ambientDeadline(): number | undefined {
  return scope.getStore();
}

/**
 * Thrown by a transport when a request could not finish (or be retried) before the deadline of its wait: the
 * Waiter turns it into its TimeoutError with the last state it saw.
 */
export class DeadlineExceeded extends MigrationError {
  constructor(
    message: string,
    /** What the transport saw last ("HTTP 429 SubscriptionRequestsThrottled", "no answer within 2.9s"). */
    readonly lastAnswer: string,
    cause?: unknown,
  ) {
    super('Timeout', message, {
      cause,
      lastState: lastAnswer,
      hint: 'raise the deadline input and run up again (it resumes from what is really there)',
    });
    this.name = 'DeadlineExceeded';
  }
}
