/**
 * The DistributedAvailabilityGroupLink dynamic provider: glue between the engine's calls and the pure link
 * workflow in core/link. SQL sessions and ARM clients are opened per operation and always closed.
 */
import { ENGINE_INPUTS } from '../core/inputs';
import { checkLinkInputs, type LinkInputs, type ReadyLink, type ReplicationMode } from '../core/link/inputs';
import {
  type CleanupResult,
  type CutoverResult,
  cleanupAfterCutover,
  cutover,
  deleteLinkResource,
  ensureMode,
  isBusinessCritical,
  type LinkContext,
  type LinkObservation,
  linkOutputs,
  observeAfter,
  observeLink,
  planCleanup,
  planCutover,
  planDeleteBeforeCutover,
  planModeSwitch,
  sampleLsns,
} from '../core/link/workflow';
import type { LsnSample } from '../core/lsn';
import { conditional, formatPlan, type Step } from '../core/plan';
import { isUnknown } from '../core/unknown';
import {
  checkResult,
  named,
  OperationContext,
  plain,
  resourceLabel,
  resourceLogger,
  sayUnknowns,
  validInputs,
} from '../runtime/context';
import type { SqlSession as Session } from '../sql/client';

type Props = Record<string, unknown>;
const KIND = 'DistributedAvailabilityGroupLink';
const PLAN_TITLE = 'create plan (steps already in place are skipped)';

function parse(news: Props): ReadyLink {
  return validInputs<ReadyLink>(checkLinkInputs({}, news));
}

function linkId(i: ReadyLink): string {
  return `${i.managedInstanceId}/distributedAvailabilityGroups/${i.linkName}`;
}

async function open(
  i: ReadyLink,
  raw: Props,
): Promise<{ op: OperationContext; ctx: LinkContext; close: () => Promise<void> }> {
  const op = new OperationContext(resourceLabel(KIND, raw, i.linkName), [
    i.sqlServer.password,
    i.managedInstanceSql.password,
  ]);
  const { createLinkArm } = require('../azure/dag') as typeof import('../azure/dag');
  const { SqlSession, sqlServerPort, managedInstanceSqlPort } =
    require('../sql/client') as typeof import('../sql/client');
  const linkArm = createLinkArm({
    managedInstanceId: i.managedInstanceId,
    linkName: i.linkName,
    armEndpoint: i.armEndpoint,
    pollIntervalInMs: i.pollIntervalInMs,
    operationDeadlineInMs: i.operationDeadlineInMs,
    clock: op.clock,
    log: op.say,
  });
  // The instance (tier, update policy) does not change during an operation: read it once (issue 9).
  let instance: ReturnType<typeof linkArm.getInstance> | undefined;
  const arm = {
    ...linkArm,
    getInstance: () => {
      instance ??= linkArm.getInstance().catch((e: unknown) => {
        instance = undefined;
        throw e;
      });
      return instance;
    },
  };
  let sqlSession: Session | undefined;
  try {
    const session = { clock: op.clock, budgetMs: i.operationDeadlineInMs };
    sqlSession = await SqlSession.open(i.sqlServer, 'SQL Server', session);
    const miSession = await SqlSession.open(i.managedInstanceSql, 'the managed instance', session);
    const ctx: LinkContext = {
      arm,
      sql: sqlServerPort(sqlSession),
      mi: managedInstanceSqlPort(miSession),
      clock: op.clock,
      log: op.say,
      wait: op.wait,
    };
    const s = sqlSession;
    return { op, ctx, close: async () => void (await Promise.all([s.close(), miSession.close()])) };
  } catch (e) {
    await sqlSession?.close();
    throw op.failure(e);
  }
}

type Extra = Partial<CutoverResult & CleanupResult>;

function createPlan(i: LinkInputs): Step[] {
  return i.cutover ? planCutover(i, undefined) : planModeSwitch(i, i.replicationMode ?? 'Async');
}

function extraFrom(olds: Props): Extra {
  const e: Extra = {};
  if (typeof olds.cutoverAt === 'string') e.cutoverAt = olds.cutoverAt;
  if (typeof olds.managedInstanceCutoverAt === 'string')
    e.managedInstanceCutoverAt = olds.managedInstanceCutoverAt;
  if (olds.failoverRouteUsed === 'breakLink' || olds.failoverRouteUsed === 'tsqlFailover')
    e.route = olds.failoverRouteUsed;
  if (typeof olds.failoverRouteReason === 'string') e.routeReason = olds.failoverRouteReason;
  if (typeof olds.linkRemovedAtFailover === 'boolean') e.linkRemoved = olds.linkRemovedAtFailover;
  if (typeof olds.forcedFailover === 'boolean' || olds.forcedFailover === null)
    e.forced = olds.forcedFailover;
  if (olds.finalLsns && typeof olds.finalLsns === 'object')
    e.finalLsns = olds.finalLsns as Record<string, string | null>;
  if (typeof olds.failoverSentAt === 'string') e.failoverSentAt = olds.failoverSentAt;
  if (typeof olds.linkRemovalSentAt === 'string') e.removalSentAt = olds.linkRemovalSentAt;
  if (typeof olds.cleanupAt === 'string') e.cleanupAt = olds.cleanupAt;
  if (typeof olds.droppedLink === 'boolean') e.droppedLink = olds.droppedLink;
  if (typeof olds.droppedAvailabilityGroup === 'boolean')
    e.droppedAvailabilityGroup = olds.droppedAvailabilityGroup;
  return e;
}

/** Outputs: what is there now, plus the secret connections under their own (secret) names for delete. */
async function outputs(
  i: ReadyLink,
  ctx: LinkContext,
  extra: Extra,
  news: Props,
  seen?: LinkObservation,
): Promise<Props> {
  // `seen`: the link and replicas as the operation just verified them (issue 9: not read again).
  const o = seen ?? (await observeLink(i, ctx));
  const bc = isBusinessCritical(await ctx.arm.getInstance());
  let samples: LsnSample[] = [];
  try {
    samples = await sampleLsns(i, ctx, bc);
  } catch {
    samples = i.databaseNames.map((database) => ({ database }));
  }
  return plain({
    ...linkOutputs(i, o, samples, extra),
    sqlServer: news.sqlServer,
    managedInstanceSql: news.managedInstanceSql,
    ...named(news),
  });
}

/**
 * Runs the declared state: cutover (and cleanup if asked), or the declared replication mode. `seen`: what the
 * outputs show, as the operation last read it: the link as the mode switch verified it, or as the cutover's
 * last reading showed it (its removal verified by a 404) with SQL Server's replicas read after the failover.
 * `record`: what the cutover decided and sent (written before each irreversible call) and, once it is done, its
 * result; a failure puts it in the partial-failure outputs, so the next run follows the calls made.
 */
async function converge(
  i: ReadyLink,
  ctx: LinkContext,
  extra: Extra,
  record: Extra,
): Promise<{ extra: Extra; seen?: LinkObservation }> {
  if (extra.cutoverAt) {
    if (i.cleanupAfterCutover && !extra.cleanupAt)
      return {
        extra: { ...extra, ...(await cleanupAfterCutover(i, ctx, extra.managedInstanceCutoverAt)) },
      };
    ctx.log('cutover already done: nothing to change on the link');
    return { extra };
  }
  if (i.cutover) {
    const { linkAfter, ...result } = await cutover(i, ctx, extra, record);
    Object.assign(record, result);
    const next = { ...extra, ...result };
    if (i.cleanupAfterCutover)
      return { extra: { ...next, ...(await cleanupAfterCutover(i, ctx, next.managedInstanceCutoverAt)) } };
    // Issue 9: the link is not read again after the cutover's last reading of it.
    return { extra: next, seen: await observeAfter(i, ctx, linkAfter) };
  }
  return { extra, seen: await ensureMode(i, ctx, i.replicationMode ?? 'Async') };
}

async function run<T>(
  i: ReadyLink,
  inputs: Props,
  fn: (ctx: LinkContext) => Promise<T>,
  onError: (ctx: LinkContext) => Promise<{ id: string; properties: Props } | undefined>,
): Promise<T> {
  const { op, ctx, close } = await open(i, inputs);
  try {
    return await fn(ctx);
  } catch (e) {
    const partial = await onError(ctx).catch(() => undefined);
    throw op.failure(e, partial, inputs);
  } finally {
    await close();
  }
}

export const distributedAvailabilityGroupLink = {
  async check(olds: Props, news: Props) {
    const c = checkLinkInputs(olds, news);
    const plan = () => createPlan(c.inputs);
    return checkResult(KIND, c.inputs.linkName, olds, news, c, plan, PLAN_TITLE);
  },

  async diff(_id: string, olds: Props, news: Props) {
    const c = checkLinkInputs({}, news);
    const i = c.inputs;
    const steps: Step[] = [];
    const done = typeof olds.cutoverAt === 'string';
    const oldMode = (olds.replicationMode as ReplicationMode | undefined) ?? 'Async';
    if (!done && i.cutover && olds.cutover !== true) steps.push(...planCutover(i, oldMode));
    else if (!done && isUnknown(news.cutover) && olds.cutover !== true) {
      steps.push(...conditional('cutover turns out true', planCutover(i, oldMode)));
    } else if (!done && i.replicationMode && i.replicationMode !== oldMode) {
      steps.push(...planModeSwitch(i, i.replicationMode));
    } else if (!done && isUnknown(news.replicationMode)) {
      steps.push(
        ...conditional('replicationMode changes', planModeSwitch(i, oldMode === 'Sync' ? 'Async' : 'Sync')),
      );
    }
    if (done && i.cleanupAfterCutover && !olds.cleanupAt) steps.push(...planCleanup(i));
    const settings = Object.keys(c.normalized).filter(
      (k) =>
        k !== 'sqlServer' &&
        k !== 'managedInstanceSql' &&
        !ENGINE_INPUTS.includes(k) &&
        JSON.stringify(olds[k] ?? null) !== JSON.stringify(c.normalized[k] ?? null),
    );
    const connections = ['sqlServer', 'managedInstanceSql'].filter(
      (k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(c.normalized[k] ?? null),
    );
    const changes = steps.length > 0 || settings.length > 0 || connections.length > 0;
    if (changes) {
      const log = resourceLogger(resourceLabel(KIND, news, news.linkName ?? olds.linkName));
      sayUnknowns(log, news);
      const all = steps.length
        ? steps
        : [
            {
              action: `record new settings (${[...settings, ...connections].join(', ')}); no change to the link`,
            },
          ];
      log.info(formatPlan('update plan', all));
      if (!done && i.cutover === false)
        log.info(formatPlan('on destroy before cutover', planDeleteBeforeCutover(i)));
    }
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(news: Props) {
    const i = parse(news);
    const record: Extra = {};
    return run(
      i,
      news,
      async (ctx) => {
        const { extra, seen } = await converge(i, ctx, {}, record);
        return { id: linkId(i), outs: await outputs(i, ctx, extra, news, seen) };
      },
      async (ctx) => {
        const o = await observeLink(i, ctx);
        // A link on neither side: nothing to record, unless a call was sent (breaking the link removes it).
        if (!o.link && o.replicas.length === 0 && !record.failoverSentAt) return undefined;
        return { id: linkId(i), properties: await outputs(i, ctx, record, news, o) };
      },
    );
  },

  async update(id: string, olds: Props, news: Props) {
    const i = parse(news);
    const extra = extraFrom(olds);
    const record: Extra = {};
    return run(
      i,
      news,
      async (ctx) => {
        const { extra: next, seen } = await converge(i, ctx, extra, record);
        return { outs: await outputs(i, ctx, next, news, seen) };
      },
      async (ctx) => ({ id, properties: await outputs(i, ctx, { ...extra, ...record }, news) }),
    );
  },

  async read(id: string, props: Props) {
    const i = parse(props);
    return run(
      i,
      props,
      async (ctx) => ({ id, props: await outputs(i, ctx, extraFrom(props), props) }),
      async () => undefined,
    );
  },

  async delete(_id: string, props: Props) {
    const i = parse(props);
    await run(
      i,
      props,
      async (ctx) => {
        await deleteLinkResource(i, ctx, props);
      },
      async () => undefined,
    );
  },
};
