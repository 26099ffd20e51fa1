/** The sync switch: both sides of the link to one replication mode, verified. */
import { MigrationError } from '../errors';
import type { ReadyLink, ReplicationMode } from './inputs';
import { eq, type LinkContext, type LinkObservation, linkMissing, modeOf, observeLink } from './observe';

export async function ensureMode(
  i: ReadyLink,
  ctx: LinkContext,
  mode: ReplicationMode,
): Promise<LinkObservation> {
  let o = await observeLink(i, ctx);
  const missing = linkMissing(i, o);
  if (missing) throw missing;
  const target = modeOf(mode);
  // Both sides already in the mode: this reading is the verification (issue 9: not read again).
  if (eq(o.managedInstanceMode, mode) && o.replicas.every((r) => eq(r.availabilityMode, target))) {
    ctx.log(`link ${i.linkName} is ${mode} on both sides`);
    return o;
  }
  if (!eq(o.managedInstanceMode, mode)) {
    ctx.log(`switching the managed instance side of ${i.linkName} to ${mode} (ARM PATCH)`);
    await ctx.arm.setReplicationMode(mode);
  }
  if (o.replicas.some((r) => !eq(r.availabilityMode, target))) {
    if (!o.managedInstanceAg) {
      throw new MigrationError(
        'ManagedInstanceAgUnknown',
        'Cannot tell the availability group name of the managed instance side.',
        {
          hint: 'set managedInstanceAvailabilityGroupName',
        },
      );
    }
    if (
      i.managedInstanceAvailabilityGroupName &&
      !eq(i.managedInstanceAvailabilityGroupName, o.managedInstanceAg)
    ) {
      ctx.log(
        `SQL Server's definition of ${i.linkName} names the managed instance '${o.managedInstanceAg}' (not '${i.managedInstanceAvailabilityGroupName}'): using SQL Server's name`,
      );
    }
    ctx.log(`switching SQL Server side of ${i.linkName} to ${target} (ALTER AVAILABILITY GROUP)`);
    await ctx.sql.setDagMode(i.linkName, i.sqlServerAvailabilityGroupName, o.managedInstanceAg, target);
  }
  o = await ctx.wait({
    what: `both replicas of ${i.linkName} to report ${target}`,
    poll: () => observeLink(i, ctx),
    judge: (s) =>
      eq(s.managedInstanceMode, mode) &&
      s.replicas.length > 0 &&
      s.replicas.every((r) => eq(r.availabilityMode, target))
        ? { done: true }
        : { done: false, waiting: 'mode change not visible on both sides yet' },
    describe: (s) =>
      `managed instance ${s.managedInstanceMode ?? 'unknown'}, SQL Server replicas ${s.replicas.map((r) => `${r.replicaServerName}=${r.availabilityMode}`).join(', ')}`,
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'run up again: it reads both sides first and resumes the switch (raise operationDeadlineInMs if it needs longer)',
  });
  ctx.log(`link ${i.linkName} is ${mode} on both sides`);
  return o;
}
