import { ServiceError } from './errors';

/**
 * What the Log Replay Service checks in a start request (PUT createMode RestoreExternalBackup) and in the SAS
 * it is given, before any restore runs. Each rule names its source.
 */

/** Where a `storageContainerUri` points: container URL and the folder prefix inside it. */
export interface ContainerLocation {
  containerUrl: string;
  container: string;
  /** Folder inside the container, '' for the container root; no leading or trailing '/'. */
  folder: string;
}

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

/** The collation a start request without one gets (lrs-continuous t2 sends none; t23 reads this one back). */
export const DEFAULT_DATABASE_COLLATION = 'SQL_Latin1_General_CP1_CI_AS';

/**
 * Validates the create-only LRS parameters of a managed database PUT the way Azure does, throwing a
 * ServiceError with the real code (MissingStorageContainerUri, MissingStorageContainerSasToken, …).
 */
export function validateLrsParameters(p: {
  storageContainerUri?: string;
  storageContainerSasToken?: string;
  storageContainerIdentity?: string;
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
  // No MissingCollation here: the az CLI start sends no collation and the service accepts it
  // (lrs-continuous t2, lrs-cancel u2); the database gets DEFAULT_DATABASE_COLLATION.
  if (p.autoCompleteRestore && !p.lastBackupName) {
    throw new ServiceError(
      'AutoCompleteMissingLastBackupName',
      'Auto complete restore request must have lastBackupName parameter provided.',
    );
  }
  if (p.lastBackupName !== undefined) validateLastBackupName(p.lastBackupName);
  const location = parseContainerUri(p.storageContainerUri);
  // MicrosoftDocs/sql-docs azure-sql/managed-instance/log-replay-service-migrate.md (2026-04), Limitations:
  // "The backup URI path, container name, or folder names can't contain `backup` or `Backup` as these are
  // reserved keywords." (older versions said "named"; the current wording, the stricter one, is followed).
  // The service's answer is not documented: a 400 InvalidDatabaseCreateOrUpdateRequest (a code of the REST
  // spec's PUT error list) is chosen.
  const reserved = [location.container, ...location.folder.split('/')].find((s) => /backup/i.test(s));
  if (reserved) {
    throw invalidRequest(
      `storageContainerUri must not contain the reserved keyword 'backup' or 'backups' in its container or folder names ('${reserved}').`,
    );
  }
}

export function validateLastBackupName(name: string): void {
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

/**
 * Refuses SAS tokens LRS does not accept: permissions beyond read and list, or a stored access policy
 * (log-replay-service-migrate.md: "Granting more permissions than Read and List will cause LRS to fail";
 * "Using SAS tokens created with permissions that were set by defining a stored access policy isn't
 * supported"). Both container SAS (sr=c, lrs-ps-failed-start v1) and account SAS (ss=b&srt=sco,
 * lrs-continuous t2) are used in the recordings; whether the token reaches the blobs is left to storage itself.
 */
export function checkLrsSasToken(sas: string): void {
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

function invalidRequest(message: string): ServiceError {
  return new ServiceError('InvalidDatabaseCreateOrUpdateRequest', message);
}
