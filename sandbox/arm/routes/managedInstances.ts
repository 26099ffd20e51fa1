import { type ManagedInstance, managedInstanceId } from '../../world/instances';
import type { RouteFamily } from '../context';
import { findInstance, MANAGED_INSTANCE } from './common';

/** GET of a managed instance, shaped as the ManagedInstanceGet example of the REST spec. */
export const managedInstanceRoutes: RouteFamily = (router, ctx) => {
  router.get(MANAGED_INSTANCE, (req) => {
    ctx.world.runDue();
    return { status: 200, body: managedInstanceBody(findInstance(ctx, req, false), req.apiVersion) };
  });
};

/**
 * `properties.databaseFormat` (the update policy) is in the 2025-01-01 spec (ManagedInstances.json); older
 * api-versions are shown without it (no source says they carry it: chosen hardest on the provider). The
 * default policy is SQL Server 2022 (update-policy.md: "the default update policy for all existing and newly
 * deployed instances").
 */
function carriesDatabaseFormat(apiVersion: string | undefined): boolean {
  return (apiVersion ?? '').slice(0, 10) >= '2025-01-01';
}

export function managedInstanceBody(mi: ManagedInstance, apiVersion?: string): Record<string, unknown> {
  const business = mi.tier === 'BusinessCritical';
  const databaseFormat = carriesDatabaseFormat(apiVersion)
    ? { databaseFormat: mi.databaseFormat ?? 'SQLServer2022' }
    : {};
  return {
    sku: { name: business ? 'BC_Gen5' : 'GP_Gen5', tier: mi.tier, capacity: mi.vCores, family: 'Gen5' },
    properties: {
      fullyQualifiedDomainName: `${mi.name}.${mi.dnsZone}.database.windows.net`,
      administratorLogin: mi.administratorLogin,
      subnetId:
        `/subscriptions/${mi.subscriptionId}/resourceGroups/${mi.resourceGroup}` +
        '/providers/Microsoft.Network/virtualNetworks/vnet-sandbox/subnets/mi',
      state: 'Ready',
      provisioningState: 'Succeeded',
      vCores: mi.vCores,
      storageSizeInGB: mi.storageSizeInGB,
      licenseType: 'LicenseIncluded',
      collation: mi.collation,
      publicDataEndpointEnabled: false,
      proxyOverride: 'Default',
      minimalTlsVersion: '1.2',
      dnsZone: mi.dnsZone,
      currentBackupStorageRedundancy: 'Geo',
      requestedBackupStorageRedundancy: 'Geo',
      zoneRedundant: false,
      ...databaseFormat,
    },
    location: mi.location,
    tags: mi.tags,
    id: managedInstanceId(mi),
    name: mi.name,
    type: 'Microsoft.Sql/managedInstances',
  };
}
