/**
 * The link workflow, pure logic behind ports: observation (observe.ts), the sync switch (modeSwitch.ts), the
 * cutover (cutover.ts), cleanup and delete (cleanup.ts), and the outputs (here).
 */
import type { LsnSample } from '../lsn';
import { lsnText } from '../lsn';
import type { CleanupResult } from './cleanup';
import type { CutoverResult } from './cutover';
import type { ReadyLink } from './inputs';
import type { LinkObservation } from './observe';

export { sampleLsns, runGate, type GateResult } from './gate';
export { planCleanup, planCutover, planDeleteBeforeCutover, planModeSwitch } from './plans';
export { chooseRoute, supportsTsqlFailover, requiredUpdatePolicy, ROUTE_RULE } from './route';
export {
  isBusinessCritical,
  type LinkContext,
  type LinkObservation,
  observeAfter,
  observeLink,
} from './observe';
export { ensureMode } from './modeSwitch';
export { cutover, type CutoverResult } from './cutover';
export { cleanupAfterCutover, type CleanupResult, deleteLinkResource } from './cleanup';

/** Outputs: modes on both sides, roles, per database the LSNs on each side as strings, and the lag. */
export function linkOutputs(
  i: ReadyLink,
  o: LinkObservation,
  samples: LsnSample[],
  extra: Partial<CutoverResult & CleanupResult>,
): Record<string, unknown> {
  const armLag = (db: string) =>
    o.link?.databases.find((d) => d.databaseName.toLowerCase() === db.toLowerCase())?.lagSeconds;
  return {
    managedInstanceId: i.managedInstanceId,
    linkName: i.linkName,
    sqlServerAvailabilityGroupName: i.sqlServerAvailabilityGroupName,
    managedInstanceAvailabilityGroupName:
      o.managedInstanceAg ?? i.managedInstanceAvailabilityGroupName ?? null,
    databaseNames: i.databaseNames,
    replicationMode: i.replicationMode,
    cutover: i.cutover === true,
    switchToSyncForCutover: i.switchToSyncForCutover === true,
    failoverRoute: i.failoverRoute,
    allowDataLoss: i.allowDataLoss === true,
    afterForcedFailover: i.afterForcedFailover ?? null,
    keepLinkAfterFailover: i.keepLinkAfterFailover === true,
    allowShortStabilityWindow: i.allowShortStabilityWindow === true,
    cleanup: i.cleanup,
    cleanupAfterCutover: i.cleanupAfterCutover === true,
    beforeCutoverDelete: i.beforeCutoverDelete,
    lsnStabilityWindowInMs: i.lsnStabilityWindowInMs,
    lsnPollIntervalInMs: i.lsnPollIntervalInMs,
    lsnDeadlineInMs: i.lsnDeadlineInMs,
    firstBackupDeadlineInMs: i.firstBackupDeadlineInMs,
    operationDeadlineInMs: i.operationDeadlineInMs,
    pollIntervalInMs: i.pollIntervalInMs,
    armEndpoint: i.armEndpoint ?? null,
    linkState: o.link ? (o.link.linkState ?? 'Present') : 'Removed',
    instanceLinkRole: o.link?.instanceLinkRole ?? null,
    partnerLinkRole: o.link?.partnerLinkRole ?? null,
    sqlServerRole: o.sqlServerRole ?? null,
    managedInstanceReplicationMode: o.managedInstanceMode ?? null,
    sqlServerReplicationMode: o.sqlServerMode ?? null,
    databases: samples.map((s) => ({
      databaseName: s.database,
      sqlServerLastHardenedLsn: lsnText(s.sqlServerHardened),
      sqlServerEndOfLogLsn: lsnText(s.sqlServerEndOfLog),
      managedInstanceLastHardenedLsn: lsnText(s.managedInstanceHardened),
      // SQL Server's own end of log minus what the managed instance hardened (NULL when either is unknown).
      lagLsn:
        s.sqlServerEndOfLog !== undefined && s.managedInstanceHardened !== undefined
          ? (s.sqlServerEndOfLog - s.managedInstanceHardened).toString()
          : null,
      // ARM's lag in seconds; its -1 ("cannot tell") is shown as null, never as caught up.
      replicationLagSeconds: armLag(s.database) ?? null,
    })),
    cutoverAt: extra.cutoverAt ?? null,
    managedInstanceCutoverAt: extra.managedInstanceCutoverAt ?? null,
    failoverRouteUsed: extra.route ?? null,
    failoverRouteReason: extra.routeReason ?? null,
    forcedFailover: extra.forced === undefined ? false : extra.forced,
    finalLsns: extra.finalLsns ?? null,
    linkRemovedAtFailover: extra.linkRemoved ?? null,
    failoverSentAt: extra.failoverSentAt ?? null,
    linkRemovalSentAt: extra.removalSentAt ?? null,
    cleanupDone: extra.cleanupAt !== undefined,
    cleanupAt: extra.cleanupAt ?? null,
    droppedLink: extra.droppedLink ?? false,
    droppedAvailabilityGroup: extra.droppedAvailabilityGroup ?? false,
  };
}
