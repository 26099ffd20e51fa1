import { type Clock, systemClock } from '../core/clock';
import { MigrationError, messageOf } from '../core/errors';
import { Redactor } from '../core/redact';
import { containsUnknown } from '../core/unknown';
import { Logger } from './logger';
import { type WaitOptions, waitFor } from './waiter';

/** What every provider operation carries: a clock, a redacting logger and the one waiter. */
export class OperationContext {
  readonly log: Logger;
  readonly clock: Clock;

  constructor(prefix: string, secrets: (string | undefined)[], clock: Clock = systemClock) {
    this.log = new Logger(new Redactor(secrets), prefix);
    this.clock = clock;
  }

  say = (line: string): void => this.log.info(line);

  wait = <T>(o: Omit<WaitOptions<T>, 'clock' | 'progress'>): Promise<T> =>
    waitFor({ ...o, clock: this.clock, progress: this.say, maxIntervalMs: o.intervalMs * 4 });

  /**
   * Reports a failure (the host does not log create/update errors) and returns the error to throw: its
   * message is redacted and carries the code and the hint. With `partial`, the engine records the resource
   * with these outputs so the next `up` calls update and resumes.
   */
  failure(e: unknown, partial?: { id: string; properties: Record<string, unknown> }): Error {
    const text = this.log.redactor.redact(messageOf(e));
    this.log.info(`FAILED: ${text}`);
    const err = new Error(text);
    if (e instanceof MigrationError) Object.assign(err, { code: e.code });
    if (partial)
      Object.assign(err, { id: partial.id, properties: plain(partial.properties), reasons: [text] });
    return err;
  }
}

/**
 * Outputs as the engine can take them: no undefined anywhere (the host's Struct conversion throws on it,
 * and inside a partial failure that would leave the engine waiting forever).
 */
export function plain<T extends Record<string, unknown>>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Partial-failure properties need `__provider` too, or a later read/delete cannot load the provider. */
export function withProvider(
  properties: Record<string, unknown>,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  return inputs.__provider === undefined ? properties : { ...properties, __provider: inputs.__provider };
}

/** Names of the inputs that preview does not know yet (the engine sends them as the unknown sentinel). */
export function unknownInputs(news: Record<string, unknown>): string[] {
  return Object.keys(news).filter((k) => k !== '__provider' && containsUnknown(news[k]));
}
