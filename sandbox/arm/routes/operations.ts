import { ServiceError } from '../../world/errors';
import type { ArmContext, RouteFamily } from '../context';
import type { Operation } from '../lro';
import type { ArmRequest } from '../router';

const LOCATION = '/subscriptions/{subscriptionId}/providers/Microsoft.Sql/locations/{locationName}';

/**
 * Operation status URLs of every long-running operation:
 * - `…/{kind}AzureAsyncOperation/{id}`: 200 `{name, status: InProgress|Succeeded|Failed|Canceled, startTime, error}`;
 * - `…/{kind}OperationResults/{id}`: 202 + Location while running, then 200 with the result, 204 without one,
 *   or the operation's error status and body.
 * Both send Retry-After while the operation runs.
 */
export const operationRoutes: RouteFamily = (router, ctx) => {
  router.get(`${LOCATION}/{kind}AzureAsyncOperation/{operationId}`, async (req) => {
    const op = await ctx.lro.refresh(findOperation(ctx, req));
    const headers = op.status === 'InProgress' ? ctx.lro.retryAfter() : {};
    return { status: 200, headers, body: ctx.lro.statusBody(op) };
  });

  router.get(`${LOCATION}/{kind}OperationResults/{operationId}`, async (req) => {
    const op = await ctx.lro.refresh(findOperation(ctx, req));
    if (op.status === 'InProgress') {
      return {
        status: 202,
        headers: { Location: ctx.lro.locationUrl(op, req.baseUrl, req.apiVersion), ...ctx.lro.retryAfter() },
      };
    }
    if (op.status === 'Succeeded') {
      const result = op.result?.();
      return result === undefined ? { status: 204 } : { status: 200, body: result };
    }
    throw op.error ?? new ServiceError('OperationFailed', `Operation ${op.id} ended ${op.status}.`, 500);
  });
};

function findOperation(ctx: ArmContext, req: ArmRequest): Operation {
  const op = ctx.lro.get(req.params.operationId);
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (!op || !same(op.kind, req.params.kind) || !same(op.subscriptionId, req.params.subscriptionId)) {
    throw new ServiceError(
      'ResourceNotFound',
      `The operation '${req.params.operationId}' was not found.`,
      404,
    );
  }
  return op;
}
