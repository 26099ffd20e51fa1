import * as pulumi from '@pulumi/pulumi';
import {
  DistributedAvailabilityGroupLink,
  type DistributedAvailabilityGroupLinkArgs,
} from './distributedAvailabilityGroupLink';
import { LogReplayMigration, type LogReplayMigrationArgs } from './logReplayMigration';

/** One database of a wave, migrated by Log Replay Service. */
export interface WaveDatabaseArgs {
  databaseName: string;
  /** The folder holding this database's backups (one folder per database). */
  storageContainerUri: pulumi.Input<string>;
  /** SAS (sp=rl) for the folder; default the wave's `storageContainerSasToken`. Secret. */
  storageContainerSasToken?: pulumi.Input<string>;
  useManagedIdentity?: pulumi.Input<boolean>;
  lastBackupName?: pulumi.Input<string>;
  /** Cut this database over (complete the restore); default the wave's `cutover`. Irreversible. */
  complete?: pulumi.Input<boolean>;
}

/** One Managed Instance link of a wave (the managed instance is the wave's). */
export type WaveLinkArgs = Omit<
  DistributedAvailabilityGroupLinkArgs,
  'managedInstanceId' | 'subscriptionId' | 'resourceGroupName' | 'managedInstanceName'
>;

/** Settings every LogReplayMigration of the wave gets (each database may override what it sets itself). */
export type WaveLrsSettings = Pick<
  LogReplayMigrationArgs,
  | 'startDeadlineInMs'
  | 'restoreDeadlineInMs'
  | 'completeDeadlineInMs'
  | 'pollIntervalInMs'
  | 'collation'
  | 'autoComplete'
  | 'armEndpoint'
>;

export interface MigrationWaveArgs {
  /** The managed instance every database and link of the wave moves to (an ARM id). */
  managedInstanceId: pulumi.Input<string>;
  databases?: WaveDatabaseArgs[];
  links?: WaveLinkArgs[];
  /** Default SAS of the databases' folders. Secret. */
  storageContainerSasToken?: pulumi.Input<string>;
  /**
   * Cut the whole wave over: every database completes and every link fails over, unless a database sets
   * `complete` or a link sets `cutover` itself. Default false.
   */
  cutover?: pulumi.Input<boolean>;
  lrs?: WaveLrsSettings;
}

/**
 * A wave of a migration: databases (LogReplayMigration) and links (DistributedAvailabilityGroupLink) to one
 * managed instance, cut over per database or all at once. Waves are ordered the Pulumi way: give a later wave
 * `dependsOn: [earlierWave]`; its resources then start only after every resource of the earlier wave is done
 * (an `up` that cuts the earlier wave over finishes that cutover first).
 *
 * Resources are named `<wave>-<database>` and `<wave>-<linkName>`, children of the wave.
 */
export class MigrationWave extends pulumi.ComponentResource {
  /** By database name. */
  readonly migrations: Record<string, LogReplayMigration> = {};
  /** By link name. */
  readonly links: Record<string, DistributedAvailabilityGroupLink> = {};
  /** Phase of every database (`phase` of its LogReplayMigration), by database name. */
  readonly phases: pulumi.Output<Record<string, string>>;
  /** Role of the managed instance in every link (`Primary` after the cutover), by link name. */
  readonly linkRoles: pulumi.Output<Record<string, string | null>>;

  constructor(name: string, args: MigrationWaveArgs, opts?: pulumi.ComponentResourceOptions) {
    super('pulumi-sqlmi-migration:index:MigrationWave', name, {}, opts);
    const parent = { parent: this };
    const cutover = args.cutover ?? false;
    for (const db of args.databases ?? []) {
      if (this.migrations[db.databaseName])
        throw new Error(`wave ${name}: database ${db.databaseName} is listed twice`);
      this.migrations[db.databaseName] = new LogReplayMigration(
        `${name}-${db.databaseName}`,
        {
          ...args.lrs,
          managedInstanceId: args.managedInstanceId,
          databaseName: db.databaseName,
          storageContainerUri: db.storageContainerUri,
          storageContainerSasToken: db.useManagedIdentity
            ? undefined
            : (db.storageContainerSasToken ?? args.storageContainerSasToken),
          useManagedIdentity: db.useManagedIdentity,
          lastBackupName: db.lastBackupName,
          complete: db.complete ?? cutover,
        },
        parent,
      );
    }
    for (const link of args.links ?? []) {
      const key = String(link.linkName);
      if (this.links[key]) throw new Error(`wave ${name}: link ${key} is listed twice`);
      this.links[key] = new DistributedAvailabilityGroupLink(
        `${name}-${key}`,
        { ...link, managedInstanceId: args.managedInstanceId, cutover: link.cutover ?? cutover },
        parent,
      );
    }
    this.phases = pulumi
      .all(Object.entries(this.migrations).map(([db, m]) => m.phase.apply((p) => [db, p] as const)))
      .apply((entries) => Object.fromEntries(entries));
    this.linkRoles = pulumi
      .all(Object.entries(this.links).map(([l, r]) => r.instanceLinkRole.apply((p) => [l, p] as const)))
      .apply((entries) => Object.fromEntries(entries));
    this.registerOutputs({ phases: this.phases, linkRoles: this.linkRoles });
  }
}
