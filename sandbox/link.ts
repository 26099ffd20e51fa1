/**
 * The link part of the sandbox: the link world plus two TDS servers with TLS, one answering as SQL Server and
 * one as the managed instance, both driven by the real mssql/tedious client.
 *
 * `startSandbox` (index.ts) calls this with its World and registers `dagRoutes(link)` with the ARM stand-in;
 * tests can also start it alone (it then has its own clock and no ARM side).
 */
import { SqlEndpoint } from './sql/endpoint';
import { makeSelfSignedCert } from './tds/cert';
import { startTdsServer } from './tds/server';
import type { TdsServer } from './tds/types';
import { SimClock } from './world/clock';
import type { ManagedInstance } from './world/instances';
import { LinkWorld, type LinkWorldOptions } from './world/link';
import { bridgeLinkToWorld } from './world/linkBridge';
import type { World } from './world/world';

export interface LinkSandboxOptions {
  /** The Azure side to keep consistent (managed databases the link seeds appear there). */
  world?: World;
  /** The managed instance the link targets (of `world`); its name and tier are the link world's. */
  managedInstance?: ManagedInstance;
  /** Clock when there is no `world` (default: a new SimClock at speed 1). */
  clock?: SimClock;
  /** Link world settings (SQL Server version, logins, delays …). */
  link?: Omit<LinkWorldOptions, 'clock'>;
  /** TLS key/cert for both TDS servers (default: a fresh self-signed one for 127.0.0.1/localhost). */
  tls?: { key: string; cert: string };
}

export interface LinkSandbox {
  /** The control surface: workload, lag, replication, LSNs, versions, snapshots. */
  link: LinkWorld;
  sqlServer: SqlEndpoint;
  managedInstance: SqlEndpoint;
  sqlServerTds: TdsServer;
  miTds: TdsServer;
  /** PEM to trust (`cryptoCredentialsDetails: { ca: [ca] }`). */
  ca: string;
  /** One accepted SQL login per side. */
  logins: {
    sqlServer: { user: string; password: string };
    managedInstance: { user: string; password: string };
  };
  stop(): Promise<void>;
}

export async function startLinkSandbox(options: LinkSandboxOptions = {}): Promise<LinkSandbox> {
  const clock = options.world?.clock ?? options.clock ?? new SimClock();
  const mi = options.managedInstance;
  const link = new LinkWorld({
    ...options.link,
    clock,
    managedInstance: {
      ...options.link?.managedInstance,
      ...(mi ? { name: mi.name, tier: mi.tier } : {}),
    },
  });
  if (options.world && mi) bridgeLinkToWorld(link, options.world, mi);

  const tls = options.tls ?? (await makeSelfSignedCert(['127.0.0.1', 'localhost']));
  const sqlServer = new SqlEndpoint(link, 'sqlServer');
  const managedInstance = new SqlEndpoint(link, 'managedInstance');
  const sqlServerTds = await startTdsServer({
    serverName: link.sqlServerName,
    productVersion: link.serverProperties('sqlServer').productVersion,
    tls,
    authenticate: sqlServer.authenticate,
    handler: sqlServer.handle,
  });
  const miTds = await startTdsServer({
    serverName: link.managedInstanceName,
    productVersion: link.serverProperties('managedInstance').productVersion,
    tls,
    requireEncryption: true,
    authenticate: managedInstance.authenticate,
    handler: managedInstance.handle,
  }).catch(async (err: unknown) => {
    await sqlServerTds.close();
    throw err;
  });

  return {
    link,
    sqlServer,
    managedInstance,
    sqlServerTds,
    miTds,
    ca: tls.cert,
    logins: {
      sqlServer: link.credentials.sqlServer[0],
      managedInstance: link.credentials.managedInstance[0],
    },
    async stop() {
      await Promise.all([sqlServerTds.close(), miTds.close()]);
    },
  };
}
