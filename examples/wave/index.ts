/**
 * Waves of a migration to one managed instance, from stack config: each wave is a MigrationWave (Log Replay
 * Service databases and Managed Instance links); a later wave depends on the earlier one, so it starts only
 * when the earlier wave is done. Cut over one database (`complete` on it), one link (`cutover` on it) or a whole
 * wave (`cutover` on the wave), review it in `pulumi preview`, then `pulumi up`.
 *
 *   pulumi config set managedInstanceId /subscriptions/…/managedInstances/mi-prod
 *   pulumi config set --secret sasToken 'sv=…&sp=rl&se=…&sig=…'
 *   pulumi config set --path 'waves[0].name' wave1
 *   pulumi config set --path 'waves[0].databases[0].databaseName' Sales
 *   pulumi config set --path 'waves[0].databases[0].storageContainerUri' https://acct.blob.core.windows.net/migration/sales
 *   pulumi config set --path 'waves[0].databases[0].complete' true     # cut over this database only
 *   pulumi config set --path 'waves[0].cutover' true                   # cut over the whole wave
 *
 * In pipelines run waves with `pulumi up --continue-on-error`: one failing database then does not hold back
 * the others of its wave, and the next `up` retries only what failed.
 */
import * as pulumi from '@pulumi/pulumi';
import {
  MigrationWave,
  type SqlConnectionArgs,
  type WaveDatabaseArgs,
  type WaveLinkArgs,
  type WaveLrsSettings,
} from 'pulumi-sqlmi-migration';

interface WaveConfig {
  name: string;
  databases?: WaveDatabaseArgs[];
  /** Links; their T-SQL connections are the stack's `sqlServer` and `managedInstanceSql` secrets. */
  links?: Omit<WaveLinkArgs, 'sqlServer' | 'managedInstanceSql'>[];
  cutover?: boolean;
}

const config = new pulumi.Config();
const managedInstanceId = config.require('managedInstanceId');
const sasToken = config.getSecret('sasToken');
const waves = config.requireObject<WaveConfig[]>('waves');
const pollIntervalInMs = config.getNumber('pollIntervalInMs');
/** Deadlines and poll interval of every database (startDeadlineInMs, restoreDeadlineInMs, …). */
const lrs = config.getObject<WaveLrsSettings>('lrs') ?? {};
const needsSql = waves.some((w) => (w.links ?? []).length > 0);
const sqlServer = needsSql ? config.requireSecretObject<SqlConnectionArgs>('sqlServer') : undefined;
const managedInstanceSql = needsSql
  ? config.requireSecretObject<SqlConnectionArgs>('managedInstanceSql')
  : undefined;

let previous: MigrationWave | undefined;
const created: MigrationWave[] = [];
for (const wave of waves) {
  const current = new MigrationWave(
    wave.name,
    {
      managedInstanceId,
      storageContainerSasToken: sasToken,
      cutover: wave.cutover ?? false,
      lrs: { pollIntervalInMs, ...lrs },
      databases: wave.databases,
      links: (wave.links ?? []).map((l) => ({
        pollIntervalInMs,
        ...l,
        sqlServer: sqlServer!,
        managedInstanceSql: managedInstanceSql!,
      })),
    },
    { dependsOn: previous ? [previous] : [] },
  );
  created.push(current);
  previous = current;
}

export const phases = Object.fromEntries(created.map((w, i) => [waves[i].name, w.phases]));
export const linkRoles = Object.fromEntries(created.map((w, i) => [waves[i].name, w.linkRoles]));
