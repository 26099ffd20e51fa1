/**
 * Switchable faults for the ARM stand-in: throttling (429 + Retry-After), server errors (500/503), slow
 * answers and dropped connections, each for a number of matching requests.
 */

export type FaultKind = '429' | '500' | '503' | 'slow' | 'drop';

export interface FaultSpec {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Path to match: a RegExp, or a case-insensitive substring of the path (any when omitted). */
  pathPattern?: string | RegExp;
  /** How many matching requests the fault hits (default 1; Infinity until cleared). */
  times?: number;
  kind: FaultKind;
  /** Retry-After header (seconds) of 429 and 503 answers (429 defaults to 1). */
  retryAfterSeconds?: number;
  /** Real delay (ms) of a 'slow' answer, before the request is served normally (default 2000). */
  delayMs?: number;
}

export interface InjectedFault extends Readonly<FaultSpec> {
  readonly id: number;
  /** Matching requests still to hit. */
  remaining: number;
  /** Matching requests hit so far. */
  hits: number;
}

export class Faults {
  private readonly faults: InjectedFault[] = [];
  private nextId = 1;

  /** Adds a fault; the first matching fault (in order of injection) hits a request. */
  inject(spec: FaultSpec): InjectedFault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError('times must be > 0');
    const fault: InjectedFault = { ...spec, id: this.nextId++, remaining: times, hits: 0 };
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

  /** The fault that hits this request, if any (and counts the hit). */
  take(method: string, path: string): InjectedFault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && matches(f, method, path));
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
