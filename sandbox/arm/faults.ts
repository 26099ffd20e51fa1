/**
 * Switchable faults, each for a number of matching requests. The same list type serves the ARM stand-in, the
 * identity endpoint (auth.ts) and the storage proxy in front of Azurite (azurite.ts); each honours the kinds that
 * make sense for it:
 *
 * - `429`, `500`, `503` (and `403` for storage): an error answer without acting (429 with Retry-After);
 * - `slow`: waits `delayMs` of real time, then serves the request normally (acts late);
 * - `drop`: the connection is destroyed before the request is acted on (no answer);
 * - `lost`: the request is acted on, then the connection is destroyed instead of answering (a lost answer);
 * - `stall`: the request is neither acted on nor answered; the connection stays open until the client gives up
 *   (with `when: 'after'`: acted on first, then not answered, a write whose answer never comes);
 * - `lroFailed`, `lroCanceled` (ARM only): the write is accepted (202) as usual, but the operation it starts ends
 *   Failed / Canceled with `errorCode` once `afterMs` of simulated time have passed, whatever the world did.
 */

export type FaultKind =
  '429' | '403' | '500' | '503' | 'slow' | 'drop' | 'lost' | 'stall' | 'lroFailed' | 'lroCanceled';

export const FAULT_KINDS: readonly FaultKind[] = [
  '429',
  '403',
  '500',
  '503',
  'slow',
  'drop',
  'lost',
  'stall',
  'lroFailed',
  'lroCanceled',
];

/** Faults that hit the request itself (the others hit the operation a write starts). */
export const REQUEST_FAULT_KINDS: readonly FaultKind[] = [
  '429',
  '403',
  '500',
  '503',
  'slow',
  'drop',
  'lost',
  'stall',
];
export const OPERATION_FAULT_KINDS: readonly FaultKind[] = ['lroFailed', 'lroCanceled'];

export interface FaultSpec {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /**
   * Path to match: a RegExp, or a case-insensitive substring (any when omitted). ARM and the identity endpoint
   * match the path without its query; the storage proxy matches path and query (`comp=list` …).
   */
  pathPattern?: string | RegExp;
  /** How many matching requests the fault hits (default 1; Infinity until cleared). */
  times?: number;
  /** Matching requests to let through untouched before the fault starts hitting (default 0). */
  skip?: number;
  kind: FaultKind;
  /** `stall` only: 'before' (default) holds the request unacted; 'after' acts on it, then holds the answer. */
  when?: 'before' | 'after';
  /** Retry-After header (seconds) of 429 and 503 answers (429 defaults to 1). */
  retryAfterSeconds?: number;
  /** Real delay (ms) of a 'slow' answer, before the request is served normally (default 2000). */
  delayMs?: number;
  /** lroFailed / lroCanceled: the error code (default InternalServerError / OperationCanceled). */
  errorCode?: string;
  /** lroFailed / lroCanceled: the error message. */
  message?: string;
  /** lroFailed / lroCanceled: simulated ms after the operation's start when it ends so (default 0). */
  afterMs?: number;
}

export interface InjectedFault extends Readonly<FaultSpec> {
  readonly id: number;
  /** Matching requests still to hit. */
  remaining: number;
  /** Matching requests hit so far. */
  hits: number;
  /** Matching requests let through so far (up to `skip`). */
  skipped: number;
}

export class Faults {
  private readonly faults: InjectedFault[] = [];
  private nextId = 1;

  /** Adds a fault; the first matching fault (in order of injection) hits a request. */
  inject(spec: FaultSpec): InjectedFault {
    if (!FAULT_KINDS.includes(spec.kind)) throw new RangeError(`unknown fault kind '${String(spec.kind)}'`);
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError('times must be > 0');
    const fault: InjectedFault = { ...spec, id: this.nextId++, remaining: times, hits: 0, skipped: 0 };
    this.faults.push(fault);
    return fault;
  }

  /** Removes one fault, or all of them. */
  clear(fault?: InjectedFault | number): void {
    const id = typeof fault === 'number' ? fault : fault?.id;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (id === undefined || this.faults[i].id === id) this.faults.splice(i, 1);
    }
  }

  /** Faults still armed. */
  get active(): readonly InjectedFault[] {
    return this.faults.filter((f) => f.remaining > 0);
  }

  /** The fault of one of `kinds` (default: request faults) that hits this request, if any (and counts the hit). */
  take(
    method: string,
    path: string,
    kinds: readonly FaultKind[] = REQUEST_FAULT_KINDS,
  ): InjectedFault | undefined {
    const fault = this.faults.find((f) => {
      if (!(f.remaining > 0 && kinds.includes(f.kind) && matches(f, method, path))) return false;
      if (f.skipped < (f.skip ?? 0)) {
        f.skipped += 1;
        return false;
      }
      return true;
    });
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    if (fault.remaining <= 0) this.clear(fault);
    return fault;
  }
}

function matches(fault: FaultSpec, method: string, path: string): boolean {
  if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) return false;
  const pattern = fault.pathPattern;
  if (pattern === undefined) return true;
  if (pattern instanceof RegExp) return pattern.test(path);
  return path.toLowerCase().includes(pattern.toLowerCase());
}
