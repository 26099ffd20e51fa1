/**
 * A pipeline-ready migration program: one stack per wave of databases, everything from stack config.
 *
 *   pulumi config set managedInstanceId /subscriptions/…/managedInstances/mi-prod
 *   pulumi config set --path 'lrs[0].databaseName' Sales
 *   pulumi config set --path 'lrs[0].storageContainerUri' https://acct.blob.core.windows.net/migration/sales
 *   pulumi config set --secret --path 'lrs[0].sasToken' 'sv=…&sp=rl&se=…&sig=…'
 *   pulumi config set --path 'lrs[0].lastBackupName' sales_log_0042.trn
 *   pulumi config set --path 'lrs[0].complete' true        # the cutover, reviewed in `pulumi preview`
 */
import * as pulumi from '@pulumi/pulumi';
import {
  DistributedAvailabilityGroupLink,
  LogReplayMigration,
  type SqlConnectionArgs,
} from 'pulumi-sqlmi-migration';

interface LrsConfig {
  databaseName: string;
  storageContainerUri: string;
  sasToken?: string;
  useManagedIdentity?: boolean;
  lastBackupName?: string;
  complete?: boolean;
  autoComplete?: boolean;
  pollIntervalInMs?: number;
}

interface LinkConfig {
  linkName: string;
  sqlServerAvailabilityGroupName: string;
  databaseNames: string[];
  replicationMode?: 'Async' | 'Sync';
  cutover?: boolean;
  failoverRoute?: 'auto' | 'breakLink' | 'tsqlFailover';
  cleanup?: 'none' | 'link' | 'linkAndAvailabilityGroup';
  lsnStabilityWindowInMs?: number;
  pollIntervalInMs?: number;
  lsnPollIntervalInMs?: number;
  beforeCutoverDelete?: 'refuse' | 'forget' | 'breakLink';
}

const config = new pulumi.Config();
const managedInstanceId = config.require('managedInstanceId');
const armEndpoint = config.get('armEndpoint');

export const lrs = (config.getObject<LrsConfig[]>('lrs') ?? []).map((db) => {
  const m = new LogReplayMigration(`lrs-${db.databaseName}`, {
    managedInstanceId,
    databaseName: db.databaseName,
    storageContainerUri: db.storageContainerUri,
    storageContainerSasToken: db.sasToken,
    useManagedIdentity: db.useManagedIdentity,
    lastBackupName: db.lastBackupName,
    autoComplete: db.autoComplete,
    complete: db.complete,
    pollIntervalInMs: db.pollIntervalInMs,
    armEndpoint,
  });
  return {
    database: m.databaseName,
    phase: m.phase,
    percentCompleted: m.percentCompleted,
    lastRestoredFileName: m.lastRestoredFileName,
    completedAt: m.completedAt,
  };
});

const link = config.getObject<LinkConfig>('link');
export const linkState = link
  ? (() => {
      const sqlServer = config.requireSecretObject<SqlConnectionArgs>('sqlServer');
      const managedInstanceSql = config.requireSecretObject<SqlConnectionArgs>('managedInstanceSql');
      const l = new DistributedAvailabilityGroupLink(`link-${link.linkName}`, {
        managedInstanceId,
        ...link,
        sqlServer,
        managedInstanceSql,
        armEndpoint,
      });
      return { role: l.instanceLinkRole, databases: l.databases, cutoverAt: l.cutoverAt };
    })()
  : undefined;
