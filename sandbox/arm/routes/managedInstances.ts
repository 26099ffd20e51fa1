import { type ManagedInstance, managedInstanceId } from '../../world/instances';
import type { RouteFamily } from '../context';
import { findInstance, MANAGED_INSTANCE } from './common';

/** GET of a managed instance, shaped as the ManagedInstanceGet example of the REST spec. */
export const managedInstanceRoutes: RouteFamily = (router, ctx) => {
  router.get(MANAGED_INSTANCE, (req) => {
    ctx.world.runDue();
    return { status: 200, body: managedInstanceBody(findInstance(ctx, req, false)) };
  });
};

export function managedInstanceBody(mi: ManagedInstance): Record<string, unknown> {
  const business = mi.tier === 'BusinessCritical';
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
    },
    location: mi.location,
    tags: mi.tags,
    id: managedInstanceId(mi),
    name: mi.name,
    type: 'Microsoft.Sql/managedInstances',
  };
}
