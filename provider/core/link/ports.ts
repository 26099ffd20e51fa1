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

export interface SqlServerPort {
  info(): Promise<ServerInfo>;
  dagReplicas(dag: string): Promise<ReplicaRow[]>;
  setDagMode(
    dag: string,
    sqlServerAg: string,
    managedInstanceAg: string,
    mode: AvailabilityMode,
  ): Promise<void>;
  lsns(
    dag: string,
    database: string,
  ): Promise<{ endOfLog?: Lsn; hardened?: Lsn; syncState?: string } | undefined>;
  failover(dag: string): Promise<void>;
  availabilityGroup(name: string): Promise<{ distributed: boolean } | undefined>;
  availabilityGroupUsage(ag: string): Promise<{ databases: string[]; dagCount: number }>;
  dropAvailabilityGroup(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface ManagedInstanceSqlPort {
  lsns(
    database: string,
    businessCritical: boolean,
  ): Promise<{ hardened?: Lsn; endOfLog?: Lsn; primary?: boolean }[]>;
  databaseState(database: string): Promise<{ state: string; readOnly: boolean } | undefined>;
  /** Finish time of the first full backup the managed instance took of the database, if any. */
  firstFullBackup(database: string): Promise<string | undefined>;
  close(): Promise<void>;
}
