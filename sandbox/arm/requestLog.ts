import type { FaultKind } from './faults';

/** One request the ARM stand-in received. */
export interface RequestRecord {
  seq: number;
  /** Real time the request arrived (ISO). */
  at: string;
  /** Simulated time the request arrived (ISO). */
  simAt: string;
  method: string;
  /** Path without the query string. */
  path: string;
  apiVersion?: string;
  /** HTTP status answered; 0 when no answer was sent (dropped, stalled or lost). */
  status: number;
  /** ARM error code of an error answer. */
  errorCode?: string;
  fault?: FaultKind;
  /** A lost answer (fault `lost`): the status the stand-in acted with and did not send. */
  unsentStatus?: number;
  durationMs: number;
}

export interface RequestFilter {
  method?: string;
  /** RegExp, or a case-insensitive substring of the path. */
  pathPattern?: string | RegExp;
  status?: number;
}

/** The requests the ARM stand-in received, in order, for tests to assert on. */
export class RequestLog {
  readonly entries: RequestRecord[] = [];

  add(record: Omit<RequestRecord, 'seq'>): RequestRecord {
    const entry = { seq: this.entries.length + 1, ...record };
    this.entries.push(entry);
    return entry;
  }

  filter(filter: RequestFilter = {}): RequestRecord[] {
    return this.entries.filter((r) => {
      if (filter.method && r.method.toUpperCase() !== filter.method.toUpperCase()) return false;
      if (filter.status !== undefined && r.status !== filter.status) return false;
      const p = filter.pathPattern;
      if (p instanceof RegExp) return p.test(r.path);
      return p === undefined || r.path.toLowerCase().includes(p.toLowerCase());
    });
  }

  count(filter: RequestFilter = {}): number {
    return this.filter(filter).length;
  }

  /** The api-versions clients used, with how many requests each. */
  apiVersions(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.entries) if (r.apiVersion) counts[r.apiVersion] = (counts[r.apiVersion] ?? 0) + 1;
    return counts;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
