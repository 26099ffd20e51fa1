/** What the link workflow needs from the outside world: ARM (the MI side) and T-SQL on both sides. */
import type { Lsn } from '../lsn';
import type { ReplicationMode } from './inputs';

export interface LinkDatabaseView {
  databaseName: string;
  lastHardenedLsn?: string;
  replicaState?: string;
  synchronizationHealth?: string;
  connectedState?: string;
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

export interface LinkArmPort {
  getInstance(): Promise<{ tier?: string }>;
  getLink(): Promise<LinkView | undefined>;
  /** PATCH of replicationMode on the managed instance side (LRO awaited). */
  setReplicationMode(mode: ReplicationMode): Promise<void>;
  /** DELETE of the link: breaks it; the MI databases become read-write (LRO awaited; 404 is success). */
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
  lsns(
    dag: string,
    database: string,
    opts?: SqlCallOptions,
  ): Promise<{ endOfLog?: Lsn; hardened?: Lsn; syncState?: string } | undefined>;
  failover(dag: string, opts?: SqlCallOptions): Promise<void>;
  availabilityGroup(name: string, opts?: SqlCallOptions): Promise<{ distributed: boolean } | undefined>;
  availabilityGroupUsage(
    ag: string,
    opts?: SqlCallOptions,
  ): Promise<{ databases: string[]; dagCount: number }>;
  dropAvailabilityGroup(name: string, opts?: SqlCallOptions): Promise<void>;
  close(): Promise<void>;
}

export interface ManagedInstanceSqlPort {
  lsns(
    database: string,
    businessCritical: boolean,
    opts?: SqlCallOptions,
  ): Promise<{ hardened?: Lsn; endOfLog?: Lsn; primary?: boolean }[]>;
  databaseState(
    database: string,
    opts?: SqlCallOptions,
  ): Promise<{ state: string; readOnly: boolean } | undefined>;
  /** Finish time of the first full backup the managed instance took of the database, if any. */
  firstFullBackup(database: string, opts?: SqlCallOptions): Promise<string | undefined>;
  close(): Promise<void>;
}
