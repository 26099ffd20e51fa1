/**
 * How every T-SQL request runs: bounded by the deadline of what it serves, transient failures of reads retried
 * with backoff while that deadline allows, and statements that change state never repeated blindly: after a
 * failure that may have hidden a success (lost session, timeout), a caller-supplied verify read decides whether
 * the change took effect, and only if it did not is the statement sent again.
 *
 * Pure of mssql: the session (client.ts) supplies one attempt as a function of its timeout.
 */
import type { Clock } from '../core/clock';
import { formatDuration } from '../core/clock';
import { MigrationError } from '../core/errors';

/** One attempt, given the time it may take (ms); `cancel` stops it (tedious sends an ATTENTION). */
export interface Attempt<T> {
  (timeoutMs: number): { result: Promise<T>; cancel: () => void };
}

export interface ExecuteOptions {
  clock: Clock;
  /** Absolute deadline (ms since the epoch, on `clock`). */
  deadline: number;
  /** What the request does, as a user reads it: "reading the LSNs of Orders on SQL Server". */
  doing: string;
  /** Turns a driver error into the project's typed error (keeps the SQL error number). */
  toError: (e: unknown) => MigrationError;
  /** Longest single read attempt before it is cancelled and tried again (default 30 s). */
  readAttemptMs?: number;
  /** First and longest pause between attempts (default 100 ms, 2 s). */
  backoffMs?: { first: number; max: number };
}

/**
 * SQL error numbers worth another attempt: SqlClient's transient error list
 * (SqlConfigurableRetryFactory, learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconfigurableretryfactory:
 * 1204 1205 1222 49918 49919 49920 4060 4221 40143 40613 40501 40540 40197 10929 10928 10060 10054 10053 997 233;
 * tedious's own login retry list, transient-error-lookup.ts, is a subset), plus 596 (the session was killed).
 */
export const TRANSIENT_SQL_ERRORS: ReadonlySet<number> = new Set([
  1204, 1205, 1222, 49918, 49919, 49920, 4060, 4221, 40143, 40613, 40501, 40540, 40197, 10929, 10928, 10060,
  10054, 10053, 997, 233, 596,
]);

/** Part of the deadline a change leaves for its verify read when its own answer does not come. */
const VERIFY_RESERVE_MS = 5_000;

/** Driver/socket codes that mean the connection or the request was lost, not refused by the server's logic. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', // the peer reset the connection (Windows 10054)
  'ESOCKET', // tedious: the socket failed
  'ECONNCLOSED', // mssql: the connection is closed
  'ECONNREFUSED', // the server went away after the session was opened (restart, failover)
  'EPIPE',
  'ETIMEDOUT',
  'ETIMEOUT', // tedious request timeout / mssql pool acquire timeout
  'ECANCEL', // our own cancel at the attempt timeout
]);

export type Verdict = 'transient' | 'permanent';

/** Transient: worth another attempt on a new or the same session. Permanent: the server refused it. */
export function classify(e: unknown): Verdict {
  const err = e as {
    number?: unknown;
    class?: unknown;
    code?: unknown;
    originalError?: { code?: unknown };
    precedingErrors?: Array<{ number?: unknown; class?: unknown }>;
  };
  const all = [err, ...(err?.precedingErrors ?? [])];
  for (const x of all) {
    if (typeof x.number === 'number' && TRANSIENT_SQL_ERRORS.has(x.number)) return 'transient';
    // Severity 20 and above: "fatal errors … the application connection … may also terminate" (Database
    // Engine error severities); the statement did not complete, a new session may well succeed.
    if (Number(x.class) >= 20) return 'transient';
  }
  const codes = [err?.code, err?.originalError?.code].map((c) => (typeof c === 'string' ? c : ''));
  if (codes.some((c) => TRANSIENT_CODES.has(c))) return 'transient';
  return 'permanent';
}

/** A read: attempts until one answers, a permanent error, or the deadline. */
export async function executeRead<T>(attempt: Attempt<T>, o: ExecuteOptions): Promise<T> {
  const started = o.clock.now();
  const cap = o.readAttemptMs ?? 30_000;
  let last: unknown;
  for (let n = 0; ; n++) {
    const left = o.deadline - o.clock.now();
    if (left <= 0) throw deadlineError(o, started, last);
    try {
      return await bounded(attempt, Math.min(left, cap));
    } catch (e) {
      if (classify(e) === 'permanent') throw o.toError(e);
      last = e;
    }
    await pause(o, n);
  }
}

/**
 * A statement that changes state. On a permanent error it fails; on any other failure it reads `verify`
 * (whether the change is in place) within the same deadline and sends the statement again only if it is not.
 */
export async function executeChange(
  attempt: Attempt<unknown>,
  verify: (deadline: number) => Promise<boolean>,
  o: ExecuteOptions,
): Promise<void> {
  const started = o.clock.now();
  let last: unknown;
  for (let n = 0; ; n++) {
    const left = o.deadline - o.clock.now();
    if (left <= 0) throw deadlineError(o, started, last, true);
    try {
      // Leave time to read whether it took effect if the answer does not come.
      await bounded(attempt, left - Math.min(VERIFY_RESERVE_MS, left / 4));
      return;
    } catch (e) {
      if (classify(e) === 'permanent') throw o.toError(e);
      last = e;
    }
    let inPlace: boolean;
    try {
      inPlace = await verify(o.deadline);
    } catch (e) {
      throw new MigrationError(
        'SqlOutcomeUnknown',
        `Lost the answer while ${o.doing} (${describe(last)}), and could not read whether it took effect: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: last,
          causeCode: codeOf(last),
          hint: 'run up again: the next run reads the state first and does not repeat a change that took effect',
        },
      );
    }
    if (inPlace) return;
    await pause(o, n);
  }
}

/** Runs one attempt and makes sure it ends by `timeoutMs` (plus a short grace for the cancel to land). */
async function bounded<T>(attempt: Attempt<T>, timeoutMs: number): Promise<T> {
  const t = Math.max(1, Math.floor(timeoutMs));
  const { result, cancel } = attempt(t);
  let timer: NodeJS.Timeout | undefined;
  // tedious cancels at `t` and waits for the server's acknowledgment up to its cancelTimeout; past a short
  // grace the attempt is abandoned here (its connection is discarded by the pool once tedious gives up).
  const hard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(Object.assign(new Error(`no answer within ${formatDuration(t)}`), { code: 'ETIMEOUT' }));
    }, t + 250);
  });
  try {
    return await Promise.race([result, hard]);
  } finally {
    clearTimeout(timer);
    result.catch(() => undefined);
  }
}

async function pause(o: ExecuteOptions, n: number): Promise<void> {
  const { first, max } = o.backoffMs ?? { first: 100, max: 2_000 };
  const left = o.deadline - o.clock.now();
  if (left <= 0) return;
  await o.clock.sleep(Math.min(left, Math.min(max, first * 2 ** n)));
}

/** The deadline ran out: code Timeout (waits and the LSN gate turn it into their own timeout with the last state). */
function deadlineError(o: ExecuteOptions, started: number, last: unknown, change = false): MigrationError {
  const took = formatDuration(o.clock.now() - started);
  return new MigrationError(
    'Timeout',
    `Timed out after ${took} ${o.doing}${change ? '; the change is not in place' : ''}.`,
    {
      cause: last,
      causeCode: codeOf(last),
      lastState: last === undefined ? 'no attempt finished' : `last attempt: ${describe(last)}`,
      hint: 'the server answered too slowly or not at all: check that it is reachable and not blocked (sys.dm_exec_requests), or give the operation a longer deadline',
    },
  );
}

function codeOf(e: unknown): string | number | undefined {
  const err = e as { number?: unknown; code?: unknown } | undefined;
  if (typeof err?.number === 'number') return err.number;
  return typeof err?.code === 'string' ? err.code : undefined;
}

function describe(e: unknown): string {
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  return code === undefined ? message : `${code}: ${message}`;
}
