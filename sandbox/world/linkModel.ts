/**
 * Types, error texts and the LSN stream of the Managed Instance link world (link.ts); pure, no I/O.
 */
import { createHash } from 'node:crypto';
import type { SimClock } from './clock';

export type Side = 'sqlServer' | 'managedInstance';
export type AvailabilityMode = 'SYNCHRONOUS_COMMIT' | 'ASYNCHRONOUS_COMMIT';
export type ReplicaRole = 'PRIMARY' | 'SECONDARY';
export type ServiceTier = 'GeneralPurpose' | 'BusinessCritical';
export type ReplicationMode = 'Async' | 'Sync';
export type LinkRole = 'Primary' | 'Secondary';

/** First build of SQL Server 2022 CU13 (KB5036432): T-SQL FAILOVER of a link is supported from here on. */
const SQL2022_CU13_BUILD = 4125;

/** An engine error as SQL Server would raise it (number + message); the T-SQL layer turns it into a SqlError. */
export class EngineError extends Error {
  constructor(
    readonly number: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** Real-looking SQL Server error texts used by the link world (numbers are SQL Server's where known). */
export const engineErrors = {
  alterMissing: (name: string) =>
    new EngineError(
      15151,
      `Cannot alter the availability group '${name}', because it does not exist or you do not have permission.`,
    ),
  dropMissing: (name: string) =>
    new EngineError(
      15151,
      `Cannot drop the availability group '${name}', because it does not exist or you do not have permission.`,
    ),
  referenced: (name: string, by: string) =>
    new EngineError(
      3729,
      `Cannot drop availability group '${name}' because it is being referenced by object '${by}'.`,
    ),
  alreadyPrimary: (name: string) =>
    new EngineError(
      41122,
      `Cannot failover availability group '${name}' to this instance of SQL Server. The local availability replica ` +
        'is already the primary replica of the availability group. To failover this availability group to another ' +
        'instance, run the failover command on that instance. If local instance is intended to host the primary ' +
        'replica of the availability group, then no action is required.',
    ),
  notSynchronized: (name: string) =>
    new EngineError(
      41142,
      `The availability replica for availability group '${name}' on this instance of SQL Server cannot become the ` +
        'primary replica. One or more databases are not synchronized or have not joined the availability group. If ' +
        'the availability replica uses the asynchronous-commit mode, consider performing a forced manual failover ' +
        '(with possible data loss). Otherwise, once all local secondary databases are joined and synchronized, you ' +
        'can perform a planned manual failover to this secondary replica (without data loss). For more ' +
        'information, see SQL Server Books Online.',
    ),
  /** Number chosen by the sandbox (no public source found): MODIFY AVAILABILITY GROUP ON needs a DAG. */
  notDistributed: (name: string) =>
    new EngineError(
      41195,
      `Availability group '${name}' is not a distributed availability group. MODIFY AVAILABILITY GROUP ON can ` +
        'only be used with a distributed availability group.',
    ),
  notSupported: (what: string) =>
    new EngineError(
      40517,
      `Keyword or statement option '${what}' is not supported in this version of SQL Server.`,
    ),
};

/** End-of-log LSN over time: piecewise linear segments (start time, LSN at start, LSN per second). */
export class LogStream {
  private segments: Array<{ at: number; lsn: bigint; rate: number }>;

  constructor(at: number, lsn: bigint) {
    this.segments = [{ at, lsn, rate: 0 }];
  }

  /** The LSN at time `t` (times before the first segment read the first segment's start). */
  at(t: number): bigint {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i];
      if (s.at <= t) return s.lsn + BigInt(Math.floor((s.rate * (t - s.at)) / 1000));
    }
    return this.segments[0].lsn;
  }

  /** LSN units per simulated second of the latest segment. */
  get rate(): number {
    return this.segments[this.segments.length - 1].rate;
  }

  setRate(t: number, rate: number): void {
    this.push(t, this.at(t), rate);
  }

  set(t: number, lsn: bigint): void {
    this.push(t, lsn, this.rate);
  }

  private push(at: number, lsn: bigint, rate: number): void {
    while (this.segments.length > 1 && this.segments[this.segments.length - 1].at >= at) this.segments.pop();
    if (this.segments.length === 1 && this.segments[0].at >= at) this.segments = [];
    this.segments.push({ at, lsn, rate });
    if (this.segments.length > 4096) this.segments.splice(0, this.segments.length - 4096);
  }
}

export interface BackupRow {
  databaseName: string;
  type: 'D' | 'I' | 'L';
  backupStartDate: Date;
  backupFinishDate: Date;
  firstLsn: bigint;
  lastLsn: bigint;
}

export interface LinkEvent {
  at: number;
  kind:
    | 'link-created'
    | 'mode-changed'
    | 'failover'
    | 'forced-failover'
    | 'link-removed'
    | 'ag-dropped'
    | 'replication-broken'
    | 'replication-restored'
    | 'first-full-backup';
  detail: Record<string, unknown>;
}

export interface Credentials {
  /** SQL logins accepted by SQL Server. */
  sqlServer: Array<{ user: string; password: string }>;
  /** SQL logins accepted by the managed instance. */
  managedInstance: Array<{ user: string; password: string }>;
  /** Entra ID access tokens accepted by either side. */
  tokens: string[];
  /** Accepts further tokens (the sandbox's token authority: tokens it issued for Azure SQL). */
  acceptToken?: (token: string) => boolean;
}

export interface LinkWorldOptions {
  clock: SimClock;
  sqlServer?: { name?: string; version?: string; updateLevel?: string | null; engineEdition?: 2 | 3 };
  managedInstance?: { name?: string; tier?: ServiceTier; secondaryReplicas?: number };
  /** Simulated ms from "read-write" to the managed instance's first full backup. Default 5 min. */
  firstBackupDelayMs?: number;
  /** Simulated ms of automatic seeding once both sides of a link exist. Default 30 s. */
  seedingMs?: number;
  /** How far the ARM view (lastHardenedLsn …) lags behind the engine, simulated ms. Default 10 s. */
  armLagMs?: number;
  /** Business Critical: each local secondary replica trails the primary replica by this many LSN units. */
  bcSecondaryLsnOffset?: bigint;
  /** Report NULL as last_hardened_lsn of an asynchronous primary (seen in the field). Default false. */
  nullHardenedOnAsyncPrimary?: boolean;
  /** Default LSN of new databases. Above 2^53 on purpose. */
  initialLsn?: bigint;
  credentials?: Partial<Credentials>;
}

/** Read-only snapshot types for tests. */
export interface DatabaseSnapshot {
  name: string;
  id: number;
  state: 'ONLINE' | 'RESTORING';
  readOnly: boolean;
  role: ReplicaRole | null;
  endOfLogLsn: bigint;
  lastHardenedLsn: bigint;
  workloadLsnPerSecond: number;
  firstFullBackupAt: number | null;
}

export interface LinkSnapshot {
  name: string;
  sqlServerAg: string;
  miAg: string;
  databases: string[];
  onSqlServer: boolean;
  onManagedInstance: boolean;
  primary: Side;
  connected: boolean;
  synchronousCommit: boolean;
  sqlServerModes: { sqlServerAg: AvailabilityMode; miAg: AvailabilityMode } | null;
  replicationMode: ReplicationMode | null;
}

export interface WorldSnapshot {
  at: number;
  sqlServer: {
    name: string;
    version: string;
    updateLevel: string | null;
    supportsTsqlFailover: boolean;
    availabilityGroups: Array<{ name: string; databases: string[] }>;
    databases: DatabaseSnapshot[];
  };
  managedInstance: { name: string; tier: ServiceTier; databases: DatabaseSnapshot[] };
  links: LinkSnapshot[];
  lag: { ms: number; lsn: bigint };
  replication: 'up' | 'broken';
  events: LinkEvent[];
}

/** Row shapes the T-SQL layer turns into result sets. */
export interface ReplicaRow {
  agName: string;
  replicaServerName: string;
  availabilityMode: AvailabilityMode;
  /** null: no row in sys.dm_hadr_availability_replica_states (remote replica seen from a secondary). */
  state: {
    connected: 'CONNECTED' | 'DISCONNECTED';
    role: ReplicaRole;
    operational: string | null;
    health: string;
  } | null;
}

export interface LsnRow {
  agName: string;
  databaseName: string;
  synchronizationState: string;
  isPrimaryReplica: boolean;
  endOfLogLsn: bigint | null;
  lastHardenedLsn: bigint | null;
}

export interface DatabaseRow {
  name: string;
  state: 'ONLINE' | 'RESTORING';
  readOnly: boolean;
  userAccess: 'MULTI_USER';
}

/** The managed instance's link resource, neutral form (linkArm.ts renders the two ARM property models). */
export interface LinkResourceView {
  name: string;
  id: string;
  partnerAvailabilityGroupName: string;
  instanceAvailabilityGroupName: string;
  partnerEndpoint: string;
  replicationMode: ReplicationMode;
  failoverMode: 'None' | 'Manual';
  seedingMode: 'Automatic' | 'Manual';
  instanceLinkRole: LinkRole;
  partnerLinkRole: LinkRole;
  databases: Array<{
    databaseName: string;
    instanceReplicaId: string;
    partnerReplicaId: string;
    replicaState: 'Seeding' | 'Catchup';
    seedingProgress: string;
    synchronizationHealth: 'HEALTHY' | 'PARTIALLY_HEALTHY' | 'NOT_HEALTHY';
    connectedState: 'CONNECTED' | 'DISCONNECTED';
    /** Hardened on the secondary side, as ARM last saw it (lags the engine by armLagMs). */
    lastHardenedLsn: bigint;
    lastHardenedTime: Date;
    lastReceivedLsn: bigint;
    lastCommitLsn: bigint;
    lastSentLsn: bigint;
    lastBackupLsn: bigint | null;
    lastBackupTime: Date | null;
    lagSeconds: number;
  }>;
}

export interface CreateLinkSpec {
  name: string;
  partnerAvailabilityGroupName: string;
  instanceAvailabilityGroupName: string;
  databases: string[];
  partnerEndpoint?: string;
  replicationMode?: ReplicationMode;
  failoverMode?: 'None' | 'Manual';
  seedingMode?: 'Automatic' | 'Manual';
}

/** Deterministic uuid-shaped id derived from a string (stable across runs, unlike randomUUID). */
export function stableUuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** true for SQL Server 2022 CU13 (16.0.4125) and later: `ALTER AVAILABILITY GROUP [dag] FAILOVER` works. */
export function supportsTsqlLinkFailover(version: string): boolean {
  const [major, , build] = version.split('.').map((p) => Number.parseInt(p, 10));
  return major > 16 || (major === 16 && build >= SQL2022_CU13_BUILD);
}

/** ProductUpdateLevel of a build when none is configured: CU13 for its first build, RTM for RTM builds. */
export function defaultUpdateLevel(version: string): string | null {
  const [major, , build] = version.split('.').map((p) => Number.parseInt(p, 10));
  if (major === 16 && build === SQL2022_CU13_BUILD) return 'CU13';
  return build < 2000 ? 'RTM' : null;
}
