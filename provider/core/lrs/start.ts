import { iso } from '../clock';
import { MigrationError } from '../errors';
import { completeFrom } from './complete';
import { DEFAULT_COLLATION, type LrsInputs } from './inputs';
import { Observer, seeded } from './observe';
import { describeObservation, type Observation, phaseOf, sameFile } from './phase';
import type { ManagedDatabaseView } from './ports';
import {
  type LrsContext,
  type LrsRecord,
  OWNER_TAG,
  restoreFailed,
  shortMi,
  type Target,
  vanished,
} from './record';
import { MAX_RESTORES_PER_INSTANCE } from './slots';

/** Checks the container as LRS will read it: listable, holds backups, holds the named last backup. */
export async function preflight(i: LrsInputs, ctx: LrsContext): Promise<void> {
  if (!ctx.storage) {
    ctx.log(
      'preflight: managed identity access is checked by the managed instance itself (the provider cannot read as it)',
    );
    return;
  }
  const { files } = await ctx.storage.list();
  const backups = files.filter((f) => !f.endsWith('/'));
  if (backups.length === 0) {
    throw new MigrationError('NoBackups', `The folder ${i.storageContainerUri} holds no files.`, {
      hint: 'upload the full backup (and any differential/log backups) of the database to this folder before starting, one folder per database',
    });
  }
  if (i.lastBackupName && !backups.some((f) => sameFile(f, i.lastBackupName))) {
    const msg = `The last backup ${i.lastBackupName} is not in ${i.storageContainerUri} (${backups.length} file(s) there).`;
    if (i.autoComplete) {
      throw new MigrationError('LastBackupMissing', msg, {
        hint: 'with autoComplete the last backup must be named exactly: fix lastBackupName or upload the file first',
      });
    }
    ctx.log(`preflight: ${msg} It must be uploaded before the cutover.`);
  }
  ctx.log(`preflight: ${backups.length} file(s) in the backup folder, readable and listable`);
}

/**
 * Brings the real world to the declared state, from wherever it is: absent → started → restoring →
 * (when complete) completed. Every step checks what is there first, so a re-run after a crash converges.
 * Nothing here waits for an ARM operation: the start operation lives until the migration completes
 * (lrs-continuous), so progress is judged by the database and its restore details.
 */
export async function converge(
  i: Target,
  ctx: LrsContext,
  record: LrsRecord,
  previous: { phase?: unknown; failureCode?: unknown } = {},
): Promise<Observation> {
  const observer = new Observer(i, ctx, record);
  // A first start needs the instance's databases anyway (to count its restores): the listing also says whether
  // this database exists, so it is not read again (issue 9: an LRS create at the contract's minimum).
  let listing = !record.startedAt && ctx.slots ? await ctx.arm.listDatabases() : undefined;
  const listed = listing?.find((d) => (d.name ?? '').toLowerCase() === i.databaseName.toLowerCase());
  let o = await observer.observe(listing ? { database: listed ?? null } : {});
  if (!o.database && record.startedAt) {
    if (previous.phase !== 'failed') {
      throw new MigrationError(
        'DatabaseVanished',
        `Database ${i.databaseName} is no longer on the managed instance.`,
        {
          hint: 'it was dropped outside Pulumi; the provider does not restart a migration implicitly: destroy this resource and create it again to start over',
        },
      );
    }
    // The last attempt failed and its database was dropped (the failure's hint says to): start over.
    ctx.log(
      `the previous start of ${i.databaseName} failed${previous.failureCode ? ` (${String(previous.failureCode)})` : ''} and its database is gone: starting Log Replay Service again`,
    );
    for (const k of [
      'startOperationUrl',
      'completeOperationUrl',
      'completionRequestedAt',
      'completedAt',
    ] as const)
      delete record[k];
    observer.follow();
    o = { database: undefined };
  }
  const deadline = ctx.clock.now() + i.startDeadlineInMs;
  let inFlight = false;
  try {
    if (phaseOf(o) === 'absent') {
      await preflight(i, ctx);
      const mi = await ctx.arm.getInstance();
      const start = async () => {
        await waitForSlot(i, ctx, deadline, listing);
        listing = undefined;
        ctx.log(`starting Log Replay Service for database ${i.databaseName} from ${i.storageContainerUri}`);
        const started = await ctx.arm.startRestore({
          location: mi.location,
          storageContainerUri: i.storageContainerUri!,
          storageContainerSasToken: i.useManagedIdentity ? undefined : i.storageContainerSasToken,
          useManagedIdentity: i.useManagedIdentity === true,
          collation: i.collation ?? DEFAULT_COLLATION,
          autoComplete: i.autoComplete === true,
          lastBackupName: i.autoComplete ? i.lastBackupName : undefined,
          tags: { [OWNER_TAG]: record.owner },
        });
        ctx.slots?.add(i.managedInstanceId, i.databaseName);
        inFlight = true;
        return started;
      };
      const started = ctx.slots ? await ctx.slots.exclusive(i.managedInstanceId, start) : await start();
      record.startOperationUrl = started.operationUrl;
      record.startedAt = iso(ctx.clock.now());
      delete record.completeOperationUrl;
      delete record.completionRequestedAt;
      observer.follow();
      ctx.log(
        'the service accepted the start; its start operation keeps running until the migration completes, so the provider follows the database and its restore details instead',
      );
      // The database appears some seconds after the 202 (lrs-continuous: creationDate 4 s after the PUT).
      await ctx.clock.sleep(i.pollIntervalInMs);
      o = await observer.observe();
    } else {
      assertOwned(o, record.owner, i.databaseName);
      ctx.log(`database ${i.databaseName} found (${describeObservation(o)}): resuming`);
    }
    const phase = phaseOf(o);
    if (phase === 'failed') throw restoreFailed(o, i.databaseName);
    if (phase !== 'restoring' && phase !== 'completing' && phase !== 'completed') {
      o = await ctx.wait({
        what: `Log Replay Service to start restoring ${i.databaseName}`,
        poll: seeded(o, () => observer.observe()),
        judge: (s) => {
          // A database that appears with another owner tag: an earlier start of the same name (an interrupted
          // up of this resource, or another stack) whose PUT came first; this PUT did not take it over. The
          // refusal is at once, not a wait for a restore of its own that never comes.
          const foreign = s.database ? notOwned(s, record.owner, i.databaseName) : undefined;
          if (foreign) return { failed: foreign };
          const p = phaseOf(s);
          if (p === 'failed') return { failed: restoreFailed(s, i.databaseName) };
          if (p === 'absent') {
            if (s.start === undefined || /^InProgress$/i.test(s.start.status ?? ''))
              return { done: false, waiting: 'the service has not created the database yet' };
            return { failed: vanished(i.databaseName) };
          }
          if (p === 'starting') return { done: false, waiting: 'the service is initializing the restore' };
          if (p === 'unknown')
            return { done: false, waiting: 'the service shows a state the provider does not know' };
          return { done: true };
        },
        describe: describeObservation,
        deadline,
        intervalMs: i.pollIntervalInMs,
        hint: 'check that the folder holds a full backup of this database (WITH CHECKSUM is recommended), then run up again (it resumes)',
      });
      ctx.log(`restoring: ${describeObservation(o)}`);
    }
  } finally {
    if (inFlight) ctx.slots?.remove(i.managedInstanceId, i.databaseName);
  }
  if (i.complete) o = await completeFrom(i, ctx, record, observer, o);
  return o;
}

/** Waits until the instance runs fewer than MAX_RESTORES_PER_INSTANCE restores, within the start deadline. */
async function waitForSlot(
  i: Target,
  ctx: LrsContext,
  deadline: number,
  listing?: ManagedDatabaseView[],
): Promise<void> {
  const slots = ctx.slots;
  if (!slots) return;
  const mi = shortMi(i.managedInstanceId);
  let first = listing;
  await ctx.wait({
    what: `a free Log Replay Service slot on ${mi} (at most ${MAX_RESTORES_PER_INSTANCE} restores run on one managed instance at once)`,
    poll: async () => {
      const dbs = first ?? (await ctx.arm.listDatabases());
      first = undefined;
      return slots.running(i.managedInstanceId, dbs);
    },
    judge: (n) =>
      n < MAX_RESTORES_PER_INSTANCE
        ? { done: true }
        : { done: false, waiting: 'the start waits until a restore on the instance completes or is stopped' },
    describe: (n) => `${n} database(s) restoring on ${mi}`,
    deadline,
    intervalMs: i.pollIntervalInMs,
    hint: `Log Replay Service runs at most ${MAX_RESTORES_PER_INSTANCE} restores per managed instance at once: split the wave (fewer LogReplayMigration resources per instance at a time), or run up again when restores have completed; raise startDeadlineInMs to wait longer`,
  });
}

function assertOwned(o: Observation, owner: string, db: string): void {
  const e = notOwned(o, owner, db);
  if (e) throw e;
}

function notOwned(o: Observation, owner: string, db: string): MigrationError | undefined {
  const tag = o.database?.tags?.[OWNER_TAG];
  if (tag === owner) return undefined;
  return new MigrationError(
    'DatabaseExists',
    `Database ${db} already exists on the managed instance (${describeObservation(o)}) and was not started by this resource${tag ? ` (it belongs to another migration: owner tag ${tag})` : ''}.`,
    {
      hint: tag
        ? 'another stack or resource declares the same database, or an earlier up of this resource was interrupted after starting it and before Pulumi saved its state; the provider cannot tell these apart, so it never takes over or drops it. If it is an interrupted start of this resource, stop that restore (az sql midb log-replay stop -g <resource group> --mi <instance> -n <database>, which drops it) and run up again; otherwise choose another databaseName'
        : 'choose another databaseName, or drop/rename the existing database yourself if it is not needed; the provider never takes over or drops a database it did not create',
    },
  );
}
