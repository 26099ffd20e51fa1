import { MigrationError } from '../errors';
import { lrsHint } from './hints';
import type { LrsInputs } from './inputs';
import { describeObservation, type Observation, operationFailure } from './phase';
import type { BackupStoragePort, LrsArmPort } from './ports';
import type { RestoreSlots } from './slots';
import type { Clock } from '../clock';
import type { Waiter } from '../../runtime/waiter';

/** The tag that proves a database was started by this resource (checked before adopting or dropping it). */
export const OWNER_TAG = 'sqlmi-migrate-owner';
export const LRS_TYPE = 'LRSRestore';

export interface LrsContext {
  arm: LrsArmPort;
  /** Restore slots of the managed instances (shared by the resources of one provider process). */
  slots?: RestoreSlots;
  /** Absent with managed identity: the provider cannot read the container as the instance does. */
  storage?: BackupStoragePort;
  clock: Clock;
  log: (line: string) => void;
  wait: Waiter;
}

/**
 * What this resource knows that Azure does not show on the database: its owner token (a random value made at
 * create, stored in state and set as the database's OWNER_TAG: unique to the stack and resource) and the
 * operations it started. The workflow updates it as it goes, so a failure can still record it.
 */
export interface LrsRecord {
  owner: string;
  /** Azure-AsyncOperation URL of the start (lives until completion; read as a witness, never waited on). */
  startOperationUrl?: string;
  completeOperationUrl?: string;
  completionRequestedAt?: string;
  startedAt?: string;
  completedAt?: string;
}

export type Target = Required<Pick<LrsInputs, 'managedInstanceId' | 'databaseName'>> & LrsInputs;

export function restoreFailed(o: Observation, db: string): MigrationError {
  const f = operationFailure(o);
  const code = f?.code;
  return new MigrationError(
    'RestoreFailed',
    `Log Replay Service reports the restore of ${db} as ${f?.status ?? 'failed'}${code ? ` (${code})` : ''}${f?.message ? `: ${f.message}` : '.'}`,
    {
      causeCode: code,
      lastState: describeObservation(o),
      hint: `${lrsHint(code) ?? 'fix the backups in the folder'}; then ${RESTART_AFTER_FAILURE}`,
    },
  );
}

export const RESTART_AFTER_FAILURE =
  'drop the failed database yourself (az sql midb delete -g <resource group> --mi <instance> -n <database>: the provider keeps databases whose restore details it cannot read, and a failed restore has none) and run up again, which starts over';

export function shortMi(id: string | undefined): string {
  return id ? (id.split('/').pop() ?? id) : '(managed instance)';
}

export function vanished(db: string): MigrationError {
  return new MigrationError(
    'DatabaseVanished',
    `Database ${db} disappeared from the managed instance during the migration.`,
    {
      hint: 'someone dropped it outside Pulumi: run pulumi refresh, then up to start over',
    },
  );
}
