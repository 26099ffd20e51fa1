import {
  AnonymousCredential,
  ContainerClient,
  RestError,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { BACKUP_HEADER_MAX_BYTES, type BackupHeader, type BackupType, decodeBackupHeader } from './backups';
import type { SimClock } from './clock';
import { ServiceError } from './errors';
import type { ManagedDatabase } from './instances';
import {
  type ContainerLocation,
  checkLrsSasToken,
  parseContainerUri,
  validateLastBackupName,
} from './lrsRules';
import { formatLsn, type Lsn } from './lsn';

export { type ContainerLocation, parseContainerUri, validateLrsParameters } from './lrsRules';

/**
 * The Log Replay Service (LRS) simulation.
 *
 * A managed database PUT with `createMode: RestoreExternalBackup` starts a restore. The restore reads the
 * container (folder) it was given with the SAS it was given (or the instance's managed identity), reads the
 * header of every backup file, and restores them in LSN-chain order over simulated time: the newest full
 * backup set (one file or several stripes), then the newest differential based on it, then the log backups in
 * chain. New files are picked up on every scan; scans happen lazily (each ARM request that touches the
 * database, `LogReplayService.tick`). A broken plan fails with the real error codes; completion (auto or
 * `complete`) recovers the database.
 *
 * The states the service shows are those recorded (../shared/recordings/README.md): restore details say
 * `Initializing`, `Restoring` or `Completed`; a failed restore has no restore details (500); a dropped one
 * has no database.
 */

export interface LrsOptions {
  /** Simulated restore throughput in MB per second. */
  restoreMBps: number;
  /** Simulated fixed cost per restored file (ms). */
  perFileOverheadMs: number;
  /** Simulated time the final recovery takes once completion is signalled and the chain is restored (ms). */
  completionMs: number;
  /** How long a gap in the log chain may last before the restore fails (ms). */
  stallGraceMs: number;
  /**
   * How long restore details say `Initializing` before the first backup is restored: more than 21 s and at most
   * 22 s (lrs-ps-complete 9 PUT 13:37:54, 11 Initializing 13:38:15; lrs-ps-stop x3 PUT 14:13:28, x5 Restoring
   * 14:13:50; lrs-ps-autocomplete 31/33 likewise). The world passes its `lrsStartMs`.
   */
  initializingMs: number;
  /**
   * Restore time of a backup without CHECKSUM relative to one with it. The LRS guide: "The basic integrity
   * check on backups without CHECKSUM increases the restore time" (no figure given: 1.5 is chosen).
   */
  noChecksumFactor: number;
  /** Refuse SAS tokens with more than read+list permissions or a stored access policy (`si=`). */
  strictSas: boolean;
}

export const DEFAULT_LRS_OPTIONS: LrsOptions = {
  restoreMBps: 50,
  perFileOverheadMs: 2_000,
  completionMs: 30_000,
  stallGraceMs: 10 * 60_000,
  initializingMs: 21_500,
  noChecksumFactor: 1.5,
  strictSas: true,
};

/** What the managed instance itself can reach in storage (used when the restore uses its managed identity). */
export interface StorageAccess {
  accountName: string;
  accountKey: string;
  /** false simulates a managed identity without a role on the storage account. */
  managedIdentityHasAccess: boolean;
}

/** The parts of the world a restore needs. */
export interface LrsHost {
  readonly clock: SimClock;
  readonly storage?: StorageAccess;
}

export interface LrsStartParameters {
  storageContainerUri: string;
  storageContainerSasToken?: string;
  /** `storageContainerIdentity: "ManagedIdentity"`. */
  useManagedIdentity: boolean;
  autoCompleteRestore: boolean;
  lastBackupName?: string;
}

/** Restore `status` values of restore details: the recorded ones only (lrs-ps-autocomplete 32, 33, 41). */
export type LrsStatus = 'Initializing' | 'Restoring' | 'Completed';
/** Backup set `status` values, as in the REST spec example ManagedDatabaseRestoreDetails.json. */
export type BackupSetStatus = 'Queued' | 'Restoring' | 'Restored' | 'Skipped';

export interface DetectedFile {
  /** Name relative to the folder of `storageContainerUri` (what restore details and lastBackupName use). */
  name: string;
  /** Full blob name in the container. */
  blobName: string;
  /** Simulated time the restore first saw the file. */
  detectedAt: number;
  /** Undefined for files that are no backup (reported as unrestorable). */
  header?: BackupHeader;
}

/** One backup set: the file of an unstriped backup, or every stripe of a striped one (same media set). */
export interface BackupSet {
  key: string;
  type: BackupType;
  header: BackupHeader;
  /** Stripes seen so far, by family sequence number. */
  stripes: Map<number, DetectedFile>;
  status: BackupSetStatus;
  startedAt?: number;
  finishedAt?: number;
}

interface Completion {
  lastBackupName: string;
  requestedAt: number;
  auto: boolean;
  /** When the final recovery ends (set once nothing is left to restore). */
  recoverAt?: number;
}

interface Stall {
  code: string;
  message: string;
  since: number;
}

/** The name a backup set is known by: its first stripe (REST spec example: `firstStripeName`). */
export function setName(set: BackupSet): string {
  const first = set.stripes.get(1) ?? [...set.stripes.values()][0];
  return first.name;
}

function setComplete(set: BackupSet): boolean {
  return set.stripes.size >= set.header.familyCount;
}

/** One LRS restore into one managed database. */
export class LrsRestore {
  status: LrsStatus = 'Initializing';
  /** The restore's failure; from then on restore details answer 500 and the start operation fails with it. */
  error?: ServiceError;
  failedAt?: number;
  /** The database is being dropped (LRS stop). */
  stopped = false;
  readonly startedAt: number;
  readonly location: ContainerLocation;
  /** Every blob seen in the folder, by blob name. */
  readonly files = new Map<string, DetectedFile>();
  /** Every backup set seen, in order of detection. */
  readonly sets: BackupSet[] = [];
  /** LSN the database has been restored to (end of the last restored backup). */
  restoredLsn?: Lsn;
  lastRestored?: BackupSet;
  completion?: Completion;
  completedAt?: number;
  scans = 0;
  successfulScans = 0;
  private firstScanAt?: number;
  private full?: BackupSet;
  private diffDecided = false;
  private current?: { set: BackupSet; finishAt: number };
  /** Simulated time since which nothing has been restoring. */
  private idleSince: number;
  private stall?: Stall;
  private running: Promise<void> = Promise.resolve();
  private pending?: Promise<void>;

  constructor(
    private readonly host: LrsHost,
    private readonly options: LrsOptions,
    readonly database: ManagedDatabase,
    readonly params: LrsStartParameters,
  ) {
    this.startedAt = host.clock.now();
    this.idleSince = this.startedAt;
    this.location = parseContainerUri(params.storageContainerUri);
  }

  /** Still doing something (initializing, restoring or completing). */
  get active(): boolean {
    return !this.error && !this.stopped && this.status !== 'Completed';
  }

  get failed(): boolean {
    return this.error !== undefined;
  }

  /**
   * Scans the container and moves the restore forward to the simulated now. Calls are serialised; a call
   * made while a scan runs gets a fresh scan after it (concurrent callers waiting at that point share it).
   */
  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const run = this.running.then(() => {
      this.pending = undefined;
      return this.syncNow();
    });
    this.pending = run;
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Signals completion with the name of the last backup file (POST completeRestore). */
  complete(lastBackupName: string): void {
    const now = this.host.clock.now();
    this.advance(now);
    if (this.error) throw this.error;
    if (this.completion) {
      throw new ServiceError(
        'ExternalBackupAlreadySignaledToComplete',
        'The restore request has already been signaled to complete.',
      );
    }
    if (!this.active) {
      throw new ServiceError(
        'ManagedDatabaseNotInRestoringState',
        'Managed database is not in Restoring state.',
      );
    }
    if (!lastBackupName) {
      throw new ServiceError(
        'InvalidDatabaseCompleteRestoreRequestLastBackupName',
        'The last backup name is invalid',
      );
    }
    validateLastBackupName(lastBackupName);
    if (this.successfulScans === 0) {
      throw new ServiceError(
        'ExternalBackupRestoreHasNotBeenStarted',
        'The restore request can only be completed once the restore has started.',
      );
    }
    // The service accepts a completion before the named backup is restored: 11 s after the start, while still
    // initializing (lrs-continuous t3), and naming the backup still restoring (lrs-ps-complete 12/25). What it
    // refuses is not recorded: a name it has not seen, or one it skipped or restored before the last, is
    // refused with the REST spec's RequiredBackupIsNotLastRestored.
    const last = this.lastRestored;
    const named = this.sets.find((s) => this.matches(s, lastBackupName));
    const acceptable =
      named !== undefined && (named.status === 'Queued' || named.status === 'Restoring' || named === last);
    if (!acceptable) {
      throw new ServiceError(
        'RequiredBackupIsNotLastRestored',
        'Migration cannot be completed because provided backup file name is not the name of the last backup file ' +
          `that is restored: '${lastBackupName}' was given, the last restored backup file is '${last ? setName(last) : ''}'.`,
      );
    }
    this.beginCompletion(now, lastBackupName, false);
  }

  /** Fails the restore before it starts (the service refused it). */
  refuse(error: ServiceError): void {
    this.fail(error, this.host.clock.now());
  }

  /** Stops the restore (the database is being dropped). */
  stop(): void {
    if (!this.active) return;
    this.stopped = true;
    this.current = undefined;
    this.stall = undefined;
  }

  /**
   * The `properties` of GET …/restoreDetails/Default, with the fields and values recorded
   * (lrs-ps-autocomplete 32/33/41, lrs-ps-stop x4/x5, lrs-ps-complete 10–13): no `type`, `blockReason`,
   * `percentCompleted` or per-set lists; `currentRestoringFileName` is the literal "<empty value>" while
   * nothing restores. Callers answer 500 instead for a failed restore.
   */
  restoreDetails(): Record<string, unknown> {
    const files = [...this.files.values()];
    if (this.status === 'Initializing' && files.length === 0) {
      return { status: this.status, numberOfFilesDetected: 0 }; // lrs-ps-complete 10
    }
    const lastUploaded = files.reduce<DetectedFile | undefined>(
      (a, f) => (!a || f.detectedAt >= a.detectedAt ? f : a),
      undefined,
    );
    const last = this.lastRestored ? setName(this.lastRestored) : undefined;
    const current = this.current ? setName(this.current.set) : undefined;
    return {
      status: this.status,
      // Completed shows the last restored file as current (lrs-ps-autocomplete 41).
      currentRestoringFileName: (this.status === 'Completed' ? last : current) ?? '<empty value>',
      // Present once a file is restored (REST spec example; the recordings show it with Completed).
      ...(last ? { lastRestoredFileName: last } : {}),
      // Recorded as [] only; entries shaped as the REST spec example ({name}).
      unrestorableFiles: files.filter((f) => !f.header).map((f) => ({ name: f.name })),
      numberOfFilesDetected: files.length,
      ...(lastUploaded
        ? {
            lastUploadedFileName: lastUploaded.name,
            lastUploadedFileTime: isoSeconds(lastUploaded.detectedAt),
          }
        : {}),
    };
  }

  /** A plain JSON view for tests and the /_sandbox surface (richer than what ARM shows). */
  toJSON(): Record<string, unknown> {
    const count = (status: BackupSetStatus) => this.sets.filter((s) => s.status === status).length;
    return {
      status: this.status,
      failed: this.error?.toBody().error,
      stopped: this.stopped,
      completionRequested: this.completion !== undefined,
      stallReason: this.stall?.code,
      currentRestoringFileName: this.current ? setName(this.current.set) : undefined,
      lastRestoredFileName: this.lastRestored ? setName(this.lastRestored) : undefined,
      numberOfFilesDetected: this.files.size,
      numberOfSetsRestored: count('Restored'),
      numberOfSetsSkipped: count('Skipped'),
      numberOfSetsQueued: count('Queued'),
      backupSets: this.sets.map((s) => ({
        type: s.type,
        name: setName(s),
        status: s.status,
        stripes: s.header.familyCount,
        stripesSeen: s.stripes.size,
        startedAt: isoTime(s.startedAt),
        finishedAt: isoTime(s.finishedAt),
      })),
      storageContainerUri: this.params.storageContainerUri,
      autoCompleteRestore: this.params.autoCompleteRestore,
      lastBackupName: this.params.lastBackupName,
      restoredLsn: this.restoredLsn === undefined ? undefined : formatLsn(this.restoredLsn),
      startedAt: isoTime(this.startedAt),
    };
  }

  private async syncNow(): Promise<void> {
    if (!this.active) return;
    // Once completion is signalled no more files are picked up (the LRS guide: "After the manual cutover has
    // been initiated, no additional differential files can be added or restored").
    if (!this.completion) await this.scan();
    this.advance(this.host.clock.now());
  }

  private async scan(): Promise<void> {
    this.scans += 1;
    const now = () => this.host.clock.now();
    let client: ContainerClient;
    try {
      client = this.containerClient();
    } catch (err) {
      if (err instanceof ServiceError) return this.fail(err, now());
      throw err;
    }
    const prefix = this.location.folder ? `${this.location.folder}/` : '';
    try {
      for await (const item of client.listBlobsByHierarchy('/', { prefix })) {
        if (item.kind !== 'blob' || this.files.has(item.name)) continue;
        const header = await readHeader(client, item.name);
        this.addFile({
          name: item.name.slice(prefix.length),
          blobName: item.name,
          detectedAt: now(),
          header,
        });
      }
      this.successfulScans += 1;
      this.firstScanAt ??= now();
    } catch (err) {
      const status = err instanceof RestError ? err.statusCode : undefined;
      // Network errors and 5xx are transient: the next scan tries again. 4xx (no permission, expired SAS,
      // container gone) break the restore.
      if (status === undefined || status >= 500) return;
      const code = this.successfulScans === 0 ? 'StorageBrokenIssueDetectedAtTheStart' : 'BlobStorageFailure';
      return this.fail(new ServiceError(code, `Blob storage failure: ${describeStorageError(err)}`), now());
    }
    this.checkSingleDatabase(now());
  }

  private containerClient(): ContainerClient {
    const { containerUrl } = this.location;
    const retryOptions = { maxTries: 1 };
    if (this.params.useManagedIdentity) {
      const storage = this.host.storage;
      if (!storage?.managedIdentityHasAccess) {
        throw new ServiceError(
          'ManagedIdentityIssueDetectedFromTheStart',
          'The managed identity of the managed instance cannot access the storage container ' +
            `${containerUrl} (give it the Storage Blob Data Reader role).`,
        );
      }
      const credential = new StorageSharedKeyCredential(storage.accountName, storage.accountKey);
      return new ContainerClient(containerUrl, credential, { retryOptions });
    }
    const sas = this.params.storageContainerSasToken ?? '';
    if (this.options.strictSas) checkLrsSasToken(sas);
    return new ContainerClient(`${containerUrl}?${sas}`, new AnonymousCredential(), { retryOptions });
  }

  private addFile(file: DetectedFile): void {
    this.files.set(file.blobName, file);
    const header = file.header;
    if (!header) return;
    const key = header.mediaSetId || `file:${file.blobName}`;
    let set = this.sets.find((s) => s.key === key);
    if (!set) {
      set = { key, type: header.type, header, stripes: new Map(), status: 'Queued' };
      this.sets.push(set);
    }
    set.stripes.set(header.familySequenceNumber, file);
    if (header.firstLsn > header.lastLsn) {
      this.fail(
        new ServiceError(
          'BrokenRestorePlanWrongLogBackupLSN',
          `The restore plan is broken because firstLsn of backup '${file.name}' is greater than its lastLsn.`,
        ),
        file.detectedAt,
      );
    }
    // The LRS migration guide: "A log backup (not split for a transaction log file)"; full and differential
    // backups may be several files. The service's answer to a striped log backup is not documented: the
    // REST spec's code for striped restores (completeRestore error list, "Restoring from striped backups is
    // not supported.") is chosen.
    if (header.type === 'log' && header.familyCount > 1) {
      this.fail(
        new ServiceError(
          'RestoreFromStripedBackupsNotEnabled',
          `Restoring from striped backups is not supported: log backup '${file.name}' is one of ${header.familyCount} stripes.`,
        ),
        file.detectedAt,
      );
    }
  }

  private checkSingleDatabase(now: number): void {
    if (!this.active) return;
    const names = new Map(this.sets.map((s) => [s.header.database.toLowerCase(), s.header.database]));
    if (names.size <= 1) return;
    const started = this.sets.some((s) => s.status === 'Restoring' || s.status === 'Restored');
    const code = started
      ? 'BackupsFromMultipleDatabasesDetectedInTheContainerWhileRestoreInProgress'
      : 'BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart';
    this.fail(
      new ServiceError(
        code,
        `Backups from multiple databases were detected in the container: ${[...names.values()].join(', ')}.`,
      ),
      now,
    );
  }

  /** Runs the restore forward to simulated time `now`. */
  private advance(now: number): void {
    while (this.active) {
      if (this.status === 'Initializing') {
        if (this.firstScanAt === undefined) return;
        const ready = Math.max(this.startedAt + this.options.initializingMs, this.firstScanAt);
        if (now < ready) return;
        if (!this.sets.some((s) => s.type === 'full')) {
          // lrs-ps-failed-start v3: a container without a usable full backup fails the start 30 s in with
          // FullBackupNotFound "Full backup can not be found."
          this.fail(new ServiceError('FullBackupNotFound', 'Full backup can not be found.'), ready);
          return;
        }
        this.status = 'Restoring';
        this.idleSince = Math.max(this.idleSince, ready);
      }
      const completion = this.completion;
      if (completion?.recoverAt !== undefined) {
        if (now >= completion.recoverAt) this.finishCompletion(completion.recoverAt);
        return;
      }
      if (this.current) {
        if (this.current.finishAt > now) return;
        this.finishCurrent();
        continue;
      }
      // Once completion is signalled (by completeRestore or by the named last backup being restored with
      // autoCompleteRestore) what is queued is still restored before recovery: lrs-ps-complete 25 named
      // full.bak and 13 shows log1.bak restored; lrs-ps-autocomplete 31 named full.bak, 41 likewise.
      const next = this.pickNext(now);
      if (next) {
        this.startSet(next, Math.max(this.idleSince, ...[...next.stripes.values()].map((f) => f.detectedAt)));
        continue;
      }
      if (!completion) return;
      // Nothing left to restore: the final recovery runs.
      completion.recoverAt = Math.max(this.idleSince, completion.requestedAt) + this.options.completionMs;
    }
  }

  private pickNext(now: number): BackupSet | undefined {
    if (!this.full) return this.pickFull();
    if (!this.diffDecided) {
      this.diffDecided = true;
      const diff = this.pickDiff(this.full, now);
      if (diff || !this.active) return diff;
    }
    return this.pickLog(now);
  }

  /** The newest complete full backup set; an incomplete striped set waits for its stripes (no source says more). */
  private pickFull(): BackupSet | undefined {
    const fulls = this.queued('full').filter(setComplete);
    if (fulls.length === 0) return undefined;
    const full = fulls.reduce((a, b) => (b.header.lastLsn > a.header.lastLsn ? b : a));
    for (const other of fulls) if (other !== full) other.status = 'Skipped';
    this.full = full;
    this.stall = undefined;
    return full;
  }

  private pickDiff(full: BackupSet, now: number): BackupSet | undefined {
    const restored = this.restoredLsn ?? full.header.lastLsn;
    const diffs = this.queued('diff').filter(setComplete);
    const usable = diffs.filter(
      (d) => d.header.databaseBackupLsn === full.header.checkpointLsn && d.header.lastLsn > restored,
    );
    const wrong = usable.find((d) => d.header.firstLsn < full.header.firstLsn);
    if (wrong) {
      this.fail(
        new ServiceError(
          'BrokenRestorePlanWrongDiffBackupLSN',
          `The restore plan is broken because firstLsn of diff backup '${setName(wrong)}' is not >= firstLsn of ` +
            `full backup '${setName(full)}'.`,
        ),
        now,
      );
      return undefined;
    }
    const chosen = usable.reduce<BackupSet | undefined>(
      (a, d) => (!a || d.header.lastLsn > a.header.lastLsn ? d : a),
      undefined,
    );
    for (const d of diffs) if (d !== chosen) d.status = 'Skipped';
    return chosen;
  }

  private pickLog(now: number): BackupSet | undefined {
    const restored = this.restoredLsn;
    if (restored === undefined) return undefined;
    // Whatever can no longer be applied is skipped: fulls and differentials that arrived after the plan was
    // fixed, and log backups that end at or before the restored LSN.
    for (const s of this.sets) {
      if (s.status !== 'Queued') continue;
      if (s.type !== 'log' || s.header.lastLsn <= restored) s.status = 'Skipped';
    }
    const logs = this.queued('log');
    const covering = logs.filter((l) => l.header.firstLsn <= restored && restored < l.header.lastLsn);
    if (covering.length > 0) {
      this.stall = undefined;
      return covering.find((l) => l.header.firstLsn === restored) ?? covering[0];
    }
    if (logs.length === 0) {
      this.stall = undefined;
      return undefined;
    }
    const earliest = logs.reduce((a, b) => (b.header.firstLsn < a.header.firstLsn ? b : a));
    const since = Math.max(
      this.idleSince,
      Math.min(...logs.flatMap((l) => [...l.stripes.values()].map((f) => f.detectedAt))),
    );
    this.stallOn(
      'BrokenRestorePlanGapInLogBackups',
      'The restore plan is broken because firstLsn of current log backup is not equal to lastLsn of prev log ' +
        `backup: the database is restored to LSN ${formatLsn(restored)} ('${this.lastRestored ? setName(this.lastRestored) : ''}') and ` +
        `the next log backup '${setName(earliest)}' starts at LSN ${formatLsn(earliest.header.firstLsn)}.`,
      since,
      now,
    );
    return undefined;
  }

  /** Records that the plan cannot go on; after `stallGraceMs` of simulated time it fails with `code`. */
  private stallOn(code: string, message: string, since: number, now: number): void {
    if (this.stall?.code !== code) this.stall = { code, message, since };
    else this.stall.message = message;
    const deadline = this.stall.since + this.options.stallGraceMs;
    if (now >= deadline) this.fail(new ServiceError(code, message), deadline);
  }

  private startSet(set: BackupSet, at: number): void {
    set.status = 'Restoring';
    set.startedAt = at;
    const factor = set.header.checksum ? 1 : this.options.noChecksumFactor;
    const durationMs =
      (this.options.perFileOverheadMs * set.stripes.size +
        (set.header.sizeMB / this.options.restoreMBps) * 1000) *
      factor;
    this.current = { set, finishAt: at + durationMs };
  }

  private finishCurrent(): void {
    const current = this.current;
    if (!current) return;
    const { set, finishAt } = current;
    this.current = undefined;
    set.status = 'Restored';
    set.finishedAt = finishAt;
    this.lastRestored = set;
    this.restoredLsn = set.header.lastLsn;
    this.database.lsn = set.header.lastLsn;
    this.idleSince = finishAt;
    const last = this.params.lastBackupName;
    if (this.params.autoCompleteRestore && last !== undefined && this.matches(set, last)) {
      this.beginCompletion(finishAt, last, true);
    }
  }

  private beginCompletion(at: number, lastBackupName: string, auto: boolean): void {
    this.stall = undefined;
    this.completion = { lastBackupName, requestedAt: at, auto };
  }

  private finishCompletion(at: number): void {
    this.status = 'Completed';
    this.completedAt = at;
    for (const s of this.sets) if (s.status === 'Queued') s.status = 'Skipped';
    this.database.status = 'Online';
    this.database.readOnly = false;
    if (this.restoredLsn !== undefined) this.database.lsn = this.restoredLsn;
  }

  private fail(error: ServiceError, at: number): void {
    if (!this.active) return;
    this.error = error;
    this.failedAt = at;
    this.stall = undefined;
    if (this.current) {
      this.current.set.status = 'Queued';
      this.current = undefined;
    }
  }

  private queued(type: BackupType): BackupSet[] {
    return this.sets.filter((s) => s.status === 'Queued' && s.type === type);
  }

  private matches(set: BackupSet, name: string): boolean {
    return [...set.stripes.values()].some((f) => f.name === name || f.blobName === name);
  }
}

/** Starts, tracks and moves forward every LRS restore of the world. */
export class LogReplayService {
  readonly options: LrsOptions;
  private readonly restores = new Set<LrsRestore>();

  constructor(
    private readonly host: LrsHost,
    options: Partial<LrsOptions> = {},
  ) {
    this.options = { ...DEFAULT_LRS_OPTIONS, ...options };
  }

  /** Starts a restore into `db` (already validated with validateLrsParameters) and attaches it as `db.lrs`. */
  start(db: ManagedDatabase, params: LrsStartParameters): LrsRestore {
    const restore = new LrsRestore(this.host, this.options, db, params);
    db.lrs = restore;
    this.restores.add(restore);
    return restore;
  }

  /** Scans and advances the restore of `db`, if it has an active one. */
  async sync(db: ManagedDatabase): Promise<void> {
    if (db.lrs?.active) await db.lrs.sync();
  }

  /** Scans and advances every active restore. */
  async tick(): Promise<void> {
    await Promise.all(this.list().map((r) => r.sync()));
  }

  /** Active restores. */
  list(): LrsRestore[] {
    for (const r of this.restores) if (!r.active) this.restores.delete(r);
    return [...this.restores];
  }
}

async function readHeader(client: ContainerClient, blobName: string): Promise<BackupHeader | undefined> {
  try {
    const response = await client.getBlobClient(blobName).download(0, BACKUP_HEADER_MAX_BYTES);
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? []) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    }
    return decodeBackupHeader(Buffer.concat(chunks));
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 416) return undefined; // empty blob
    throw err;
  }
}

function describeStorageError(err: unknown): string {
  if (err instanceof RestError) {
    return `${err.statusCode ?? ''} ${err.code ?? ''} ${err.message.split('\n')[0]}`.trim();
  }
  return err instanceof Error ? err.message : String(err);
}

function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** `2020-05-08T17:29:46Z`: whole seconds, as lastUploadedFileTime was recorded (lrs-ps-stop x4). */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
