import type { LrsRestore } from './lrs';
import type { Lsn } from './lsn';

/**
 * Managed instances and their databases, as the simulated Azure holds them. Names are matched
 * case-insensitively (as ARM does) but keep the casing they were created with.
 */

export type ManagedInstanceTier = 'GeneralPurpose' | 'BusinessCritical';

/** The update policy (`properties.databaseFormat`, REST spec 2025-01-01 ManagedInstances.json). */
export type ManagedInstanceDatabaseFormat = 'AlwaysUpToDate' | 'SQLServer2022' | 'SQLServer2025';

/** The managed database `status` enum of Microsoft.Sql. */
export type ManagedDatabaseStatus =
  | 'Online'
  | 'Offline'
  | 'Shutdown'
  | 'Creating'
  | 'Inaccessible'
  | 'Restoring'
  | 'Updating'
  | 'Stopping'
  | 'Stopped'
  | 'Starting'
  | 'DbMoving'
  | 'DbCopying';

/** The create-only parameters a database was created with (compared to make a repeated PUT idempotent). */
export interface DatabaseCreateParameters {
  createMode: string;
  collation: string;
  storageContainerUri?: string;
  storageContainerSasToken?: string;
  storageContainerIdentity?: string;
  autoCompleteRestore?: boolean;
  lastBackupName?: string;
}

export interface ManagedDatabase {
  name: string;
  status: ManagedDatabaseStatus;
  collation: string;
  createMode: string;
  tags: Record<string, string>;
  creationDate: Date;
  /** True while the database cannot be written (restoring, or a link secondary). */
  readOnly: boolean;
  /** The highest LSN the database holds (restored or replicated), when known. */
  lsn?: Lsn;
  createParameters: DatabaseCreateParameters;
  /** Simulated time a requested drop completes (the database is gone from then on). */
  dropScheduledAt?: number;
  /** Simulated time from which ARM shows the database (an LRS start creates it a few seconds after the PUT). */
  visibleAt?: number;
  /** Log Replay Service restore state, when the database was created with RestoreExternalBackup. */
  lrs?: LrsRestore;
  /** Managed Instance link (distributed availability group) replica state, added by the link simulation. */
  link?: unknown;
}

export interface ManagedInstance {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tier: ManagedInstanceTier;
  vCores: number;
  storageSizeInGB: number;
  collation: string;
  administratorLogin: string;
  dnsZone: string;
  tags: Record<string, string>;
  /** Update policy; absent means the default, SQL Server 2022 (update-policy.md). */
  databaseFormat?: ManagedInstanceDatabaseFormat;
  databases: Map<string, ManagedDatabase>;
}

export type ManagedInstanceInit = Pick<ManagedInstance, 'subscriptionId' | 'resourceGroup' | 'name'> &
  Partial<Omit<ManagedInstance, 'databases' | 'subscriptionId' | 'resourceGroup' | 'name'>>;

/** A Map whose string keys compare case-insensitively (ARM resource names). */
export class CaseInsensitiveMap<V> extends Map<string, V> {
  override get(key: string): V | undefined {
    return super.get(key.toLowerCase());
  }
  override set(key: string, value: V): this {
    return super.set(key.toLowerCase(), value);
  }
  override has(key: string): boolean {
    return super.has(key.toLowerCase());
  }
  override delete(key: string): boolean {
    return super.delete(key.toLowerCase());
  }
}

/** Whether ARM shows the database at simulated time `now` (see `visibleAt`). */
export function isVisible(db: ManagedDatabase, now: number): boolean {
  return db.visibleAt === undefined || now >= db.visibleAt;
}

export function managedInstanceId(mi: ManagedInstance): string {
  return (
    `/subscriptions/${mi.subscriptionId}/resourceGroups/${mi.resourceGroup}` +
    `/providers/Microsoft.Sql/managedInstances/${mi.name}`
  );
}

export function managedDatabaseId(mi: ManagedInstance, db: ManagedDatabase): string {
  return `${managedInstanceId(mi)}/databases/${db.name}`;
}

/** All managed instances of the world, looked up by subscription, resource group and name. */
export class InstanceRegistry {
  private readonly byKey = new CaseInsensitiveMap<ManagedInstance>();

  add(init: ManagedInstanceInit): ManagedInstance {
    const key = registryKey(init.subscriptionId, init.resourceGroup, init.name);
    if (this.byKey.has(key)) throw new Error(`managed instance ${init.name} already exists`);
    const tier = init.tier ?? 'GeneralPurpose';
    const mi: ManagedInstance = {
      location: 'westeurope',
      tier,
      vCores: 8,
      storageSizeInGB: 1024,
      collation: 'SQL_Latin1_General_CP1_CI_AS',
      administratorLogin: 'sandboxadmin',
      dnsZone: '1b4e2caff2530',
      tags: {},
      ...init,
      databases: new CaseInsensitiveMap<ManagedDatabase>(),
    };
    this.byKey.set(key, mi);
    return mi;
  }

  get(subscriptionId: string, resourceGroup: string, name: string): ManagedInstance | undefined {
    return this.byKey.get(registryKey(subscriptionId, resourceGroup, name));
  }

  /** True when some managed instance lives in that resource group (the world knows no empty groups). */
  hasResourceGroup(subscriptionId: string, resourceGroup: string): boolean {
    const sub = subscriptionId.toLowerCase();
    const rg = resourceGroup.toLowerCase();
    return this.list().some(
      (mi) => mi.subscriptionId.toLowerCase() === sub && mi.resourceGroup.toLowerCase() === rg,
    );
  }

  list(): ManagedInstance[] {
    return [...this.byKey.values()];
  }
}

function registryKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`;
}
