import { LRO_HEADERS, type RecordedStep } from './recordings';

/**
 * Step-by-step comparison of one recorded answer with the ARM stand-in's answer to the same request: status code,
 * which LRO headers are present (and the Retry-After value, and the operation family of the operation URLs), the
 * body's field names (recursively, as sets) and its state strings. Operation lifetimes relative to the other calls
 * are compared through the state strings of the polls, because the replay moves simulated time exactly as the
 * recording's Date headers did.
 */

export type Aspect = 'status' | 'header' | 'operationUrl' | 'fields' | 'state' | 'replay';

export interface Difference {
  file: string;
  seq: string;
  aspect: Aspect;
  /** What differs: a header name, a field path (`properties.databases[].replicaState`), `status`, … */
  at: string;
  recorded: string;
  sandbox: string;
}

export interface Observed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * Keys whose string values are states (compared by value): operation, database, restore and link states, roles
 * and modes, error codes, and the operation name of a 202 stub.
 */
export const STATE_KEYS = new Set([
  'status',
  'state',
  'provisioningState',
  'replicaState',
  'linkState',
  'instanceLinkRole',
  'partnerLinkRole',
  'replicationMode',
  'failoverMode',
  'seedingMode',
  'linkMode',
  'connectedState',
  'synchronizationHealth',
  'code',
  'operation',
]);

export function compareStep(rec: RecordedStep, obs: Observed): Difference[] {
  const out: Difference[] = [];
  const diff = (aspect: Aspect, at: string, recorded: string, sandbox: string) => {
    if (recorded !== sandbox) out.push({ file: rec.file, seq: rec.seq, aspect, at, recorded, sandbox });
  };
  if (rec.status !== obs.status) {
    // An answer of another status is not comparable field by field: the status (and the error code the stand-in
    // gave) is the difference; the rest is compared once the status agrees.
    const code = stateStrings(obs.body).get('error.code');
    diff('status', 'status', String(rec.status), code ? `${obs.status} ${code}` : String(obs.status));
    return out;
  }

  for (const name of LRO_HEADERS) {
    const recorded = rec.headers[name];
    const sandbox = header(obs, name);
    diff(
      'header',
      name,
      recorded === null ? 'absent' : 'present',
      sandbox === undefined ? 'absent' : 'present',
    );
    if (recorded === null || sandbox === undefined) continue;
    if (name === 'retry-after') diff('header', 'retry-after value', recorded, sandbox);
    else {
      const family = operationFamily(recorded);
      if (family) diff('operationUrl', name, family, operationFamily(sandbox) ?? sandbox);
    }
  }

  const recordedFields = fieldPaths(rec.responseBody);
  const sandboxFields = fieldPaths(obs.body);
  for (const f of recordedFields) if (!sandboxFields.has(f)) diff('fields', f, 'present', 'absent');
  for (const f of sandboxFields) if (!recordedFields.has(f)) diff('fields', f, 'absent', 'present');

  const recordedStates = stateStrings(rec.responseBody);
  const sandboxStates = stateStrings(obs.body);
  for (const [at, values] of recordedStates) {
    const other = sandboxStates.get(at);
    if (other !== undefined) diff('state', at, values, other);
  }
  return out;
}

export function header(obs: Observed, name: string): string | undefined {
  const value = obs.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `managedDatabaseRestoreAzureAsyncOperation` of …/locations/{l}/managedDatabaseRestoreAzureAsyncOperation/{id}. */
export function operationFamily(url: string): string | undefined {
  return /\/locations\/[^/]+\/([A-Za-z]+(?:AzureAsyncOperation|OperationResults))\//.exec(url)?.[1];
}

/** Every field path of a JSON value: `a`, `a.b`, `list[]`, `list[].c` (array elements merged). */
export function fieldPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) fieldPaths(item, `${prefix}[]`, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      fieldPaths(v, p, out);
    }
  }
  return out;
}

/** State strings by field path; values of array elements are sorted and joined (answers do not keep order). */
export function stateStrings(value: unknown): Map<string, string> {
  const found = new Map<string, string[]>();
  const walk = (v: unknown, prefix: string) => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${prefix}[]`);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        const p = prefix ? `${prefix}.${k}` : k;
        if (STATE_KEYS.has(k) && typeof x === 'string') found.set(p, [...(found.get(p) ?? []), x]);
        else walk(x, p);
      }
    }
  };
  walk(value, '');
  return new Map([...found].map(([k, vs]) => [k, vs.sort().join(',')]));
}

export function formatDifference(d: Difference): string {
  return `${d.file} seq ${d.seq}: ${d.aspect} ${d.at}: recorded ${d.recorded}, sandbox ${d.sandbox}`;
}

/** Differences that agree but for their seq, merged: `file seqs [a,b]: aspect at: recorded …, sandbox …`. */
export function formatGrouped(differences: Difference[]): string[] {
  const groups = new Map<string, { d: Difference; seqs: string[] }>();
  for (const d of differences) {
    const key = JSON.stringify([d.file, d.aspect, d.at, d.recorded, d.sandbox]);
    const g = groups.get(key) ?? { d, seqs: [] };
    g.seqs.push(d.seq);
    groups.set(key, g);
  }
  return [...groups.values()].map(
    ({ d, seqs }) =>
      `${d.file} seqs [${seqs.join(',')}]: ${d.aspect} ${d.at}: recorded ${d.recorded}, sandbox ${d.sandbox}`,
  );
}
