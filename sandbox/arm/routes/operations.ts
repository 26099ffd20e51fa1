import { ServiceError } from '../../world/errors';
import type { ArmContext, RouteFamily } from '../context';
import type { Operation } from '../lro';
import type { ArmRequest, Router } from '../router';

const SUBSCRIPTION_LOCATION =
  '/subscriptions/{subscriptionId}/providers/Microsoft.Sql/locations/{locationName}';
const GROUP_LOCATION =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Sql/locations/{locationName}';

/**
 * Operation status URLs of every long-running operation, resource-group scoped (as the service has answered since
 * 2021) or subscription scoped (the 2020 recordings):
 * - `…/{kind}AzureAsyncOperation/{id}`: 200 `{name, status: InProgress|Succeeded|Failed|Canceled, startTime}`, with
 *   `error` when Failed (lrs-ps-failed-start v3, link-errors 7), Retry-After on every poll when the sandbox sends
 *   it, terminal polls included (lrs-ps-autocomplete 51, lrs-ps-stop-foreign-database w4);
 * - `…/{kind}OperationResults/{id}`: 202 + Location (+ Retry-After) while running (the ARM async-operation
 *   contract; not recorded), then the result: 204 without one (a drop: lrs-ps-stop y2), 201 with the database for
 *   completeRestore (lrs-ps-complete 36), else 200 with the result; a failed operation answers its error.
 */
export const operationRoutes: RouteFamily = (router, ctx) => {
  for (const scope of [SUBSCRIPTION_LOCATION, GROUP_LOCATION]) registerOperationRoutes(router, ctx, scope);
};

function registerOperationRoutes(router: Router, ctx: ArmContext, scope: string): void {
  router.get(`${scope}/{kind}AzureAsyncOperation/{operationId}`, async (req) => {
    const op = await ctx.lro.refresh(findOperation(ctx, req));
    return { status: 200, headers: ctx.lro.retryAfter(), body: ctx.lro.statusBody(op) };
  });

  router.get(`${scope}/{kind}OperationResults/{operationId}`, async (req) => {
    const op = await ctx.lro.refresh(findOperation(ctx, req));
    if (op.status === 'InProgress') {
      return {
        status: 202,
        headers: { Location: ctx.lro.locationUrl(op, req.baseUrl, req.apiVersion), ...ctx.lro.retryAfter() },
      };
    }
    if (op.status === 'Succeeded') {
      const result = op.result?.();
      return result === undefined ? { status: 204 } : { status: op.resultStatus ?? 200, body: result };
    }
    throw op.error ?? new ServiceError('OperationFailed', `Operation ${op.id} ended ${op.status}.`, 500);
  });
}

function findOperation(ctx: ArmContext, req: ArmRequest): Operation {
  const op = ctx.lro.get(req.params.operationId);
  const same = (a: string | undefined, b: string | undefined) => a?.toLowerCase() === b?.toLowerCase();
  const group = req.params.resourceGroupName;
  if (
    !op ||
    !same(op.kind, req.params.kind) ||
    !same(op.subscriptionId, req.params.subscriptionId) ||
    (group !== undefined && !same(op.resourceGroup, group))
  ) {
    throw new ServiceError(
      'ResourceNotFound',
      `The operation '${req.params.operationId}' was not found.`,
      404,
    );
  }
  return op;
}
