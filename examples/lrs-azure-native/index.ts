/**
 * Log Replay Service with @pulumi/azure-native: the managed instance is looked up, and the SAS is generated
 * with exactly Read + List for the container, valid for the 30 days LRS may run. The SAS is a secret from
 * the start and never appears in outputs.
 */
import * as azure from '@pulumi/azure-native';
import * as pulumi from '@pulumi/pulumi';
import { LogReplayMigration } from 'pulumi-sqlmi-migration';

const config = new pulumi.Config();
const resourceGroupName = config.require('resourceGroupName');
const storageAccountName = config.require('storageAccountName');
const container = config.get('container') ?? 'migration';
const databaseName = config.require('databaseName');
// Sovereign clouds (and the sandbox's Azurite) have other blob endpoints.
const blobEndpoint = config.get('blobEndpoint') ?? `https://${storageAccountName}.blob.core.windows.net`;

const mi = azure.sql.getManagedInstanceOutput({
  resourceGroupName,
  managedInstanceName: config.require('managedInstanceName'),
});

const expiry = new Date(Date.now() + 35 * 24 * 60 * 60 * 1000).toISOString();
const sas = azure.storage.listStorageAccountServiceSASOutput({
  resourceGroupName,
  accountName: storageAccountName,
  protocols: azure.storage.HttpProtocol.Https,
  permissions: 'rl',
  resource: 'c',
  canonicalizedResource: `/blob/${storageAccountName}/${container}`,
  sharedAccessExpiryTime: expiry,
});

const migration = new LogReplayMigration(databaseName, {
  managedInstanceId: mi.apply((m) => m.id!),
  databaseName,
  storageContainerUri: `${blobEndpoint}/${container}/${databaseName.toLowerCase()}`,
  storageContainerSasToken: pulumi.secret(sas.serviceSasToken),
  lastBackupName: config.get('lastBackupName'),
  complete: config.getBoolean('complete') ?? false,
  restoreDeadlineInMs: 2 * 60 * 60 * 1000,
  pollIntervalInMs: config.getNumber('pollIntervalInMs'),
});

export const phase = migration.phase;
export const progress = pulumi.interpolate`${migration.percentCompleted}% (last restored ${migration.lastRestoredFileName})`;
export const completedAt = migration.completedAt;
