/** What the LRS workflow needs from the outside world. Adapters in provider/azure and provider/storage. */

export interface ManagedInstanceView {
  id: string;
  location: string;
  tier?: string;
}

export interface ManagedDatabaseView {
  id: string;
  name?: string;
  /** Online, Restoring, Creating, … as ARM says it (compare case-insensitively). */
  status?: string;
  tags: Record<string, string>;
  creationDate?: string;
}

/**
 * Restore details as the service sends them, cleaned only of placeholders: `currentRestoringFileName` is
 * undefined where the service wrote the literal "<empty value>", and `unrestorableFiles` holds file names only
 * (the recorded `["[]"]` is no file). Every other field may be absent: the recordings show no `type`,
 * `blockReason` or `percentCompleted`.
 */
export interface RestoreDetailsView {
  /** 'LRSRestore' for Log Replay Service (REST spec example); absent in the recordings. */
  type?: string;
  /** As sent: the recorded values are Initializing, Restoring and Completed. */
  status?: string;
  blockReason?: string;
  lastUploadedFileName?: string;
  lastRestoredFileName?: string;
  currentRestoringFileName?: string;
  percentCompleted?: number;
  numberOfFilesDetected?: number;
  unrestorableFiles?: string[];
}

/** Restore details could not be read: the service answered an error (500 for a non-LRS or failed restore). */
export interface DetailsUnavailable {
  unavailable: { status: number; code?: string; message?: string };
}

export type RestoreDetailsReading = RestoreDetailsView | DetailsUnavailable;

export function isUnavailable(d: RestoreDetailsReading | undefined): d is DetailsUnavailable {
  return d !== undefined && 'unavailable' in d;
}

/** An ARM long-running operation as its Azure-AsyncOperation URL reports it. */
export interface OperationView {
  /** InProgress, Succeeded, Failed, Canceled, … as sent. */
  status?: string;
  error?: { code?: string; message?: string };
  /** Retry-After of the answer, when it had one (ms). */
  retryAfterMs?: number;
}

/** What a write answered: the operation it started (202), where that can be polled. */
export interface StartedOperation {
  /** The Azure-AsyncOperation URL (else Location), without any query but api-version. */
  operationUrl?: string;
  retryAfterMs?: number;
}

export interface StartRestoreRequest {
  location: string;
  storageContainerUri: string;
  storageContainerSasToken?: string;
  useManagedIdentity: boolean;
  collation: string;
  autoComplete: boolean;
  lastBackupName?: string;
  tags: Record<string, string>;
}

/**
 * ARM, bound to one managed instance and database. Methods map 1:1 to REST calls; writes return when the
 * service accepted them (202), never after waiting for their operation.
 */
export interface LrsArmPort {
  getInstance(): Promise<ManagedInstanceView>;
  /** Undefined when GET answers 404 for the database itself. */
  getDatabase(): Promise<ManagedDatabaseView | undefined>;
  /** Never throws for an error answer of the service: that is returned as `unavailable`. */
  getRestoreDetails(): Promise<RestoreDetailsReading>;
  getOperation(url: string): Promise<OperationView>;
  /** Every database of the managed instance (to count the restores it runs). */
  listDatabases(): Promise<ManagedDatabaseView[]>;
  startRestore(request: StartRestoreRequest): Promise<StartedOperation>;
  completeRestore(lastBackupName: string): Promise<StartedOperation>;
  /** Sends the DELETE; a database already gone is no error. */
  dropDatabase(): Promise<StartedOperation>;
}

export interface BackupListing {
  /** Blob names relative to the folder. */
  files: string[];
}

/** Reads the backup folder with the user's SAS, as Log Replay Service will. */
export interface BackupStoragePort {
  list(): Promise<BackupListing>;
}
