/** What the LRS workflow needs from the outside world. Adapters in provider/azure and provider/storage. */

export interface ManagedInstanceView {
  id: string;
  location: string;
  tier?: string;
}

export interface ManagedDatabaseView {
  id: string;
  /** Online, Restoring, Creating, … (compare case-insensitively). */
  status?: string;
  tags: Record<string, string>;
  creationDate?: string;
}

export interface RestoreDetailsView {
  /** 'LRSRestore' for Log Replay Service. */
  type?: string;
  status?: string;
  blockReason?: string;
  lastUploadedFileName?: string;
  lastRestoredFileName?: string;
  currentRestoringFileName?: string;
  percentCompleted?: number;
  numberOfFilesDetected?: number;
  numberOfFilesQueued?: number;
  numberOfFilesRestored?: number;
  numberOfFilesRestoring?: number;
  numberOfFilesSkipped?: number;
  numberOfFilesUnrestorable?: number;
  unrestorableFiles?: string[];
  /** The service's message when the restore failed. */
  failureMessage?: string;
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

/** ARM, bound to one managed instance and database. Methods map 1:1 to REST calls (LROs awaited inside). */
export interface LrsArmPort {
  getInstance(): Promise<ManagedInstanceView>;
  getDatabase(): Promise<ManagedDatabaseView | undefined>;
  getRestoreDetails(): Promise<RestoreDetailsView | undefined>;
  startRestore(request: StartRestoreRequest): Promise<void>;
  completeRestore(lastBackupName: string): Promise<void>;
  dropDatabase(): Promise<void>;
}

export interface BackupListing {
  /** Blob names relative to the folder. */
  files: string[];
}

/** Reads the backup folder with the user's SAS, as Log Replay Service will. */
export interface BackupStoragePort {
  list(): Promise<BackupListing>;
}
