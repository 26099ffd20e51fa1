import { type Clock, iso } from '../clock';
import { MigrationError } from '../errors';
import { formatPlan, type Step } from '../plan';
import { lrsHint } from './hints';
import { DEFAULT_COLLATION, type LrsInputs } from './inputs';
import {
  describeObservation,
  type LrsPhase,
  type Observation,
  operationFailure,
  phaseOf,
  sameFile,
} from './phase';
import type { Waiter } from '../../runtime/waiter';
import { MAX_RESTORES_PER_INSTANCE, type RestoreSlots } from './slots';
import {
  type BackupStoragePort,
  isUnavailable,
  type LrsArmPort,
  type ManagedDatabaseView,
  type OperationView,
  type StartedOperation,
} from './ports';

export { describeObservation, type LrsPhase, type Observation, phaseOf } from './phase';

/** The tag that proves a database was started by this resource (checked before adopting or dropping it). */
export const OWNER_TAG = 'sqlmi-migrate-owner';
export const LRS_TYPE = 'LRSRestore';

export interface LrsContext {
  arm: LrsArmPort;
  /** Restore slots of the managed instances (shared by the resources of one provider process). */
  slots?: RestoreSlots;
  /** Absent with managed identity: the provider cannot read the container as the instance does. */
  storage?: BackupStoragePort;
  clock: Clock;
  log: (line: string) => void;
  wait: Waiter;
}

/**
 * What this resource knows that Azure does not show on the database: its owner token (a random value made at
 * create, stored in state and set as the database's OWNER_TAG: unique to the stack and resource) and the
 * operations it started. The workflow updates it as it goes, so a failure can still record it.
 */
export interface LrsRecord {
  owner: string;
  /** Azure-AsyncOperation URL of the start (lives until completion; read as a witness, never waited on). */
  startOperationUrl?: string;
  completeOperationUrl?: string;
  completionRequestedAt?: string;
  startedAt?: string;
  completedAt?: string;
}

type Target = Required<Pick<LrsInputs, 'managedInstanceId' | 'databaseName'>> & LrsInputs;

/** Reads an operation no faster than its Retry-After (or the poll interval) asks, and never again once it ended. */
class OperationWitness {
  private view?: OperationView;
  private nextAt = 0;

  constructor(
    private readonly url: string | undefined,
    private readonly minIntervalMs: number,
  ) {}

  async read(ctx: LrsContext): Promise<OperationView | undefined> {
    if (!this.url) return undefined;
    const ended = this.view?.status !== undefined && !/^InProgress$/i.test(this.view.status);
    const now = ctx.clock.now();
    if (ended || now < this.nextAt) return this.view;
    this.view = await ctx.arm.getOperation(this.url);
    this.nextAt = now + Math.max(this.minIntervalMs, this.view.retryAfterMs ?? 0);
    return this.view;
  }
}

/** Reads of one run: the database, its restore details, and the operations this resource started. */
class Observer {
  private start: OperationWitness;
  private completion: OperationWitness;

  constructor(
    private readonly i: Target,
    private readonly ctx: LrsContext,
    private readonly record: LrsRecord,
  ) {
    this.start = new OperationWitness(record.startOperationUrl, i.pollIntervalInMs);
    this.completion = new OperationWitness(record.completeOperationUrl, i.pollIntervalInMs);
  }

  /** A new start or completion operation to follow. */
  follow(): void {
    this.start = new OperationWitness(this.record.startOperationUrl, this.i.pollIntervalInMs);
    this.completion = new OperationWitness(this.record.completeOperationUrl, this.i.pollIntervalInMs);
  }

  /**
   * One reading: the database, the operations this resource started (at their own pace), and the restore
   * details, which are skipped when they cannot tell more: a database this resource does not own, or a
   * restore whose operation already failed (its restore details answer 500, lrs-ps-failed-start v4).
   */
  async observe(
    options: { operations?: boolean; database?: ManagedDatabaseView | null } = {},
  ): Promise<Observation> {
    // `database` given: already read (e.g. in a listing); null: known to be absent.
    const database =
      options.database === undefined ? await this.ctx.arm.getDatabase() : (options.database ?? undefined);
    const ops = options.operations ?? true;
    const start = ops ? await this.start.read(this.ctx) : undefined;
    const completion = ops ? await this.completion.read(this.ctx) : undefined;
    const owned = database?.tags?.[OWNER_TAG] === this.record.owner;
    const failed = operationFailure({ start, completion }) !== undefined;
    const details = database && owned && !failed ? await this.ctx.arm.getRestoreDetails() : undefined;
    const last = details && !isUnavailable(details) ? details.lastRestoredFileName : undefined;
    const completionRequested =
      this.record.completionRequestedAt !== undefined ||
      (this.i.autoComplete === true && sameFile(last, this.i.lastBackupName));
    return { database, details, start, completion, completionRequested };
  }
}

/** Reads what is there now (outputs of read, partial failures). */
export function observe(i: Target, ctx: LrsContext, record: LrsRecord): Promise<Observation> {
  return new Observer(i, ctx, record).observe();
}

/** A poll that answers `first` once, then reads (the state just read is not read again). */
function seeded(first: Observation, poll: () => Promise<Observation>): () => Promise<Observation> {
  let pending: Observation | undefined = first;
  return () => {
    const o = pending;
    pending = undefined;
    return o ? Promise.resolve(o) : poll();
  };
}

function restoreFailed(o: Observation, db: string): MigrationError {
  const f = operationFailure(o);
  const code = f?.code;
  return new MigrationError(
    'RestoreFailed',
    `Log Replay Service reports the restore of ${db} as ${f?.status ?? 'failed'}${code ? ` (${code})` : ''}${f?.message ? `: ${f.message}` : '.'}`,
    {
      causeCode: code,
      lastState: describeObservation(o),
      hint: `${lrsHint(code) ?? 'fix the backups in the folder'}; then ${RESTART_AFTER_FAILURE}`,
    },
  );
}

const RESTART_AFTER_FAILURE =
  'drop the failed database yourself (az sql midb delete -g <resource group> --mi <instance> -n <database>: the provider keeps databases whose restore details it cannot read, and a failed restore has none) and run up again, which starts over';

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
    {
      action:
        'wait until the service reports the restore is running (its start operation keeps running until the migration completes: not waited for)',
    },
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
  if (olds.completedAt || /^online$/i.test(String(olds.databaseStatus ?? ''))) {
    return [{ action: `keep database ${db}: its migration completed; only forget it in the stack` }];
  }
  return [
    {
      action: `stop Log Replay Service: drop database ${db} if it carries this resource's owner tag, its restore details show a Log Replay restore in progress and it is not online (otherwise keep it)`,
      destructive: true,
    },
  ];
}

function shortMi(id: string | undefined): string {
  return id ? (id.split('/').pop() ?? id) : '(managed instance)';
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

function vanished(db: string): MigrationError {
  return new MigrationError(
    'DatabaseVanished',
    `Database ${db} disappeared from the managed instance during the migration.`,
    {
      hint: 'someone dropped it outside Pulumi: run pulumi refresh, then up to start over',
    },
  );
}

function assertOwned(o: Observation, owner: string, db: string): void {
  const tag = o.database?.tags?.[OWNER_TAG];
  if (tag === owner) return;
  throw new MigrationError(
    'DatabaseExists',
    `Database ${db} already exists on the managed instance (${describeObservation(o)}) and was not started by this resource${tag ? ` (it belongs to another migration: owner tag ${tag})` : ''}.`,
    {
      hint: tag
        ? 'another stack or resource declares the same database, or an earlier up of this resource was interrupted after starting it and before Pulumi saved its state; the provider cannot tell these apart, so it never takes over or drops it. If it is an interrupted start of this resource, stop that restore (az sql midb log-replay stop -g <resource group> --mi <instance> -n <database>, which drops it) and run up again; otherwise choose another databaseName'
        : 'choose another databaseName, or drop/rename the existing database yourself if it is not needed; the provider never takes over or drops a database it did not create',
    },
  );
}

/** The cutover: wait for the last backup, complete the restore, wait until online. Idempotent. */
export async function complete(i: Target, ctx: LrsContext, record: LrsRecord): Promise<Observation> {
  const observer = new Observer(i, ctx, record);
  return completeFrom(i, ctx, record, observer, await observer.observe());
}

async function completeFrom(
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
      o = await observer.observe();
    }
  }
  o = await ctx.wait({
    what: `database ${i.databaseName} to come online read-write`,
    poll: seeded(o, () => observer.observe()),
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
  record.completedAt ??= iso(ctx.clock.now());
  ctx.log(`database ${i.databaseName} is online at ${iso(ctx.clock.now())}: migration completed`);
  return o;
}

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
  const o = await new Observer(i, ctx, record).observe({ operations: false });
  const db = i.databaseName;
  const d = o.details;
  const keep = (outcome: DeleteOutcome, why: string): DeleteOutcome => {
    ctx.log(`database ${db} is kept: ${why}; it is only removed from the stack`);
    return outcome;
  };
  if (!o.database) {
    ctx.log(`database ${db} is not on the managed instance: nothing to stop`);
    return 'gone';
  }
  if (/^online$/i.test(o.database.status ?? '')) {
    ctx.log(`database ${db} completed its migration and is kept; it is only removed from the stack`);
    return 'kept-completed';
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
  ctx.log(
    formatPlan('stopping Log Replay Service', [
      { action: `drop database ${db} (${describeObservation(o)})`, destructive: true },
    ]),
  );
  await ctx.arm.dropDatabase();
  await ctx.clock.sleep(i.pollIntervalInMs);
  await ctx.wait({
    what: `database ${db} to be dropped`,
    poll: () => ctx.arm.getDatabase(),
    judge: (s) => (s ? { done: false, waiting: 'the drop is running' } : { done: true }),
    describe: (s) => (s ? `database ${s.status ?? 'without status'}` : 'database gone'),
    deadline: ctx.clock.now() + i.startDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the drop continues in Azure: run pulumi destroy again to resume waiting',
  });
  ctx.log(`database ${db} dropped: the migration was stopped before completion`);
  return 'dropped';
}

/** Outputs of the resource: the live restore figures and this resource's record, never the SAS token. */
export function lrsOutputs(i: LrsInputs, o: Observation, record: LrsRecord): Record<string, unknown> {
  const d = o.details && !isUnavailable(o.details) ? o.details : undefined;
  const unavailable = o.details && isUnavailable(o.details) ? o.details.unavailable : undefined;
  const failure = operationFailure(o);
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
    owner: record.owner,
    databaseId: o.database?.id ?? null,
    databaseStatus: o.database?.status ?? null,
    phase: phaseOf(o),
    restoreStatus: d?.status ?? null,
    restoreDetailsError: unavailable
      ? `HTTP ${unavailable.status}${unavailable.code ? ` ${unavailable.code}` : ''}`
      : null,
    failureCode: failure?.code ?? null,
    percentCompleted: d?.percentCompleted ?? null,
    lastUploadedFileName: d?.lastUploadedFileName ?? null,
    lastRestoredFileName: d?.lastRestoredFileName ?? null,
    currentRestoringFileName: d?.currentRestoringFileName ?? null,
    numberOfFilesDetected: d?.numberOfFilesDetected ?? null,
    unrestorableFiles: d?.unrestorableFiles ?? [],
    startOperationUrl: record.startOperationUrl ?? null,
    completeOperationUrl: record.completeOperationUrl ?? null,
    completionRequestedAt: record.completionRequestedAt ?? null,
    startedAt: record.startedAt ?? null,
    completedAt: record.completedAt ?? null,
  };
}
