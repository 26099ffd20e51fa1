import { ServiceError } from '../../world/errors';
import type { ManagedInstance } from '../../world/instances';
import type { LinkResourceView, LinkWorld } from '../../world/link';
import { actionField, parseDagPatch, parseDagPut, renderDag } from '../../world/linkArm';
import type { ArmContext, RouteFamily } from '../context';
import type { OperationOutcome } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';
import {
  acceptedOperation,
  findInstance,
  linkOperationName,
  MANAGED_INSTANCE,
  resourceNotFound,
} from './common';

/**
 * The Managed Instance link contract: …/managedInstances/{mi}/distributedAvailabilityGroups[/{dag}].
 *
 * - GET (old property model below 2023-05-01-preview and on stable 2023-08-01, new model above; linkArm.ts),
 *   list (paged by nextLink).
 * - Every write answers 202 + an operation stub (routes/common.ts acceptedOperation).
 * - PUT: succeeds once seeding is done, fails (and rolls back) when the link is not seeded within
 *   `linkCreationTimeoutMs` (e.g. SQL Server has no matching DAG).
 * - PATCH (replicationMode, the managed instance's side of the sync switch), DELETE (breaks the link: the
 *   managed instance database goes read-write), POST /failover and /setRole: the change
 *   applies when the operation completes (`operationMs` of simulated time after the request).
 * Requests that the service refuses up front (planned failover on a secondary, bad bodies) answer 400 at once.
 */
export interface DagRouteOptions {
  /** Simulated ms a PATCH/DELETE/failover/setRole operation takes. Default 5 s. */
  operationMs?: number;
  /** Simulated ms after which an unseeded link creation fails. Default 5 min. */
  linkCreationTimeoutMs?: number;
  /** Items per page of the list. Default 10. */
  pageSize?: number;
}

const DAGS = `${MANAGED_INSTANCE}/distributedAvailabilityGroups`;
const DAG = `${DAGS}/{distributedAvailabilityGroupName}`;
const KIND = 'distributedAvailabilityGroups';

const IN_PROGRESS: OperationOutcome = { status: 'InProgress' };
const SUCCEEDED: OperationOutcome = { status: 'Succeeded' };

export function dagRoutes(link: LinkWorld, options: DagRouteOptions = {}): RouteFamily {
  const operationMs = options.operationMs ?? 5_000;
  const creationTimeoutMs = options.linkCreationTimeoutMs ?? 5 * 60_000;
  const pageSize = options.pageSize ?? 10;

  return (router, ctx) => {
    /** The managed instance of the path, which must be the one the link world simulates. */
    const instance = (req: ArmRequest): ManagedInstance => {
      const mi = findInstance(ctx, req, true);
      ctx.world.runDue();
      return mi;
    };
    const simulated = (mi: ManagedInstance) =>
      mi.name.toLowerCase() === link.managedInstanceName.toLowerCase();
    const dagName = (req: ArmRequest) => req.params.distributedAvailabilityGroupName;
    const idOf = (mi: ManagedInstance, name: string) =>
      `/subscriptions/${mi.subscriptionId}/resourceGroups/${mi.resourceGroup}/providers/Microsoft.Sql` +
      `/managedInstances/${mi.name}/distributedAvailabilityGroups/${name}`;
    const render = (req: ArmRequest, mi: ManagedInstance, view: LinkResourceView) =>
      renderDag(view, idOf(mi, view.name), req.apiVersion ?? '');
    /** The link of the path, or 404 ResourceNotFound. */
    const existing = (req: ArmRequest, mi: ManagedInstance): LinkResourceView => {
      if (!simulated(mi) || !link.hasLink(dagName(req))) {
        throw resourceNotFound(
          `Microsoft.Sql/managedInstances/${mi.name}/distributedAvailabilityGroups/${dagName(req)}`,
          req.params.resourceGroupName,
        );
      }
      return link.linkView(dagName(req));
    };

    /**
     * Starts an operation that applies `change` once `operationMs` of simulated time has passed; a refusal
     * at that point fails the operation with the service's error.
     */
    const timedChange = (
      req: ArmRequest,
      mi: ManagedInstance,
      change: () => void,
      result: (() => unknown) | undefined,
      operation: string,
    ) => {
      const due = ctx.world.clock.now() + operationMs;
      let outcome: OperationOutcome = IN_PROGRESS;
      const op = ctx.lro.start({
        kind: KIND,
        subscriptionId: mi.subscriptionId,
        location: mi.location,
        evaluate: () => {
          if (outcome.status !== 'InProgress' || ctx.world.clock.now() < due) return outcome;
          try {
            change();
            outcome = SUCCEEDED;
          } catch (err) {
            if (!(err instanceof ServiceError)) throw err;
            outcome = { status: 'Failed', error: err };
          }
          return outcome;
        },
        result,
      });
      return acceptedOperation(ctx, req, op, { operation });
    };

    router.get(DAGS, (req) => {
      const mi = instance(req);
      const all = simulated(mi) ? link.listLinks() : [];
      const skip = Number.parseInt(req.query.get('$skipToken') ?? '0', 10) || 0;
      const page = all.slice(skip, skip + pageSize).map((view) => render(req, mi, view));
      const body: Record<string, unknown> = { value: page };
      if (skip + pageSize < all.length) {
        const next = new URL(`${req.baseUrl}${req.path}`);
        for (const [k, v] of req.query) if (k !== '$skipToken') next.searchParams.set(k, v);
        next.searchParams.set('$skipToken', String(skip + pageSize));
        body.nextLink = next.toString();
      }
      return { status: 200, body };
    });

    router.get(DAG, (req) => {
      const mi = instance(req);
      return { status: 200, body: render(req, mi, existing(req, mi)) };
    });

    router.put(DAG, (req): ArmResponse => {
      const mi = instance(req);
      if (!simulated(mi)) {
        throw new ServiceError(
          'InvalidParameterValue',
          `The sandbox simulates the link on managed instance '${link.managedInstanceName}' only.`,
        );
      }
      const name = dagName(req);
      link.createManagedInstanceLink(parseDagPut(name, req.body, req.apiVersion ?? ''));
      const started = ctx.world.clock.now();
      const op = ctx.lro.start({
        kind: KIND,
        subscriptionId: mi.subscriptionId,
        location: mi.location,
        evaluate: () => {
          if (!link.hasLink(name)) {
            return {
              status: 'Failed',
              error: new ServiceError('OperationCanceled', 'The link was removed.'),
            };
          }
          if (link.linkView(name).databases.every((db) => db.replicaState === 'Catchup')) return SUCCEEDED;
          if (ctx.world.clock.now() - started < creationTimeoutMs) return IN_PROGRESS;
          link.removeManagedInstanceLink(name);
          return {
            status: 'Failed',
            error: new ServiceError(
              'OperationTimedOut',
              'The operation timed out and automatically rolled back. Please retry the operation.',
              500,
            ),
          };
        },
      });
      return acceptedOperation(ctx, req, op, { operation: linkOperationName('create', req.apiVersion) });
    });

    router.add('PATCH', DAG, (req) => {
      const mi = instance(req);
      const name = existing(req, mi).name;
      const { replicationMode } = parseDagPatch(req.body);
      return timedChange(
        req,
        mi,
        () => {
          if (replicationMode) link.updateReplicationMode(name, replicationMode);
        },
        () => render(req, mi, link.linkView(name)),
        linkOperationName('update', req.apiVersion),
      );
    });

    router.delete(DAG, (req) => {
      const mi = instance(req);
      if (!simulated(mi) || !link.hasLink(dagName(req))) return { status: 204 };
      const name = link.linkView(dagName(req)).name;
      return timedChange(
        req,
        mi,
        () => {
          if (link.hasLink(name)) link.removeManagedInstanceLink(name);
        },
        undefined,
        linkOperationName('drop', req.apiVersion),
      );
    });

    router.post(`${DAG}/failover`, (req) => {
      const mi = instance(req);
      const view = existing(req, mi);
      const failoverType = actionField(req.body, 'failoverType');
      const planned = failoverType?.toLowerCase() === 'planned';
      if (!planned && failoverType?.toLowerCase() !== 'forcedallowdataloss') {
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverRequest',
          'Distributed Availability Group Failover request body is empty or invalid.',
        );
      }
      if (planned && view.instanceLinkRole !== 'Primary') {
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
          'Planned failover can be executed on a link in the primary role only. Current state of the specified link is secondary.',
        );
      }
      return timedChange(
        req,
        mi,
        () => link.armFailover(view.name, failoverType as string),
        () => render(req, mi, link.linkView(view.name)),
        linkOperationName('failover', req.apiVersion),
      );
    });

    router.post(`${DAG}/setRole`, (req) => {
      const mi = instance(req);
      const view = existing(req, mi);
      const instanceRole = actionField(req.body, 'instanceRole');
      const roleChangeType = actionField(req.body, 'roleChangeType');
      if (!instanceRole || !roleChangeType) {
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverRequest',
          'Distributed Availability Group Failover request body is empty or invalid.',
        );
      }
      return timedChange(
        req,
        mi,
        () => link.armSetRole(view.name, instanceRole, roleChangeType),
        () => render(req, mi, link.linkView(view.name)),
        linkOperationName('setRole', req.apiVersion),
      );
    });
  };
}

/** For `registerDagRoutes`-style callers that hold the ARM context already. */
export function registerDagRoutes(
  router: Parameters<RouteFamily>[0],
  ctx: ArmContext,
  link: LinkWorld,
  options?: DagRouteOptions,
): void {
  dagRoutes(link, options)(router, ctx);
}
