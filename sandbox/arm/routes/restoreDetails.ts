import { randomUUID } from 'node:crypto';
import { ServiceError } from '../../world/errors';
import { managedDatabaseId } from '../../world/instances';
import type { RouteFamily } from '../context';
import { MANAGED_DATABASE, resourceNotFound } from './common';
import { findVisibleDatabase } from './managedDatabases';

/**
 * GET …/databases/{db}/restoreDetails/Default: the LRS progress, with the fields, values, `name` and `id` recorded
 * (lrs-ps-autocomplete 32/33/41: `name` "Default"). A database that is not an LRS restore answers 500
 * InternalServerError (lrs-ps-stop-foreign-database w5), and so does a failed LRS restore (lrs-ps-failed-start
 * v4 after FullBackupNotFound; a restore failing later is not recorded: the same answer, the hardest, is chosen).
 */
export const restoreDetailsRoutes: RouteFamily = (router, ctx) => {
  router.get(`${MANAGED_DATABASE}/restoreDetails/{restoreDetailsName}`, async (req) => {
    const { mi, db } = findVisibleDatabase(ctx, req, true);
    if (req.params.restoreDetailsName.toLowerCase() !== 'default') {
      throw resourceNotFound(
        `Microsoft.Sql/managedInstances/${mi.name}/databases/${db.name}/restoreDetails/${req.params.restoreDetailsName}`,
        req.params.resourceGroupName,
      );
    }
    await ctx.world.touch(db);
    const restore = db.lrs;
    if (!restore || restore.failed) throw internalServerError();
    return {
      status: 200,
      body: {
        properties: restore.restoreDetails(),
        id: `${managedDatabaseId(mi, db)}/restoreDetails/Default`,
        name: 'Default',
        type: 'Microsoft.Sql/managedInstances/databases/restoreDetails',
      },
    };
  });
};

/** The recorded 500, its message included (typo and all). */
function internalServerError(): ServiceError {
  return new ServiceError(
    'InternalServerError',
    `An unexpected error occured while processing the request. Tracking ID: '${randomUUID()}'`,
    500,
  );
}
