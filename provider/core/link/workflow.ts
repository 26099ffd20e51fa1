import { type Clock, iso } from '../clock';
import { MigrationError } from '../errors';
import type { Waiter } from '../../runtime/waiter';
import { describeSamples, type LsnSample, lsnText } from '../lsn';
import { formatPlan } from '../plan';
import { runGate } from './gate';
import type { ReadyLink, ReplicationMode } from './inputs';
import { planCleanup } from './plans';
import type {
  AvailabilityMode,
  InstanceView,
  LinkArmPort,
  LinkView,
  ManagedInstanceSqlPort,
  ReplicaRow,
  SqlServerPort,
} from './ports';
import { chooseRoute, type Route } from './route';

export { sampleLsns, runGate, type GateResult } from './gate';
export { planCleanup, planCutover, planDeleteBeforeCutover, planModeSwitch } from './plans';
export { chooseRoute, supportsTsqlFailover, requiredUpdatePolicy, ROUTE_RULE } from './route';

export interface LinkContext {
  arm: LinkArmPort;
  sql: SqlServerPort;
  mi: ManagedInstanceSqlPort;
  clock: Clock;
  log: (line: string) => void;
  wait: Waiter;
}

const SYNC: AvailabilityMode = 'SYNCHRONOUS_COMMIT';
const ASYNC: AvailabilityMode = 'ASYNCHRONOUS_COMMIT';
const modeOf = (m: ReplicationMode): AvailabilityMode => (m === 'Sync' ? SYNC : ASYNC);
const eq = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

export const isBusinessCritical = (instance: InstanceView) => /business ?critical/i.test(instance.tier ?? '');

// ---------- observation ----------

export interface LinkObservation {
  link?: LinkView;
  replicas: ReplicaRow[];
  /** The managed instance's member of the DAG, as SQL Server's definition names it. */
  managedInstanceAg?: string;
  /** SQL Server's own role in the DAG (its replica row), when SQL Server has the DAG. */
  sqlServerRole?: string;
  sqlServerMode?: string;
  managedInstanceMode?: string;
}

export async function observeLink(i: ReadyLink, ctx: LinkContext): Promise<LinkObservation> {
  const [link, replicas] = await Promise.all([ctx.arm.getLink(), ctx.sql.dagReplicas(i.linkName)]);
  const own = replicas.find((r) => eq(r.replicaServerName, i.sqlServerAvailabilityGroupName));
  const other = replicas.find((r) => !eq(r.replicaServerName, i.sqlServerAvailabilityGroupName));
  // SQL Server's definition names the member the ALTER must use: older links name the managed instance itself,
  // newer ones its AG (issue 7 point 12); the input and ARM are fallbacks when SQL Server has no DAG.
  const managedInstanceAg =
    other?.replicaServerName ?? i.managedInstanceAvailabilityGroupName ?? link?.instanceAvailabilityGroupName;
  const modes = [...new Set(replicas.map((r) => r.availabilityMode))];
  return {
    link,
    replicas,
    managedInstanceAg,
    sqlServerRole: own?.role,
    sqlServerMode: modes.length === 1 ? modes[0] : modes.length ? modes.join('/') : undefined,
    managedInstanceMode: link?.replicationMode,
  };
}

const isReadWrite = (s: { state: string; readOnly: boolean } | undefined) =>
  s !== undefined && eq(s.state, 'ONLINE') && !s.readOnly;

const cutOver = (o: LinkObservation) => !o.link || eq(o.link.instanceLinkRole, 'Primary');

function linkMissing(i: ReadyLink, o: LinkObservation): MigrationError | undefined {
  if (!o.link) {
    return new MigrationError(
      'LinkNotFound',
      `The link ${i.linkName} does not exist on the managed instance.`,
      {
        hint: 'create the link first (SSMS wizard, PowerShell New-AzSqlInstanceLink or az sql mi link create); this resource attaches to an existing link',
      },
    );
  }
  if (o.replicas.length === 0) {
    return new MigrationError(
      'LinkNotFoundOnSqlServer',
      `SQL Server has no distributed availability group named ${i.linkName}.`,
      {
        hint: 'check linkName and the sqlServer connection (it must point at the primary replica)',
      },
    );
  }
  return undefined;
}

// ---------- sync switch ----------

export async function ensureMode(
  i: ReadyLink,
  ctx: LinkContext,
  mode: ReplicationMode,
): Promise<LinkObservation> {
  let o = await observeLink(i, ctx);
  const missing = linkMissing(i, o);
  if (missing) throw missing;
  const target = modeOf(mode);
  // Both sides already in the mode: this reading is the verification (issue 9: not read again).
  if (eq(o.managedInstanceMode, mode) && o.replicas.every((r) => eq(r.availabilityMode, target))) {
    ctx.log(`link ${i.linkName} is ${mode} on both sides`);
    return o;
  }
  if (!eq(o.managedInstanceMode, mode)) {
    ctx.log(`switching the managed instance side of ${i.linkName} to ${mode} (ARM PATCH)`);
    await ctx.arm.setReplicationMode(mode);
  }
  if (o.replicas.some((r) => !eq(r.availabilityMode, target))) {
    if (!o.managedInstanceAg) {
      throw new MigrationError(
        'ManagedInstanceAgUnknown',
        'Cannot tell the availability group name of the managed instance side.',
        {
          hint: 'set managedInstanceAvailabilityGroupName',
        },
      );
    }
    if (
      i.managedInstanceAvailabilityGroupName &&
      !eq(i.managedInstanceAvailabilityGroupName, o.managedInstanceAg)
    ) {
      ctx.log(
        `SQL Server's definition of ${i.linkName} names the managed instance '${o.managedInstanceAg}' (not '${i.managedInstanceAvailabilityGroupName}'): using SQL Server's name`,
      );
    }
    ctx.log(`switching SQL Server side of ${i.linkName} to ${target} (ALTER AVAILABILITY GROUP)`);
    await ctx.sql.setDagMode(i.linkName, i.sqlServerAvailabilityGroupName, o.managedInstanceAg, target);
  }
  o = await ctx.wait({
    what: `both replicas of ${i.linkName} to report ${target}`,
    poll: () => observeLink(i, ctx),
    judge: (s) =>
      eq(s.managedInstanceMode, mode) &&
      s.replicas.length > 0 &&
      s.replicas.every((r) => eq(r.availabilityMode, target))
        ? { done: true }
        : { done: false, waiting: 'mode change not visible on both sides yet' },
    describe: (s) =>
      `managed instance ${s.managedInstanceMode ?? 'unknown'}, SQL Server replicas ${s.replicas.map((r) => `${r.replicaServerName}=${r.availabilityMode}`).join(', ')}`,
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'run up again: it reads both sides first and resumes the switch (raise operationDeadlineInMs if it needs longer)',
  });
  ctx.log(`link ${i.linkName} is ${mode} on both sides`);
  return o;
}

// ---------- cutover ----------

export interface CutoverResult {
  cutoverAt: string;
  /**
   * The managed instance's own UTC clock right before the failover call (style 126): the first full backup
   * must start after it. Its own clock, because msdb dates are the instance's and clocks differ.
   */
  managedInstanceCutoverAt?: string;
  route: Route;
  routeReason?: string;
  forced: boolean;
  finalLsns: Record<string, string | null>;
  /** The cutover removed the link on the managed instance (or it was gone already). */
  linkRemoved?: boolean;
}

export async function cutover(
  i: ReadyLink,
  ctx: LinkContext,
  previous?: Partial<CutoverResult>,
): Promise<CutoverResult> {
  // First step, before anything changes: the link on both sides, the server version, the instance (tier and
  // update policy, read once), and the route. A refusal here costs no downtime.
  let o = await observeLink(i, ctx);
  if (!o.link && o.replicas.length === 0 && !previous?.cutoverAt) throw linkMissing(i, o)!;
  const instance = await ctx.arm.getInstance();
  let result: CutoverResult | undefined;
  if (cutOver(o)) {
    // The link removed (by this resource before a crash, or already cleaned up) or the MI primary: the
    // failover happened; what is left is ending a split brain, removing the link, and the verification.
    ctx.log(
      `link ${i.linkName} is already ${o.link ? 'failed over' : 'removed'}: resuming after the failover`,
    );
    const splitBrain = !!o.link && eq(o.sqlServerRole, 'PRIMARY');
    if (splitBrain)
      ctx.log(
        `SQL Server is still primary of ${i.linkName} while the managed instance is: the failover was forced`,
      );
    // Outputs written before the cutover say forcedFailover false: only a recorded true or the split brain count.
    const forced = previous?.forced === true || splitBrain;
    if (splitBrain) await endSplitBrain(i, ctx);
    const linkRemoved = await removeLinkIfAsked(i, ctx, o.link !== undefined);
    result = {
      cutoverAt: previous?.cutoverAt ?? iso(ctx.clock.now()),
      // Not recorded before the crash: the instance's clock now (later than the failover: never too early).
      managedInstanceCutoverAt: previous?.managedInstanceCutoverAt ?? (await ctx.mi.utcNow()),
      // With the link gone, SQL Server secondary in its DAG says a T-SQL FAILOVER (breaking the link leaves it primary).
      route: previous?.route ?? (o.link || eq(o.sqlServerRole, 'SECONDARY') ? 'tsqlFailover' : 'breakLink'),
      routeReason: previous?.routeReason,
      forced,
      // Not recorded before the crash: unknown per database (null), never an empty claim.
      finalLsns: previous?.finalLsns ?? Object.fromEntries(i.databaseNames.map((d) => [d, null])),
      linkRemoved: previous?.linkRemoved ?? linkRemoved,
    };
  } else {
    const info = await ctx.sql.info();
    const decision = chooseRoute(i.failoverRoute ?? 'auto', info, instance.databaseFormat);
    if (i.keepLinkAfterFailover && decision.route === 'breakLink') {
      throw new MigrationError(
        'KeepLinkImpossible',
        `keepLinkAfterFailover is true but the link ${i.linkName} can only be failed over by breaking it: ${decision.reason}.`,
        {
          hint: "set keepLinkAfterFailover: false to migrate by breaking the link, or meet the T-SQL route's conditions (SQL Server 2022 CU13+ with the SQL Server 2022 update policy, or 2025 with the 2025 policy)",
        },
      );
    }
    ctx.log(
      `failover route of ${i.linkName}: ${decision.route === 'tsqlFailover' ? 'T-SQL FAILOVER' : 'break the link (ARM DELETE)'}, because ${decision.reason} (update policy from ARM databaseFormat)`,
    );
    if (!eq(o.managedInstanceMode, 'Sync') || o.replicas.some((r) => !eq(r.availabilityMode, SYNC))) {
      if (!(i.switchToSyncForCutover || i.replicationMode === 'Sync')) {
        throw new MigrationError(
          'NotSynchronous',
          `The link ${i.linkName} is not in synchronous commit on both sides.`,
          {
            hint: "set replicationMode: 'Sync' (or switchToSyncForCutover: true) and run up again",
          },
        );
      }
      o = await ensureMode(i, ctx, 'Sync');
    }
    const gate = await runGate(i, ctx, isBusinessCritical(instance));
    const forced = !gate.passed;
    if (forced) {
      if (!i.allowDataLoss) throw gate.error!;
      ctx.log(`WARNING: DATA MAY BE LOST. ${gate.error!.message} Last LSNs: ${gate.error!.lastState}`);
      ctx.log('WARNING: allowDataLoss is true: failing over without the LSN gate.');
    } else {
      ctx.log(`LSN gate passed: ${describeSamples(gate.samples)}`);
    }
    const finalLsns = Object.fromEntries(
      gate.samples.map((s: LsnSample) => [s.database, lsnText(s.managedInstanceHardened)]),
    );
    // Right before the irreversible call: is it done already (a resumed run, or someone else)?
    const managedInstanceCutoverAt = await ctx.mi.utcNow();
    const now = await ctx.arm.getLink();
    // The link as last read: the failover's wait ends on a reading of it (issue 9: not read again before the
    // removal; a link removed meanwhile makes the DELETE end OperationIdNotFound, which the adapter verifies).
    let after = now;
    if (!now || eq(now.instanceLinkRole, 'Primary')) {
      ctx.log(
        `link ${i.linkName} is already ${now ? 'failed over' : 'removed'}: not calling the failover again`,
      );
    } else {
      after = await failover(i, ctx, decision.route, forced);
    }
    if (forced && decision.route === 'tsqlFailover') await endSplitBrain(i, ctx);
    const linkRemoved =
      decision.route === 'breakLink' || (await removeLinkIfAsked(i, ctx, after !== undefined));
    result = {
      cutoverAt: iso(ctx.clock.now()),
      managedInstanceCutoverAt,
      route: decision.route,
      routeReason: decision.reason,
      forced,
      finalLsns,
      linkRemoved,
    };
  }
  await ctx.wait({
    what: `the managed instance databases (${i.databaseNames.join(', ')}) to be online and read-write`,
    poll: () => Promise.all(i.databaseNames.map(async (d) => [d, await ctx.mi.databaseState(d)] as const)),
    judge: (rows) =>
      rows.every(([, s]) => isReadWrite(s))
        ? { done: true }
        : { done: false, waiting: 'not all online read-write yet' },
    describe: (rows) =>
      rows
        .map(([d, s]) => `${d} ${s ? `${s.state}${s.readOnly ? ' read-only' : ' read-write'}` : 'missing'}`)
        .join(', '),
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the failover is done; run up again: it resumes with this check and fails nothing over again (raise operationDeadlineInMs if the databases need longer)',
  });
  ctx.log(`cutover done: ${i.databaseNames.join(', ')} online and read-write on the managed instance`);
  return result;
}

/** The migration guide removes the link at the failover; keepLinkAfterFailover keeps it (for failback). */
async function removeLinkIfAsked(i: ReadyLink, ctx: LinkContext, present: boolean): Promise<boolean> {
  if (!present) return true;
  if (i.keepLinkAfterFailover) {
    ctx.log(
      `keeping the link ${i.linkName} after the failover (keepLinkAfterFailover): it replicates back to SQL Server`,
    );
    return false;
  }
  ctx.log(`removing the link ${i.linkName} on the managed instance (ARM DELETE): the failover is one way`);
  await ctx.arm.deleteLink();
  return true;
}

/**
 * After a forced failover the managed instance is primary and SQL Server still accepts writes (split brain,
 * failover guide "Inconsistent state after forced failover"): SET (ROLE = SECONDARY) on SQL Server, verified,
 * or, with afterForcedFailover 'leaveSqlServerPrimary', a loud warning.
 */
async function endSplitBrain(i: ReadyLink, ctx: LinkContext): Promise<void> {
  if (i.afterForcedFailover !== 'setSqlServerSecondary') {
    ctx.log(
      `WARNING: SQL Server is still primary of ${i.linkName} and accepts writes (split brain); afterForcedFailover is leaveSqlServerPrimary: stop the applications writing to SQL Server and run ALTER AVAILABILITY GROUP [${i.linkName}] SET (ROLE = SECONDARY) there`,
    );
    return;
  }
  ctx.log(
    `ending the split brain: SQL Server takes the secondary role in ${i.linkName} (ALTER AVAILABILITY GROUP ... SET (ROLE = SECONDARY))`,
  );
  await ctx.sql.setDagRoleSecondary(i.linkName);
  await ctx.wait({
    what: `SQL Server to be secondary in ${i.linkName}`,
    poll: () => observeLink(i, ctx),
    judge: (o) =>
      !eq(o.sqlServerRole, 'PRIMARY')
        ? { done: true }
        : { done: false, waiting: 'SQL Server still reports PRIMARY' },
    describe: (o) => `SQL Server ${o.sqlServerRole ?? 'without the DAG'}`,
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: "run up again: it reads SQL Server's role first and resumes; meanwhile keep the applications from writing to SQL Server",
  });
}

async function allReadWrite(i: ReadyLink, ctx: LinkContext): Promise<boolean> {
  const states = await Promise.all(i.databaseNames.map((d) => ctx.mi.databaseState(d)));
  return states.every(isReadWrite);
}

/** Fails over; answers the link as the last reading showed it (undefined: removed). */
async function failover(
  i: ReadyLink,
  ctx: LinkContext,
  route: Route,
  forced: boolean,
): Promise<LinkView | undefined> {
  if (route === 'breakLink') {
    ctx.log(
      `breaking the link ${i.linkName} (ARM DELETE)${forced ? ' WITHOUT a passed LSN gate: data may be lost' : ''}`,
    );
    await ctx.arm.deleteLink();
    return undefined;
  }
  if (forced) {
    ctx.log(
      `forcing failover of ${i.linkName} on the managed instance (ForcedAllowDataLoss): data may be lost`,
    );
    await ctx.arm.failover('ForcedAllowDataLoss');
  } else {
    ctx.log(`failing over ${i.linkName} with T-SQL on SQL Server (ALTER AVAILABILITY GROUP ... FAILOVER)`);
    await ctx.sql.failover(i.linkName);
  }
  return ctx.wait({
    what: `the managed instance to become primary of ${i.linkName}`,
    poll: () => ctx.arm.getLink(),
    judge: (l) =>
      !l || eq(l.instanceLinkRole, 'Primary')
        ? { done: true }
        : { done: false, waiting: 'role change pending' },
    describe: (l) => (l ? `managed instance ${l.instanceLinkRole ?? 'unknown role'}` : 'link removed'),
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'run up again: it reads the link first and does not fail over a second time',
  });
}

// ---------- cleanup and delete ----------

export interface CleanupResult {
  droppedLink: boolean;
  droppedAvailabilityGroup: boolean;
  cleanupAt: string;
}

const MI_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$/;

/**
 * Cleanup after the cutover. `miCutoverAt`: the managed instance's clock at the cutover (the first full
 * backup must start after it); unknown, the instance's clock now stands in for it (later, never earlier).
 */
export async function cleanupAfterCutover(
  i: ReadyLink,
  ctx: LinkContext,
  miCutoverAt?: string,
): Promise<CleanupResult> {
  if (i.cleanup === 'none') {
    ctx.log('cleanup is none: SQL Server objects are kept');
    return { droppedLink: false, droppedAvailabilityGroup: false, cleanupAt: iso(ctx.clock.now()) };
  }
  const known = miCutoverAt !== undefined && MI_TIME.test(miCutoverAt);
  const since = known ? miCutoverAt : await ctx.mi.utcNow();
  if (!known) {
    ctx.log(
      `the cutover time is not recorded: waiting for a full backup started after ${since} (instance time)`,
    );
  }
  await ctx.wait({
    what: `the managed instance's first full backup of ${i.databaseNames.join(', ')}`,
    poll: () =>
      Promise.all(i.databaseNames.map(async (d) => [d, await ctx.mi.firstFullBackup(d, since)] as const)),
    judge: (rows) =>
      rows.every(([, t]) => t)
        ? { done: true }
        : { done: false, waiting: 'the SQL Server side must not be removed before it' },
    describe: (rows) =>
      rows
        .map(
          ([d, t]) =>
            `${d}: ${t ? `full backup finished ${t} (instance time)` : `no full backup since ${since} yet`}`,
        )
        .join(', '),
    deadline: ctx.clock.now() + i.firstBackupDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the managed instance takes a full backup shortly after the databases become read-write; run destroy again later',
  });
  const link = await ctx.arm.getLink();
  if (link) {
    ctx.log(`removing the link ${i.linkName} on the managed instance (ARM DELETE)`);
    await ctx.arm.deleteLink();
  }
  let droppedLink = false;
  if (await ctx.sql.availabilityGroup(i.linkName)) {
    ctx.log(`dropping the distributed availability group ${i.linkName} on SQL Server`);
    await ctx.sql.dropAvailabilityGroup(i.linkName);
    droppedLink = true;
  } else {
    ctx.log(`distributed availability group ${i.linkName} is already gone on SQL Server`);
  }
  let droppedAvailabilityGroup = false;
  if (i.cleanup === 'linkAndAvailabilityGroup') {
    const ag = i.sqlServerAvailabilityGroupName;
    if (await ctx.sql.availabilityGroup(ag)) {
      const usage = await ctx.sql.availabilityGroupUsage(ag);
      const mine = new Set(i.databaseNames.map((d) => d.toLowerCase()));
      const others = usage.databases.filter((d) => !mine.has(d.toLowerCase()));
      if (others.length || usage.dagCount > 0) {
        ctx.log(
          `keeping availability group ${ag}: it still ${others.length ? `holds ${others.join(', ')}` : ''}${others.length && usage.dagCount ? ' and ' : ''}${usage.dagCount ? `is part of ${usage.dagCount} other link(s)` : ''}`,
        );
      } else {
        ctx.log(`dropping the availability group ${ag} on SQL Server`);
        await ctx.sql.dropAvailabilityGroup(ag);
        droppedAvailabilityGroup = true;
      }
    } else {
      ctx.log(`availability group ${ag} is already gone on SQL Server`);
    }
  }
  return { droppedLink, droppedAvailabilityGroup, cleanupAt: iso(ctx.clock.now()) };
}

export async function deleteLinkResource(
  i: ReadyLink,
  ctx: LinkContext,
  olds: Record<string, unknown>,
): Promise<string> {
  const o = await observeLink(i, ctx);
  const done = typeof olds.cutoverAt === 'string' || (cutOver(o) && (await allReadWrite(i, ctx)));
  const miCutoverAt =
    typeof olds.managedInstanceCutoverAt === 'string' ? olds.managedInstanceCutoverAt : undefined;
  if (done) {
    if (olds.cleanupAt) {
      ctx.log('cleanup already done during up: nothing left to drop');
      return 'already-clean';
    }
    ctx.log(formatPlan('cleanup after cutover', planCleanup(i)));
    await cleanupAfterCutover(i, ctx, miCutoverAt);
    return 'cleaned';
  }
  switch (i.beforeCutoverDelete) {
    case 'forget':
      ctx.log(`forgetting the link ${i.linkName}: it keeps replicating; nothing is changed`);
      return 'forgotten';
    case 'breakLink':
      ctx.log(`breaking the link ${i.linkName} before cutover (ARM DELETE): SQL Server stays primary`);
      if (o.link) await ctx.arm.deleteLink();
      return 'broken';
    default:
      throw new MigrationError(
        'DeleteBeforeCutover',
        `Refusing to delete the link ${i.linkName} before cutover: it still replicates ${i.databaseNames.join(', ')} and SQL Server is primary.`,
        {
          hint: "choose one and run up, then destroy: cutover: true (migrate first; destroy then cleans up), beforeCutoverDelete: 'forget' (remove from the stack only, the link keeps running), or beforeCutoverDelete: 'breakLink' (break the link; the managed instance copies become independent)",
        },
      );
  }
}

/** Outputs: modes on both sides, roles, per database the LSNs on each side as strings, and the lag. */
export function linkOutputs(
  i: ReadyLink,
  o: LinkObservation,
  samples: LsnSample[],
  extra: Partial<CutoverResult & CleanupResult>,
): Record<string, unknown> {
  const armLag = (db: string) =>
    o.link?.databases.find((d) => d.databaseName.toLowerCase() === db.toLowerCase())?.lagSeconds;
  return {
    managedInstanceId: i.managedInstanceId,
    linkName: i.linkName,
    sqlServerAvailabilityGroupName: i.sqlServerAvailabilityGroupName,
    managedInstanceAvailabilityGroupName:
      o.managedInstanceAg ?? i.managedInstanceAvailabilityGroupName ?? null,
    databaseNames: i.databaseNames,
    replicationMode: i.replicationMode,
    cutover: i.cutover === true,
    switchToSyncForCutover: i.switchToSyncForCutover === true,
    failoverRoute: i.failoverRoute,
    allowDataLoss: i.allowDataLoss === true,
    afterForcedFailover: i.afterForcedFailover ?? null,
    keepLinkAfterFailover: i.keepLinkAfterFailover === true,
    allowShortStabilityWindow: i.allowShortStabilityWindow === true,
    cleanup: i.cleanup,
    cleanupAfterCutover: i.cleanupAfterCutover === true,
    beforeCutoverDelete: i.beforeCutoverDelete,
    lsnStabilityWindowInMs: i.lsnStabilityWindowInMs,
    lsnPollIntervalInMs: i.lsnPollIntervalInMs,
    lsnDeadlineInMs: i.lsnDeadlineInMs,
    firstBackupDeadlineInMs: i.firstBackupDeadlineInMs,
    operationDeadlineInMs: i.operationDeadlineInMs,
    pollIntervalInMs: i.pollIntervalInMs,
    armEndpoint: i.armEndpoint ?? null,
    linkState: o.link ? (o.link.linkState ?? 'Present') : 'Removed',
    instanceLinkRole: o.link?.instanceLinkRole ?? null,
    partnerLinkRole: o.link?.partnerLinkRole ?? null,
    sqlServerRole: o.sqlServerRole ?? null,
    managedInstanceReplicationMode: o.managedInstanceMode ?? null,
    sqlServerReplicationMode: o.sqlServerMode ?? null,
    databases: samples.map((s) => ({
      databaseName: s.database,
      sqlServerLastHardenedLsn: lsnText(s.sqlServerHardened),
      sqlServerEndOfLogLsn: lsnText(s.sqlServerEndOfLog),
      managedInstanceLastHardenedLsn: lsnText(s.managedInstanceHardened),
      // SQL Server's own end of log minus what the managed instance hardened (NULL when either is unknown).
      lagLsn:
        s.sqlServerEndOfLog !== undefined && s.managedInstanceHardened !== undefined
          ? (s.sqlServerEndOfLog - s.managedInstanceHardened).toString()
          : null,
      // ARM's lag in seconds; its -1 ("cannot tell") is shown as null, never as caught up.
      replicationLagSeconds: armLag(s.database) ?? null,
    })),
    cutoverAt: extra.cutoverAt ?? null,
    managedInstanceCutoverAt: extra.managedInstanceCutoverAt ?? null,
    failoverRouteUsed: extra.route ?? null,
    failoverRouteReason: extra.routeReason ?? null,
    forcedFailover: extra.forced ?? false,
    finalLsns: extra.finalLsns ?? null,
    linkRemovedAtFailover: extra.linkRemoved ?? null,
    cleanupDone: extra.cleanupAt !== undefined,
    cleanupAt: extra.cleanupAt ?? null,
    droppedLink: extra.droppedLink ?? false,
    droppedAvailabilityGroup: extra.droppedAvailabilityGroup ?? false,
  };
}
