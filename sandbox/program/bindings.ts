/**
 * What ties a user's program to a running sandbox when the program runner runs it (sqlmi-rehearse, the
 * examples' tests):
 *
 * - `sandboxSubstitutions(sb)`: the values of `${sandbox:<name>}` placeholders a stack file may use (ids,
 *   endpoints, logins, CA: whatever ports this sandbox got).
 * - `azureNativeInvokes(sb)`: the two @pulumi/azure-native functions the examples call, answered from the
 *   stand-ins instead of a provider plugin: `azure-native:sql:getManagedInstance` is a GET of the managed instance
 *   through the ARM stand-in, flattened as azure-native flattens `properties` into its result
 *   (GetManagedInstanceResult in @pulumi/azure-native sql/getManagedInstance.d.ts, api-version 2023-08-01);
 *   `azure-native:storage:listStorageAccountServiceSAS` (POST …/ListServiceSas, `{ serviceSasToken }`) is a
 *   service SAS of the sandbox's Azurite account made with the requested permissions and expiry. Other invokes
 *   are not imitated.
 * - `seedWorld(sb, config)`: the world a stack file asks for under `sqlmi-sandbox:world` (databases with
 *   backups in their folders for LRS, established links), made before the first operation.
 */
import https from 'node:https';
import type { PropertyMap } from '../engine/host';
import type { Sandbox } from '../index';
import { managedInstanceId } from '../world/instances';
import type { StackConfig } from './config';
import type { InvokeHandler } from './monitor';

export function sandboxSubstitutions(sb: Sandbox): Record<string, string> {
  const mi = sb.instance;
  return {
    subscriptionId: mi.subscriptionId,
    resourceGroupName: mi.resourceGroup,
    managedInstanceName: mi.name,
    managedInstanceId: managedInstanceId(mi),
    armEndpoint: sb.arm.url,
    storageAccountName: sb.storage.accountName,
    blobEndpoint: sb.storage.blobEndpoint,
    container: sb.storage.container,
    containerUrl: sb.storage.containerUrl(),
    sas: sb.storage.makeSas({ permissions: 'rl', expiresOn: new Date(Date.now() + 40 * 24 * 3600 * 1000) }),
    sqlServerHost: '127.0.0.1',
    sqlServerPort: String(sb.sqlServerTds.port),
    sqlServerUser: sb.logins.sqlServer.user,
    sqlServerPassword: sb.logins.sqlServer.password,
    managedInstanceSqlHost: '127.0.0.1',
    managedInstanceSqlPort: String(sb.miTds.port),
    managedInstanceSqlUser: sb.logins.managedInstance.user,
    managedInstanceSqlPassword: sb.logins.managedInstance.password,
    tdsCa: sb.tdsCa,
  };
}

export function azureNativeInvokes(sb: Sandbox): InvokeHandler {
  return async (tok, args) => {
    switch (tok) {
      case 'azure-native:sql:getManagedInstance': {
        const sub = sb.instance.subscriptionId;
        const id = `/subscriptions/${sub}/resourceGroups/${String(args.resourceGroupName)}/providers/Microsoft.Sql/managedInstances/${String(args.managedInstanceName)}`;
        const res = await armGet(sb, `${id}?api-version=2023-08-01`);
        if (res.status !== 200) {
          const error = (res.body as { error?: { code?: string; message?: string } }).error;
          throw new Error(
            `getManagedInstance: ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
          );
        }
        const { properties, ...rest } = res.body as { properties?: PropertyMap } & PropertyMap;
        return { result: { ...rest, ...(properties ?? {}), azureApiVersion: '2023-08-01' } };
      }
      case 'azure-native:storage:listStorageAccountServiceSAS': {
        if (args.accountName !== sb.storage.accountName) {
          return {
            failures: [
              {
                property: 'accountName',
                reason: `the sandbox has one storage account, ${sb.storage.accountName} (Azurite), not ${String(args.accountName)}`,
              },
            ],
          };
        }
        // canonicalizedResource: /blob/<account>/<container>[/<blob>]
        const container = String(args.canonicalizedResource ?? '').split('/')[3] ?? sb.storage.container;
        const expiry =
          typeof args.sharedAccessExpiryTime === 'string' ? new Date(args.sharedAccessExpiryTime) : undefined;
        const serviceSasToken = sb.storage.makeSas({
          container,
          permissions: typeof args.permissions === 'string' ? args.permissions : 'r',
          ...(expiry ? { expiresOn: expiry } : {}),
        });
        return { result: { serviceSasToken } };
      }
      default:
        return undefined;
    }
  };
}

interface WorldSpec {
  /** Source databases on the simulated SQL Server, each with a full backup and `logBackups` log backups. */
  lrs?: {
    database: string;
    folder?: string;
    logBackups?: number;
    sizeMB?: number;
    lastBackupName?: string;
  }[];
  /** Established Managed Instance links. */
  links?: { name: string; sqlServerAg: string; miAg: string; databases: string[] }[];
}

export const WORLD_CONFIG_KEY = 'sqlmi-sandbox:world';

/** Makes what `sqlmi-sandbox:world` in the stack config asks for. */
export async function seedWorld(
  sb: Sandbox,
  config: StackConfig,
  say: (line: string) => void = () => {},
): Promise<void> {
  const raw = config.values[WORLD_CONFIG_KEY];
  if (!raw) return;
  const spec = JSON.parse(raw) as WorldSpec;
  for (const db of spec.lrs ?? []) {
    const folder = db.folder ?? db.database.toLowerCase();
    sb.sqlServer.addDatabase(db.database, { folder, sizeMB: db.sizeMB ?? 50 });
    await sb.sqlServer.backupFull(db.database);
    for (let n = 0; n < (db.logBackups ?? 1); n++) await sb.sqlServer.backupLog(db.database);
    if (db.lastBackupName)
      await sb.sqlServer.backupLog(db.database, { blobName: `${folder}/${db.lastBackupName}` });
    say(`sandbox: SQL Server database ${db.database} with backups in ${sb.storage.containerUrl(folder)}`);
  }
  for (const link of spec.links ?? []) {
    sb.link.establishLink(link);
    say(
      `sandbox: link ${link.name} (${link.sqlServerAg} → ${link.miAg}) replicating ${link.databases.join(', ')}`,
    );
  }
}

function armGet(sb: Sandbox, path: string): Promise<{ status: number; body: unknown }> {
  const token = sb.arm.server.tokens.issue('https://management.azure.com').token;
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${sb.arm.url}${path}`,
      { method: 'GET', ca: sb.arm.ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
