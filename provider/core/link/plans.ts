/** What preview prints for the link: the steps `up` and `destroy` will take, with their marks. */
import type { Step } from '../plan';
import type { LinkInputs, ReplicationMode } from './inputs';
import { ROUTE_RULE } from './route';

const modeOf = (m: ReplicationMode) => (m === 'Sync' ? 'SYNCHRONOUS_COMMIT' : 'ASYNCHRONOUS_COMMIT');

export function planModeSwitch(i: LinkInputs, to: ReplicationMode): Step[] {
  return [
    {
      action: `switch the link ${i.linkName ?? ''} to ${to === 'Sync' ? 'synchronous' : 'asynchronous'} commit on the managed instance (ARM PATCH replicationMode=${to})`,
    },
    {
      action: `switch it on SQL Server (ALTER AVAILABILITY GROUP ... AVAILABILITY_MODE = ${modeOf(to)}, both members as SQL Server's DAG names them)`,
    },
    { action: 'verify both replicas report the mode (sys.availability_replicas)' },
  ];
}

function routeStep(i: LinkInputs): Step {
  const route = i.failoverRoute ?? 'auto';
  return {
    action:
      route === 'breakLink'
        ? 'break the link (ARM DELETE of the distributed availability group): the managed instance databases become read-write; SQL Server stays primary and writable (independent copies): stop the applications writing to it'
        : route === 'tsqlFailover'
          ? "fail over with T-SQL on SQL Server (ALTER AVAILABILITY GROUP ... FAILOVER): the managed instance becomes primary; refused before the sync switch unless SQL Server is 2022 CU13+ with the instance's update policy SQL Server 2022, or 2025 with the SQL Server 2025 policy"
          : `fail over by the route decided first: ${ROUTE_RULE}`,
    irreversible: true,
  };
}

function forcedSteps(i: LinkInputs): Step[] {
  if (!i.allowDataLoss) return [];
  const steps: Step[] = [
    {
      action:
        i.failoverRoute === 'breakLink'
          ? 'if the gate does not pass by its deadline: break the link anyway (allowDataLoss)'
          : 'if the gate does not pass by its deadline: fail over anyway (allowDataLoss): ARM failover ForcedAllowDataLoss on the T-SQL route, ARM DELETE on the break-link route',
      dataLoss: true,
      irreversible: true,
    },
  ];
  if (i.failoverRoute !== 'breakLink') {
    steps.push(
      i.afterForcedFailover === 'leaveSqlServerPrimary'
        ? {
            action:
              'after a forced failover: SQL Server is still primary and accepts writes (split brain): left as it is (afterForcedFailover leaveSqlServerPrimary); end it yourself with ALTER AVAILABILITY GROUP ... SET (ROLE = SECONDARY) on SQL Server',
            dataLoss: true,
          }
        : {
            action: `after a forced failover: end the split brain on SQL Server (ALTER AVAILABILITY GROUP [${i.linkName ?? ''}] SET (ROLE = SECONDARY)): SQL Server stops accepting writes; what it had not sent to the managed instance stays only in its log (take a tail-log backup beforehand if you need it)`,
            destructive: true,
          },
    );
  }
  return steps;
}

function removalStep(i: LinkInputs): Step {
  if (i.keepLinkAfterFailover) {
    return {
      action:
        'keep the link after the failover (keepLinkAfterFailover): it replicates back to SQL Server synchronously until it is removed (failback possible)',
    };
  }
  return {
    action:
      'remove the link on the managed instance right after the failover (ARM DELETE), as the migration guide does: the failover is one way (set keepLinkAfterFailover: true to keep it for failback)',
    irreversible: true,
  };
}

export function planCutover(i: LinkInputs, currentMode: ReplicationMode | undefined): Step[] {
  const steps: Step[] = [
    {
      action:
        "read SQL Server's version and the managed instance's tier and update policy, and decide the failover route before anything changes",
    },
  ];
  if (currentMode !== 'Sync') steps.push(...planModeSwitch(i, 'Sync'));
  const dbs = (i.databaseNames ?? []).join(', ');
  const short = i.allowShortStabilityWindow
    ? ' (allowShortStabilityWindow: a window this short may not see a running workload)'
    : '';
  steps.push({
    action: `wait for the LSN gate: workload stopped, SQL Server's own end of log and last hardened LSNs of ${dbs} equal to the managed instance's, the link CONNECTED and SYNCHRONIZED, unchanged for ${Math.round(i.lsnStabilityWindowInMs / 1000)}s${short} (deadline ${Math.round(i.lsnDeadlineInMs / 1000)}s)`,
  });
  steps.push(...forcedSteps(i));
  steps.push(routeStep(i));
  steps.push(removalStep(i));
  steps.push({ action: 'verify the managed instance databases are online and read-write' });
  if (i.cleanupAfterCutover) steps.push(...planCleanup(i));
  return steps;
}

export function planCleanup(i: LinkInputs): Step[] {
  if (i.cleanup === 'none')
    return [{ action: 'no cleanup (cleanup = none): the link objects on SQL Server are kept' }];
  const steps: Step[] = [
    {
      action: `wait until the managed instance has taken its first full, not copy-only backup of ${(i.databaseNames ?? []).join(', ')} after the cutover (msdb.dbo.backupset, this database's guid)`,
    },
    { action: 'remove the link on the managed instance if it still exists (ARM DELETE)', irreversible: true },
    {
      action: `drop the distributed availability group ${i.linkName ?? ''} on SQL Server`,
      destructive: true,
    },
  ];
  if (i.cleanup === 'linkAndAvailabilityGroup') {
    steps.push({
      action: `drop the availability group ${i.sqlServerAvailabilityGroupName ?? ''} on SQL Server if it holds no other database or link`,
      destructive: true,
    });
  }
  return steps;
}

export function planDeleteBeforeCutover(i: LinkInputs): Step[] {
  switch (i.beforeCutoverDelete) {
    case 'forget':
      return [{ action: 'forget the link: remove it from the stack only; it keeps replicating' }];
    case 'breakLink':
      return [
        {
          action:
            'break the link without cutover (ARM DELETE): SQL Server stays primary; the managed instance copies become independent',
          irreversible: true,
        },
      ];
    default:
      return [
        {
          action:
            "refuse: deleting before cutover needs cutover first, or beforeCutoverDelete 'forget' or 'breakLink'",
        },
      ];
  }
}
