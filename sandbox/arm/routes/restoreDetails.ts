import { ServiceError } from '../../world/errors';
import { managedDatabaseId } from '../../world/instances';
import type { RouteFamily } from '../context';
import { findDatabase, MANAGED_DATABASE, resourceNotFound } from './common';

/**
 * GET …/databases/{db}/restoreDetails/Default: the LRS progress. Shaped as the ManagedDatabaseRestoreDetails
 * example of the REST spec (its `name` and `id` say `current`). A failed restore answers 400 with the failure's
 * code (BrokenRestorePlan…, StorageBrokenIssueDetectedAtTheStart, …) as the spec's error list says; a database
 * that no LRS restore created answers 400 RestoreDetailsNotAvailableOrExpired.
 */
export const restoreDetailsRoutes: RouteFamily = (router, ctx) => {
  router.get(`${MANAGED_DATABASE}/restoreDetails/{restoreDetailsName}`, async (req) => {
    const { mi, db } = findDatabase(ctx, req, true);
    if (req.params.restoreDetailsName.toLowerCase() !== 'default') {
      throw resourceNotFound(
        `Microsoft.Sql/managedInstances/${mi.name}/databases/${db.name}/restoreDetails/${req.params.restoreDetailsName}`,
        req.params.resourceGroupName,
      );
    }
    await ctx.world.touch(db);
    const restore = db.lrs;
    if (!restore) {
      throw new ServiceError(
        'RestoreDetailsNotAvailableOrExpired',
        'Requested restore details are not available, or have expired.',
      );
    }
    if (restore.status === 'Failed' && restore.error) throw restore.error;
    return {
      status: 200,
      body: {
        properties: restore.restoreDetails(),
        id: `${managedDatabaseId(mi, db)}/restoreDetails/current`,
        name: 'current',
        type: 'Microsoft.Sql/managedInstances/databases/restoreDetails',
      },
    };
  });
};
