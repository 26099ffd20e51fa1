import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { ContainerClient } from '@azure/storage-blob';
import type { RouteFamily } from './arm/context';
import { Faults } from './arm/faults';
import type { RequestLog } from './arm/requestLog';
import { dagRoutes } from './arm/routes/dag';
import { registerSqlServerControlRoutes, registerStorageControlRoutes } from './arm/routes/sandbox';
import { sharedIdentity, type TokenAuthority } from './arm/auth';
import { ArmServer } from './arm/server';
import { Azurite, type SasOptions, StorageFaultProxy } from './azurite';
import { type LinkSandbox, type LinkSandboxOptions, startLinkSandbox } from './link';
import type { SqlEndpoint } from './sql/endpoint';
import type { SqlFaultSpec } from './sql/faults';
import { makeSelfSignedCert } from './tds/cert';
import type { TdsServer } from './tds/types';
import { SimSqlServer } from './world/backups';
import { SimClock } from './world/clock';
import type { ManagedInstance, ManagedInstanceInit } from './world/instances';
import type { LinkWorld } from './world/link';
import type { LrsOptions } from './world/lrs';
import { World, type WorldTimings } from './world/world';

/**
 * The local sandbox: real Azurite (storage), the ARM stand-in (Microsoft.Sql + a managed identity token
 * endpoint) and the simulated world (managed instances, LRS, a SQL Server writing backups), sharing one clock.
 * See sandbox/README.md for the control surface and scenario scripting.
 */

export const SANDBOX_SUBSCRIPTION_ID = '00000000-1111-2222-3333-444444444444';
export const SANDBOX_RESOURCE_GROUP = 'rg-sandbox';
export const SANDBOX_INSTANCE = 'sqlmi-sandbox';
export const SANDBOX_CONTAINER = 'migration';

export interface SandboxOptions {
  /** Simulated ms per real ms (default 1; 0 freezes time, then only `world.clock.advance` moves it). */
  speed?: number;
  /** Simulated start time (ms since epoch). */
  startMs?: number;
  timings?: Partial<WorldTimings>;
  lrs?: Partial<LrsOptions>;
  /**
   * Retry-After of operation answers: 'absent' (as in the az CLI recordings) or a number of seconds sent on the
   * 202 and on every operation poll, terminal ones included (the PowerShell recordings send 15). Default 'absent'.
   */
  retryAfter?: 'absent' | number;
  /** @deprecated use `retryAfter`; 0 means 'absent', another value `retryAfter: value`. */
  retryAfterSeconds?: number;
  /** Container the SQL Server writes backups to (created at start). */
  container?: string;
  /** Managed instances to create (default: one General Purpose instance, SANDBOX_INSTANCE). */
  instances?: ManagedInstanceInit[];
  /** Let every SimSqlServer upload nudge the LRS (a scan right after it, at that simulated time). Default true. */
  scanOnUpload?: boolean;
  /** More ARM route families (e.g. the Managed Instance link). */
  routes?: RouteFamily[];
  /** Managed Instance link settings (SQL Server version, logins, seeding/backup delays …); see world/link.ts. */
  link?: LinkSandboxOptions['link'];
  /** SQL faults by statement shape armed at start (sql/faults.ts); later ones via `sqlEndpoints.<side>.faults`. */
  sqlFaults?: { sqlServer?: SqlFaultSpec[]; managedInstance?: SqlFaultSpec[] };
  /**
   * Put the storage fault proxy in front of Azurite (default true): every storage URL of the sandbox points at it,
   * so `storage.faults` can fail, slow, stall or drop storage requests. false: clients talk to Azurite directly.
   */
  storageFaultProxy?: boolean;
}

export interface SandboxStorage {
  azurite: Azurite;
  /** Storage faults (kinds 403, 500, 503, slow, drop, lost, stall; see arm/faults.ts), when the proxy is on. */
  faults: Faults;
  /** The fault proxy in front of Azurite (its `requests` log), when on. */
  proxy?: StorageFaultProxy;
  /** `https://127.0.0.1:<port>/devstoreaccount1` (the fault proxy in front of Azurite, or Azurite itself) */
  blobEndpoint: string;
  accountName: string;
  accountKey: string;
  /** The backup container. */
  container: string;
  /** URL of the backup container, or of a folder in it (`storageContainerUri`). */
  containerUrl(folder?: string): string;
  /** A container SAS (no leading '?'); the container defaults to the backup container. */
  makeSas(options?: Partial<SasOptions>): string;
  createContainer(name: string): Promise<ContainerClient>;
}

/** The connection input of a DistributedAvailabilityGroupLink side (SQL login) for a TDS stand-in. */
export interface SqlConnectionInput {
  server: string;
  port: number;
  userName: string;
  password: string;
  caCertificate: string;
}

export interface Sandbox {
  world: World;
  clock: SimClock;
  /** The default (first) managed instance. */
  instance: ManagedInstance;
  arm: {
    server: ArmServer;
    /** `https://127.0.0.1:<port>` (SQLMI_ARM_ENDPOINT) */
    url: string;
    /** PEM to trust for `url`. */
    ca: string;
    /** The CA written to a file (NODE_EXTRA_CA_CERTS). */
    caFile: string;
    requests: RequestLog;
    faults: Faults;
    /**
     * The managed identity endpoint's token authority (process-wide: see arm/auth.ts): `faults` (429, 500, 503,
     * slow, drop, lost, stall), `requestCount`, `issuedCount`, `tokenLifetimeMs`.
     */
    identity: TokenAuthority;
  };
  storage: SandboxStorage;
  sqlServer: SimSqlServer;
  /** Managed Instance link control surface (workload, lag, replication, LSNs, versions, snapshot). */
  link: LinkWorld;
  /** TDS stand-in answering as SQL Server (TLS; trust `tdsCa`). */
  sqlServerTds: TdsServer;
  /** TDS stand-in answering as the default managed instance (TLS required). */
  miTds: TdsServer;
  /** SQL logins the two TDS stand-ins accept. */
  logins: LinkSandbox['logins'];
  /** PEM to trust for both TDS stand-ins. */
  tdsCa: string;
  /** What each TDS stand-in executed (`executed`, `changes()`). */
  sqlEndpoints: { sqlServer: SqlEndpoint; managedInstance: SqlEndpoint };
  /** A link resource's `sqlServer` / `managedInstanceSql` input for one TDS stand-in, with its SQL login. */
  sqlConnection(side: 'sqlServer' | 'managedInstance'): SqlConnectionInput;
  /** The variables a provider process needs (see env()). */
  envOverrides(): Record<string, string>;
  /**
   * `base` (default process.env) with the sandbox variables set and the ones that would make
   * DefaultAzureCredential pick another identity source removed: the environment to spawn a provider with.
   */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Variables that would steer DefaultAzureCredential to another managed identity source or credential. */
const CONFLICTING_ENV = [
  'IDENTITY_SERVER_THUMBPRINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'AZURE_FEDERATED_TOKEN_FILE',
];

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  };
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-sandbox-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // One certificate for every https/TLS stand-in (ARM, storage, TDS). Azure Storage is https only (LRS
    // refuses anything else), so Azurite serves https too.
    const storageTls = await makeSelfSignedCert(['127.0.0.1', 'localhost']);
    const certPath = path.join(dir, 'storage-cert.pem');
    const keyPath = path.join(dir, 'storage-key.pem');
    writeFileSync(certPath, storageTls.cert);
    writeFileSync(keyPath, storageTls.key);
    trustInThisProcess(storageTls.cert);
    const azurite = await Azurite.start({ tls: { certPath, keyPath } });
    cleanups.push(() => azurite.stop());
    const container = options.container ?? SANDBOX_CONTAINER;
    await azurite.createContainer(container);
    const proxy =
      options.storageFaultProxy === false ? undefined : await StorageFaultProxy.start(azurite, storageTls);
    if (proxy) cleanups.push(() => proxy.stop());
    const blobEndpoint = proxy?.blobEndpoint ?? azurite.blobEndpoint;

    const clock = new SimClock({ speed: options.speed, startMs: options.startMs });
    const world = new World({
      clock,
      timings: options.timings,
      lrs: options.lrs,
      storage: {
        accountName: azurite.accountName,
        accountKey: azurite.accountKey,
        managedIdentityHasAccess: true,
      },
    });
    const inits = options.instances ?? [
      {
        subscriptionId: SANDBOX_SUBSCRIPTION_ID,
        resourceGroup: SANDBOX_RESOURCE_GROUP,
        name: SANDBOX_INSTANCE,
      },
    ];
    const [instance] = inits.map((init) => world.addManagedInstance(init));

    const sqlServer = new SimSqlServer({
      clock,
      blobEndpoint,
      accountName: azurite.accountName,
      accountKey: azurite.accountKey,
      container,
    });
    if (options.scanOnUpload ?? true) sqlServer.onUpload(() => world.tick());

    const link = await startLinkSandbox({
      world,
      managedInstance: instance,
      link: options.link,
      tls: storageTls,
    });
    cleanups.push(() => link.stop());
    for (const f of options.sqlFaults?.sqlServer ?? []) link.sqlServer.faults.inject(f);
    for (const f of options.sqlFaults?.managedInstance ?? []) link.managedInstance.faults.inject(f);
    // Entra ID logins (authentication 'entra'): tokens the sandbox's managed identity issued for Azure SQL.
    link.link.credentials.acceptToken = (token) =>
      sharedIdentity().authority.accepts(token, 'https://database.windows.net');

    const server = await ArmServer.start({
      world,
      tls: storageTls,
      retryAfter: options.retryAfter,
      retryAfterSeconds: options.retryAfterSeconds,
      routes: [dagRoutes(link.link), ...(options.routes ?? [])],
    });
    cleanups.push(() => server.stop());
    registerSqlServerControlRoutes(server.router, sqlServer);
    registerStorageControlRoutes(server.router, (o) => azurite.makeSas(o), proxy?.faults);

    const caFile = path.join(dir, 'sandbox-ca.pem');
    writeFileSync(caFile, `${storageTls.cert.trim()}\n`);

    const envOverrides = (base: NodeJS.ProcessEnv = process.env): Record<string, string> => ({
      ...server.credentialEnv(),
      NODE_EXTRA_CA_CERTS: withExtraCa(base.NODE_EXTRA_CA_CERTS, caFile, dir),
      SQLMI_ARM_ENDPOINT: server.url,
    });

    return {
      world,
      clock,
      instance,
      arm: {
        server,
        url: server.url,
        ca: server.ca,
        caFile,
        requests: server.requests,
        faults: server.faults,
        identity: server.tokens,
      },
      storage: {
        azurite,
        faults: proxy?.faults ?? new Faults(),
        proxy,
        blobEndpoint,
        accountName: azurite.accountName,
        accountKey: azurite.accountKey,
        container,
        containerUrl: (folder) => azurite.containerUrl(container, folder, blobEndpoint),
        makeSas: (o = {}) => azurite.makeSas({ container, ...o }),
        createContainer: (name) => azurite.createContainer(name),
      },
      sqlServer,
      link: link.link,
      sqlServerTds: link.sqlServerTds,
      miTds: link.miTds,
      logins: link.logins,
      tdsCa: link.ca,
      sqlEndpoints: { sqlServer: link.sqlServer, managedInstance: link.managedInstance },
      sqlConnection: (side) => ({
        server: '127.0.0.1',
        port: side === 'sqlServer' ? link.sqlServerTds.port : link.miTds.port,
        userName: link.logins[side].user,
        password: link.logins[side].password,
        caCertificate: link.ca,
      }),
      envOverrides: () => envOverrides(),
      env: (base = process.env) => {
        const env: NodeJS.ProcessEnv = { ...base };
        for (const name of CONFLICTING_ENV) delete env[name];
        return { ...env, ...envOverrides(base) };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The sandbox process itself reads the https Azurite (the LRS simulation lists the container with the SAS,
 * the simulated SQL Server uploads backups): add its certificate to this process's default trust store.
 */
function trustInThisProcess(pem: string): void {
  const current = tls.getCACertificates('default');
  if (!current.includes(pem)) tls.setDefaultCACertificates([...current, pem]);
}

/** NODE_EXTRA_CA_CERTS takes one file: when one is set already, a file with both is written. */
function withExtraCa(existing: string | undefined, caFile: string, dir: string): string {
  if (!existing || existing === caFile || !existsSync(existing)) return caFile;
  const combined = path.join(dir, 'extra-ca.pem');
  writeFileSync(combined, `${readFileSync(existing, 'utf8').trim()}\n${readFileSync(caFile, 'utf8')}`);
  return combined;
}
