import { type Clock, systemClock } from '../core/clock';
import { MigrationError, messageOf } from '../core/errors';
import { type Failure, type Warning, withUnexpected } from '../core/inputs';
import { formatPlan, type Step } from '../core/plan';
import { Redactor } from '../core/redact';
import { safeLine, safeText } from '../core/shown';
import { containsUnknown, isUnknown } from '../core/unknown';
import { Logger } from './logger';
import { type Waiter, waitFor } from './waiter';

/**
 * The name a resource's lines carry. The dynamic provider host gives check, create, read, update and delete
 * no URN, and resources run in parallel in one host: so the sdk classes pass the Pulumi resource name as the
 * input `pulumiName` (stored with the outputs too, for read and delete). State written before that, or
 * resources declared without the sdk, fall back to the database or link name.
 */
export function resourceName(props: Record<string, unknown>, fallback?: unknown): string {
  const v = typeof props.pulumiName === 'string' && props.pulumiName !== '' ? props.pulumiName : fallback;
  return typeof v === 'string' && v !== '' && !isUnknown(v) ? v : '(name not known yet)';
}

/** `[Kind name] `: the prefix of every line a resource prints (the name shown escaped). */
export function resourceLabel(kind: string, props: Record<string, unknown>, fallback?: unknown): string {
  return `[${kind} ${safeLine(resourceName(props, fallback))}] `;
}

/** `pulumiName` for the outputs, so read and delete (which get only the outputs) can name the resource. */
export function named(props: Record<string, unknown>): { pulumiName?: string } {
  return typeof props.pulumiName === 'string' ? { pulumiName: props.pulumiName } : {};
}

/** The logger of one resource outside an operation (check, diff): every line carries the label. */
export function resourceLogger(label: string, secrets: (string | undefined)[] = []): Logger {
  return new Logger(new Redactor(secrets), label);
}

/** What every provider operation carries: a clock, a redacting logger and the one waiter. */
export class OperationContext {
  readonly log: Logger;
  readonly clock: Clock;

  /** `label` is the line prefix of the resource, as resourceLabel() makes it. */
  constructor(label: string, secrets: (string | undefined)[], clock: Clock = systemClock) {
    this.log = new Logger(new Redactor(secrets), label);
    this.clock = clock;
  }

  say = (line: string): void => this.log.info(line);

  /** Backs off up to 4× the interval while nothing changes, unless the wait sets its own bound. */
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
    const text = safeText(this.log.redactor.redact(messageOf(e)));
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

/**
 * Prints which inputs preview does not know yet, if any. `to` is the resource's logger, or (kept for
 * callers that pass one) a `[Kind name]` label.
 */
export function sayUnknowns(to: Logger | string, news: Record<string, unknown>): void {
  const unknown = unknownInputs(news);
  if (!unknown.length) return;
  if (typeof to === 'string') resourceLogger(`${to} `).info(`not known until apply: ${unknown.join(', ')}`);
  else to.info(`not known until apply: ${unknown.join(', ')}`);
}

/** The inputs of an operation: check already refused bad ones, so a failure here names them all at once. */
export function validInputs<T>(c: { inputs: unknown; failures: Failure[] }): T {
  if (c.failures.length)
    throw new MigrationError('InvalidInput', c.failures.map((f) => safeLine(f.reason)).join('\n'));
  return c.inputs as T;
}

/**
 * What check answers and prints: the warnings (each naming the resource and the field), and for a new
 * resource the create plan (the engine calls no diff for a new resource, so check is where preview shows
 * what create will do). Failures are returned one line each, with user values escaped; fields that are no
 * input of the resource (typos) are failures here.
 */
export function checkResult(
  kind: string,
  name: unknown,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  c: {
    normalized: Record<string, unknown>;
    failures: Failure[];
    unexpected?: Failure[];
    warnings: Warning[];
  },
  createPlan: () => Step[],
  planTitle = 'create plan',
): { inputs: Record<string, unknown>; failures: Failure[] } {
  const log = resourceLogger(resourceLabel(kind, news, name));
  for (const w of c.warnings) log.warn(`${w.property}: ${w.message}`);
  const failures = withUnexpected(c.failures, c.unexpected);
  if (Object.keys(olds).length === 0 && failures.length === 0) {
    log.info(formatPlan(planTitle, createPlan()));
    sayUnknowns(log, news);
  }
  return { inputs: plain(c.normalized), failures };
}
