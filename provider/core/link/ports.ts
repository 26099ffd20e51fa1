/** What the link workflow needs from the outside world: ARM (the MI side) and T-SQL on both sides. */
import type { Lsn } from '../lsn';
import type { ReplicationMode } from './inputs';

export interface LinkDatabaseView {
  databaseName: string;
  lastHardenedLsn?: string;
  replicaState?: string;
  synchronizationHealth?: string;
  connectedState?: string;
  /**
   * The replication lag ARM reports, in seconds, or undefined when it cannot tell: the service answers -1 then
   * (link-multi-database-update seq 19), which never means "caught up".
   */
  lagSeconds?: number;
}

export interface LinkView {
  id?: string;
  replicationMode?: string;
  instanceLinkRole?: string;
  partnerLinkRole?: string;
  instanceAvailabilityGroupName?: string;
  partnerAvailabilityGroupName?: string;
  linkState?: string;
  databases: LinkDatabaseView[];
}

/** What the cutover reads of the managed instance, once per operation. */
export interface InstanceView {
  tier?: string;
  /** The update policy: AlwaysUpToDate, SQLServer2022 or SQLServer2025 (undefined when ARM does not say). */
  databaseFormat?: string;
}

export interface LinkArmPort {
  getInstance(): Promise<InstanceView>;
  getLink(): Promise<LinkView | undefined>;
  /** PATCH of replicationMode on the managed instance side (LRO awaited). */
  setReplicationMode(mode: ReplicationMode): Promise<void>;
  /**
   * DELETE of the link: breaks it; the MI databases become read-write (LRO awaited). A link that is gone
   * (404, 204, or the recorded 202 whose operation fails OperationIdNotFound) counts as removed.
   */
  deleteLink(): Promise<void>;
  /** POST failover (LRO awaited). */
  failover(type: 'Planned' | 'ForcedAllowDataLoss'): Promise<void>;
}

export type AvailabilityMode = 'SYNCHRONOUS_COMMIT' | 'ASYNCHRONOUS_COMMIT';

/**
 * Per call: the deadline the request serves (ms since the epoch, on the operation's clock). The adapter bounds
 * the request by it, retries transient failures of reads within it and fails with code 'Timeout' when it
 * passes. Without it, the session's operation budget applies.
 */
export interface SqlCallOptions {
  deadline?: number;
}

export interface ReplicaRow {
  agName: string;
  replicaServerName: string;
  availabilityMode: string;
  role?: string;
  connectedState?: string;
  synchronizationHealth?: string;
}

export interface ServerInfo {
  productVersion: string;
  productUpdateLevel?: string;
  engineEdition?: number;
}

/**
 * T-SQL on SQL Server. The state-changing calls (setDagMode, failover, dropAvailabilityGroup) are never repeated
 * blindly: after a lost answer the adapter reads whether the change took effect before sending it again.
 */
export interface SqlServerPort {
  info(opts?: SqlCallOptions): Promise<ServerInfo>;
  dagReplicas(dag: string, opts?: SqlCallOptions): Promise<ReplicaRow[]>;
  setDagMode(
    dag: string,
    sqlServerAg: string,
    managedInstanceAg: string,
    mode: AvailabilityMode,
    opts?: SqlCallOptions,
  ): Promise<void>;
  /** Every row of the DAG's databases in sys.dm_hadr_database_replica_states (one query, any order). */
  lsns(dag: string, opts?: SqlCallOptions): Promise<SqlServerLsnRow[]>;
  failover(dag: string, opts?: SqlCallOptions): Promise<void>;
  /** ALTER AVAILABILITY GROUP [dag] SET (ROLE = SECONDARY): ends a split brain after a forced failover. */
  setDagRoleSecondary(dag: string, opts?: SqlCallOptions): Promise<void>;
  availabilityGroup(name: string, opts?: SqlCallOptions): Promise<{ distributed: boolean } | undefined>;
  /**
   * Whether the AG exists and what uses it (its databases, the DAGs it is a member of), in one query (issue 9);
   * undefined: no AG of that name.
   */
  availabilityGroupUsage(
    ag: string,
    opts?: SqlCallOptions,
  ): Promise<{ databases: string[]; dagCount: number } | undefined>;
  dropAvailabilityGroup(name: string, opts?: SqlCallOptions): Promise<void>;
  close(): Promise<void>;
}

/** One row of sys.dm_hadr_database_replica_states on SQL Server (DAG group), with the replica's connection. */
export interface SqlServerLsnRow {
  database: string;
  /** true: SQL Server's own database; false: what SQL Server knows of the remote (managed instance) replica. */
  isLocal: boolean;
  syncState?: string;
  connectedState?: string;
  endOfLog?: Lsn;
  hardened?: Lsn;
}

/** One local row of sys.dm_hadr_database_replica_states on the managed instance. */
export interface ManagedInstanceLsnRow {
  database: string;
  primary?: boolean;
  syncState?: string;
  endOfLog?: Lsn;
  hardened?: Lsn;
  /** The managed instance's own UTC clock when it answered (style 126, as `utcNow` gives it). */
  utcNow?: string;
}

export interface ManagedInstanceSqlPort {
  /** The local rows of every replicated database (one query); Business Critical: the primary replica's. */
  lsns(businessCritical: boolean, opts?: SqlCallOptions): Promise<ManagedInstanceLsnRow[]>;
  databaseState(
    database: string,
    opts?: SqlCallOptions,
  ): Promise<{ state: string; readOnly: boolean } | undefined>;
  /** The managed instance's own UTC clock (SYSUTCDATETIME, style 126): what msdb dates compare with. */
  utcNow(opts?: SqlCallOptions): Promise<string>;
  /**
   * Finish time of the first full, not copy-only backup of this database (its database_guid) that started at
   * or after `sinceUtc` (the managed instance's own clock, as `utcNow` gives it), if any.
   */
  firstFullBackup(database: string, sinceUtc: string, opts?: SqlCallOptions): Promise<string | undefined>;
  close(): Promise<void>;
}
