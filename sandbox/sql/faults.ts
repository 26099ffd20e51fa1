/**
 * Switchable faults for the SQL stand-ins, chosen by statement shape: the name of a recognised statement
 * (catalog.ts, e.g. 'sqlServerLsns', 'alterDagMode', 'dropAvailabilityGroup'), 'changes' for every statement
 * that changes the world, or a RegExp on the statement text. Each fault hits a number of matching statements
 * on one endpoint (`sandbox.sqlEndpoints.sqlServer.faults`, `….managedInstance.faults`), either before the
 * statement acts (the world is unchanged) or after it acted (the world changed, the answer is lost or wrong).
 *
 * Kinds:
 * - 'error': an ERROR token with the given number/severity/state. Severity 20 and above also closes the
 *   session: "Severity levels from 20 through 24 indicate system problems and are fatal errors … the
 *   application connection to the instance of the Database Engine may also terminate" (Database Engine error
 *   severities, learn.microsoft.com/sql/relational-databases/errors-events/database-engine-error-severities).
 * - 'kill': the session is killed as SQL Server reports it: Msg 596, Level 21, State 1 "Cannot continue the
 *   execution because the session is in the kill state." then Msg 0, Level 20, State 0 "A severe error
 *   occurred on the current command. The results, if any, should be discarded.", and the session ends
 *   (both messages as quoted in the SQL Server 2019 CU14 release notes, KB5007182, fix 14250829).
 * - 'drop': the TCP connection is reset without any answer (what the client sees as ECONNRESET; SqlClient's
 *   error 10054 "An existing connection was forcibly closed by the remote host", listed as transient in
 *   SqlConfigurableRetryFactory's transient error list, learn.microsoft.com/dotnet/api/
 *   microsoft.data.sqlclient.sqlconfigurableretryfactory).
 * - 'stall': the request is held until the test calls `release()` or the client cancels it (ATTENTION) or
 *   goes away. A stall never ends by itself, so no test races a clock against it.
 * - 'slow': held for `delayMs` of real time or `simulatedMs` of the world's clock, then answered normally.
 */
import { ConnectionKill, SqlError } from '../tds/types';

export type SqlFaultKind = 'error' | 'kill' | 'drop' | 'stall' | 'slow';

export interface SqlErrorSpec {
  number: number;
  /** Default 16. 20 and above close the session after the answer. */
  severity?: number;
  state?: number;
  /** Default: the text of a known number (SQL_ERRORS), else a generic one. */
  message?: string;
}

export interface SqlFaultSpec {
  kind: SqlFaultKind;
  /** Catalog statement name, 'changes' (any statement that changes the world), or a RegExp on the text. */
  statement?: string | RegExp;
  /**
   * Also match the statement's parameters: each listed one must be there with this value (names and string
   * values case-insensitive), e.g. `{ dag: 'DAG_1' }`, so that a fault on a read hits one link's statements only.
   */
  params?: Record<string, string>;
  /** 'before' (default): the statement does not act. 'after': it acts first, then the fault hits its answer. */
  when?: 'before' | 'after';
  /** How many matching statements the fault hits (default 1; Infinity until cleared). */
  times?: number;
  /** Matching statements to let through untouched before the fault starts hitting (default 0). */
  skip?: number;
  /** For 'error'. Default: the deadlock victim error 1205. */
  error?: SqlErrorSpec;
  /** For 'slow': real milliseconds (default 2000 unless `simulatedMs` is given). */
  delayMs?: number;
  /** For 'slow': milliseconds of the world's (simulated) clock. */
  simulatedMs?: number;
}

/**
 * Error texts as SQL Server words them (the number, severity and text of each from the page named beside it).
 * State values are not documented per number; the ones here are common in SQL Server's own output.
 */
export const SQL_ERRORS = {
  /** MSSQLSERVER_1205 (LK_VICTIM); severity 13 "Indicates transaction deadlock errors" (error severities). */
  deadlock: {
    number: 1205,
    severity: 13,
    state: 51,
    message:
      'Transaction (Process ID 52) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
  },
  /** 1222 "Lock request time out period exceeded." (SqlConfigurableRetryFactory transient list); severity 16. */
  lockTimeout: { number: 1222, severity: 16, state: 52, message: 'Lock request time out period exceeded.' },
  /** 0, severity 20 (KB5007182 as above): a fatal error, the session ends. */
  severe: {
    number: 0,
    severity: 20,
    state: 0,
    message: 'A severe error occurred on the current command.  The results, if any, should be discarded.',
  },
  /** 596, severity 21 (KB5007182 as above). */
  killState: {
    number: 596,
    severity: 21,
    state: 1,
    message: 'Cannot continue the execution because the session is in the kill state.',
  },
} satisfies Record<string, Required<SqlErrorSpec>>;

export interface InjectedSqlFault extends Readonly<SqlFaultSpec> {
  readonly id: number;
  /** Matching statements still to hit. */
  remaining: number;
  /** Matching statements hit so far. */
  hits: number;
  /** Requests held by this stall/slow fault right now (wait for it with a deadline, then `release()`). */
  readonly held: number;
  /** Lets every request this fault holds go on; later ones are no longer held. */
  release(): void;
}

/** What the endpoint tells the registry about a statement. */
export interface StatementShape {
  /** Recognised catalog name, or null. */
  name: string | null;
  changes: boolean;
  sql: string;
  /** The parameters the client sent (names as sent, `@` stripped). */
  params?: Record<string, unknown>;
}

class Fault implements InjectedSqlFault {
  remaining: number;
  hits = 0;
  private skipped = 0;
  private released = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly id: number,
    private readonly spec: SqlFaultSpec,
  ) {
    this.remaining = spec.times ?? 1;
  }

  get kind() {
    return this.spec.kind;
  }
  get statement() {
    return this.spec.statement;
  }
  get when() {
    return this.spec.when;
  }
  get times() {
    return this.spec.times;
  }
  get skip() {
    return this.spec.skip;
  }
  get error() {
    return this.spec.error;
  }
  get delayMs() {
    return this.spec.delayMs;
  }
  get simulatedMs() {
    return this.spec.simulatedMs;
  }
  get held(): number {
    return this.waiters.size;
  }

  release(): void {
    this.released = true;
    for (const wake of [...this.waiters]) wake();
  }

  matches(s: StatementShape): boolean {
    return this.matchesStatement(s) && this.matchesParams(s);
  }

  private matchesParams(s: StatementShape): boolean {
    const want = this.spec.params;
    if (!want) return true;
    const sent = Object.entries(s.params ?? {}).map(
      ([k, v]) => [k.replace(/^@/, '').toLowerCase(), v] as const,
    );
    return Object.entries(want).every(([k, v]) =>
      sent.some(
        ([name, value]) => name === k.toLowerCase() && String(value).toLowerCase() === v.toLowerCase(),
      ),
    );
  }

  private matchesStatement(s: StatementShape): boolean {
    const want = this.spec.statement;
    if (want === undefined) return true;
    if (want instanceof RegExp) return want.test(s.sql);
    if (want === 'changes') return s.changes;
    return s.name !== null && s.name.toLowerCase() === want.toLowerCase();
  }

  /** Counts a match; true when the fault hits it (past `skip`, hits left). */
  hit(): boolean {
    if (this.skipped < (this.spec.skip ?? 0)) {
      this.skipped++;
      return false;
    }
    this.remaining -= 1;
    this.hits += 1;
    return true;
  }

  /**
   * Holds a request (stall/slow) until released, its delay passed, or the client cancelled (then rejects:
   * the statement must not act and its answer is dropped by the TDS server anyway).
   */
  hold(signal: AbortSignal | undefined, now: () => number): Promise<void> {
    if (this.released) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (ok: boolean): void => {
        this.waiters.delete(wake);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (ok) resolve();
        else reject(new Error('request cancelled by the client'));
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      this.waiters.add(wake);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.spec.kind !== 'slow') return;
      if (this.spec.simulatedMs !== undefined) {
        const until = now() + this.spec.simulatedMs;
        const check = (): void => {
          if (now() >= until) return wake();
          timer = setTimeout(check, 5);
        };
        check();
      } else {
        timer = setTimeout(wake, this.spec.delayMs ?? 2000);
      }
    });
  }

  /** The failure of an error/kill/drop fault, as the handler throws it. */
  failure(): Error {
    switch (this.spec.kind) {
      case 'kill':
        return new ConnectionKill([toError(SQL_ERRORS.killState), toError(SQL_ERRORS.severe)]);
      case 'drop':
        return new ConnectionKill([]);
      default:
        return toError(this.spec.error ?? SQL_ERRORS.deadlock);
    }
  }
}

function toError(e: SqlErrorSpec): SqlError {
  const known = Object.values(SQL_ERRORS).find((k) => k.number === e.number);
  const message = e.message ?? known?.message ?? `SQL Server error ${e.number} (injected fault).`;
  return new SqlError(e.number, message, e.state ?? known?.state ?? 1, e.severity ?? known?.severity ?? 16);
}

export class SqlFaults {
  private readonly faults: Fault[] = [];
  private nextId = 1;

  /** Adds a fault; the first matching fault (in order of injection) hits a statement. */
  inject(spec: SqlFaultSpec): InjectedSqlFault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError('times must be > 0');
    if (spec.kind === 'slow' && spec.delayMs === undefined && spec.simulatedMs === undefined) {
      spec = { ...spec, delayMs: 2000 };
    }
    const fault = new Fault(this.nextId++, spec);
    this.faults.push(fault);
    return fault;
  }

  /** Removes one fault, or all of them; held requests are released. */
  clear(fault?: InjectedSqlFault | number): void {
    const id = typeof fault === 'number' ? fault : fault?.id;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (id === undefined || this.faults[i].id === id) this.faults.splice(i, 1)[0].release();
    }
  }

  /** Faults still armed. */
  get active(): readonly InjectedSqlFault[] {
    return this.faults.filter((f) => f.remaining > 0);
  }

  /** The fault that hits this statement, if any (and counts the hit). */
  take(s: StatementShape): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.remaining > 0 && fault.matches(s) && fault.hit()) {
        // Exhausted faults stay listed until cleared: a stall must stay releasable.
        return fault;
      }
    }
    return undefined;
  }
}

export type { Fault as SqlFault };
