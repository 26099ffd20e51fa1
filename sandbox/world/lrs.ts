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
import { formatLsn, type Lsn } from './lsn';

/**
 * The Log Replay Service (LRS) simulation.
 *
 * A managed database PUT with `createMode: RestoreExternalBackup` starts a restore. The restore reads the
 * container (folder) it was given with the SAS it was given (or the instance's managed identity), reads the
 * header of every backup file, and restores them in LSN-chain order over simulated time: the newest full
 * backup, then the newest differential based on it, then the log backups in chain. New files are picked up
 * on every scan; scans happen lazily (each ARM request that touches the database, `LogReplayService.tick`).
 * A broken plan fails with the real error codes; completion (auto or `complete`) recovers the database.
 */

export interface LrsOptions {
  /** Simulated restore throughput in MB per second. */
  restoreMBps: number;
  /** Simulated fixed cost per restored file (ms). */
  perFileOverheadMs: number;
  /** Simulated time the final recovery takes after completion is signalled (ms). */
  completionMs: number;
  /** How long a missing full backup or a gap in the log chain may last before the restore fails (ms). */
  stallGraceMs: number;
  /** Refuse SAS tokens with more than read+list permissions or a stored access policy (`si=`). */
  strictSas: boolean;
}

export const DEFAULT_LRS_OPTIONS: LrsOptions = {
  restoreMBps: 50,
  perFileOverheadMs: 2_000,
  completionMs: 30_000,
  stallGraceMs: 10 * 60_000,
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

/** Restore `status` values reported in restore details (plain strings in the REST spec). */
export type LrsStatus = 'Waiting' | 'Restoring' | 'Completing' | 'Completed' | 'Failed' | 'Stopped';
/** Backup set `status` values, as in the REST spec examples. */
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

export interface BackupSet {
  file: DetectedFile;
  header: BackupHeader;
  status: BackupSetStatus;
  startedAt?: number;
  finishedAt?: number;
}

interface Completion {
  lastBackupName: string;
  requestedAt: number;
  finishAt: number;
  auto: boolean;
}

interface Stall {
  code: string;
  message: string;
  since: number;
}

/** Where a `storageContainerUri` points: container URL and the folder prefix inside it. */
export interface ContainerLocation {
  containerUrl: string;
  container: string;
  /** Folder inside the container, '' for the container root; no leading or trailing '/'. */
  folder: string;
}

const RESERVED_PATH_WORDS = new Set(['backup', 'backups']);

/**
 * Splits a container or folder URL. Emulator URLs (an IP or localhost host) are path-style and carry the
 * account as the first path segment, as Azurite's do.
 */
export function parseContainerUri(uri: string): ContainerLocation {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidRequest(`storageContainerUri '${uri}' is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidRequest(`storageContainerUri '${uri}' must be an https URL of a blob container.`);
  }
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const pathStyle = /^(\d+\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(url.hostname);
  const accountSegments = pathStyle ? segments.slice(0, 1) : [];
  const rest = segments.slice(accountSegments.length);
  if (rest.length === 0) throw invalidRequest(`storageContainerUri '${uri}' names no blob container.`);
  const [container, ...folder] = rest;
  const base = `${url.origin}${accountSegments.map((s) => `/${encodeURIComponent(s)}`).join('')}`;
  return { containerUrl: `${base}/${encodeURIComponent(container)}`, container, folder: folder.join('/') };
}

/**
 * Validates the create-only LRS parameters of a managed database PUT the way Azure does, throwing a
 * ServiceError with the real code (MissingStorageContainerUri, MissingStorageContainerSasToken, …).
 */
export function validateLrsParameters(p: {
  storageContainerUri?: string;
  storageContainerSasToken?: string;
  storageContainerIdentity?: string;
  collation?: string;
  autoCompleteRestore?: boolean;
  lastBackupName?: string;
}): void {
  if (!p.storageContainerUri)
    throw new ServiceError('MissingStorageContainerUri', 'Missing storage container URI');
  const identity = p.storageContainerIdentity;
  if (identity !== undefined && !/^(ManagedIdentity|SharedAccessSignature)$/i.test(identity)) {
    throw invalidRequest(
      `storageContainerIdentity '${identity}' is not valid: use 'ManagedIdentity' or 'SharedAccessSignature'.`,
    );
  }
  const managedIdentity = identity !== undefined && /^ManagedIdentity$/i.test(identity);
  if (managedIdentity && p.storageContainerSasToken) {
    throw invalidRequest(
      'storageContainerSasToken cannot be used with storageContainerIdentity ManagedIdentity.',
    );
  }
  if (!managedIdentity && !p.storageContainerSasToken) {
    throw new ServiceError('MissingStorageContainerSasToken', 'Missing storage container SAS token');
  }
  if (p.storageContainerSasToken?.startsWith('?')) {
    throw invalidRequest("storageContainerSasToken must be given without the leading '?'.");
  }
  if (!p.collation) throw new ServiceError('MissingCollation', 'Collation is required.');
  if (p.autoCompleteRestore && !p.lastBackupName) {
    throw new ServiceError(
      'AutoCompleteMissingLastBackupName',
      'Auto complete restore request must have lastBackupName parameter provided.',
    );
  }
  if (p.lastBackupName !== undefined) validateLastBackupName(p.lastBackupName);
  const location = parseContainerUri(p.storageContainerUri);
  const reserved = [location.container, ...location.folder.split('/')].find((s) =>
    RESERVED_PATH_WORDS.has(s.toLowerCase()),
  );
  if (reserved) {
    throw invalidRequest(
      `storageContainerUri must not contain the reserved word '${reserved}' in its path (backup and backups are reserved).`,
    );
  }
}

function validateLastBackupName(name: string): void {
  if (/[\r\n]/.test(name)) {
    throw new ServiceError(
      'LastBackupNameHasNewline',
      'The last backup name must not contain a newline character.',
    );
  }
  if (/[^\x20-\x7e]/.test(name)) {
    throw new ServiceError(
      'LastBackupNameHasNonAsciiCharacter',
      'The last backup name must contain printable ASCII characters only.',
    );
  }
}

function invalidRequest(message: string): ServiceError {
  return new ServiceError('InvalidDatabaseCreateOrUpdateRequest', message);
}

/** One LRS restore into one managed database. */
export class LrsRestore {
  status: LrsStatus = 'Waiting';
  error?: ServiceError;
  failedAt?: number;
  readonly startedAt: number;
  readonly location: ContainerLocation;
  /** Every blob seen in the folder, by blob name. */
  readonly files = new Map<string, DetectedFile>();
  /** Every backup file seen, in order of detection. */
  readonly sets: BackupSet[] = [];
  /** LSN the database has been restored to (end of the last restored backup). */
  restoredLsn?: Lsn;
  lastRestored?: BackupSet;
  completion?: Completion;
  scans = 0;
  successfulScans = 0;
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

  /** Still doing something (waiting for files, restoring or completing). */
  get active(): boolean {
    return this.status === 'Waiting' || this.status === 'Restoring' || this.status === 'Completing';
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
    if (this.status === 'Failed' && this.error) throw this.error;
    if (this.completion) {
      throw new ServiceError(
        'ExternalBackupAlreadySignaledToComplete',
        'The restore request has already been signaled to complete.',
      );
    }
    if (this.status !== 'Waiting' && this.status !== 'Restoring') {
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
    const last = this.lastRestored;
    if (!last) {
      throw new ServiceError(
        'ExternalBackupRestoreHasNotBeenStarted',
        'The restore request can only be completed once the restore has started.',
      );
    }
    if (!this.matches(last, lastBackupName)) {
      throw new ServiceError(
        'RequiredBackupIsNotLastRestored',
        'Migration cannot be completed because provided backup file name is not the name of the last backup file ' +
          `that is restored: '${lastBackupName}' was given, the last restored backup file is '${last.file.name}'` +
          (this.current ? ` ('${this.current.set.file.name}' is restoring).` : '.'),
      );
    }
    this.beginCompletion(now, lastBackupName, false);
  }

  /** Stops the restore (the database is being dropped). */
  stop(): void {
    if (!this.active) return;
    this.status = 'Stopped';
    this.current = undefined;
    this.stall = undefined;
  }

  /** The `properties` of GET …/restoreDetails/Default, shaped as in the REST spec examples. */
  restoreDetails(): Record<string, unknown> {
    const now = this.host.clock.now();
    const plan = this.sets.filter((s) => s.status !== 'Skipped');
    const planMB = sum(plan.map((s) => s.header.sizeMB));
    const partialMB = this.current ? this.current.set.header.sizeMB * this.progressOf(this.current, now) : 0;
    const restoredMB =
      sum(plan.filter((s) => s.status === 'Restored').map((s) => s.header.sizeMB)) + partialMB;
    const percent =
      this.status === 'Completed' ? 100 : planMB === 0 ? 0 : Math.floor((restoredMB * 100) / planMB);
    const files = [...this.files.values()];
    const lastUploaded = files.reduce<DetectedFile | undefined>(
      (a, f) => (!a || f.detectedAt >= a.detectedAt ? f : a),
      undefined,
    );
    const unrestorable = files.filter((f) => !f.header);
    const count = (status: BackupSetStatus) => this.sets.filter((s) => s.status === status).length;
    const current = this.current?.set;
    return {
      type: 'LRSRestore',
      status: this.status,
      blockReason: this.stall?.code,
      lastUploadedFileName: lastUploaded?.name,
      lastUploadedFileTime: isoTime(lastUploaded?.detectedAt),
      lastRestoredFileName: this.lastRestored?.file.name,
      lastRestoredFileTime: isoTime(this.lastRestored?.finishedAt),
      percentCompleted: percent,
      currentRestoredSizeMB: Math.floor(restoredMB),
      currentRestorePlanSizeMB: planMB,
      currentBackupType: current ? BACKUP_TYPE_NAMES[current.header.type] : undefined,
      currentRestoringFileName: current?.file.name,
      numberOfFilesDetected: files.length,
      numberOfFilesQueued: count('Queued'),
      numberOfFilesSkipped: count('Skipped'),
      numberOfFilesRestoring: count('Restoring'),
      numberOfFilesRestored: count('Restored'),
      numberOfFilesUnrestorable: unrestorable.length,
      fullBackupSets: this.backupSets('full'),
      diffBackupSets: this.backupSets('diff'),
      logBackupSets: this.backupSets('log'),
      unrestorableFiles: unrestorable.map((f) => ({ name: f.name })),
    };
  }

  /** A plain JSON view for tests and the /_sandbox surface. */
  toJSON(): Record<string, unknown> {
    return {
      ...this.restoreDetails(),
      storageContainerUri: this.params.storageContainerUri,
      autoCompleteRestore: this.params.autoCompleteRestore,
      lastBackupName: this.params.lastBackupName,
      restoredLsn: this.restoredLsn === undefined ? undefined : formatLsn(this.restoredLsn),
      error: this.error?.toBody().error,
      startedAt: isoTime(this.startedAt),
    };
  }

  private async syncNow(): Promise<void> {
    if (!this.active) return;
    if (this.status !== 'Completing') await this.scan();
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
    if (this.options.strictSas) checkSasToken(sas);
    return new ContainerClient(`${containerUrl}?${sas}`, new AnonymousCredential(), { retryOptions });
  }

  private addFile(file: DetectedFile): void {
    this.files.set(file.blobName, file);
    if (!file.header) return;
    this.sets.push({ file, header: file.header, status: 'Queued' });
    if (file.header.firstLsn > file.header.lastLsn) {
      this.fail(
        new ServiceError(
          'BrokenRestorePlanWrongLogBackupLSN',
          `The restore plan is broken because firstLsn of backup '${file.name}' is greater than its lastLsn.`,
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
      if (this.completion) {
        if (now >= this.completion.finishAt) this.finishCompletion();
        return;
      }
      if (this.current) {
        if (this.current.finishAt > now) return;
        this.finishCurrent();
        continue;
      }
      const next = this.pickNext(now);
      if (!next) return;
      this.startSet(next, Math.max(this.idleSince, next.file.detectedAt));
    }
  }

  private pickNext(now: number): BackupSet | undefined {
    if (!this.full) return this.pickFull(now);
    if (!this.diffDecided) {
      this.diffDecided = true;
      const diff = this.pickDiff(this.full, now);
      if (diff || !this.active) return diff;
    }
    return this.pickLog(now);
  }

  private pickFull(now: number): BackupSet | undefined {
    const fulls = this.queued('full');
    if (fulls.length === 0) {
      if (this.sets.length > 0) {
        const since = Math.min(...this.sets.map((s) => s.file.detectedAt));
        this.stallOn(
          'BrokenRestorePlanNoFullBackup',
          'The restore plan is broken because there is no full backup.',
          since,
          now,
        );
      }
      return undefined;
    }
    const full = fulls.reduce((a, b) => (b.header.lastLsn > a.header.lastLsn ? b : a));
    for (const other of fulls) if (other !== full) other.status = 'Skipped';
    if (!full.header.checksum) {
      this.fail(
        new ServiceError(
          'FullBackupMissingChecksum',
          `Full backup '${full.file.name}' was taken without CHECKSUM.`,
        ),
        now,
      );
      return undefined;
    }
    this.full = full;
    this.stall = undefined;
    return full;
  }

  private pickDiff(full: BackupSet, now: number): BackupSet | undefined {
    const restored = this.restoredLsn ?? full.header.lastLsn;
    const diffs = this.queued('diff');
    const usable = diffs.filter(
      (d) => d.header.databaseBackupLsn === full.header.checkpointLsn && d.header.lastLsn > restored,
    );
    const wrong = usable.find((d) => d.header.firstLsn < full.header.firstLsn);
    if (wrong) {
      this.fail(
        new ServiceError(
          'BrokenRestorePlanWrongDiffBackupLSN',
          `The restore plan is broken because firstLsn of diff backup '${wrong.file.name}' is not >= firstLsn of ` +
            `full backup '${full.file.name}'.`,
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
      if (s.header.type !== 'log' || s.header.lastLsn <= restored) s.status = 'Skipped';
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
    const since = Math.max(this.idleSince, Math.min(...logs.map((l) => l.file.detectedAt)));
    this.stallOn(
      'BrokenRestorePlanGapInLogBackups',
      'The restore plan is broken because firstLsn of current log backup is not equal to lastLsn of prev log ' +
        `backup: the database is restored to LSN ${formatLsn(restored)} ('${this.lastRestored?.file.name}') and ` +
        `the next log backup '${earliest.file.name}' starts at LSN ${formatLsn(earliest.header.firstLsn)}.`,
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
    const durationMs = this.options.perFileOverheadMs + (set.header.sizeMB / this.options.restoreMBps) * 1000;
    this.current = { set, finishAt: at + durationMs };
    if (this.status === 'Waiting') this.status = 'Restoring';
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
    if (this.current) {
      this.current.set.status = 'Skipped';
      this.current = undefined;
    }
    this.stall = undefined;
    this.status = 'Completing';
    this.completion = { lastBackupName, requestedAt: at, finishAt: at + this.options.completionMs, auto };
  }

  private finishCompletion(): void {
    this.status = 'Completed';
    for (const s of this.sets) if (s.status === 'Queued') s.status = 'Skipped';
    this.database.status = 'Online';
    this.database.readOnly = false;
    if (this.restoredLsn !== undefined) this.database.lsn = this.restoredLsn;
  }

  private fail(error: ServiceError, at: number): void {
    if (!this.active) return;
    this.status = 'Failed';
    this.error = error;
    this.failedAt = at;
    this.stall = undefined;
    if (this.current) {
      this.current.set.status = 'Queued';
      this.current = undefined;
    }
  }

  private queued(type: BackupType): BackupSet[] {
    return this.sets.filter((s) => s.status === 'Queued' && s.header.type === type);
  }

  private matches(set: BackupSet, name: string): boolean {
    return set.file.name === name || set.file.blobName === name;
  }

  private progressOf(current: { set: BackupSet; finishAt: number }, now: number): number {
    const start = current.set.startedAt ?? now;
    const total = current.finishAt - start;
    return total <= 0 ? 1 : Math.min(1, Math.max(0, (now - start) / total));
  }

  private backupSets(type: BackupType): Array<Record<string, unknown>> {
    return this.sets
      .filter((s) => s.header.type === type)
      .map((s) => ({
        status: s.status,
        firstStripeName: s.file.name,
        numberOfStripes: 1,
        backupSizeMB: s.header.sizeMB,
        restoreStartedTimestampUtc: isoTime(s.startedAt),
        restoreFinishedTimestampUtc: isoTime(s.finishedAt),
      }));
  }
}

const BACKUP_TYPE_NAMES: Record<BackupType, string> = { full: 'Full', diff: 'Differential', log: 'Log' };

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

/** Refuses SAS tokens LRS does not accept: permissions beyond read and list, or a stored access policy. */
function checkSasToken(sas: string): void {
  const query = new URLSearchParams(sas);
  const permissions = query.get('sp') ?? '';
  const extra = [...permissions].filter((p) => p !== 'r' && p !== 'l');
  // Missing read or list permissions are left to storage itself, which answers 403 as in Azure.
  const problems: string[] = [];
  if (extra.length > 0) problems.push(`it grants more than read and list (${extra.join('')})`);
  if (query.has('si')) problems.push('it refers to a stored access policy (si=)');
  if (problems.length > 0) {
    throw new ServiceError(
      'StorageBrokenIssueDetectedAtTheStart',
      `The SAS token of the storage container cannot be used: ${problems.join('; ')}. Use a SAS with sp=rl only.`,
    );
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

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
