import { type Clock, iso } from '../clock';
import { MigrationError } from '../errors';
import type { Waiter } from '../../runtime/waiter';
import { describeSamples, LsnGate, type LsnSample, lsnText } from '../lsn';
import { formatPlan, type Step } from '../plan';
import type { FailoverRoute, LinkInputs, ReadyLink, ReplicationMode } from './inputs';
import type {
  AvailabilityMode,
  LinkArmPort,
  LinkView,
  ManagedInstanceSqlPort,
  ReplicaRow,
  ServerInfo,
  SqlCallOptions,
  SqlServerPort,
} from './ports';

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

/** SQL Server 2022 CU13 (16.0.4125) and later can fail the link over with T-SQL. */
export function supportsTsqlFailover(info: ServerInfo): boolean {
  const parts = info.productVersion.split('.').map((p) => Number.parseInt(p, 10));
  const [major = 0, , build = 0] = parts;
  return major > 16 || (major === 16 && build >= 4125);
}

export function chooseRoute(requested: FailoverRoute, info: ServerInfo): 'breakLink' | 'tsqlFailover' {
  if (requested === 'breakLink') return 'breakLink';
  const capable = supportsTsqlFailover(info);
  if (requested === 'tsqlFailover' && !capable) {
    throw new MigrationError(
      'FailoverRouteUnsupported',
      `failoverRoute 'tsqlFailover' needs SQL Server 2022 CU13 (16.0.4125) or later; this SQL Server is ${info.productVersion}${info.productUpdateLevel ? ` ${info.productUpdateLevel}` : ''}.`,
      { hint: "set failoverRoute to 'breakLink' (or 'auto'), or update SQL Server" },
    );
  }
  return capable ? 'tsqlFailover' : 'breakLink';
}

// ---------- plans (what preview prints) ----------

export function planModeSwitch(i: LinkInputs, to: ReplicationMode): Step[] {
  const sqlMode = modeOf(to);
  return [
    {
      action: `switch the link ${i.linkName ?? ''} to ${to === 'Sync' ? 'synchronous' : 'asynchronous'} commit on the managed instance (ARM PATCH replicationMode=${to})`,
    },
    {
      action: `switch it on SQL Server (ALTER AVAILABILITY GROUP ... AVAILABILITY_MODE = ${sqlMode}, both replicas)`,
    },
    { action: 'verify both replicas report the mode (sys.availability_replicas)' },
  ];
}

export function planCutover(i: LinkInputs, currentMode: ReplicationMode | undefined): Step[] {
  const steps: Step[] = [];
  if (currentMode !== 'Sync') steps.push(...planModeSwitch(i, 'Sync'));
  const dbs = (i.databaseNames ?? []).join(', ');
  steps.push({
    action: `wait for the LSN gate: workload stopped, last hardened LSNs of ${dbs} equal on SQL Server and the managed instance and unchanged for ${Math.round(i.lsnStabilityWindowInMs / 1000)}s (deadline ${Math.round(i.lsnDeadlineInMs / 1000)}s)`,
  });
  if (i.allowDataLoss) {
    steps.push({
      action: 'if the gate does not pass by its deadline: fail over anyway (allowDataLoss)',
      dataLoss: true,
      irreversible: true,
    });
  }
  const route = i.failoverRoute ?? 'auto';
  steps.push({
    action:
      route === 'breakLink'
        ? 'break the link (ARM DELETE of the distributed availability group): the managed instance databases become read-write'
        : route === 'tsqlFailover'
          ? 'fail over with T-SQL on SQL Server (ALTER AVAILABILITY GROUP ... FAILOVER): the managed instance becomes primary'
          : 'fail over: T-SQL FAILOVER on SQL Server 2022 CU13+, otherwise break the link (ARM DELETE)',
    irreversible: true,
  });
  steps.push({ action: 'verify the managed instance databases are online and read-write' });
  if (i.cleanupAfterCutover) steps.push(...planCleanup(i));
  return steps;
}

export function planCleanup(i: LinkInputs): Step[] {
  if (i.cleanup === 'none')
    return [{ action: 'no cleanup (cleanup = none): the link objects on SQL Server are kept' }];
  const steps: Step[] = [
    {
      action: `wait until the managed instance has taken its first full backup of ${(i.databaseNames ?? []).join(', ')} (msdb.dbo.backupset)`,
    },
    { action: 'remove the link on the managed instance if it still exists (ARM DELETE)', irreversible: true },
    {
      action: `drop the distributed availability group ${i.linkName ?? ''} on SQL Server`,
      destructive: true,
    },
  ];
  if (i.cleanup === 'linkAndAvailabilityGroup') {
    steps.push({
      action: `drop the availability group ${i.sqlServerAvailabilityGroupName ?? ''} on SQL Server if it holds no other database or link`,
      destructive: true,
    });
  }
  return steps;
}

export function planDeleteBeforeCutover(i: LinkInputs): Step[] {
  switch (i.beforeCutoverDelete) {
    case 'forget':
      return [{ action: 'forget the link: remove it from the stack only; it keeps replicating' }];
    case 'breakLink':
      return [
        {
          action:
            'break the link without cutover (ARM DELETE): SQL Server stays primary; the managed instance copies become independent',
          irreversible: true,
        },
      ];
    default:
      return [
        {
          action:
            "refuse: deleting before cutover needs cutover first, or beforeCutoverDelete 'forget' or 'breakLink'",
        },
      ];
  }
}

// ---------- observation ----------

export interface LinkObservation {
  link?: LinkView;
  replicas: ReplicaRow[];
  managedInstanceAg?: string;
  sqlServerMode?: string;
  managedInstanceMode?: string;
}

export async function observeLink(i: ReadyLink, ctx: LinkContext): Promise<LinkObservation> {
  const [link, replicas] = await Promise.all([ctx.arm.getLink(), ctx.sql.dagReplicas(i.linkName)]);
  const other = replicas.find((r) => !eq(r.replicaServerName, i.sqlServerAvailabilityGroupName));
  const managedInstanceAg =
    i.managedInstanceAvailabilityGroupName ?? link?.instanceAvailabilityGroupName ?? other?.replicaServerName;
  const modes = [...new Set(replicas.map((r) => r.availabilityMode))];
  return {
    link,
    replicas,
    managedInstanceAg,
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
  });
  ctx.log(`link ${i.linkName} is ${mode} on both sides`);
  return o;
}

// ---------- LSN gate ----------

export async function sampleLsns(
  i: ReadyLink,
  ctx: LinkContext,
  businessCritical: boolean,
  opts?: SqlCallOptions,
): Promise<LsnSample[]> {
  return Promise.all(
    i.databaseNames.map(async (db) => {
      const [s, m] = await Promise.all([
        ctx.sql.lsns(i.linkName, db, opts),
        ctx.mi.lsns(db, businessCritical, opts),
      ]);
      const rows = businessCritical ? m.filter((r) => r.primary !== false) : m;
      // More than one row without the BC filter means secondaries were read: the lowest is the safe one.
      const values = rows.map((r) => r.hardened);
      const hardened = values.includes(undefined)
        ? undefined
        : (values as bigint[]).reduce<bigint | undefined>(
            (a, b) => (a === undefined || b < a ? b : a),
            undefined,
          );
      return {
        database: db,
        sqlServerEndOfLog: s?.endOfLog,
        sqlServerHardened: s?.hardened,
        managedInstanceHardened: rows.length ? hardened : undefined,
      };
    }),
  );
}

/** The next LSN reading: one interval after this one, or when the stability window ends if that is sooner. */
export function nextReadingAt(at: number, stableForMs: number, i: ReadyLink): number {
  const next = at + i.lsnPollIntervalInMs;
  const windowLeft = i.lsnStabilityWindowInMs - stableForMs;
  return windowLeft > 0 ? Math.min(next, at + windowLeft) : next;
}

export interface GateResult {
  passed: boolean;
  samples: LsnSample[];
  error?: MigrationError;
}

export async function runGate(
  i: ReadyLink,
  ctx: LinkContext,
  businessCritical: boolean,
): Promise<GateResult> {
  const gate = new LsnGate(i.lsnStabilityWindowInMs);
  let last: LsnSample[] = [];
  let moves = 0;
  try {
    await ctx.wait({
      what: `the LSN gate (${i.databaseNames.join(', ')})`,
      // The gate's deadline bounds each reading: a stalled query ends the gate at its deadline, not later.
      poll: async ({ deadline }) => {
        // A reading's time is when it started: the window spans from the start of the first reading that saw
        // these LSNs to the start of the last (as safe as end to end: both miss at most one reading's length).
        const at = ctx.clock.now();
        last = await sampleLsns(i, ctx, businessCritical, { deadline });
        const state = gate.observe(last, at);
        if (gate.restarted(at)) moves++;
        // The first reading always "moves"; after that, movement in this reading means the workload runs.
        return { samples: last, state, at, moving: moves > 1 && gate.restarted(at) };
      },
      // Downtime: read every interval (no backoff), and exactly when the window ends.
      judge: (s) =>
        s.state.status === 'passed'
          ? { done: true }
          : {
              done: false,
              waiting: s.moving
                ? `${s.state.reason} (LSNs still moving: is the workload stopped?)`
                : s.state.reason,
              dueAt: nextReadingAt(s.at, s.state.stableForMs, i),
            },
      describe: (s) => describeSamples(s.samples),
      deadline: ctx.clock.now() + i.lsnDeadlineInMs,
      intervalMs: i.lsnPollIntervalInMs,
    });
    return { passed: true, samples: last };
  } catch (e) {
    if (!(e instanceof MigrationError) || e.code !== 'Timeout') throw e;
    return {
      passed: false,
      samples: last,
      error: new MigrationError(
        'LsnGateNotPassed',
        `The LSN gate did not pass within ${Math.round(i.lsnDeadlineInMs / 1000)}s: the managed instance has not provably received every transaction.`,
        {
          lastState: describeSamples(last),
          hint: 'stop the workload on SQL Server and make sure the link is connected and synchronous, then run up again; to fail over anyway and accept losing the transactions not hardened on the managed instance, set allowDataLoss: true',
        },
      ),
    };
  }
}

// ---------- cutover ----------

export interface CutoverResult {
  cutoverAt: string;
  route: 'breakLink' | 'tsqlFailover';
  forced: boolean;
  finalLsns: Record<string, string | null>;
}

export async function cutover(
  i: ReadyLink,
  ctx: LinkContext,
  previous?: Partial<CutoverResult>,
): Promise<CutoverResult> {
  let o = await observeLink(i, ctx);
  const info = await ctx.sql.info();
  const tier = await ctx.arm.getInstance();
  const bc = /business ?critical/i.test(tier.tier ?? '');
  let result: CutoverResult | undefined;
  if (!o.link && o.replicas.length === 0 && !previous?.cutoverAt) throw linkMissing(i, o)!;
  // The link removed (by this resource before a crash, or already cleaned up) or the MI primary: the failover
  // happened; only the verification is left.
  if (cutOver(o)) {
    ctx.log(`link ${i.linkName} is already ${o.link ? 'failed over' : 'removed'}: resuming at verification`);
  } else {
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
    const route = chooseRoute(i.failoverRoute ?? 'auto', info);
    const gate = await runGate(i, ctx, bc);
    const forced = !gate.passed;
    if (forced) {
      if (!i.allowDataLoss) throw gate.error!;
      ctx.log(`WARNING: DATA MAY BE LOST. ${gate.error!.message} Last LSNs: ${gate.error!.lastState}`);
      ctx.log('WARNING: allowDataLoss is true: failing over without the LSN gate.');
    } else {
      ctx.log(`LSN gate passed: ${describeSamples(gate.samples)}`);
    }
    await failover(i, ctx, route, forced);
    result = {
      cutoverAt: iso(ctx.clock.now()),
      route,
      forced,
      finalLsns: Object.fromEntries(
        gate.samples.map((s) => [s.database, lsnText(s.managedInstanceHardened)]),
      ),
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
  });
  ctx.log(`cutover done: ${i.databaseNames.join(', ')} online and read-write on the managed instance`);
  return (
    result ?? {
      cutoverAt: previous?.cutoverAt ?? iso(ctx.clock.now()),
      route: previous?.route ?? (o.link ? 'tsqlFailover' : 'breakLink'),
      forced: previous?.forced ?? false,
      finalLsns: previous?.finalLsns ?? {},
    }
  );
}

async function allReadWrite(i: ReadyLink, ctx: LinkContext): Promise<boolean> {
  const states = await Promise.all(i.databaseNames.map((d) => ctx.mi.databaseState(d)));
  return states.every(isReadWrite);
}

async function failover(
  i: ReadyLink,
  ctx: LinkContext,
  route: 'breakLink' | 'tsqlFailover',
  forced: boolean,
): Promise<void> {
  if (route === 'breakLink') {
    ctx.log(
      `breaking the link ${i.linkName} (ARM DELETE)${forced ? ' WITHOUT a passed LSN gate: data may be lost' : ''}`,
    );
    await ctx.arm.deleteLink();
    return;
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
  await ctx.wait({
    what: `the managed instance to become primary of ${i.linkName}`,
    poll: () => ctx.arm.getLink(),
    judge: (l) =>
      !l || eq(l.instanceLinkRole, 'Primary')
        ? { done: true }
        : { done: false, waiting: 'role change pending' },
    describe: (l) => (l ? `managed instance ${l.instanceLinkRole ?? 'unknown role'}` : 'link removed'),
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
  });
}

// ---------- cleanup and delete ----------

export interface CleanupResult {
  droppedLink: boolean;
  droppedAvailabilityGroup: boolean;
  cleanupAt: string;
}

export async function cleanupAfterCutover(i: ReadyLink, ctx: LinkContext): Promise<CleanupResult> {
  if (i.cleanup === 'none') {
    ctx.log('cleanup is none: SQL Server objects are kept');
    return { droppedLink: false, droppedAvailabilityGroup: false, cleanupAt: iso(ctx.clock.now()) };
  }
  await ctx.wait({
    what: `the managed instance's first full backup of ${i.databaseNames.join(', ')}`,
    poll: () => Promise.all(i.databaseNames.map(async (d) => [d, await ctx.mi.firstFullBackup(d)] as const)),
    judge: (rows) =>
      rows.every(([, t]) => t)
        ? { done: true }
        : { done: false, waiting: 'the link must not be removed before it' },
    describe: (rows) =>
      rows.map(([d, t]) => `${d}: ${t ? `full backup at ${t}` : 'no full backup yet'}`).join(', '),
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
  if (done) {
    if (olds.cleanupAt) {
      ctx.log('cleanup already done during up: nothing left to drop');
      return 'already-clean';
    }
    ctx.log(formatPlan('cleanup after cutover', planCleanup(i)));
    await cleanupAfterCutover(i, ctx);
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
    managedInstanceReplicationMode: o.managedInstanceMode ?? null,
    sqlServerReplicationMode: o.sqlServerMode ?? null,
    databases: samples.map((s) => ({
      databaseName: s.database,
      sqlServerLastHardenedLsn: lsnText(s.sqlServerHardened),
      sqlServerEndOfLogLsn: lsnText(s.sqlServerEndOfLog),
      managedInstanceLastHardenedLsn: lsnText(s.managedInstanceHardened),
      lagLsn:
        s.sqlServerHardened !== undefined && s.managedInstanceHardened !== undefined
          ? (s.sqlServerHardened - s.managedInstanceHardened).toString()
          : null,
    })),
    cutoverAt: extra.cutoverAt ?? null,
    failoverRouteUsed: extra.route ?? null,
    forcedFailover: extra.forced ?? false,
    finalLsns: extra.finalLsns ?? null,
    cleanupDone: extra.cleanupAt !== undefined,
    cleanupAt: extra.cleanupAt ?? null,
    droppedLink: extra.droppedLink ?? false,
    droppedAvailabilityGroup: extra.droppedAvailabilityGroup ?? false,
  };
}
