import { ServiceError } from '../../world/errors';
import type { ManagedInstance } from '../../world/instances';
import type { LinkResourceView, LinkWorld } from '../../world/link';
import { actionField, parseDagPatch, parseDagPut, putMatches, renderDag } from '../../world/linkArm';
import type { ArmContext, RouteFamily } from '../context';
import type { Operation, OperationOutcome } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';
import { acceptedOperation, findInstance, linkOperationName, MANAGED_INSTANCE } from './common';

/**
 * The Managed Instance link contract: …/managedInstances/{mi}/distributedAvailabilityGroups[/{dag}], as the
 * recordings show it (../shared/recordings/link-*.jsonl, README):
 *
 * - GET (old property model below 2023-05-01-preview and on stable 2023-08-01, new model above; linkArm.ts),
 *   list (paged by nextLink). A missing link is 404 ResourceNotFound (link-errors seq 8); a missing managed
 *   instance is 404 ResourceNotFound naming the instance (link-errors seq 5).
 * - Every write (PUT, PATCH, DELETE, POST failover/setRole) answers 202 with a stub `{operation, startTime}`
 *   and both Azure-AsyncOperation and Location (link-errors seq 6, 9, 16; link-mgmt seq 1, 8;
 *   link-multi-database-update seq 1, 12, 27). The change applies when the operation ends.
 * - PUT of a new link: its operation runs until seeding is done (11–81 s recorded), fails (and rolls back)
 *   when not seeded within `linkCreationTimeoutMs`; a repeated identical PUT succeeds at once (link-errors
 *   16–17). Bodies the service refuses are 400 at once (link-errors 0–4).
 * - DELETE of a link that does not exist answers 202 too; its operation fails with OperationIdNotFound
 *   (link-errors 6–7), never 404/204.
 * - Planned failover on a link whose instance is secondary is 400 at once (link-errors 19).
 */
export interface DagRouteOptions {
  /** Simulated ms a PATCH/DELETE/failover/setRole operation takes. Default 15 s (recorded: 11–23 s). */
  operationMs?: number;
  /** Simulated ms after which an unseeded link creation fails. Default 5 min. */
  linkCreationTimeoutMs?: number;
  /** Simulated ms GETs answer sparse after a PUT created the link (recordings README). Default 5 s. */
  sparseAfterCreateMs?: number;
  /** Items per page of the list. Default 10 (no source: the recordings list at most one link). */
  pageSize?: number;
}

const DAGS = `${MANAGED_INSTANCE}/distributedAvailabilityGroups`;
const DAG = `${DAGS}/{distributedAvailabilityGroupName}`;
const KIND = 'distributedAvailabilityGroups';

const IN_PROGRESS: OperationOutcome = { status: 'InProgress' };
const SUCCEEDED: OperationOutcome = { status: 'Succeeded' };

type Write = 'create' | 'createFromMi' | 'update' | 'drop' | 'failover' | 'setRole';
const ACTION = {
  create: 'create',
  createFromMi: 'createFromInstance',
  update: 'update',
  drop: 'drop',
  failover: 'failover',
  setRole: 'setRole',
} as const;

export function dagRoutes(link: LinkWorld, options: DagRouteOptions = {}): RouteFamily {
  const operationMs = options.operationMs ?? 15_000;
  const creationTimeoutMs = options.linkCreationTimeoutMs ?? 5 * 60_000;
  const sparseMs = options.sparseAfterCreateMs ?? 5_000;
  const pageSize = options.pageSize ?? 10;

  return (router, ctx) => {
    /** The managed instance of the path; a missing one is 404 ResourceNotFound naming it (link-errors seq 5). */
    const instance = (req: ArmRequest): ManagedInstance => {
      const mi = findInstance(ctx, req, false);
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
    const exists = (mi: ManagedInstance, name: string) => simulated(mi) && link.hasLink(name);
    /** The link of the path, or 404 ResourceNotFound as recorded (link-errors seq 8). */
    const existing = (req: ArmRequest, mi: ManagedInstance): LinkResourceView => {
      if (!exists(mi, dagName(req))) {
        throw new ServiceError(
          'ResourceNotFound',
          `The requested resource of type 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups' with name '${dagName(req)}' was not found.`,
          404,
        );
      }
      return link.linkView(dagName(req));
    };

    /** The 202 of every write: the stub body and both LRO headers (routes/common.ts acceptedOperation). */
    const accepted = (req: ArmRequest, op: Operation, write: Write): ArmResponse =>
      acceptedOperation(ctx, req, op, { operation: linkOperationName(ACTION[write], req.apiVersion) });

    const start = (mi: ManagedInstance, evaluate: () => OperationOutcome, result?: () => unknown) =>
      ctx.lro.start({
        kind: KIND,
        subscriptionId: mi.subscriptionId,
        location: mi.location,
        evaluate,
        result,
      });

    /**
     * Starts an operation that applies `change` once `operationMs` of simulated time has passed, whether or not
     * anyone polls it (the service carries on when the client is gone; the next request that looks at the
     * world applies it); a refusal at that point fails the operation with the service's error.
     */
    const timedChange = (
      req: ArmRequest,
      mi: ManagedInstance,
      write: Write,
      change: () => void,
      result?: () => unknown,
    ) => {
      const due = ctx.world.clock.now() + operationMs;
      let outcome: OperationOutcome = IN_PROGRESS;
      const apply = (): OperationOutcome => {
        if (outcome.status !== 'InProgress' || ctx.world.clock.now() < due) return outcome;
        try {
          change();
          outcome = SUCCEEDED;
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          outcome = { status: 'Failed', error: err };
        }
        return outcome;
      };
      ctx.world.schedule(due, () => void apply());
      return accepted(req, start(mi, apply, result), write);
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
      const spec = parseDagPut(name, req.body, req.apiVersion ?? '');
      if (link.hasLink(name)) {
        const view = link.linkView(name);
        if (putMatches(spec, view))
          return accepted(
            req,
            start(mi, () => SUCCEEDED),
            'create',
          );
        // No source for a PUT that differs from the link: its replication mode is applied, nothing else.
        return timedChange(req, mi, 'create', () => {
          if (spec.replicationMode) link.updateReplicationMode(name, spec.replicationMode);
        });
      }
      link.createManagedInstanceLink({ ...spec, sparseForMs: sparseMs });
      const started = ctx.world.clock.now();
      const op = start(mi, () => {
        if (!link.hasLink(name)) {
          return { status: 'Failed', error: new ServiceError('OperationCanceled', 'The link was removed.') };
        }
        const view = link.linkView(name);
        if (!view.sparse && view.databases.every((db) => db.replicaState === 'LinkSynchronizing')) {
          return SUCCEEDED;
        }
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
      });
      return accepted(req, op, 'create');
    });

    router.add('PATCH', DAG, (req) => {
      const mi = instance(req);
      const name = existing(req, mi).name;
      const { replicationMode } = parseDagPatch(req.body);
      return timedChange(
        req,
        mi,
        'update',
        () => {
          if (replicationMode) link.updateReplicationMode(name, replicationMode);
        },
        () => render(req, mi, link.linkView(name)),
      );
    });

    router.delete(DAG, (req) => {
      const mi = instance(req);
      const name = dagName(req);
      if (!exists(mi, name)) {
        // 202 and an operation that fails, never 404/204 (link-errors seq 6–7).
        const error = new ServiceError(
          'OperationIdNotFound',
          `The operation with Id: '${name}' does not exist.`,
          404,
        );
        return accepted(
          req,
          start(mi, () => ({ status: 'Failed', error })),
          'drop',
        );
      }
      const actual = link.linkView(name).name;
      return timedChange(req, mi, 'drop', () => {
        if (link.hasLink(actual)) link.removeManagedInstanceLink(actual);
      });
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
        // link-errors seq 19.
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
          'Planned failover can be executed on a link in the primary role only. Current state of the specified link is secondary.',
        );
      }
      return timedChange(
        req,
        mi,
        'failover',
        () => link.armFailover(view.name, failoverType as string),
        () => render(req, mi, link.linkView(view.name)),
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
        'setRole',
        () => link.armSetRole(view.name, instanceRole, roleChangeType),
        () => render(req, mi, link.linkView(view.name)),
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
