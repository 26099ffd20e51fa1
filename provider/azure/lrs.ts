import type { SqlManagementClient } from '@azure/arm-sql';
import { parseManagedInstanceId } from '../core/armId';
import { MigrationError } from '../core/errors';
import type {
  LrsArmPort,
  ManagedDatabaseView,
  RestoreDetailsView,
  StartRestoreRequest,
} from '../core/lrs/ports';
import { credential, fromAzureError, resolveArm } from './arm';
import { armPipelineOptions } from './pipeline';

/** Codes with which restoreDetails reports a failed restore (the REST spec's error list for the call). */
const RESTORE_FAILURE =
  /^(BrokenRestorePlan|BackupsFromMultipleDatabases|FullBackup|MissingStripe|RestoreFromStriped|StorageBroken|ManagedIdentityIssue|BlobStorageFailure|TimeoutDuringRestore|ManagedInstanceStorageLimitHit)/;

export interface LrsArmOptions {
  managedInstanceId: string;
  databaseName: string;
  armEndpoint?: string | null;
  /** Poll interval of ARM long-running operations. */
  pollIntervalInMs: number;
  /** Deadline of one long-running operation. */
  operationDeadlineInMs: number;
  log?: (line: string) => void;
}

/** LRS over ARM with @azure/arm-sql (LROs awaited with Retry-After honoured and a deadline). */
export function createLrsArm(o: LrsArmOptions): LrsArmPort {
  const ref = parseManagedInstanceId(o.managedInstanceId);
  if (!ref)
    throw new MigrationError('InvalidInput', `managedInstanceId is not an ARM id: ${o.managedInstanceId}`);
  const { SqlManagementClient: Client } = require('@azure/arm-sql') as typeof import('@azure/arm-sql');
  const target = resolveArm(o.armEndpoint, o.log);
  const client: SqlManagementClient = new Client(credential(), ref.subscriptionId, {
    endpoint: target.endpoint,
    credentialScopes: [target.scope],
    ...armPipelineOptions({ deadlineInMs: o.operationDeadlineInMs, log: o.log }),
  });
  const rg = ref.resourceGroupName;
  const mi = ref.managedInstanceName;
  const db = o.databaseName;
  const lro = { updateIntervalInMs: Math.min(o.pollIntervalInMs, 30_000) };
  const deadline = () => ({ abortSignal: AbortSignal.timeout(o.operationDeadlineInMs) });

  const notFound = (e: unknown) => (e as { statusCode?: number })?.statusCode === 404;

  return {
    async getInstance() {
      try {
        const r = await client.managedInstances.get(rg, mi);
        return { id: r.id ?? o.managedInstanceId, location: r.location, tier: r.sku?.tier };
      } catch (e) {
        throw fromAzureError(e, `reading managed instance ${mi}`);
      }
    },
    async getDatabase(): Promise<ManagedDatabaseView | undefined> {
      try {
        const r = await client.managedDatabases.get(rg, mi, db);
        return {
          id: r.id ?? '',
          status: r.status,
          tags: r.tags ?? {},
          creationDate: r.creationDate?.toISOString(),
        };
      } catch (e) {
        if (notFound(e)) return undefined;
        throw fromAzureError(e, `reading database ${db}`);
      }
    },
    async getRestoreDetails(): Promise<RestoreDetailsView | undefined> {
      try {
        const r = await client.managedDatabaseRestoreDetails.get(rg, mi, db, 'Default');
        return {
          type: r.typePropertiesType,
          status: r.status,
          blockReason: r.blockReason,
          lastUploadedFileName: r.lastUploadedFileName,
          lastRestoredFileName: r.lastRestoredFileName,
          currentRestoringFileName: r.currentRestoringFileName,
          percentCompleted: r.percentCompleted,
          numberOfFilesDetected: r.numberOfFilesDetected,
          numberOfFilesQueued: r.numberOfFilesQueued,
          numberOfFilesRestored: r.numberOfFilesRestored,
          numberOfFilesRestoring: r.numberOfFilesRestoring,
          numberOfFilesSkipped: r.numberOfFilesSkipped,
          numberOfFilesUnrestorable: r.numberOfFilesUnrestorable,
          unrestorableFiles: r.unrestorableFiles?.map((f) => f.name ?? '').filter(Boolean),
        };
      } catch (e) {
        const err = e as { code?: string; statusCode?: number; message?: string };
        // A database LRS did not create, or whose restore finished long ago, has no restore details.
        if (notFound(e) || err?.code === 'RestoreDetailsNotAvailableOrExpired') return undefined;
        // A failed restore answers 400 with the failure's code: that is a state to report, not a broken call.
        if (err?.statusCode === 400 && err.code && RESTORE_FAILURE.test(err.code)) {
          return { type: 'LRSRestore', status: 'Failed', blockReason: err.code, failureMessage: err.message };
        }
        throw fromAzureError(e, `reading the restore details of ${db}`);
      }
    },
    async startRestore(req: StartRestoreRequest) {
      try {
        await client.managedDatabases.beginCreateOrUpdateAndWait(
          rg,
          mi,
          db,
          {
            location: req.location,
            tags: req.tags,
            createMode: 'RestoreExternalBackup',
            storageContainerUri: req.storageContainerUri,
            ...(req.useManagedIdentity
              ? { storageContainerIdentity: 'ManagedIdentity' }
              : { storageContainerSasToken: req.storageContainerSasToken }),
            collation: req.collation,
            autoCompleteRestore: req.autoComplete,
            ...(req.lastBackupName ? { lastBackupName: req.lastBackupName } : {}),
          },
          { ...lro, ...deadline() },
        );
      } catch (e) {
        throw fromAzureError(e, `starting Log Replay Service for ${db}`);
      }
    },
    async completeRestore(lastBackupName: string) {
      try {
        await client.managedDatabases.beginCompleteRestoreAndWait(
          rg,
          mi,
          db,
          { lastBackupName },
          { ...lro, ...deadline() },
        );
      } catch (e) {
        throw fromAzureError(e, `completing the restore of ${db}`);
      }
    },
    async dropDatabase() {
      try {
        await client.managedDatabases.beginDeleteAndWait(rg, mi, db, { ...lro, ...deadline() });
      } catch (e) {
        if (notFound(e)) return;
        throw fromAzureError(e, `dropping database ${db}`);
      }
    },
  };
}
