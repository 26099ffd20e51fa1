/**
 * Cutover timing through the real core workflows (link `cutover` with its LSN gate, LRS `complete`) on a
 * fake clock, with the production waiter composition (OperationContext.wait). The world is scripted in
 * time: the workload stops (or the last backup finishes restoring) at a known fake moment, so the overhead
 * the tool adds is exact:
 * - link: failover call issued − the moment the LSNs became equal and stable − the stability window;
 * - LRS: completeRestore issued − the moment the last backup was restored.
 * Used by test/unit/timing.test.ts (asserts the bound) and bench/cutover.ts (prints the figures).
 */
import { FakeClock } from '../../provider/core/clock';
import { checkLinkInputs, type ReadyLink } from '../../provider/core/link/inputs';
import { cutover, type LinkContext } from '../../provider/core/link/workflow';
import type { LrsInputs } from '../../provider/core/lrs/inputs';
import { complete, OWNER_TAG } from '../../provider/core/lrs/workflow';
import { OperationContext } from '../../provider/runtime/context';
import { FakeLrsArm, lrsContext, lrsInputs } from '../unit/fakes';
import { FakeLinkWorld } from '../unit/linkFakes';

/** Runs `p` to completion, moving the fake clock exactly to each next wake-up (no step rounding). */
export async function runOnFakeTime<T>(clock: FakeClock, p: Promise<T>, maxTurns = 1_000_000): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let turn = 0; turn < maxTurns && !settled; turn++) {
    await new Promise((r) => setImmediate(r));
    const wake = clock.nextWake;
    if (wake !== undefined && !settled) clock.advance(Math.max(0, wake - clock.now()));
  }
  return p;
}

/** The production waiter (backoff and all), its progress lines kept instead of printed. */
function productionWait(clock: FakeClock, lines: string[]) {
  const op = new OperationContext('[timing] ', [], clock);
  op.say = (l) => lines.push(l);
  return op.wait;
}

export interface GateTiming {
  windowMs: number;
  pollMs: number;
  /** When the LSNs became equal and stable (ms after the start of the cutover). */
  stableAtMs: number;
  /** When the failover call was issued (ms after the start), undefined if never. */
  failoverAtMs?: number;
  /** failover issued − stable − window. */
  overheadMs: number;
  /** LSN readings of SQL Server during the gate. */
  readings: number;
}

/**
 * One link cutover: the workload writes 1 LSN unit per fake ms until `stopAfterMs`; the managed instance
 * hardens what SQL Server wrote `lagMs` later. The gate starts at once (link already synchronous).
 */
export async function gateTimingRun(o: {
  windowMs: number;
  pollMs: number;
  stopAfterMs: number;
  lagMs?: number;
  databases?: number;
}): Promise<GateTiming> {
  const clock = new FakeClock();
  const start = clock.now();
  const lag = o.lagMs ?? 0;
  const stopAt = start + o.stopAfterMs;
  const world = new FakeLinkWorld();
  world.link = { ...world.link!, replicationMode: 'Sync' };
  world.sqlModes = { AG1: 'SYNCHRONOUS_COMMIT', MI_AG: 'SYNCHRONOUS_COMMIT' };
  world.workload = 0n; // the LSNs are scripted in time below, not advanced per reading
  const lsnAt = (t: number) => 1_000_000n + BigInt(Math.max(0, Math.floor(Math.min(t, stopAt) - start)));
  let readings = 0;
  let failoverAt: number | undefined;
  // Time-scripted LSNs: wrap the fake's readers, whatever their signature. SQL Server's local row holds its
  // end of log; what the managed instance hardened (the remote row, and the local hardened LSN in sync mode)
  // trails it by `lag`; the replica is SYNCHRONIZED once it has caught up.
  const sqlLsns = world.sql.lsns;
  world.sql.lsns = (async (...args: Parameters<typeof sqlLsns>) => {
    readings++;
    const own = lsnAt(clock.now());
    const mi = lsnAt(clock.now() - lag);
    world.sqlLsn = own;
    const rows = await sqlLsns(...args);
    world.miLsn = mi;
    return rows.map((r) =>
      r.isLocal
        ? { ...r, endOfLog: own, hardened: mi }
        : { ...r, endOfLog: mi, hardened: mi, syncState: mi === own ? 'SYNCHRONIZED' : 'SYNCHRONIZING' },
    );
  }) as typeof sqlLsns;
  const miLsns = world.mi.lsns;
  world.mi.lsns = ((...args: Parameters<typeof miLsns>) => {
    world.miLsn = lsnAt(clock.now() - lag);
    return miLsns(...args);
  }) as typeof miLsns;
  const failover = world.sql.failover;
  world.sql.failover = ((...args: Parameters<typeof failover>) => {
    failoverAt ??= clock.now();
    return failover(...args);
  }) as typeof failover;
  const names = Array.from({ length: o.databases ?? 1 }, (_, k) => (k === 0 ? 'Sales' : `Sales${k}`));
  const c = checkLinkInputs(
    {},
    {
      managedInstanceId:
        '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi-one',
      linkName: 'DAG',
      sqlServerAvailabilityGroupName: 'AG1',
      databaseNames: names,
      sqlServer: { server: 'sql1', userName: 'sa', password: 'Secret#1' },
      managedInstanceSql: { server: 'mi', userName: 'sa', password: 'Secret#1' },
      replicationMode: 'Sync',
      cutover: true,
      lsnStabilityWindowInMs: o.windowMs,
      // The bound must hold whatever the window: windows under 3 intervals are allowed explicitly here.
      ...(o.windowMs < 3 * o.pollMs ? { allowShortStabilityWindow: true } : {}),
      lsnPollIntervalInMs: o.pollMs,
      lsnDeadlineInMs: Math.max(1_000, o.stopAfterMs + lag + 20 * (o.windowMs + o.pollMs)),
      pollIntervalInMs: o.pollMs,
    },
  );
  if (c.failures.length) throw new Error(c.failures.map((f) => f.reason).join('; '));
  world.dbs = names;
  for (const n of names) world.miState[n] = { state: 'ONLINE', readOnly: true };
  const lines: string[] = [];
  const ctx: LinkContext = {
    arm: world.arm,
    sql: world.sql,
    mi: world.mi,
    clock,
    log: (l) => lines.push(l),
    wait: productionWait(clock, lines),
  };
  await runOnFakeTime(clock, cutover(c.inputs as ReadyLink, ctx));
  const stableAtMs = o.stopAfterMs + lag;
  const failoverAtMs = failoverAt === undefined ? undefined : failoverAt - start;
  return {
    windowMs: o.windowMs,
    pollMs: o.pollMs,
    stableAtMs,
    failoverAtMs,
    overheadMs:
      failoverAtMs === undefined ? Number.POSITIVE_INFINITY : failoverAtMs - stableAtMs - o.windowMs,
    readings,
  };
}

export interface LrsTiming {
  pollMs: number;
  restoredAtMs: number;
  completeAtMs?: number;
  /** completeRestore issued − last backup restored. */
  overheadMs: number;
  /** Restore-details reads during the wait. */
  reads: number;
}

/**
 * One LRS cutover: the restore waits for the last backup, which is uploaded at `uploadAfterMs` and restored
 * `restoreMs` later. `complete()` starts at once.
 */
export async function lrsTimingRun(o: {
  pollMs: number;
  uploadAfterMs: number;
  restoreMs: number;
}): Promise<LrsTiming> {
  const clock = new FakeClock();
  const start = clock.now();
  const last = 'log_final.trn';
  const i: LrsInputs & { databaseName: string; managedInstanceId: string } = lrsInputs({
    lastBackupName: last,
    complete: true,
    restoreDeadlineInMs: o.uploadAfterMs + o.restoreMs + 100 * o.pollMs,
    completeDeadlineInMs: 100 * o.pollMs,
    pollIntervalInMs: o.pollMs,
  });
  const arm = new FakeLrsArm();
  const owner = 'lrs-timing';
  arm.db = { id: 'dbid', status: 'Restoring', tags: { [OWNER_TAG]: owner } };
  arm.details = { type: 'LRSRestore', status: 'Restoring', numberOfFilesDetected: 3 };
  const uploadAt = start + o.uploadAfterMs;
  const restoredAt = uploadAt + o.restoreMs;
  let reads = 0;
  let completeAt: number | undefined;
  arm.onPoll = (a) => {
    reads++;
    const t = clock.now();
    if (!a.details) return;
    // completeRestore was sent: the service recovers the database (Online with restore details Completed).
    if (completeAt !== undefined) {
      if (a.db) a.db.status = 'Online';
      a.details = { ...a.details, status: 'Completed' };
      return;
    }
    if (a.details.status === 'Completed') return;
    a.details = {
      ...a.details,
      status: 'Restoring',
      lastUploadedFileName: t >= uploadAt ? last : 'log_2.trn',
      lastRestoredFileName: t >= restoredAt ? last : 'log_2.trn',
      currentRestoringFileName: t >= uploadAt && t < restoredAt ? last : undefined,
      numberOfFilesDetected: t >= uploadAt ? 4 : 3,
    };
  };
  const completeRestore = arm.completeRestore.bind(arm);
  arm.completeRestore = async (name: string) => {
    completeAt ??= clock.now();
    return completeRestore(name);
  };
  const { ctx, lines } = lrsContext(arm, clock);
  ctx.wait = productionWait(clock, lines);
  await runOnFakeTime(clock, complete(i, ctx, { owner }));
  const restoredAtMs = restoredAt - start;
  const completeAtMs = completeAt === undefined ? undefined : completeAt - start;
  return {
    pollMs: o.pollMs,
    restoredAtMs,
    completeAtMs,
    overheadMs: completeAtMs === undefined ? Number.POSITIVE_INFINITY : completeAtMs - restoredAtMs,
    reads,
  };
}
