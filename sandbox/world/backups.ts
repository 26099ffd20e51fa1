import { BlobServiceClient, type ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { SimClock } from './clock';
import { CaseInsensitiveMap } from './instances';
import { DEFAULT_START_LSN, formatLsn, type Lsn, parseLsn } from './lsn';

/**
 * The simulated backup file format and a simulated SQL Server that writes such files to Azure Storage.
 *
 * A backup file is one header line, `SQLSIM-BACKUP {json}\n`, followed by a little padding. The JSON holds
 * what `RESTORE HEADERONLY` reports of a real backup: database, type, LSN range, checkpoint LSN, the base
 * full backup of a differential, dates, checksum and size. LSNs are decimal strings (BigInt in memory).
 */

export const BACKUP_MAGIC = 'SQLSIM-BACKUP ';
/** How many bytes of a blob a reader fetches to find the header line. */
export const BACKUP_HEADER_MAX_BYTES = 4096;

export type BackupType = 'full' | 'diff' | 'log';

export interface BackupHeader {
  database: string;
  type: BackupType;
  firstLsn: Lsn;
  lastLsn: Lsn;
  checkpointLsn: Lsn;
  /** Full: checkpoint LSN of the previous full (or 0). Diff: checkpoint LSN of its base full. */
  databaseBackupLsn: Lsn;
  backupStartDate: Date;
  backupFinishDate: Date;
  checksum: boolean;
  sizeMB: number;
  serverName: string;
  /**
   * Striping, as RESTORE LABELONLY reports it: the backup set's media set, how many files (stripes) it was
   * written to and which one this file is (1-based). A backup to one file has familyCount 1.
   */
  mediaSetId: string;
  familyCount: number;
  familySequenceNumber: number;
}

/** Serialises a backup header plus padding into the bytes of a backup file. */
export function encodeBackup(header: BackupHeader, paddingBytes = 1024): Buffer {
  const json = JSON.stringify({
    ...header,
    firstLsn: formatLsn(header.firstLsn),
    lastLsn: formatLsn(header.lastLsn),
    checkpointLsn: formatLsn(header.checkpointLsn),
    databaseBackupLsn: formatLsn(header.databaseBackupLsn),
    backupStartDate: header.backupStartDate.toISOString(),
    backupFinishDate: header.backupFinishDate.toISOString(),
  });
  return Buffer.concat([Buffer.from(`${BACKUP_MAGIC}${json}\n`, 'utf8'), Buffer.alloc(paddingBytes, 0x2e)]);
}

/** Reads the header of a backup file (its first bytes suffice); undefined when it is no backup file. */
export function decodeBackupHeader(bytes: Buffer): BackupHeader | undefined {
  const text = bytes.toString('utf8', 0, Math.min(bytes.length, BACKUP_HEADER_MAX_BYTES));
  const end = text.indexOf('\n');
  if (!text.startsWith(BACKUP_MAGIC) || end < 0) return undefined;
  try {
    const raw: unknown = JSON.parse(text.slice(BACKUP_MAGIC.length, end));
    if (typeof raw !== 'object' || raw === null) return undefined;
    const r = raw as Record<string, unknown>;
    if (typeof r.database !== 'string' || !isBackupType(r.type)) return undefined;
    return {
      database: r.database,
      type: r.type,
      firstLsn: parseLsn(r.firstLsn),
      lastLsn: parseLsn(r.lastLsn),
      checkpointLsn: parseLsn(r.checkpointLsn),
      databaseBackupLsn: parseLsn(r.databaseBackupLsn ?? '0'),
      backupStartDate: new Date(String(r.backupStartDate)),
      backupFinishDate: new Date(String(r.backupFinishDate)),
      checksum: r.checksum === true,
      sizeMB: typeof r.sizeMB === 'number' ? r.sizeMB : 0,
      serverName: typeof r.serverName === 'string' ? r.serverName : '',
      mediaSetId: typeof r.mediaSetId === 'string' ? r.mediaSetId : '',
      familyCount: typeof r.familyCount === 'number' && r.familyCount >= 1 ? r.familyCount : 1,
      familySequenceNumber:
        typeof r.familySequenceNumber === 'number' && r.familySequenceNumber >= 1
          ? r.familySequenceNumber
          : 1,
    };
  } catch {
    return undefined;
  }
}

function isBackupType(value: unknown): value is BackupType {
  return value === 'full' || value === 'diff' || value === 'log';
}

/** A database on the simulated SQL Server. */
export interface SourceDatabase {
  name: string;
  /** LSN reached when the workload rate last changed. */
  baseLsn: Lsn;
  /** Simulated time (ms) of `baseLsn`. */
  baseAt: number;
  lsnPerSecond: number;
  sizeMB: number;
  /** Log volume: how many LSNs make one MB of log (sizes of log and differential backups). */
  lsnPerMB: number;
  /** Folder (blob name prefix) backups go to by default. */
  folder: string;
  lastFull?: BackupHeader;
  /** Where the next log backup starts (end of the previous one, or the start of the log chain). */
  logChainLsn?: Lsn;
  backupCount: number;
}

export interface SourceDatabaseInit {
  startLsn?: Lsn | string;
  sizeMB?: number;
  lsnPerMB?: number;
  folder?: string;
}

export interface BackupOptions {
  /** Blob name in the container; default `<folder>/<db>_<type>_<nnn>.bak`. */
  blobName?: string;
  /** false writes a backup without checksum (LRS restores it, more slowly: it checks integrity itself). */
  checksum?: boolean;
  /**
   * Write the backup to this many files (BACKUP … TO URL = '…_1.bak', URL = '…_2.bak', …). LRS restores
   * striped full and differential backups; log backups must not be striped (the LRS migration guide).
   */
  stripes?: number;
  /** Stripe numbers (1-based) not to upload: an incomplete striped backup set. */
  skipStripes?: number[];
  /** Overrides the computed size. */
  sizeMB?: number;
  /** A full backup that does not become the differential base (COPY_ONLY). */
  copyOnly?: boolean;
}

export interface WrittenBackup {
  /** The (first) blob written. */
  blobName: string;
  /** Every blob of the backup set, in stripe order (one for an unstriped backup). */
  blobNames: string[];
  header: BackupHeader;
}

/** A blob the server uploaded: a backup (with its header) or raw bytes (`uploadRaw`). */
export interface Upload {
  blobName: string;
  header?: BackupHeader;
}

export interface SimSqlServerOptions {
  clock: SimClock;
  /** Blob service endpoint, e.g. Azurite's `http://127.0.0.1:<port>/devstoreaccount1`. */
  blobEndpoint: string;
  accountName: string;
  accountKey: string;
  /** Container backups are written to. */
  container: string;
  serverName?: string;
}

/**
 * A SQL Server that owns databases whose LSNs a workload advances in simulated time, and writes full,
 * differential and log backups (BACKUP … TO URL) into an Azure Storage container with the account key.
 */
export class SimSqlServer {
  readonly serverName: string;
  readonly databases = new CaseInsensitiveMap<SourceDatabase>();
  private readonly clock: SimClock;
  private readonly container: ContainerClient;
  private readonly listeners: Array<(upload: Upload) => void | Promise<void>> = [];

  constructor(options: SimSqlServerOptions) {
    this.clock = options.clock;
    this.serverName = options.serverName ?? 'sqlsim01';
    const credential = new StorageSharedKeyCredential(options.accountName, options.accountKey);
    this.container = new BlobServiceClient(options.blobEndpoint, credential).getContainerClient(
      options.container,
    );
  }

  addDatabase(name: string, init: SourceDatabaseInit = {}): SourceDatabase {
    if (this.databases.has(name)) throw new Error(`database ${name} already exists on ${this.serverName}`);
    const db: SourceDatabase = {
      name,
      baseLsn: init.startLsn === undefined ? DEFAULT_START_LSN : parseLsn(init.startLsn),
      baseAt: this.clock.now(),
      lsnPerSecond: 0,
      sizeMB: init.sizeMB ?? 100,
      lsnPerMB: init.lsnPerMB ?? 100_000,
      folder: init.folder ?? name,
      backupCount: 0,
    };
    this.databases.set(name, db);
    return db;
  }

  database(name: string): SourceDatabase {
    const db = this.databases.get(name);
    if (!db) throw new Error(`database ${name} does not exist on ${this.serverName}`);
    return db;
  }

  /** The database's current end-of-log LSN at the simulated now. */
  currentLsn(name: string): Lsn {
    const db = this.database(name);
    const elapsedMs = Math.max(0, this.clock.now() - db.baseAt);
    return db.baseLsn + BigInt(Math.floor((elapsedMs * db.lsnPerSecond) / 1000));
  }

  /** Starts (or changes) a workload that advances the LSN by `lsnPerSecond` per simulated second. */
  startWorkload(name: string, lsnPerSecond: number): void {
    if (!(lsnPerSecond >= 0)) throw new RangeError('lsnPerSecond must be >= 0');
    this.setLsn(name, this.currentLsn(name), lsnPerSecond);
  }

  stopWorkload(name: string): void {
    this.startWorkload(name, 0);
  }

  /**
   * Registers a listener awaited after each upload (backup or raw). The sandbox uses it to let the LRS see
   * the file at the simulated time it was written.
   */
  onUpload(listener: (upload: Upload) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /** BACKUP DATABASE … TO URL (full). */
  backupFull(name: string, options: BackupOptions | string = {}): Promise<WrittenBackup> {
    const opts = typeof options === 'string' ? { blobName: options } : options;
    const db = this.database(name);
    const at = this.currentLsn(name);
    const header = this.header(db, 'full', at, {
      databaseBackupLsn: db.lastFull?.checkpointLsn ?? 0n,
      sizeMB: opts.sizeMB ?? db.sizeMB,
      checksum: opts.checksum,
      media: this.media(db, opts),
    });
    if (!opts.copyOnly) db.lastFull = header;
    db.logChainLsn ??= header.firstLsn;
    return this.write(db, header, opts);
  }

  /** BACKUP DATABASE … WITH DIFFERENTIAL: changes since the last (non copy-only) full backup. */
  backupDiff(name: string, options: BackupOptions | string = {}): Promise<WrittenBackup> {
    const opts = typeof options === 'string' ? { blobName: options } : options;
    const db = this.database(name);
    const base = db.lastFull;
    if (!base)
      throw sqlError(
        3035,
        `Cannot perform a differential backup for database "${name}", because a current database backup does not exist.`,
      );
    const at = this.currentLsn(name);
    const header = this.header(db, 'diff', at, {
      databaseBackupLsn: base.checkpointLsn,
      sizeMB: opts.sizeMB ?? this.logSizeMB(db, at - base.checkpointLsn),
      checksum: opts.checksum,
      media: this.media(db, opts),
    });
    return this.write(db, header, opts);
  }

  /** BACKUP LOG … TO URL: the log since the previous log backup (or since the log chain started). */
  backupLog(name: string, options: BackupOptions | string = {}): Promise<WrittenBackup> {
    const opts = typeof options === 'string' ? { blobName: options } : options;
    const db = this.database(name);
    const chainStart = db.logChainLsn;
    if (chainStart === undefined) {
      throw sqlError(4214, 'BACKUP LOG cannot be performed because there is no current database backup.');
    }
    const end = this.currentLsn(name) + 1n; // the log backup itself writes a log record
    const now = this.clock.date();
    const header: BackupHeader = {
      database: db.name,
      type: 'log',
      firstLsn: chainStart,
      lastLsn: end,
      checkpointLsn: db.lastFull?.checkpointLsn ?? chainStart,
      databaseBackupLsn: db.lastFull?.checkpointLsn ?? 0n,
      backupStartDate: now,
      backupFinishDate: now,
      checksum: opts.checksum ?? true,
      sizeMB: opts.sizeMB ?? this.logSizeMB(db, end - chainStart),
      serverName: this.serverName,
      ...this.media(db, opts),
    };
    this.setLsn(name, end, db.lsnPerSecond);
    db.logChainLsn = end;
    return this.write(db, header, opts);
  }

  /** Uploads arbitrary bytes (a file LRS cannot restore, a damaged backup, a foreign database's backup …). */
  uploadRaw(blobName: string, content: Buffer | string): Promise<void> {
    return this.upload(blobName, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }

  /** Builds a full or differential header at LSN `at`: first, checkpoint and last LSN, then moves the log on. */
  private header(
    db: SourceDatabase,
    type: 'full' | 'diff',
    at: Lsn,
    extra: {
      databaseBackupLsn: Lsn;
      sizeMB: number;
      checksum?: boolean;
      media: Pick<BackupHeader, 'mediaSetId' | 'familyCount' | 'familySequenceNumber'>;
    },
  ): BackupHeader {
    const now = this.clock.date();
    const header: BackupHeader = {
      database: db.name,
      type,
      firstLsn: at,
      checkpointLsn: at + 1n,
      lastLsn: at + 2n,
      databaseBackupLsn: extra.databaseBackupLsn,
      backupStartDate: now,
      backupFinishDate: now,
      checksum: extra.checksum ?? true,
      sizeMB: extra.sizeMB,
      serverName: this.serverName,
      ...extra.media,
    };
    this.setLsn(db.name, header.lastLsn, db.lsnPerSecond);
    return header;
  }

  /** The media set of the next backup of `db` (one file unless `stripes` says otherwise). */
  private media(
    db: SourceDatabase,
    opts: BackupOptions,
  ): Pick<BackupHeader, 'mediaSetId' | 'familyCount' | 'familySequenceNumber'> {
    const stripes = opts.stripes ?? 1;
    if (!Number.isInteger(stripes) || stripes < 1) throw new RangeError('stripes must be an integer >= 1');
    return {
      mediaSetId: `${this.serverName}:${db.name}:${db.backupCount + 1}`,
      familyCount: stripes,
      familySequenceNumber: 1,
    };
  }

  /** Writes every stripe of a backup set (`<name>_<k>.bak` when striped) and uploads those not skipped. */
  private async write(db: SourceDatabase, header: BackupHeader, opts: BackupOptions): Promise<WrittenBackup> {
    db.backupCount += 1;
    const name =
      opts.blobName ??
      `${db.folder}/${db.name}_${header.type}_${String(db.backupCount).padStart(3, '0')}.bak`;
    const count = header.familyCount;
    const names =
      count === 1
        ? [name]
        : Array.from({ length: count }, (_, k) => name.replace(/(\.[^./]*)?$/, (ext) => `_${k + 1}${ext}`));
    for (const [k, blobName] of names.entries()) {
      if (opts.skipStripes?.includes(k + 1)) continue;
      const stripe = { ...header, familySequenceNumber: k + 1 };
      await this.upload(blobName, encodeBackup(stripe), stripe);
    }
    return { blobName: names[0], blobNames: names, header };
  }

  private async upload(blobName: string, bytes: Buffer, header?: BackupHeader): Promise<void> {
    await this.container.getBlockBlobClient(blobName).upload(bytes, bytes.length);
    for (const listener of this.listeners) await listener({ blobName, header });
  }

  private setLsn(name: string, lsn: Lsn, lsnPerSecond: number): void {
    const db = this.database(name);
    db.baseLsn = lsn;
    db.baseAt = this.clock.now();
    db.lsnPerSecond = lsnPerSecond;
  }

  private logSizeMB(db: SourceDatabase, lsnDelta: Lsn): number {
    return Math.max(1, Math.ceil(Number(lsnDelta) / db.lsnPerMB));
  }
}

/** An error shaped like a SQL Server error (number + message). */
function sqlError(number: number, message: string): Error & { number: number } {
  return Object.assign(new Error(message), { number });
}
