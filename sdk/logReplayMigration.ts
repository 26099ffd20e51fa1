import * as pulumi from '@pulumi/pulumi';
import { makeProvider } from './provider';

/** The dynamic provider of LogReplayMigration (exported for tests and tools that serialize it). */
export const logReplayMigrationProvider = makeProvider('logReplayMigration');

export interface LogReplayMigrationArgs {
  /**
   * The managed instance, as an ARM id (e.g. `managedInstance.id` from @pulumi/azure-native). Or give
   * `subscriptionId`, `resourceGroupName` and `managedInstanceName` instead.
   */
  managedInstanceId?: pulumi.Input<string>;
  subscriptionId?: pulumi.Input<string>;
  resourceGroupName?: pulumi.Input<string>;
  managedInstanceName?: pulumi.Input<string>;
  /** Name of the database on the managed instance. Create-only. */
  databaseName: pulumi.Input<string>;
  /**
   * https URL of the blob container or folder holding the backups of this one database
   * (`https://<account>.blob.core.windows.net/<container>/<folder>`). No SAS here. Create-only.
   */
  storageContainerUri: pulumi.Input<string>;
  /** SAS token with exactly Read and List (sp=rl), without stored access policy. Always stored as a secret. */
  storageContainerSasToken?: pulumi.Input<string>;
  /** Read the container with the managed instance's identity instead of a SAS. Create-only. */
  useManagedIdentity?: pulumi.Input<boolean>;
  /** Collation of the database (default SQL_Latin1_General_CP1_CI_AS). Create-only. */
  collation?: pulumi.Input<string>;
  /** File name of the last log backup (highest LSN) in the folder; required for autoComplete and complete. */
  lastBackupName?: pulumi.Input<string>;
  /** Let the service complete by itself once lastBackupName is restored. Create-only. */
  autoComplete?: pulumi.Input<boolean>;
  /**
   * The cutover switch. false: keep restoring new backups. true: wait until lastBackupName is restored,
   * complete the restore (database online, read-write; irreversible) and wait until it is online.
   */
  complete?: pulumi.Input<boolean>;
  /** Deadline for the service to start restoring after LRS starts (default 15 minutes). */
  startDeadlineInMs?: pulumi.Input<number>;
  /** Deadline for the last backup to be restored when completing (default 6 hours). */
  restoreDeadlineInMs?: pulumi.Input<number>;
  /** Deadline for completion to bring the database online (default 30 minutes). */
  completeDeadlineInMs?: pulumi.Input<number>;
  /** How often to read the restore progress (default 30 s; ARM throttles per subscription). */
  pollIntervalInMs?: pulumi.Input<number>;
  /** Azure Resource Manager endpoint (sovereign clouds); default public cloud or SQLMI_ARM_ENDPOINT. */
  armEndpoint?: pulumi.Input<string>;
}

/**
 * One database migrated into an Azure SQL Managed Instance by Log Replay Service: start (restore from
 * backups in Blob storage), progress, complete (cutover) and stop. Destroying it before completion drops
 * only a database this resource created and that is still restoring; after completion the database is kept.
 */
export class LogReplayMigration extends pulumi.dynamic.Resource {
  declare readonly managedInstanceId: pulumi.Output<string>;
  declare readonly databaseName: pulumi.Output<string>;
  declare readonly databaseId: pulumi.Output<string | undefined>;
  declare readonly databaseStatus: pulumi.Output<string | undefined>;
  /** absent, starting, restoring, failed, completing, completed. */
  declare readonly phase: pulumi.Output<string>;
  declare readonly restoreStatus: pulumi.Output<string | undefined>;
  declare readonly percentCompleted: pulumi.Output<number | undefined>;
  declare readonly lastUploadedFileName: pulumi.Output<string | undefined>;
  declare readonly lastRestoredFileName: pulumi.Output<string | undefined>;
  declare readonly currentRestoringFileName: pulumi.Output<string | undefined>;
  declare readonly numberOfFilesDetected: pulumi.Output<number | undefined>;
  declare readonly numberOfFilesRestored: pulumi.Output<number | undefined>;
  declare readonly numberOfFilesQueued: pulumi.Output<number | undefined>;
  declare readonly numberOfFilesUnrestorable: pulumi.Output<number | undefined>;
  declare readonly unrestorableFiles: pulumi.Output<string[]>;
  declare readonly startedAt: pulumi.Output<string | undefined>;
  declare readonly completedAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: LogReplayMigrationArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      databaseId: undefined,
      databaseStatus: undefined,
      phase: undefined,
      restoreStatus: undefined,
      percentCompleted: undefined,
      lastUploadedFileName: undefined,
      lastRestoredFileName: undefined,
      currentRestoringFileName: undefined,
      numberOfFilesDetected: undefined,
      numberOfFilesRestored: undefined,
      numberOfFilesQueued: undefined,
      numberOfFilesUnrestorable: undefined,
      unrestorableFiles: undefined,
      startedAt: undefined,
      completedAt: undefined,
    };
    const sas =
      args.storageContainerSasToken === undefined ? undefined : pulumi.secret(args.storageContainerSasToken);
    super(
      logReplayMigrationProvider,
      name,
      // pulumiName: the dynamic provider gets no URN; its lines and warnings name the resource by this.
      { ...outputs, ...args, pulumiName: name, storageContainerSasToken: sas },
      opts,
      'pulumi-sqlmi-migration',
      'LogReplayMigration',
    );
  }
}
