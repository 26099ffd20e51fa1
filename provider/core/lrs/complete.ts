import { iso } from '../clock';
import { MigrationError } from '../errors';
import { Observer, seeded } from './observe';
import { describeObservation, type LrsPhase, type Observation, phaseOf, sameFile } from './phase';
import { isUnavailable, type StartedOperation } from './ports';
import { type LrsContext, type LrsRecord, restoreFailed, type Target, vanished } from './record';

/** The cutover: wait for the last backup, complete the restore, wait until online. Idempotent. */
export async function complete(i: Target, ctx: LrsContext, record: LrsRecord): Promise<Observation> {
  const observer = new Observer(i, ctx, record);
  return completeFrom(i, ctx, record, observer, await observer.observe());
}

export async function completeFrom(
  i: Target,
  ctx: LrsContext,
  record: LrsRecord,
  observer: Observer,
  first: Observation,
): Promise<Observation> {
  let o = first;
  let phase: LrsPhase = phaseOf(o);
  if (phase === 'completed') {
    ctx.log(`database ${i.databaseName} is already online: the restore was completed`);
    return o;
  }
  if (phase === 'failed') throw restoreFailed(o, i.databaseName);
  if (phase === 'absent') throw vanished(i.databaseName);
  const last = i.lastBackupName!;
  if (phase !== 'completing' && !i.autoComplete) {
    o = await ctx.wait({
      what: `last backup ${last} to be restored`,
      poll: seeded(o, () => observer.observe()),
      judge: (s) => {
        const p = phaseOf(s);
        if (p === 'failed') return { failed: restoreFailed(s, i.databaseName) };
        if (p === 'absent') return { failed: vanished(i.databaseName) };
        const d = s.details && !isUnavailable(s.details) ? s.details : undefined;
        if (p === 'completing' || p === 'completed' || sameFile(d?.lastRestoredFileName, last))
          return { done: true };
        const uploaded = sameFile(d?.lastUploadedFileName, last);
        return {
          done: false,
          waiting: uploaded ? 'restoring the remaining files' : `${last} not uploaded yet`,
        };
      },
      describe: describeObservation,
      deadline: ctx.clock.now() + i.restoreDeadlineInMs,
      intervalMs: i.pollIntervalInMs,
      // Completion follows the first reading that shows the last backup restored: no back-off (issue 9).
      maxIntervalMs: i.pollIntervalInMs,
      hint: `make sure ${last} is the last log backup (taken after the workload stopped) and is uploaded to the folder; run up again to resume waiting`,
    });
    phase = phaseOf(o);
    if (phase !== 'completing' && phase !== 'completed') {
      ctx.log(`completing the restore of ${i.databaseName} with last backup ${last} (cutover, irreversible)`);
      let started: StartedOperation | undefined;
      try {
        started = await ctx.arm.completeRestore(last);
      } catch (e) {
        if (!(e instanceof MigrationError && e.causeCode === 'ExternalBackupAlreadySignaledToComplete'))
          throw e;
        ctx.log('completion was already requested earlier: waiting for it');
      }
      if (started?.operationUrl) record.completeOperationUrl = started.operationUrl;
      record.completionRequestedAt ??= iso(ctx.clock.now());
      observer.follow();
      await ctx.clock.sleep(i.pollIntervalInMs);
      o = await observer.observe({ online: true });
    }
  }
  // Once completion is requested (completeRestore, or autoComplete restored its last backup) the end is the
  // database Online: read it alone per poll. Before that (autoComplete restoring), the details show progress.
  let seen = o;
  const reading = async () => {
    seen = await observer.observe({ online: seen.completionRequested === true });
    return seen;
  };
  const online = ctx.wait({
    what: `database ${i.databaseName} to come online read-write`,
    poll: seeded(o, reading),
    judge: (s) => {
      const p = phaseOf(s);
      if (p === 'failed') return { failed: restoreFailed(s, i.databaseName) };
      if (p === 'absent') return { failed: vanished(i.databaseName) };
      // The database Online is the end; the completeRestore operation outlives it (lrs-ps-complete 8/35).
      return p === 'completed' ? { done: true } : { done: false, waiting: 'completion in progress' };
    },
    describe: describeObservation,
    deadline: ctx.clock.now() + i.completeDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the completion continues in Azure: run up again to resume waiting',
  });
  // The completion operation is not read per poll (the details say Completed and the database turns Online in
  // the same poll, recordings README). A failed completion is not recorded; assumed hardest: details that stay
  // Restoring. So a wait that times out reads the operation once and reports its failure instead.
  try {
    o = await online;
  } catch (e) {
    if (!(e instanceof MigrationError && e.code === 'Timeout')) throw e;
    const completion = await observer.completionOperation();
    if (completion && phaseOf({ ...seen, completion }) === 'failed')
      throw restoreFailed({ ...seen, completion }, i.databaseName);
    throw e;
  }
  record.completedAt ??= iso(ctx.clock.now());
  ctx.log(`database ${i.databaseName} is online at ${iso(ctx.clock.now())}: migration completed`);
  return o;
}
