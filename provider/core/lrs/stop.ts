import { formatDuration } from '../clock';
import { formatPlan } from '../plan';
import { watchFor, watchWindowMs } from '../watch';
import { describeObservation, type Observation } from './phase';
import { isUnavailable, type RestoreDetailsReading } from './ports';
import { MigrationError } from '../errors';
import { type LrsContext, type LrsRecord, LRS_TYPE, OWNER_TAG, type Target } from './record';

export type DeleteOutcome =
  'gone' | 'dropped' | 'kept-completed' | 'kept-foreign' | 'kept-completing' | 'kept-unproven';

/**
 * Stop, as Stop-AzSqlInstanceDatabaseLogReplay does it (Azure/azure-powershell AzureSqlManagedDatabaseAdapter
 * StopManagedDatabaseLogReplay: read restore details, DELETE only when they say LRS restore, else refuse), and
 * stricter: only a database carrying this resource's owner tag, status Restoring (never Online), whose restore
 * details were read (a 500 is no proof) and show a restore that is not completing. Ends when GET answers 404;
 * the DELETE's own operation runs for about 25 minutes more (lrs-cancel u6…u-last) and is not waited for.
 */
export async function stop(i: Target, ctx: LrsContext, record: LrsRecord): Promise<DeleteOutcome> {
  // One deadline for the whole stop: the proof, the watch for a drop in flight, the drop and its wait.
  const deadline = ctx.clock.now() + i.startDeadlineInMs;
  const db = i.databaseName;
  const proof = () => observe(i, ctx, record, deadline);
  const o = await proof();
  const first = decide(o, record, db);
  if (first !== 'drop') return report(ctx, first);
  ctx.log(
    formatPlan('stopping Log Replay Service', [
      { action: `drop database ${db} (${describeObservation(o)})`, destructive: true },
    ]),
  );
  // A destroy killed after Azure accepted its DELETE leaves no record (a Pulumi delete cannot save state), and
  // the database looks as before (Restoring, owner tag, restore details; the start operation still InProgress,
  // lrs-cancel u7) until GET answers 404 within seconds (lrs-cancel u6 → u10, lrs-ps-stop x8 → x1). So the
  // database is read again when the watch window ends (core/watch.ts), with the whole proof: in that time it
  // may also have completed (autoComplete) or failed, and the drop acts on what is there then.
  const windowMs = watchWindowMs(i.startDeadlineInMs);
  ctx.log(
    `database ${db}: reading it again in ${formatDuration(windowMs)} before dropping it, in case an interrupted destroy's drop is in flight (it leaves no record)`,
  );
  let last = o;
  const changed = await watchFor(ctx.wait, {
    what: `a drop of ${db} sent by an interrupted destroy`,
    poll: async () => (last = await proof()),
    ended: (s) => decide(s, record, db) !== 'drop',
    describe: (s) => describeObservation(s),
    waiting: 'the database looks as before',
    until: Math.min(deadline - i.pollIntervalInMs, ctx.clock.now() + windowMs),
    intervalMs: i.pollIntervalInMs,
    clock: ctx.clock,
    first: { state: o },
    cadence: 'end',
  });
  if (changed) {
    if (!last.database) {
      ctx.log(`database ${db} was dropped by an interrupted destroy's DELETE: not sending another`);
      return 'dropped';
    }
    return report(ctx, decide(last, record, db) as Kept);
  }
  await ctx.arm.dropDatabase();
  await ctx.clock.sleep(i.pollIntervalInMs);
  await ctx.wait({
    what: `database ${db} to be dropped`,
    poll: () => ctx.arm.getDatabase(),
    judge: (s) => (s ? { done: false, waiting: 'the drop is running' } : { done: true }),
    describe: (s) => (s ? `database ${s.status ?? 'without status'}` : 'database gone'),
    deadline,
    intervalMs: i.pollIntervalInMs,
    hint: 'the drop continues in Azure: run pulumi destroy again to resume waiting',
  });
  ctx.log(`database ${db} dropped: the migration was stopped before completion`);
  return 'dropped';
}

/** Each read only where it decides (issue 9): restore details only for an owned database that is not online. */
async function observe(
  i: Target,
  ctx: LrsContext,
  record: LrsRecord,
  deadline: number,
): Promise<Observation> {
  const database = await ctx.arm.getDatabase();
  const needsProof =
    database !== undefined &&
    !/^online$/i.test(database.status ?? '') &&
    database.tags?.[OWNER_TAG] === record.owner;
  const details = needsProof ? await restoreDetailsPastBursts(i, ctx, record, deadline) : undefined;
  return { database, details };
}

type Kept = { outcome: Exclude<DeleteOutcome, 'dropped'>; line: string };

/** 'drop' only for this resource's database, restoring (never Online), with a proven LRS restore not completing. */
function decide(o: Observation, record: LrsRecord, db: string): Kept | 'drop' {
  const d = o.details;
  const keep = (outcome: Kept['outcome'], why: string): Kept => ({
    outcome,
    line: `database ${db} is kept: ${why}; it is only removed from the stack`,
  });
  if (!o.database)
    return { outcome: 'gone', line: `database ${db} is not on the managed instance: nothing to stop` };
  if (/^online$/i.test(o.database.status ?? '')) {
    return {
      outcome: 'kept-completed',
      line: `database ${db} completed its migration and is kept; it is only removed from the stack`,
    };
  }
  if (o.database.tags?.[OWNER_TAG] !== record.owner)
    return keep('kept-foreign', 'it was not created by this resource');
  if (d === undefined || isUnavailable(d)) {
    const u = d && isUnavailable(d) ? d.unavailable : undefined;
    return keep(
      'kept-unproven',
      `its restore details are unavailable (HTTP ${u?.status ?? '?'}${u?.code ? ` ${u.code}` : ''}), so nothing proves it is a Log Replay restore in progress (a failed restore answers so too). If it is this migration's failed restore, drop it yourself: az sql midb delete -g <resource group> --mi <instance> -n ${db}`,
    );
  }
  if (d.type !== undefined && d.type.toLowerCase() !== LRS_TYPE.toLowerCase()) {
    return keep('kept-foreign', `restore details say it is not a Log Replay Service restore (${d.type})`);
  }
  if (!/^restoring$/i.test(o.database.status ?? '')) {
    return keep('kept-foreign', `it is not restoring (${describeObservation(o)})`);
  }
  if (record.completionRequestedAt !== undefined || /^completed$/i.test(d.status ?? '')) {
    return keep('kept-completing', 'it is being completed (cutover requested)');
  }
  return 'drop';
}

function report(ctx: LrsContext, k: Kept): DeleteOutcome {
  ctx.log(k.line);
  return k.outcome;
}

/**
 * Restore details, read as proof before a drop. A 500 is two things: the recorded answer for a database that is
 * not (or no longer) an LRS restore in progress (lrs-ps-stop-foreign-database w5, lrs-ps-failed-start v4), and a
 * server error. This resource's start operation tells them apart: it stays InProgress while the restore runs
 * (lrs-continuous t2…t22, lrs-ps-stop x6) and ends Failed on a failed restore (lrs-ps-failed-start) or Succeeded
 * once dropped or completed (lrs-cancel u9). While it is InProgress a 500 is a burst: read again, every poll
 * interval, until the details answer or the start deadline passes (then the 500 stands: the database is kept).
 */
async function restoreDetailsPastBursts(
  i: Target,
  ctx: LrsContext,
  record: LrsRecord,
  deadline: number,
): Promise<RestoreDetailsReading> {
  const first = await ctx.arm.getRestoreDetails();
  const is500 = (d: RestoreDetailsReading) => isUnavailable(d) && d.unavailable.status === 500;
  if (!is500(first) || !record.startOperationUrl) return first;
  const start = await ctx.arm.getOperation(record.startOperationUrl);
  if (!/^inprogress$/i.test(start.status ?? '')) return first;
  ctx.log(
    `restore details of ${i.databaseName} answered HTTP 500 while its restore is running (start operation InProgress): reading them again`,
  );
  let last = first;
  try {
    return await ctx.wait({
      what: `the restore details of ${i.databaseName} (proof before the drop)`,
      poll: async () => (last = await ctx.arm.getRestoreDetails()),
      judge: (d) => (is500(d) ? { done: false, waiting: 'HTTP 500 from restore details' } : { done: true }),
      describe: (d) =>
        isUnavailable(d) ? `HTTP ${d.unavailable.status}` : `restore ${d.status ?? 'status unknown'}`,
      deadline,
      intervalMs: i.pollIntervalInMs,
    });
  } catch (err) {
    // The deadline passed on 500s: they stand as the state; the stop keeps the database and says so.
    if (err instanceof MigrationError && err.code === 'Timeout') return last;
    throw err;
  }
}
