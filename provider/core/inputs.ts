/** Helpers to read raw provider inputs (plain objects from the engine) into typed values with failures. */
import {
  type ManagedInstanceRef,
  managedInstanceId,
  parseManagedInstanceId,
  validateManagedInstanceRef,
} from './armId';
import { isUnknown, UNKNOWN } from './unknown';

export interface Failure {
  property: string;
  reason: string;
}

export class InputReader {
  readonly failures: Failure[] = [];
  constructor(private readonly raw: Record<string, unknown>) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null && this.raw[name] !== '';
  }

  unknown(name: string): boolean {
    return isUnknown(this.raw[name]);
  }

  fail(property: string, reason: string): void {
    this.failures.push({ property, reason: `${property} ${reason}` });
  }

  /** A string, or undefined when absent or unknown. */
  string(name: string, options: { required?: string } = {}): string | undefined {
    const v = this.raw[name];
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null || v === '') {
      if (options.required) this.fail(name, `is required: ${options.required}`);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail(name, `must be a string, got ${typeof v}`);
      return undefined;
    }
    return v;
  }

  boolean(name: string, fallback: boolean): boolean | undefined {
    const v = this.raw[name];
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(name, `must be true or false, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  /** A duration in ms within bounds; unknown gives the fallback (only used for planning). */
  duration(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw[name];
    if (isUnknown(v) || v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(name, `must be a number of milliseconds between ${min} and ${max}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return Math.round(v);
  }

  /** Optional Azure Resource Manager origin (sovereign clouds, rehearsals). */
  armEndpoint(): string | undefined {
    const v = this.string('armEndpoint');
    if (v && !/^https:\/\/[^/?#]+\/?$/i.test(v)) {
      this.fail('armEndpoint', 'must be an https origin such as https://management.azure.com');
    }
    return v;
  }

  stringArray(name: string, options: { required?: string } = {}): string[] | undefined {
    const v = this.raw[name];
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) {
      if (options.required) this.fail(name, `is required: ${options.required}`);
      return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && !isUnknown(x))) {
      this.fail(name, 'must be a list of strings');
      return undefined;
    }
    return v as string[];
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T | undefined {
    const v = this.raw[name];
    if (isUnknown(v)) return undefined;
    if (v === undefined || v === null) return fallback;
    const match = allowed.find((a) => typeof v === 'string' && a.toLowerCase() === v.toLowerCase());
    if (!match) {
      this.fail(name, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return match;
  }
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
        reason: `${f} cannot change on a started ${resourceKind} (was ${JSON.stringify(a ?? null)}, now ${JSON.stringify(b ?? null)}): changing it would drop and restart the migration. Keep the old value, or declare a new resource for a new migration.`,
      });
    }
  }
  return failures;
}

const MI_PARTS = ['subscriptionId', 'resourceGroupName', 'managedInstanceName'] as const;

/** The managed instance as one ARM id, from `managedInstanceId` or its three parts (exclusive). */
export function readManagedInstance(r: InputReader): string | undefined {
  const id = r.string('managedInstanceId');
  const parts = MI_PARTS;
  const anyPart = parts.some((p) => r.has(p) || r.unknown(p));
  if (r.unknown('managedInstanceId')) return undefined;
  if (id) {
    if (anyPart) {
      r.fail(
        'managedInstanceId',
        'and subscriptionId/resourceGroupName/managedInstanceName are exclusive: give one or the other',
      );
    }
    const ref = parseManagedInstanceId(id);
    if (!ref) {
      r.fail(
        'managedInstanceId',
        'must be an ARM id: /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/managedInstances/<name>',
      );
      return undefined;
    }
    for (const [field, problem] of validateManagedInstanceRef(ref))
      r.fail('managedInstanceId', `has a ${field} that ${problem}`);
    return managedInstanceId(ref);
  }
  if (parts.some((p) => r.unknown(p))) return undefined;
  if (!anyPart) {
    r.fail('managedInstanceId', 'is required (or subscriptionId, resourceGroupName and managedInstanceName)');
    return undefined;
  }
  const ref: Partial<ManagedInstanceRef> = {};
  for (const p of parts) ref[p] = r.string(p, { required: 'with the other parts of the managed instance' });
  if (!ref.subscriptionId || !ref.resourceGroupName || !ref.managedInstanceName) return undefined;
  for (const [field, problem] of validateManagedInstanceRef(ref as ManagedInstanceRef))
    r.fail(field, problem);
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
