import type { RouteFamily } from '../context';
import { managedDatabaseRoutes } from './managedDatabases';
import { managedInstanceRoutes } from './managedInstances';
import { operationRoutes } from './operations';
import { restoreDetailsRoutes } from './restoreDetails';
import { worldControlRoutes } from './sandbox';

/**
 * Every route family the ARM stand-in serves, one file each. A new family (e.g. the Managed Instance link's
 * distributedAvailabilityGroups) adds its file and one line here.
 */
export const ROUTE_FAMILIES: RouteFamily[] = [
  managedInstanceRoutes,
  managedDatabaseRoutes,
  restoreDetailsRoutes,
  operationRoutes,
  worldControlRoutes,
];
