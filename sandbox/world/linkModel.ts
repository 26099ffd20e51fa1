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
  /**
   * Number and text chosen by the sandbox (no public source): a failover that keeps the link needs the
   * managed instance's update policy to match the SQL Server version (update-policy.md, "Managed Instance
   * link"); the stand-in refuses such a failover at the failover itself, the hardest place for the provider.
   */
  updatePolicyMismatch: (name: string, policy: string, version: string) =>
    new EngineError(
      41199,
      `The distributed availability group '${name}' cannot fail over: the managed instance's update policy ` +
        `'${policy}' does not match SQL Server ${version}. A failover that keeps the link needs the SQL Server ` +
        '2022 update policy for SQL Server 2022 and the SQL Server 2025 update policy for SQL Server 2025.',
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

/** A row of msdb.dbo.backupset. Dates are UTC here; the T-SQL layer shows them in the instance's local time. */
export interface BackupRow {
  databaseName: string;
  /** database_guid: a new value for every database created (or restored) under a name. */
  databaseGuid: string;
  type: 'D' | 'I' | 'L';
  isCopyOnly: boolean;
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
    | 'role-set'
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
  managedInstance?: {
    name?: string;
    tier?: ServiceTier;
    secondaryReplicas?: number;
    /**
     * Minutes the instance's time zone (timezoneId) is ahead of UTC: msdb dates are local time. Default 0
     * (UTC, the default time zone of a managed instance).
     */
    utcOffsetMinutes?: number;
  };
  /** Simulated ms from "read-write" to the managed instance's first full backup. Default 5 min. */
  firstBackupDelayMs?: number;
  /** Simulated ms of automatic seeding once both sides of a link exist. Default 30 s. */
  seedingMs?: number;
  /** How far the ARM view (lastHardenedLsn …) lags behind the engine, simulated ms. Default 10 s. */
  armLagMs?: number;
  /** Business Critical: each local secondary replica trails the primary replica by this many LSN units. */
  bcSecondaryLsnOffset?: bigint;
  /**
   * How far SQL Server's view of the managed instance (the remote row of sys.dm_hadr_database_replica_states,
   * fed by the secondary's progress messages) lags the managed instance itself, simulated ms. Default 500 (no
   * source gives a figure: chosen so the witness is never ahead of the instance).
   */
  witnessLagMs?: number;
  /** Row order of sys.dm_hadr_database_replica_states answers (see LinkWorld.shuffle). Default 'reversed'. */
  dmvRowOrder?: 'reversed' | 'rotating';
  /**
   * The managed instance takes a full backup of a linked database while it is still a secondary, this many
   * simulated ms after seeding (issue 7 point 11: "the managed instance also backs up while it is a
   * secondary"; no doc gives the schedule: chosen hardest, before any cutover a test makes). Default 60 s.
   */
  secondaryFullBackupDelayMs?: number;
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
  /** SQL Server's own view of its role (PRIMARY while MI is primary too = split brain after a forced failover). */
  sqlServerRole: ReplicaRole | null;
  /** The managed instance's member name in SQL Server's DAG definition. */
  sqlServerMember: string | null;
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

/** A row of sys.dm_hadr_database_replica_states (joined to the replica's connected state). */
export interface LsnRow {
  agName: string;
  databaseName: string;
  /** 1 for the database of this instance, 0 for what this (primary) instance knows of a remote replica. */
  isLocal: boolean;
  synchronizationState: string;
  isPrimaryReplica: boolean;
  /** connected_state_desc of the row's replica (sys.dm_hadr_availability_replica_states). */
  connectedState: 'CONNECTED' | 'DISCONNECTED' | null;
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
  linkMode?: string;
  instanceLinkRole: LinkRole;
  partnerLinkRole: LinkRole;
  /** Right after a create the service answers a sparse GET (link-* recordings README): no databases, modes. */
  sparse: boolean;
  databases: Array<{
    databaseName: string;
    instanceReplicaId: string;
    partnerReplicaId: string;
    /** Recorded values (link-*.jsonl README): InitiatingLink, LinkSynchronizing, LinkSynchronizationError. */
    replicaState: 'InitiatingLink' | 'LinkSynchronizing' | 'LinkSynchronizationError';
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
    /** Seconds; -1 when the service cannot tell (recorded: link-multi-database-update seq 19). */
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
  linkMode?: string;
  /** Simulated ms the resource answers sparse GETs after the create (ARM PUT only). */
  sparseForMs?: number;
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

/** Whether the managed instance's update policy lets `version` fail the link over and keep it. */
export function updatePolicyMatches(version: string, policy: string): boolean {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (major === 16) return policy.toLowerCase() === 'sqlserver2022';
  if (major === 17) return policy.toLowerCase() === 'sqlserver2025';
  return false;
}

/** ProductUpdateLevel of a build when none is configured: CU13 for its first build, RTM for RTM builds. */
export function defaultUpdateLevel(version: string): string | null {
  const [major, , build] = version.split('.').map((p) => Number.parseInt(p, 10));
  if (major === 16 && build === SQL2022_CU13_BUILD) return 'CU13';
  return build < 2000 ? 'RTM' : null;
}
