/**
 * Log sequence numbers: numeric(25,0) in SQL Server, far above 2^53, so always BigInt here and strings on
 * the wire and in outputs. NULL means "unknown", never "equal".
 */
export type Lsn = bigint;

export function parseLsn(value: unknown): Lsn | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `LSN ${value} arrived as an inexact number; select it as varchar (CONVERT(varchar(25), …))`,
      );
    }
    return BigInt(value);
  }
  const text = String(value).trim();
  if (!/^\d{1,25}$/.test(text)) throw new RangeError(`not an LSN: ${JSON.stringify(value)}`);
  return BigInt(text);
}

export function lsnText(lsn: Lsn | undefined): string | null {
  return lsn === undefined ? null : lsn.toString();
}

/**
 * One reading of one database on both sides of the link. SQL Server's figures come from its own row of
 * sys.dm_hadr_database_replica_states (is_local = 1); the remote row (what SQL Server knows of the managed
 * instance) is a second witness.
 */
export interface LsnSample {
  database: string;
  /** SQL Server's own end of log (local row). */
  sqlServerEndOfLog?: Lsn;
  /** SQL Server's own row's last hardened LSN (NULL on an asynchronous primary). */
  sqlServerHardened?: Lsn;
  /** synchronization_state_desc of SQL Server's own row. */
  sqlServerState?: string;
  /** What SQL Server knows of the managed instance (remote row): hardened LSN, state, connection. */
  witnessHardened?: Lsn;
  witnessState?: string;
  witnessConnected?: string;
  /** The managed instance's own last hardened LSN. */
  managedInstanceHardened?: Lsn;
}

export type GateState =
  { status: 'passed'; stableForMs: number } | { status: 'waiting'; reason: string; stableForMs: number };

const key = (s: LsnSample) =>
  [
    s.database,
    s.sqlServerEndOfLog,
    s.sqlServerHardened,
    s.sqlServerState,
    s.witnessHardened,
    s.witnessState,
    s.witnessConnected,
    s.managedInstanceHardened,
  ]
    .map((v) => (v === undefined ? '?' : String(v)))
    .join(':');

export interface GateOptions {
  /**
   * Synchronous commit is on: SQL Server's own row and its row for the managed instance must say
   * SYNCHRONIZED, and the managed instance replica CONNECTED, for the gate to pass.
   */
  requireSynchronized?: boolean;
}

/**
 * The LSN gate of the failover guide: for every database, SQL Server's own end of log and last hardened LSN
 * and the managed instance's last hardened LSN are known and equal (SQL Server's view of the instance too),
 * the link is connected and synchronized, and no figure changed over the whole stability window. Any
 * movement restarts the window (the workload is still running, or replication is catching up).
 */
export class LsnGate {
  private stableSince?: number;
  private lastKey?: string;

  constructor(
    readonly windowMs: number,
    private readonly options: GateOptions = {},
  ) {}

  observe(samples: LsnSample[], now: number): GateState {
    const k = samples.map(key).join('|');
    if (k !== this.lastKey) {
      this.stableSince = now;
      this.lastKey = k;
    }
    const stableForMs = now - (this.stableSince ?? now);
    const problems = samples
      .map((s) => problemOf(s, this.options.requireSynchronized === true))
      .filter((p): p is string => p !== undefined);
    if (problems.length) return { status: 'waiting', reason: problems.join('; '), stableForMs };
    if (stableForMs < this.windowMs) {
      return {
        status: 'waiting',
        reason: `LSNs equal, stable for ${Math.round(stableForMs / 1000)}s of the ${Math.round(this.windowMs / 1000)}s window`,
        stableForMs,
      };
    }
    return { status: 'passed', stableForMs };
  }

  /** Whether the last observation moved compared with the one before (workload still running). */
  restarted(now: number): boolean {
    return this.stableSince === now;
  }

  /**
   * When to take the next reading: every `intervalMs` (no backoff), and exactly at the end of the window once
   * the LSNs are equal and stable, so the gate passes at most one interval after the LSNs settled.
   */
  nextReadingInMs(state: GateState, intervalMs: number): number {
    if (state.status === 'waiting' && this.lastProblemFree(state)) {
      return Math.max(0, Math.min(intervalMs, this.windowMs - state.stableForMs));
    }
    return intervalMs;
  }

  private lastProblemFree(state: GateState): boolean {
    return state.status === 'waiting' && state.reason.startsWith('LSNs equal');
  }
}

function behind(what: string, lag: bigint): string {
  return lag > 0n ? `${what} behind by ${lag} LSN units` : `${what} ahead by ${-lag} LSN units`;
}

function problemOf(s: LsnSample, requireSynchronized: boolean): string | undefined {
  const db = s.database;
  if (s.managedInstanceHardened === undefined)
    return `${db}: managed instance last hardened LSN unknown (NULL)`;
  if (s.sqlServerEndOfLog === undefined) return `${db}: SQL Server end of log unknown (no local row)`;
  if (s.sqlServerEndOfLog !== s.managedInstanceHardened) {
    return `${db}: ${behind('managed instance', s.sqlServerEndOfLog - s.managedInstanceHardened)} (SQL Server end of log ${s.sqlServerEndOfLog})`;
  }
  if (s.sqlServerHardened === undefined) return `${db}: SQL Server last hardened LSN unknown (NULL)`;
  if (s.sqlServerHardened !== s.managedInstanceHardened) {
    return `${db}: ${behind('managed instance', s.sqlServerHardened - s.managedInstanceHardened)} (SQL Server last hardened ${s.sqlServerHardened})`;
  }
  if (requireSynchronized) {
    if (s.witnessConnected !== 'CONNECTED') {
      return `${db}: SQL Server sees the managed instance ${s.witnessConnected ?? 'not at all (no row for its replica)'}`;
    }
    if (s.witnessState !== 'SYNCHRONIZED') {
      return `${db}: SQL Server reports the managed instance ${s.witnessState ?? 'unknown'}, not SYNCHRONIZED`;
    }
    if (s.sqlServerState !== 'SYNCHRONIZED') {
      return `${db}: SQL Server's own database is ${s.sqlServerState ?? 'unknown'}, not SYNCHRONIZED`;
    }
    if (s.witnessHardened !== s.managedInstanceHardened) {
      return `${db}: SQL Server's view of the managed instance (${s.witnessHardened ?? 'NULL'}) differs from the instance's own (${s.managedInstanceHardened})`;
    }
  }
  return undefined;
}

export function describeSamples(samples: LsnSample[]): string {
  return samples
    .map(
      (s) =>
        `${s.database}: SQL Server hardened ${s.sqlServerHardened ?? 'NULL'} (end of log ${s.sqlServerEndOfLog ?? 'NULL'}, ${s.sqlServerState ?? 'no local row'}), managed instance hardened ${s.managedInstanceHardened ?? 'NULL'} (SQL Server sees it ${s.witnessConnected ?? 'not at all'}, ${s.witnessState ?? 'unknown'}, at ${s.witnessHardened ?? 'NULL'})`,
    )
    .join('; ');
}
