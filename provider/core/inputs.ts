/** Helpers to read raw provider inputs (plain objects from the engine) into typed values with failures. */
import {
  type ManagedInstanceRef,
  managedInstanceId,
  parseManagedInstanceId,
  validateManagedInstanceRef,
} from './armId';
import { formatDuration } from './clock';
import { hasUnsafeCharacters, kindOf, safeLine, shown } from './shown';
import { isUnknown, UNKNOWN } from './unknown';

export interface Failure {
  property: string;
  /** One problem: starts with the property, says what is wrong and what to do. */
  reason: string;
  /**
   * For a mistyped field: the field it most likely meant, when that one is missing. Its own failure
   * ("… is required") is the same mistake and is left out (see withUnexpected).
   */
  meant?: string;
}

/** A check warning: the field it is about and what to know; printed as `WARNING <property>: <message>`. */
export interface Warning {
  property: string;
  message: string;
}

/** Inputs that the engine or the sdk adds to every resource: never "not an input". */
export const ENGINE_INPUTS = ['__provider', 'pulumiName'];

interface ReaderOptions {
  /** Property path of a nested object (`sqlServer.`), for the field names in failures. */
  prefix?: string;
  /** Fields whose values are never shown in a message (only their kind). */
  secrets?: readonly string[];
}

/**
 * Reads raw inputs (plain objects from the engine) into typed values and collects every failure: one per
 * problem, each naming the field and the fix. A field that failed (or is unknown in preview) is not used by
 * later cross-checks, so one mistake never causes a second, wrong failure. Every field a reader is asked
 * about is remembered: what was never asked about is reported by `unexpected()` (typos such as
 * `lsnStabilityWindowInMS` would otherwise silently fall back to a default).
 */
export class InputReader {
  readonly failures: Failure[];
  readonly warnings: Warning[];
  private readonly asked = new Set<string>();
  private readonly failed = new Set<string>();
  private readonly children: InputReader[] = [];
  private readonly prefix: string;
  private readonly secrets: Set<string>;

  constructor(
    private readonly raw: Record<string, unknown>,
    options: ReaderOptions = {},
    shared?: { failures: Failure[]; warnings: Warning[] },
  ) {
    this.prefix = options.prefix ?? '';
    this.secrets = new Set(options.secrets ?? []);
    this.failures = shared?.failures ?? [];
    this.warnings = shared?.warnings ?? [];
  }

  /** The raw value (the field counts as an input of the resource). */
  value(name: string): unknown {
    this.asked.add(name);
    return this.raw[name];
  }

  /** Fields read only on some paths: declare them so `unexpected()` never reports them. */
  declare(...names: string[]): void {
    for (const n of names) this.asked.add(n);
  }

  has(name: string): boolean {
    const v = this.value(name);
    return v !== undefined && v !== null && v !== '' && !isUnknown(v);
  }

  /** Absent: not given, null, or the empty string (and not unknown). */
  missing(name: string): boolean {
    const v = this.value(name);
    return v === undefined || v === null || v === '';
  }

  unknown(name: string): boolean {
    return isUnknown(this.value(name));
  }

  /** True when this field already has a failure. */
  hasFailed(name: string): boolean {
    return this.failed.has(name);
  }

  /** Known and valid (or defaulted): safe to use in a rule that combines fields. */
  usable(...names: string[]): boolean {
    return names.every((n) => !this.failed.has(n) && !this.unknown(n));
  }

  /** The full property path of a field, as failures name it (`sqlServer.port`). */
  path(name: string): string {
    return `${this.prefix}${name}`;
  }

  fail(name: string, reason: string): void {
    const property = this.path(name);
    this.failed.add(name);
    const text = safeLine(`${property} ${reason}`);
    if (!this.failures.some((f) => f.property === property && f.reason === text))
      this.failures.push({ property, reason: text });
  }

  warn(name: string, message: string): void {
    this.warnings.push({ property: this.path(name), message: safeLine(message) });
  }

  private got(name: string, v: unknown): string {
    return kindOf(v, { secret: this.secrets.has(name) });
  }

  /** A string, or undefined when absent, unknown or wrong (then with a failure). */
  string(name: string, options: { required?: string } = {}): string | undefined {
    const v = this.value(name);
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null || v === '') {
      if (options.required) this.fail(name, `is required: ${options.required}`);
      return undefined;
    }
    if (typeof v !== 'string') {
      const fix =
        Array.isArray(v) || (typeof v === 'object' && v !== null)
          ? 'give one text value'
          : 'write it as text, in quotes';
      this.fail(name, `must be a string, got ${this.got(name, v)}: ${fix}`);
      return undefined;
    }
    return v;
  }

  boolean(name: string, fallback: boolean): boolean | undefined {
    const v = this.value(name);
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      const quoted = typeof v === 'string' && /^(true|false)$/i.test(v.trim());
      this.fail(
        name,
        `must be true or false, got ${this.got(name, v)}${quoted ? ': write it without quotes' : `: leave it out for the default (${fallback})`}`,
      );
      return undefined;
    }
    return v;
  }

  /**
   * A duration in ms within bounds. Unknown or wrong gives the fallback (only used for planning: a wrong
   * value has a failure, and `usable()` keeps it out of rules that combine fields).
   */
  duration(name: string, fallback: number, min: number, max: number): number {
    const v = this.value(name);
    if (isUnknown(v) || v === undefined || v === null) return fallback;
    const range = `${min} to ${max} (${formatDuration(min)} to ${formatDuration(max)})`;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const example = Math.min(max, Math.max(min, fallback));
      this.fail(
        name,
        `must be a number of milliseconds from ${range}, got ${this.got(name, v)}: write a number, e.g. ${example} for ${formatDuration(example)}`,
      );
      return fallback;
    }
    if (v < min || v > max) {
      this.fail(
        name,
        `is ${v} ms, outside ${range}: choose a value in that range, or leave it out for the default ${fallback} (${formatDuration(fallback)})`,
      );
      return fallback;
    }
    return Math.round(v);
  }

  /** A whole number within bounds (ports, counts); undefined when absent, unknown or wrong. */
  integer(name: string, min: number, max: number, hint: string): number | undefined {
    const v = this.value(name);
    if (isUnknown(v) || v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      const digits = typeof v === 'string' && /^\s*\d+\s*$/.test(v);
      this.fail(
        name,
        `must be a whole number from ${min} to ${max}, got ${this.got(name, v)}: ${digits ? 'write it without quotes' : hint}`,
      );
      return undefined;
    }
    if (v < min || v > max) {
      this.fail(name, `is ${v}, outside ${min} to ${max}: ${hint}`);
      return undefined;
    }
    return v;
  }

  /** Optional Azure Resource Manager origin (sovereign clouds, rehearsals). */
  armEndpoint(): string | undefined {
    const v = this.string('armEndpoint');
    if (v && !isHttpsOrigin(v)) {
      this.fail(
        'armEndpoint',
        `must be an https origin such as https://management.azure.com (no path, no query), got ${shown(v)}`,
      );
    }
    return v;
  }

  /** A list of strings (unknown entries allowed in preview); undefined when absent, unknown or wrong. */
  stringArray(name: string, options: { required?: string; what?: string } = {}): string[] | undefined {
    const v = this.value(name);
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) {
      if (options.required) this.fail(name, `is required: ${options.required}`);
      return undefined;
    }
    const what = options.what ?? 'strings';
    if (!Array.isArray(v)) {
      const example = typeof v === 'string' ? `, e.g. [${shown(v)}]` : '';
      this.fail(name, `must be a list of ${what}, got ${this.got(name, v)}: write it as a list${example}`);
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== 'string' && !isUnknown(x));
    if (bad >= 0) {
      this.fail(
        name,
        `must be a list of ${what}, but entry ${bad + 1} is ${this.got(name, v[bad])}: write every entry as text, in quotes`,
      );
      return undefined;
    }
    return v as string[];
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T | undefined {
    const v = this.value(name);
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) return fallback;
    const match = allowed.find((a) => typeof v === 'string' && a.toLowerCase() === v.toLowerCase());
    if (!match) {
      this.fail(
        name,
        `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${this.got(name, v)}: pick one, or leave it out for '${fallback}'`,
      );
      return undefined;
    }
    return match;
  }

  /**
   * A nested object read by its own reader (failures named `field.sub`, shared with this reader).
   * Undefined when absent, unknown or not an object; `required` says what the object is for.
   */
  object(
    name: string,
    options: { required?: string; shape: string; secrets?: readonly string[] },
  ): InputReader | undefined {
    const v = this.value(name);
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) {
      if (options.required) this.fail(name, `is required: ${options.required}`);
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(name, `must be an object ${options.shape}, got ${this.got(name, v)}`);
      return undefined;
    }
    const child = new InputReader(
      v as Record<string, unknown>,
      { prefix: `${this.path(name)}.`, secrets: options.secrets },
      { failures: this.failures, warnings: this.warnings },
    );
    this.children.push(child);
    return child;
  }

  /**
   * Fields that no reader asked about: a typo or an input of another resource. One failure each, with the
   * closest known field when there is one. Only `check` reports them (stored outputs carry more fields).
   */
  unexpected(what = 'this resource'): Failure[] {
    const out: Failure[] = [];
    for (const key of Object.keys(this.raw)) {
      if (this.asked.has(key) || (this.prefix === '' && ENGINE_INPUTS.includes(key))) continue;
      if (this.raw[key] === undefined) continue;
      const property = this.path(key);
      const near = closest(key, [...this.asked]);
      out.push({
        property,
        reason: safeLine(
          `${property} is not an input of ${what}: ${near ? `did you mean '${this.path(near)}'? ` : ''}remove it or correct its name`,
        ),
        ...(near && this.missing(near) ? { meant: this.path(near) } : {}),
      });
    }
    for (const c of this.children) out.push(...c.unexpected(what));
    return out;
  }
}

function isHttpsOrigin(v: string): boolean {
  if (hasUnsafeCharacters(v) || !/^https:\/\/[^/?#\s]+\/?$/i.test(v)) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' && !u.username && !u.password && u.pathname === '/';
  } catch {
    return false;
  }
}

/**
 * Check failures with the fields that are no input: one failure per mistake (a mistyped required field
 * gives "did you mean …", not also "… is required").
 */
export function withUnexpected(failures: Failure[], unexpected: Failure[] = []): Failure[] {
  const meant = new Set(unexpected.map((u) => u.meant).filter((m): m is string => m !== undefined));
  return [...failures.filter((f) => !meant.has(f.property)), ...unexpected].map((f) => ({
    property: f.property,
    reason: safeLine(f.reason),
  }));
}

/** The known name closest to a mistyped one (case, a cut-off name, or up to two edits), if any. */
function closest(name: string, known: string[]): string | undefined {
  const lower = name.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  const cut = lower.length >= 4 ? known.filter((k) => k.toLowerCase().startsWith(lower)) : [];
  if (cut.length === 1) return cut[0];
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/**
 * Inputs that cannot change once the resource exists (changing them would mean dropping and restarting the
 * migration). Returns failures naming the field and the way out.
 */
export function createOnlyFailures(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  fields: string[],
  resourceKind: string,
): Failure[] {
  if (Object.keys(olds).length === 0) return [];
  const failures: Failure[] = [];
  for (const f of fields) {
    const a = olds[f];
    const b = news[f];
    if (isUnknown(a) || isUnknown(b)) continue;
    if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) {
      failures.push({
        property: f,
        reason: safeLine(
          `${f} cannot change on a started ${resourceKind} (was ${shown(a ?? null)}, now ${shown(b ?? null)}): changing it would drop and restart the migration. Keep the old value, or declare a new resource for a new migration.`,
        ),
      });
    }
  }
  return failures;
}

const MI_PARTS = ['subscriptionId', 'resourceGroupName', 'managedInstanceName'] as const;
const ID_SHAPE =
  '/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Sql/managedInstances/<name> (e.g. the id output of the managed instance resource)';

/** The managed instance as one ARM id, from `managedInstanceId` or its three parts (exclusive). */
export function readManagedInstance(r: InputReader): string | undefined {
  r.declare('managedInstanceId', ...MI_PARTS);
  const given = MI_PARTS.filter((p) => !r.missing(p));
  if (r.unknown('managedInstanceId')) return undefined;
  if (!r.missing('managedInstanceId')) {
    const id = r.string('managedInstanceId');
    if (id === undefined) return undefined;
    if (given.length) {
      r.fail(
        'managedInstanceId',
        `and ${given.join(', ')} are exclusive: give managedInstanceId alone, or subscriptionId, resourceGroupName and managedInstanceName without it`,
      );
    }
    const ref = parseManagedInstanceId(id);
    if (!ref) {
      r.fail('managedInstanceId', `must be an ARM id ${ID_SHAPE}, got ${shown(id)}`);
      return undefined;
    }
    for (const [field, problem] of validateManagedInstanceRef(ref))
      r.fail('managedInstanceId', `has a ${field} (${shown(ref[field])}) that ${problem}`);
    return managedInstanceId(ref);
  }
  if (MI_PARTS.some((p) => r.unknown(p))) return undefined;
  if (!given.length) {
    r.fail(
      'managedInstanceId',
      `is required: give the managed instance as an ARM id ${ID_SHAPE}, or give subscriptionId, resourceGroupName and managedInstanceName`,
    );
    return undefined;
  }
  const absent = MI_PARTS.filter((p) => r.missing(p));
  if (absent.length) {
    r.fail(
      absent[0],
      `${absent.length > 1 ? `and ${absent.slice(1).join(', ')} are` : 'is'} required with ${given.join(' and ')}: give all three parts of the managed instance, or managedInstanceId instead`,
    );
    return undefined;
  }
  const ref: Partial<ManagedInstanceRef> = {};
  for (const p of MI_PARTS) ref[p] = r.string(p);
  if (!ref.subscriptionId || !ref.resourceGroupName || !ref.managedInstanceName) return undefined;
  for (const [field, problem] of validateManagedInstanceRef(ref as ManagedInstanceRef))
    r.fail(field, `${problem}, got ${shown(ref[field])}`);
  return managedInstanceId(ref as ManagedInstanceRef);
}

/** What check returns: the managed instance always as one id (the parts are folded into it). */
export function normalizeManagedInstance(
  news: Record<string, unknown>,
  out: Record<string, unknown>,
  id: string | undefined,
): void {
  for (const p of MI_PARTS) delete out[p];
  const unknown = ['managedInstanceId', ...MI_PARTS].some((k) => isUnknown(news[k]));
  out.managedInstanceId = id ?? (unknown ? UNKNOWN : news.managedInstanceId);
}
