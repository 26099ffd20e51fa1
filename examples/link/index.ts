/**
 * The Managed Instance link runbook as a stack:
 *   1. up with replicationMode 'Async' (attach, see LSNs and lag in the outputs)
 *   2. set replicationMode 'Sync', preview (shows the sync switch on both sides), up
 *   3. stop the workload, set cutover true, preview (shows the LSN gate and the failover), up
 *   4. destroy after cutover: waits for the MI's first full backup, drops the DAG (and the AG if allowed)
 */
import * as azure from '@pulumi/azure-native';
import * as pulumi from '@pulumi/pulumi';
import { DistributedAvailabilityGroupLink } from 'pulumi-sqlmi-migration';

const config = new pulumi.Config();
const mi = azure.sql.getManagedInstanceOutput({
  resourceGroupName: config.require('resourceGroupName'),
  managedInstanceName: config.require('managedInstanceName'),
});

const link = new DistributedAvailabilityGroupLink('sales-link', {
  managedInstanceId: mi.apply((m) => m.id!),
  linkName: config.require('linkName'),
  sqlServerAvailabilityGroupName: config.require('availabilityGroupName'),
  databaseNames: config.requireObject<string[]>('databaseNames'),
  sqlServer: {
    server: config.require('sqlServerHost'),
    port: config.getNumber('sqlServerPort'),
    authentication: 'sql',
    userName: config.require('sqlServerUser'),
    password: config.requireSecret('sqlServerPassword'),
    caCertificate: config.get('sqlServerCa'),
  },
  // The private endpoint by default; set managedInstanceSqlHost/Port for the public endpoint
  // (<name>.public.<dns zone>.database.windows.net, port 3342).
  managedInstanceSql: {
    server: config.get('managedInstanceSqlHost') ?? mi.apply((m) => m.fullyQualifiedDomainName!),
    port: config.getNumber('managedInstanceSqlPort'),
    authentication: 'entra',
    caCertificate: config.get('managedInstanceSqlCa'),
  },
  replicationMode: (config.get('replicationMode') as 'Async' | 'Sync' | undefined) ?? 'Async',
  cutover: config.getBoolean('cutover') ?? false,
  failoverRoute: 'auto',
  lsnStabilityWindowInMs: config.getNumber('lsnStabilityWindowInMs') ?? 60_000,
  lsnDeadlineInMs: 30 * 60_000,
  pollIntervalInMs: config.getNumber('pollIntervalInMs'),
  lsnPollIntervalInMs: config.getNumber('lsnPollIntervalInMs'),
  cleanup: 'link',
});

export const role = link.instanceLinkRole;
export const modes = pulumi.interpolate`MI ${link.managedInstanceReplicationMode} / SQL Server ${link.sqlServerReplicationMode}`;
export const databases = link.databases;
export const cutoverAt = link.cutoverAt;
