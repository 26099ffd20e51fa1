import { type Clock, systemClock } from '../core/clock';
import { MigrationError, messageOf } from '../core/errors';
import type { Failure } from '../core/inputs';
import { formatPlan, type Step } from '../core/plan';
import { Redactor } from '../core/redact';
import { containsUnknown } from '../core/unknown';
import { Logger } from './logger';
import { type Waiter, waitFor } from './waiter';

/** What every provider operation carries: a clock, a redacting logger and the one waiter. */
export class OperationContext {
  readonly log: Logger;
  readonly clock: Clock;

  constructor(prefix: string, secrets: (string | undefined)[], clock: Clock = systemClock) {
    this.log = new Logger(new Redactor(secrets), prefix);
    this.clock = clock;
  }

  say = (line: string): void => this.log.info(line);

  wait: Waiter = (o) =>
    waitFor({
      ...o,
      clock: this.clock,
      progress: this.say,
      maxIntervalMs: o.maxIntervalMs ?? o.intervalMs * 4,
    });

  /**
   * Reports a failure (the host does not log create/update errors) and returns the error to throw: its
   * message is redacted and carries the code and the hint. With `partial`, the engine records the resource
   * with these outputs so the next `up` calls update and resumes.
   */
  failure(
    e: unknown,
    partial?: { id: string; properties: Record<string, unknown> },
    inputs: Record<string, unknown> = {},
  ): Error {
    const text = this.log.redactor.redact(messageOf(e));
    this.log.info(`FAILED: ${text}`);
    const err = new Error(text);
    if (e instanceof MigrationError) Object.assign(err, { code: e.code });
    if (partial) {
      const properties = plain(withProvider(partial.properties, inputs));
      Object.assign(err, { id: partial.id, properties, reasons: [text] });
    }
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
function withProvider(
  properties: Record<string, unknown>,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  return inputs.__provider === undefined ? properties : { ...properties, __provider: inputs.__provider };
}

/** Names of the inputs that preview does not know yet (the engine sends them as the unknown sentinel). */
export function unknownInputs(news: Record<string, unknown>): string[] {
  return Object.keys(news).filter((k) => k !== '__provider' && containsUnknown(news[k]));
}

/** Prints which inputs preview does not know yet, if any. */
export function sayUnknowns(label: string, news: Record<string, unknown>): void {
  const unknown = unknownInputs(news);
  if (unknown.length) console.log(`${label} not known until apply: ${unknown.join(', ')}`);
}

/** The inputs of an operation: check already refused bad ones, so a failure here names them all at once. */
export function validInputs<T>(c: { inputs: unknown; failures: Failure[] }): T {
  if (c.failures.length) throw new MigrationError('InvalidInput', c.failures.map((f) => f.reason).join('\n'));
  return c.inputs as T;
}

/**
 * What check answers and prints: the warnings, and for a new resource the create plan (the engine calls no
 * diff for a new resource, so check is where preview shows what create will do).
 */
export function checkResult(
  kind: string,
  name: string | undefined,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  c: { normalized: Record<string, unknown>; failures: Failure[]; warnings: string[] },
  createPlan: () => Step[],
  planTitle = 'create plan',
): { inputs: Record<string, unknown>; failures: Failure[] } {
  for (const w of c.warnings) console.log(`[${kind}] WARNING: ${w}`);
  if (Object.keys(olds).length === 0 && c.failures.length === 0) {
    const label = `[${kind} ${name ?? '(not known yet)'}]`;
    console.log(formatPlan(`${label} ${planTitle}`, createPlan()));
    sayUnknowns(label, news);
  }
  return { inputs: plain(c.normalized), failures: c.failures };
}
