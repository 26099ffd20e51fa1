import * as pulumi from '@pulumi/pulumi';
import { makeProvider } from './provider';

/** The dynamic provider of DistributedAvailabilityGroupLink (exported for tests and tools that serialize it). */
export const distributedAvailabilityGroupLinkProvider = makeProvider('distributedAvailabilityGroupLink');

/** How to reach SQL Server or the managed instance with T-SQL. The whole object is stored as a secret. */
export interface SqlConnectionArgs {
  server: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  /** 'sql' (login + password, default), 'ntlm' (Windows: domain, userName, password) or 'entra' (DefaultAzureCredential). */
  authentication?: pulumi.Input<'sql' | 'ntlm' | 'entra'>;
  userName?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  domain?: pulumi.Input<string>;
  /** Encryption is on by default (required by the managed instance); 'strict' is TDS 8. */
  encrypt?: pulumi.Input<boolean | 'strict'>;
  /** Only for test servers: skip certificate validation. Prefer caCertificate. */
  trustServerCertificate?: pulumi.Input<boolean>;
  /** PEM of the CA that issued the server certificate (private CAs). */
  caCertificate?: pulumi.Input<string>;
  connectTimeoutInMs?: pulumi.Input<number>;
}

export interface DistributedAvailabilityGroupLinkArgs {
  /** The managed instance as an ARM id (e.g. from @pulumi/azure-native), or the three parts below. */
  managedInstanceId?: pulumi.Input<string>;
  subscriptionId?: pulumi.Input<string>;
  resourceGroupName?: pulumi.Input<string>;
  managedInstanceName?: pulumi.Input<string>;
  /** Name of the existing link (the distributed availability group). Create-only. */
  linkName: pulumi.Input<string>;
  /** The availability group on SQL Server that the link replicates. Create-only. */
  sqlServerAvailabilityGroupName: pulumi.Input<string>;
  /**
   * The managed instance's member name in the link; SQL Server's DAG definition wins (older links name the
   * managed instance itself), this input is used only when SQL Server has no DAG.
   */
  managedInstanceAvailabilityGroupName?: pulumi.Input<string>;
  /** Databases the link replicates. Create-only. */
  databaseNames: pulumi.Input<pulumi.Input<string>[]>;
  /** T-SQL connection to the SQL Server primary replica. Secret. */
  sqlServer: pulumi.Input<SqlConnectionArgs>;
  /** T-SQL connection to the managed instance. Secret. */
  managedInstanceSql: pulumi.Input<SqlConnectionArgs>;
  /** 'Async' (default) or 'Sync'. Changing it switches both sides and verifies them. */
  replicationMode?: pulumi.Input<'Async' | 'Sync'>;
  /** The cutover switch: LSN gate, failover, managed instance databases read-write. Irreversible. */
  cutover?: pulumi.Input<boolean>;
  /** Let the cutover switch an Async link to Sync first (otherwise set replicationMode 'Sync' beforehand). */
  switchToSyncForCutover?: pulumi.Input<boolean>;
  /** How long the LSNs must stay equal and unchanged (default 60 s; at least 3 poll intervals). */
  lsnStabilityWindowInMs?: pulumi.Input<number>;
  /** Accept a stability window shorter than 3 LSN poll intervals (a weaker "workload stopped" proof). */
  allowShortStabilityWindow?: pulumi.Input<boolean>;
  /** How often to read the LSNs on both sides (default 5 s). */
  lsnPollIntervalInMs?: pulumi.Input<number>;
  /** Deadline of the LSN gate (default 30 min). On timeout the error shows the last LSNs seen. */
  lsnDeadlineInMs?: pulumi.Input<number>;
  /**
   * 'auto' (default): T-SQL FAILOVER when SQL Server 2022 CU13+ meets the managed instance's SQL Server 2022
   * update policy (or SQL Server 2025 the 2025 policy), else break the link; decided in the first step of up,
   * from SERVERPROPERTY and ARM databaseFormat. 'breakLink', 'tsqlFailover' (refused up front when impossible).
   */
  failoverRoute?: pulumi.Input<'auto' | 'breakLink' | 'tsqlFailover'>;
  /** Consent to fail over when the LSN gate does not pass: transactions not on the MI are LOST. Default false. */
  allowDataLoss?: pulumi.Input<boolean>;
  /**
   * Required with allowDataLoss (unless failoverRoute 'breakLink'): a forced failover leaves SQL Server primary
   * and writable (split brain). 'setSqlServerSecondary' runs ALTER AVAILABILITY GROUP [link] SET (ROLE =
   * SECONDARY) on SQL Server right after it; 'leaveSqlServerPrimary' leaves that to you.
   */
  afterForcedFailover?: pulumi.Input<'setSqlServerSecondary' | 'leaveSqlServerPrimary'>;
  /** Keep the link after the failover (for failback). By default the cutover removes it (ARM DELETE). */
  keepLinkAfterFailover?: pulumi.Input<boolean>;
  /** What cleanup may drop on SQL Server after cutover: 'none', 'link' (the DAG, default), 'linkAndAvailabilityGroup'. */
  cleanup?: pulumi.Input<'none' | 'link' | 'linkAndAvailabilityGroup'>;
  /** Run the cleanup during up right after the cutover instead of on destroy. */
  cleanupAfterCutover?: pulumi.Input<boolean>;
  /** Deadline for the managed instance's first full backup, which cleanup waits for (default 60 min). */
  firstBackupDeadlineInMs?: pulumi.Input<number>;
  /** Destroy before cutover: 'refuse' (default), 'forget' (stack only), 'breakLink' (break it, SQL Server stays primary). */
  beforeCutoverDelete?: pulumi.Input<'refuse' | 'forget' | 'breakLink'>;
  /** Deadline of each Azure operation and verification (default 15 min). */
  operationDeadlineInMs?: pulumi.Input<number>;
  /** Poll interval of Azure operations and verifications (default 5 s). */
  pollIntervalInMs?: pulumi.Input<number>;
  armEndpoint?: pulumi.Input<string>;
}

export interface LinkDatabaseState {
  databaseName: string;
  sqlServerLastHardenedLsn: string | null;
  sqlServerEndOfLogLsn: string | null;
  managedInstanceLastHardenedLsn: string | null;
  /** SQL Server's own end of log minus the managed instance's last hardened LSN. */
  lagLsn: string | null;
  /** ARM's replication lag in seconds; null when ARM cannot tell (it answers -1 then). */
  replicationLagSeconds: number | null;
}

/**
 * The Managed Instance link of a migration: the sync switch, the LSN-gated cutover and the cleanup on
 * SQL Server, for an existing link (distributed availability group).
 */
export class DistributedAvailabilityGroupLink extends pulumi.dynamic.Resource {
  declare readonly managedInstanceId: pulumi.Output<string>;
  declare readonly linkName: pulumi.Output<string>;
  declare readonly managedInstanceAvailabilityGroupName: pulumi.Output<string | null>;
  declare readonly linkState: pulumi.Output<string>;
  declare readonly instanceLinkRole: pulumi.Output<string | null>;
  declare readonly partnerLinkRole: pulumi.Output<string | null>;
  declare readonly managedInstanceReplicationMode: pulumi.Output<string | null>;
  declare readonly sqlServerReplicationMode: pulumi.Output<string | null>;
  declare readonly databases: pulumi.Output<LinkDatabaseState[]>;
  declare readonly cutoverAt: pulumi.Output<string | null>;
  /** The managed instance's own clock at the cutover (what the first-backup wait compares msdb with). */
  declare readonly managedInstanceCutoverAt: pulumi.Output<string | null>;
  declare readonly failoverRouteUsed: pulumi.Output<string | null>;
  declare readonly failoverRouteReason: pulumi.Output<string | null>;
  declare readonly linkRemovedAtFailover: pulumi.Output<boolean | null>;
  /**
   * When the cutover sent its irreversible call (T-SQL FAILOVER, ForcedAllowDataLoss, or the DELETE breaking the
   * link), and when it sent the link's removal. Also kept after a failed `up`, so the next run follows those
   * calls instead of repeating them.
   */
  declare readonly failoverSentAt: pulumi.Output<string | null>;
  declare readonly linkRemovalSentAt: pulumi.Output<string | null>;
  declare readonly sqlServerRole: pulumi.Output<string | null>;
  /** True when the failover was forced; null when unknown (a run resumed after an interrupted failover, with allowDataLoss set). */
  declare readonly forcedFailover: pulumi.Output<boolean | null>;
  declare readonly finalLsns: pulumi.Output<Record<string, string | null> | null>;
  declare readonly cleanupDone: pulumi.Output<boolean>;
  declare readonly cleanupAt: pulumi.Output<string | null>;

  constructor(name: string, args: DistributedAvailabilityGroupLinkArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      linkState: undefined,
      instanceLinkRole: undefined,
      partnerLinkRole: undefined,
      managedInstanceReplicationMode: undefined,
      sqlServerReplicationMode: undefined,
      databases: undefined,
      cutoverAt: undefined,
      managedInstanceCutoverAt: undefined,
      failoverRouteUsed: undefined,
      failoverRouteReason: undefined,
      linkRemovedAtFailover: undefined,
      failoverSentAt: undefined,
      linkRemovalSentAt: undefined,
      sqlServerRole: undefined,
      forcedFailover: undefined,
      finalLsns: undefined,
      cleanupDone: undefined,
      cleanupAt: undefined,
    };
    super(
      distributedAvailabilityGroupLinkProvider,
      name,
      {
        managedInstanceAvailabilityGroupName: undefined,
        ...outputs,
        ...args,
        // The dynamic provider gets no URN; its lines and warnings name the resource by this.
        pulumiName: name,
        sqlServer: pulumi.secret(args.sqlServer),
        managedInstanceSql: pulumi.secret(args.managedInstanceSql),
      },
      {
        ...opts,
        additionalSecretOutputs: [
          ...(opts?.additionalSecretOutputs ?? []),
          'sqlServer',
          'managedInstanceSql',
        ],
      },
      'pulumi-sqlmi-migration',
      'DistributedAvailabilityGroupLink',
    );
  }
}
