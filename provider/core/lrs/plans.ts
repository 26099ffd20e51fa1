import type { Step } from '../plan';
import type { LrsInputs } from './inputs';
import { shortMi } from './record';

/** Steps of creating the resource, as preview prints them. */
export function planCreate(i: LrsInputs): Step[] {
  const db = i.databaseName ?? '(database)';
  const steps: Step[] = [
    {
      action: `check the backup folder ${i.storageContainerUri ?? ''} is readable and listable with the given access`,
    },
    {
      action: `start Log Replay Service: create database ${db} on ${shortMi(i.managedInstanceId)} restoring from the folder${i.autoComplete ? `, completing automatically after ${i.lastBackupName}` : ''}`,
    },
    {
      action:
        'wait until the service reports the restore is running (its start operation keeps running until the migration completes: not waited for)',
    },
  ];
  if (i.complete && !i.autoComplete) steps.push(...planComplete(i));
  return steps;
}

export function planComplete(i: LrsInputs): Step[] {
  return [
    { action: `wait until the last backup ${i.lastBackupName ?? '(lastBackupName)'} is restored` },
    {
      action: `complete the restore (cutover): database ${i.databaseName ?? ''} goes online read-write; no more backups can be applied`,
      irreversible: true,
    },
    { action: 'wait until the database is online' },
  ];
}

/** Steps of an update from the stored outputs to the new inputs. */
export function planUpdate(olds: Record<string, unknown>, i: LrsInputs): Step[] {
  // The stored outputs already say whether the restore completed (phaseOf at the last read).
  if (i.complete && olds.complete !== true && olds.phase !== 'completed') return planComplete(i);
  return [];
}

export function planDelete(olds: Record<string, unknown>): Step[] {
  const db = String(olds.databaseName ?? '(database)');
  if (olds.completedAt || /^online$/i.test(String(olds.databaseStatus ?? ''))) {
    return [{ action: `keep database ${db}: its migration completed; only forget it in the stack` }];
  }
  return [
    {
      action: `stop Log Replay Service: drop database ${db} if it carries this resource's owner tag, its restore details show a Log Replay restore in progress and it is not online (otherwise keep it)`,
      destructive: true,
    },
  ];
}
