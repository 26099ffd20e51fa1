import {
  isUnavailable,
  type ManagedDatabaseView,
  type OperationView,
  type RestoreDetailsReading,
} from './ports';

/**
 * Where a Log Replay Service migration stands, from what the service shows (../shared/recordings/README.md):
 * the database status (`Restoring` during the restore, `Online` from completion), the restore details status
 * (`Initializing`, `Restoring`, `Completed`: the only recorded ones) and the start and completeRestore
 * operations (`Failed` with the restore's error code). Every value is matched exactly; anything else is
 * 'unknown' and shown as it came, never taken for completed or failed.
 */
export type LrsPhase =
  'absent' | 'starting' | 'restoring' | 'completing' | 'completed' | 'failed' | 'unknown';

/** Restore details statuses the sources show. */
export const KNOWN_RESTORE_STATUSES = ['Initializing', 'Restoring', 'Completed'] as const;

export interface Observation {
  database?: ManagedDatabaseView;
  /** Read only while the database exists. */
  details?: RestoreDetailsReading;
  /** The start operation (CreateExternalManagedBackupRestoreV2Request), when its URL is known. */
  start?: OperationView;
  /** The completeRestore operation, when one was requested. */
  completion?: OperationView;
  /** Completion was requested: completeRestore accepted, or autoComplete restored its last backup. */
  completionRequested?: boolean;
}

const eq = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** A failed or canceled operation, with the service's error (the restore's code for the start operation). */
export function operationFailure(
  o: Observation,
): { code?: string; message?: string; status: string } | undefined {
  for (const op of [o.start, o.completion]) {
    if (op && (eq(op.status, 'Failed') || eq(op.status, 'Canceled'))) {
      return { code: op.error?.code, message: op.error?.message, status: op.status ?? 'Failed' };
    }
  }
  return undefined;
}

export function phaseOf(o: Observation): LrsPhase {
  const db = o.database;
  const failure = operationFailure(o);
  if (!db) return failure ? 'failed' : 'absent';
  // Online is final: whatever else says otherwise, an online database is a completed migration.
  if (eq(db.status, 'Online')) return 'completed';
  if (failure) return 'failed';
  if (!eq(db.status, 'Restoring')) return 'unknown';
  const d = o.details;
  if (d === undefined || isUnavailable(d)) return eq(o.start?.status, 'InProgress') ? 'starting' : 'unknown';
  if (eq(d.status, 'Initializing')) return 'starting';
  if (eq(d.status, 'Restoring')) return o.completionRequested ? 'completing' : 'restoring';
  if (eq(d.status, 'Completed')) return 'completing';
  return 'unknown';
}

/** One line of what was seen, for progress lines and the last state of errors. */
export function describeObservation(o: Observation): string {
  const { database: db, details: d } = o;
  const parts: string[] = [];
  if (!db) parts.push('database not found');
  else parts.push(`database ${db.status ?? 'without status'}`);
  if (db && d) {
    if (isUnavailable(d)) {
      const u = d.unavailable;
      parts.push(`restore details unavailable (HTTP ${u.status}${u.code ? ` ${u.code}` : ''})`);
    } else {
      parts.push(`restore ${d.status ?? 'without status'}`);
      // Completed details still name the last file as current (lrs-ps-autocomplete 41): not a restore going on.
      if (d.currentRestoringFileName && !eq(d.status, 'Completed'))
        parts.push(`restoring ${d.currentRestoringFileName}`);
      if (d.lastRestoredFileName) parts.push(`last restored ${d.lastRestoredFileName}`);
      if (d.percentCompleted !== undefined) parts.push(`${d.percentCompleted}%`);
      if (d.numberOfFilesDetected !== undefined) parts.push(`${d.numberOfFilesDetected} file(s) detected`);
      if (d.lastUploadedFileName) parts.push(`last uploaded ${d.lastUploadedFileName}`);
      if (d.unrestorableFiles?.length) parts.push(`${d.unrestorableFiles.length} unrestorable`);
      if (d.blockReason) parts.push(`blocked: ${d.blockReason}`);
    }
  }
  if (o.start?.status && !eq(o.start.status, 'InProgress')) {
    parts.push(`start operation ${o.start.status}${o.start.error?.code ? ` (${o.start.error.code})` : ''}`);
  }
  if (o.completion?.status && (eq(o.completion.status, 'Failed') || eq(o.completion.status, 'Canceled'))) {
    parts.push(
      `completion ${o.completion.status}${o.completion.error?.code ? ` (${o.completion.error.code})` : ''}`,
    );
  }
  return parts.join(', ');
}

/** Same file, by base name and case-insensitively (restore details name files without the folder). */
export function sameFile(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const base = (s: string) => s.split('/').pop()!.toLowerCase();
  return base(a) === base(b);
}
