import type { LrsInputs } from './inputs';
import { type Observation, operationFailure, phaseOf } from './phase';
import { isUnavailable } from './ports';
import type { LrsRecord } from './record';

export { describeObservation, type LrsPhase, type Observation, phaseOf } from './phase';
export { complete } from './complete';
export { observe } from './observe';
export { planComplete, planCreate, planDelete, planUpdate } from './plans';
export { LRS_TYPE, type LrsContext, type LrsRecord, OWNER_TAG } from './record';
export { converge, preflight } from './start';
export { type DeleteOutcome, stop } from './stop';

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
