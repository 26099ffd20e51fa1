import { createHash } from 'node:crypto';
import { type Clock, iso } from '../clock';
import { MigrationError } from '../errors';
import { formatPlan, type Step } from '../plan';
import { lrsHint } from './hints';
import { DEFAULT_COLLATION, type LrsInputs } from './inputs';
import type { Waiter } from '../../runtime/waiter';
import type { BackupStoragePort, LrsArmPort, ManagedDatabaseView, RestoreDetailsView } from './ports';

/** The tag that proves a database was started by this resource (checked before adopting or dropping it). */
export const OWNER_TAG = 'sqlmi-migrate-owner';
export const LRS_TYPE = 'LRSRestore';

export interface LrsContext {
  arm: LrsArmPort;
  /** Absent with managed identity: the provider cannot read the container as the instance does. */
  storage?: BackupStoragePort;
  clock: Clock;
  log: (line: string) => void;
  wait: Waiter;
}

export type LrsPhase = 'absent' | 'starting' | 'restoring' | 'failed' | 'completing' | 'completed' | 'other';

export interface Observation {
  database?: ManagedDatabaseView;
  details?: RestoreDetailsView;
}

export function ownerToken(i: Required<Pick<LrsInputs, 'managedInstanceId' | 'databaseName'>>): string {
  const h = createHash('sha256').update(
    `${i.managedInstanceId.toLowerCase()}|${i.databaseName.toLowerCase()}`,
  );
  return `lrs-${h.digest('hex').slice(0, 20)}`;
}

const is = (value: string | undefined, re: RegExp) => value !== undefined && re.test(value);

export function phaseOf(o: Observation): LrsPhase {
  const { database: db, details: d } = o;
  if (!db) return 'absent';
  if (is(d?.status, /fail|error|stopped|cancel/i)) return 'failed';
  if (is(db.status, /^online$/i) && (!d || is(d.status, /complet/i) || !is(d.status, /restor|wait/i)))
    return 'completed';
  if (is(d?.status, /complet/i)) return 'completing';
  if (is(db.status, /restoring|creating/i)) {
    return d && (is(d.status, /restor/i) || (d.numberOfFilesDetected ?? 0) > 0) ? 'restoring' : 'starting';
  }
  return 'other';
}

export function describeObservation(o: Observation): string {
  const { database: db, details: d } = o;
  if (!db) return 'database not found';
  const parts = [`database ${db.status ?? 'unknown status'}`];
  if (d) {
    parts.push(`restore ${d.status ?? 'unknown'}`);
    if (d.lastRestoredFileName) parts.push(`last restored ${d.lastRestoredFileName}`);
    if (d.currentRestoringFileName) parts.push(`restoring ${d.currentRestoringFileName}`);
    if (d.percentCompleted !== undefined) parts.push(`${d.percentCompleted}%`);
    const queued = d.numberOfFilesQueued ?? 0;
    if (queued) parts.push(`${queued} file(s) queued`);
    if (d.lastUploadedFileName) parts.push(`last uploaded ${d.lastUploadedFileName}`);
    if (d.numberOfFilesUnrestorable) parts.push(`${d.numberOfFilesUnrestorable} unrestorable`);
    if (d.blockReason) parts.push(`blocked: ${d.blockReason}`);
  }
  return parts.join(', ');
}

function sameFile(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const base = (s: string) => s.split('/').pop()!.toLowerCase();
  return base(a) === base(b);
}

function restoreFailed(o: Observation): MigrationError {
  const d = o.details;
  const code = d?.blockReason && /^[A-Za-z]+$/.test(d.blockReason) ? d.blockReason : undefined;
  const files = d?.unrestorableFiles?.length ? ` Unrestorable files: ${d.unrestorableFiles.join(', ')}.` : '';
  return new MigrationError(
    'RestoreFailed',
    `Log Replay Service reports the restore as ${d?.status ?? 'failed'}${d?.blockReason ? ` (${d.blockReason})` : ''}.${files}${d?.failureMessage ? ` ${d.failureMessage}` : ''}`,
    {
      causeCode: code,
      lastState: describeObservation(o),
      hint:
        lrsHint(code) ??
        'fix the backups in the folder, then destroy this resource (it drops only the failed database it created) and start again',
    },
  );
}

/** Steps of creating the resource, as preview prints them. */
export function planCreate(i: LrsInputs): Step[] {
  const db = i.databaseName ?? '(database)';
  const steps: Step[] = [
    {
      action: `check the backup folder ${i.storageContainerUri ?? ''} is readable and listable with the given access`,
    },
    {
      action: `start Log Replay Service: create database ${db} on ${shortMi(i.managedInstanceId)} restoring from the folder${i.autoComplete ? `, completing automatically after ${i.lastBackupName}` : ''}`,
    },
    { action: 'wait until the service reports the restore is running' },
  ];
  if (i.complete && !i.autoComplete) steps.push(...planComplete(i));
  return steps;
}

export function planComplete(i: LrsInputs): Step[] {
  return [
    { action: `wait until the last backup ${i.lastBackupName ?? '(lastBackupName)'} is restored` },
    {
      action: `complete the restore (cutover): database ${i.databaseName ?? ''} goes online read-write; no more backups can be applied`,
      irreversible: true,
    },
    { action: 'wait until the database is online' },
  ];
}

/** Steps of an update from the stored outputs to the new inputs. */
export function planUpdate(olds: Record<string, unknown>, i: LrsInputs): Step[] {
  // The stored outputs already say whether the restore completed (phaseOf at the last read).
  if (i.complete && olds.complete !== true && olds.phase !== 'completed') return planComplete(i);
  return [];
}

export function planDelete(olds: Record<string, unknown>): Step[] {
  const db = String(olds.databaseName ?? '(database)');
  if (olds.completedAt || /online/i.test(String(olds.databaseStatus ?? ''))) {
    return [{ action: `keep database ${db}: its migration completed; only forget it in the stack` }];
  }
  return [
    {
      action: `stop Log Replay Service: drop database ${db} if it is still restoring and was created by this resource (otherwise keep it)`,
      destructive: true,
    },
  ];
}

function shortMi(id: string | undefined): string {
  return id ? (id.split('/').pop() ?? id) : '(managed instance)';
}

export async function observe(ctx: LrsContext): Promise<Observation> {
  const database = await ctx.arm.getDatabase();
  const details = database ? await ctx.arm.getRestoreDetails() : undefined;
  return { database, details };
}

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
 */
export async function converge(
  i: Required<Pick<LrsInputs, 'managedInstanceId' | 'databaseName'>> & LrsInputs,
  ctx: LrsContext,
): Promise<Observation> {
  const token = ownerToken(i);
  let o = await observe(ctx);
  let phase = phaseOf(o);
  if (phase === 'absent') {
    await preflight(i, ctx);
    const mi = await ctx.arm.getInstance();
    ctx.log(`starting Log Replay Service for database ${i.databaseName} from ${i.storageContainerUri}`);
    await ctx.arm.startRestore({
      location: mi.location,
      storageContainerUri: i.storageContainerUri!,
      storageContainerSasToken: i.useManagedIdentity ? undefined : i.storageContainerSasToken,
      useManagedIdentity: i.useManagedIdentity === true,
      collation: i.collation ?? DEFAULT_COLLATION,
      autoComplete: i.autoComplete === true,
      lastBackupName: i.autoComplete ? i.lastBackupName : undefined,
      tags: { [OWNER_TAG]: token },
    });
    o = await observe(ctx);
    phase = phaseOf(o);
  } else {
    assertOwned(o, token, i.databaseName);
    ctx.log(`database ${i.databaseName} found (${describeObservation(o)}): resuming`);
  }
  if (phase === 'failed') throw restoreFailed(o);
  if (phase !== 'completed' && phase !== 'completing') {
    o = await ctx.wait({
      what: `Log Replay Service to start restoring ${i.databaseName}`,
      poll: () => observe(ctx),
      judge: (s) => {
        const p = phaseOf(s);
        if (p === 'failed') return { failed: restoreFailed(s) };
        if (p === 'absent') return { failed: vanished(i.databaseName) };
        if (p === 'starting') return { done: false, waiting: 'no backup picked up yet' };
        return { done: true };
      },
      describe: describeObservation,
      deadline: ctx.clock.now() + i.startDeadlineInMs,
      intervalMs: i.pollIntervalInMs,
      hint: 'check that the folder holds a full backup of this database taken WITH CHECKSUM, then run up again (it resumes)',
    });
    ctx.log(`restoring: ${describeObservation(o)}`);
  }
  if (i.complete) o = await complete(i, ctx);
  return o;
}

function vanished(db: string): MigrationError {
  return new MigrationError(
    'DatabaseVanished',
    `Database ${db} disappeared from the managed instance during the migration.`,
    {
      hint: 'someone dropped it outside Pulumi: run pulumi refresh, then up to start over',
    },
  );
}

function assertOwned(o: Observation, token: string, db: string): void {
  const tag = o.database?.tags?.[OWNER_TAG];
  if (tag === token) return;
  throw new MigrationError(
    'DatabaseExists',
    `Database ${db} already exists on the managed instance (${describeObservation(o)}) and was not started by this resource${tag ? ' (it belongs to another migration)' : ''}.`,
    {
      hint: 'choose another databaseName, or drop/rename the existing database yourself if it is not needed; the provider never takes over or drops a database it did not create',
    },
  );
}

/** The cutover: wait for the last backup, complete the restore, wait until online. Idempotent. */
export async function complete(
  i: LrsInputs & { databaseName: string },
  ctx: LrsContext,
): Promise<Observation> {
  let o = await observe(ctx);
  let phase = phaseOf(o);
  if (phase === 'completed') {
    ctx.log(`database ${i.databaseName} is already online: the restore was completed`);
    return o;
  }
  if (phase === 'failed') throw restoreFailed(o);
  if (phase === 'absent') throw vanished(i.databaseName);
  const last = i.lastBackupName!;
  if (phase !== 'completing' && !i.autoComplete) {
    o = await ctx.wait({
      what: `last backup ${last} to be restored`,
      poll: () => observe(ctx),
      judge: (s) => {
        const p = phaseOf(s);
        if (p === 'failed') return { failed: restoreFailed(s) };
        if (p === 'absent') return { failed: vanished(i.databaseName) };
        if (p === 'completing' || p === 'completed' || sameFile(s.details?.lastRestoredFileName, last))
          return { done: true };
        const uploaded = sameFile(s.details?.lastUploadedFileName, last);
        return {
          done: false,
          waiting: uploaded ? 'restoring the remaining files' : `${last} not uploaded yet`,
        };
      },
      describe: describeObservation,
      deadline: ctx.clock.now() + i.restoreDeadlineInMs,
      intervalMs: i.pollIntervalInMs,
      // Downtime: completeRestore within one interval of the last backup being restored, so no backoff.
      maxIntervalMs: i.pollIntervalInMs,
      hint: `make sure ${last} is the last log backup (taken after the workload stopped) and is uploaded to the folder; run up again to resume waiting`,
    });
    phase = phaseOf(o);
    if (phase !== 'completing' && phase !== 'completed') {
      ctx.log(`completing the restore of ${i.databaseName} with last backup ${last} (cutover, irreversible)`);
      try {
        await ctx.arm.completeRestore(last);
      } catch (e) {
        if (!(e instanceof MigrationError && e.causeCode === 'ExternalBackupAlreadySignaledToComplete'))
          throw e;
        ctx.log('completion was already requested earlier: waiting for it');
      }
    }
  }
  o = await ctx.wait({
    what: `database ${i.databaseName} to come online read-write`,
    poll: () => observe(ctx),
    judge: (s) => {
      const p = phaseOf(s);
      if (p === 'failed') return { failed: restoreFailed(s) };
      if (p === 'absent') return { failed: vanished(i.databaseName) };
      return p === 'completed' ? { done: true } : { done: false, waiting: 'completion in progress' };
    },
    describe: describeObservation,
    deadline: ctx.clock.now() + i.completeDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the completion continues in Azure: run up again to resume waiting',
  });
  ctx.log(`database ${i.databaseName} is online at ${iso(ctx.clock.now())}: migration completed`);
  return o;
}

export type DeleteOutcome = 'gone' | 'dropped' | 'kept-completed' | 'kept-foreign' | 'kept-completing';

/** Stop: drop only a database this resource created and that is still restoring (or failed). */
export async function stop(
  i: { managedInstanceId: string; databaseName: string },
  ctx: LrsContext,
): Promise<DeleteOutcome> {
  const o = await observe(ctx);
  const phase = phaseOf(o);
  const db = i.databaseName;
  if (phase === 'absent') {
    ctx.log(`database ${db} is not on the managed instance: nothing to stop`);
    return 'gone';
  }
  if (phase === 'completed') {
    ctx.log(`database ${db} completed its migration and is kept; it is only removed from the stack`);
    return 'kept-completed';
  }
  if (phase === 'completing') {
    ctx.log(
      `database ${db} is being completed (cutover requested) and is kept; it is only removed from the stack`,
    );
    return 'kept-completing';
  }
  const owned = o.database?.tags?.[OWNER_TAG] === ownerToken(i);
  const lrs = o.details?.type === undefined || o.details.type.toLowerCase() === LRS_TYPE.toLowerCase();
  if (!owned || !lrs || phase === 'other') {
    ctx.log(
      `database ${db} is kept: ${!owned ? 'it was not created by this resource' : !lrs ? `restore details say it is not a Log Replay Service restore (${o.details?.type})` : `it is not restoring (${describeObservation(o)})`}`,
    );
    return 'kept-foreign';
  }
  ctx.log(
    formatPlan('stopping Log Replay Service', [
      { action: `drop database ${db} (${describeObservation(o)})`, destructive: true },
    ]),
  );
  await ctx.arm.dropDatabase();
  ctx.log(`database ${db} dropped: the migration was stopped before completion`);
  return 'dropped';
}

/** Outputs of the resource: the live restore figures, never the SAS token. */
export function lrsOutputs(
  i: LrsInputs,
  o: Observation,
  extra: { startedAt?: string; completedAt?: string },
): Record<string, unknown> {
  const d = o.details ?? {};
  const phase = phaseOf(o);
  return {
    managedInstanceId: i.managedInstanceId,
    databaseName: i.databaseName,
    storageContainerUri: i.storageContainerUri,
    useManagedIdentity: i.useManagedIdentity === true,
    collation: i.collation,
    lastBackupName: i.lastBackupName ?? null,
    autoComplete: i.autoComplete === true,
    complete: i.complete === true,
    startDeadlineInMs: i.startDeadlineInMs,
    restoreDeadlineInMs: i.restoreDeadlineInMs,
    completeDeadlineInMs: i.completeDeadlineInMs,
    pollIntervalInMs: i.pollIntervalInMs,
    armEndpoint: i.armEndpoint ?? null,
    databaseId: o.database?.id ?? null,
    databaseStatus: o.database?.status ?? null,
    phase,
    restoreStatus: d.status ?? null,
    percentCompleted: d.percentCompleted ?? null,
    lastUploadedFileName: d.lastUploadedFileName ?? null,
    lastRestoredFileName: d.lastRestoredFileName ?? null,
    currentRestoringFileName: d.currentRestoringFileName ?? null,
    numberOfFilesDetected: d.numberOfFilesDetected ?? null,
    numberOfFilesRestored: d.numberOfFilesRestored ?? null,
    numberOfFilesQueued: d.numberOfFilesQueued ?? null,
    numberOfFilesUnrestorable: d.numberOfFilesUnrestorable ?? null,
    unrestorableFiles: d.unrestorableFiles ?? [],
    startedAt: extra.startedAt ?? null,
    completedAt: extra.completedAt ?? null,
  };
}
