/**
 * What to do next for each Log Replay Service error code (codes from the REST spec's error lists and the
 * recordings; advice from Microsoft's LRS migration guide, log-replay-service-migrate.md).
 */
const HINTS: Record<string, string> = {
  BrokenRestorePlanNoFullBackup:
    'the folder holds no full backup the chain can start from: upload a full backup of this database to the folder (WITH CHECKSUM is recommended)',
  BrokenRestorePlanWrongLogBackupLSN:
    'a log backup does not follow the previous one: upload the missing log backups in order, or start over from a new full backup in a new folder',
  BrokenRestorePlanWrongDiffBackupLSN:
    'the differential backup is not based on the full backup in the folder: upload the matching full backup or remove the differential',
  BrokenRestorePlanGapInLogBackups:
    'log backups are missing between two files: upload every log backup of the chain (check the backup job wrote each file)',
  BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart:
    'the folder holds backups of more than one database: use one folder per database',
  BackupsFromMultipleDatabasesDetectedInTheContainerWhileRestoreInProgress:
    'a backup of another database arrived in the folder: remove it; use one folder per database',
  FullBackupNotFound: 'no full backup found in the folder: upload a full backup of the database',
  FullBackupDamaged:
    'the full backup is damaged: take a new full backup (WITH CHECKSUM, so corruption is caught at backup time) and upload it to a new folder',
  MissingStripeInBackupSet:
    'a striped backup set is incomplete: upload every file (stripe) of the full or differential backup',
  RestoreFromStripedBackupsNotEnabled:
    'a log backup was written to several files: full and differential backups may be striped, log backups must not be; take each log backup to a single file',
  StorageBrokenIssueDetectedAtTheStart:
    'the managed instance cannot read the container: check the SAS (sp=rl, not expired, not a stored policy) or the managed identity role assignment, and the storage firewall',
  ManagedIdentityIssueDetectedFromTheStart:
    'the managed instance identity cannot read the container: grant it Storage Blob Data Reader on the storage account',
  BlobStorageFailure:
    'storage reads are failing: check the SAS expiry, the storage account firewall and its availability',
  TimeoutDuringRestore: 'the restore timed out in the service: check the managed instance health and retry',
  RequiredBackupIsNotLastRestored:
    'the named last backup is not the last restored file yet: wait for it to be restored (the provider does this when complete is set)',
  ExternalBackupAlreadySignaledToComplete:
    'completion was already requested; the database is being brought online',
  ExternalBackupRestoreHasNotBeenStarted: 'no Log Replay Service restore is running for this database',
  ManagedDatabaseNotInRestoringState:
    'the database is not restoring any more (completed or failed): refresh the stack',
  ManagedInstanceStorageLimitHit:
    'the managed instance is out of storage: increase its storage size and retry',
  AutoCompleteMissingLastBackupName: 'set lastBackupName when autoComplete is true',
  InvalidDatabaseCompleteRestoreRequestLastBackupName:
    'lastBackupName does not name a backup in the folder: give the file name of the last log backup (no folder part)',
  MissingStorageContainerUri: 'set storageContainerUri',
  MissingStorageContainerSasToken: 'set storageContainerSasToken, or useManagedIdentity',
  MissingCollation: 'set collation',
  LastBackupNameHasNewline: 'remove the newline from lastBackupName',
  LastBackupNameHasNonAsciiCharacter: 'rename the last backup file to ASCII characters only',
  AuthorizationFailed:
    'the identity running Pulumi lacks permission on the managed instance: grant it SQL Managed Instance Contributor (or Microsoft.Sql/managedInstances/databases/* actions)',
  ResourceNotFound: 'check the managed instance id (subscription, resource group, name) and that it exists',
  ParentResourceNotFound:
    'check the managed instance id (subscription, resource group, name) and that it exists',
  InvalidAuthenticationToken:
    'sign in again (az login, a managed identity, or AZURE_* environment variables)',
  SubscriptionRequestsThrottled:
    'Azure is throttling this subscription: raise pollIntervalInMs and retry later',
  TooManyRequests: 'Azure is throttling this subscription: raise pollIntervalInMs and retry later',
};

export function lrsHint(code: string | undefined): string | undefined {
  if (!code) return undefined;
  const key = Object.keys(HINTS).find((k) => k.toLowerCase() === code.toLowerCase());
  return key ? HINTS[key] : undefined;
}
