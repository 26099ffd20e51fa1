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

/** One reading of one database on both sides of the link. */
export interface LsnSample {
  database: string;
  sqlServerEndOfLog?: Lsn;
  sqlServerHardened?: Lsn;
  managedInstanceHardened?: Lsn;
}

export type GateState =
  { status: 'passed'; stableForMs: number } | { status: 'waiting'; reason: string; stableForMs: number };

const key = (s: LsnSample) =>
  `${s.database}:${s.sqlServerEndOfLog ?? '?'}:${s.sqlServerHardened ?? '?'}:${s.managedInstanceHardened ?? '?'}`;

/**
 * The LSN gate of the failover guide: for every database, the last hardened LSN on SQL Server and on the
 * managed instance are known and equal, and no LSN changed over the whole stability window. Any movement
 * restarts the window (the workload is still running, or replication is catching up).
 */
export class LsnGate {
  private stableSince?: number;
  private lastKey?: string;

  constructor(readonly windowMs: number) {}

  observe(samples: LsnSample[], now: number): GateState {
    const k = samples.map(key).join('|');
    if (k !== this.lastKey) {
      this.stableSince = now;
      this.lastKey = k;
    }
    const stableForMs = now - (this.stableSince ?? now);
    const problems = samples.map(problemOf).filter((p): p is string => p !== undefined);
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
}

function problemOf(s: LsnSample): string | undefined {
  if (s.sqlServerHardened === undefined) return `${s.database}: SQL Server last hardened LSN unknown (NULL)`;
  if (s.managedInstanceHardened === undefined)
    return `${s.database}: managed instance last hardened LSN unknown (NULL)`;
  if (s.sqlServerHardened !== s.managedInstanceHardened) {
    const lag = s.sqlServerHardened - s.managedInstanceHardened;
    return `${s.database}: managed instance ${lag > 0n ? `behind by ${lag}` : `ahead by ${-lag}`} LSN units`;
  }
  if (s.sqlServerEndOfLog !== undefined && s.sqlServerEndOfLog > s.sqlServerHardened) {
    return `${s.database}: end of log ${s.sqlServerEndOfLog} ahead of hardened ${s.sqlServerHardened} on SQL Server`;
  }
  return undefined;
}

export function describeSamples(samples: LsnSample[]): string {
  return samples
    .map(
      (s) =>
        `${s.database}: SQL Server hardened ${s.sqlServerHardened ?? 'NULL'} (end of log ${s.sqlServerEndOfLog ?? 'NULL'}), managed instance hardened ${s.managedInstanceHardened ?? 'NULL'}`,
    )
    .join('; ');
}
