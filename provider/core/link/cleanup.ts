/** Cleanup after the cutover (first full backup, then the SQL Server objects) and delete of the resource. */
import { formatDuration, iso } from '../clock';
import { MigrationError } from '../errors';
import { formatPlan } from '../plan';
import type { ReadyLink } from './inputs';
import { allReadWrite, cutOver, eq, type LinkContext, observeLink, watchLink } from './observe';
import { planCleanup } from './plans';
import type { LinkView } from './ports';
import { watchWindowMs } from '../watch';

export interface CleanupResult {
  droppedLink: boolean;
  droppedAvailabilityGroup: boolean;
  cleanupAt: string;
}

const MI_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$/;

/**
 * Cleanup after the cutover. `miCutoverAt`: the managed instance's clock at the cutover (the first full
 * backup must start after it); unknown, the instance's clock now stands in for it (later, never earlier).
 */
export async function cleanupAfterCutover(
  i: ReadyLink,
  ctx: LinkContext,
  miCutoverAt?: string,
): Promise<CleanupResult> {
  if (i.cleanup === 'none') {
    ctx.log('cleanup is none: SQL Server objects are kept');
    return { droppedLink: false, droppedAvailabilityGroup: false, cleanupAt: iso(ctx.clock.now()) };
  }
  const known = miCutoverAt !== undefined && MI_TIME.test(miCutoverAt);
  const since = known ? miCutoverAt : await ctx.mi.utcNow();
  if (!known) {
    ctx.log(
      `the cutover time is not recorded: waiting for a full backup started after ${since} (instance time)`,
    );
  }
  await ctx.wait({
    what: `the managed instance's first full backup of ${i.databaseNames.join(', ')}`,
    poll: () =>
      Promise.all(i.databaseNames.map(async (d) => [d, await ctx.mi.firstFullBackup(d, since)] as const)),
    judge: (rows) =>
      rows.every(([, t]) => t)
        ? { done: true }
        : { done: false, waiting: 'the SQL Server side must not be removed before it' },
    describe: (rows) =>
      rows
        .map(
          ([d, t]) =>
            `${d}: ${t ? `full backup finished ${t} (instance time)` : `no full backup since ${since} yet`}`,
        )
        .join(', '),
    deadline: ctx.clock.now() + i.firstBackupDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the managed instance takes a full backup shortly after the databases become read-write; run destroy again later',
  });
  const link = await ctx.arm.getLink();
  if (link) {
    ctx.log(`removing the link ${i.linkName} on the managed instance (ARM DELETE)`);
    await deleteLinkOnce(i, ctx, link);
  }
  let droppedLink = false;
  if (await ctx.sql.availabilityGroup(i.linkName)) {
    ctx.log(`dropping the distributed availability group ${i.linkName} on SQL Server`);
    await ctx.sql.dropAvailabilityGroup(i.linkName);
    droppedLink = true;
  } else {
    ctx.log(`distributed availability group ${i.linkName} is already gone on SQL Server`);
  }
  let droppedAvailabilityGroup = false;
  if (i.cleanup === 'linkAndAvailabilityGroup') {
    const ag = i.sqlServerAvailabilityGroupName;
    // One query: whether it exists, its databases and the DAGs it is a member of (issue 9).
    const usage = await ctx.sql.availabilityGroupUsage(ag);
    if (usage) {
      const mine = new Set(i.databaseNames.map((d) => d.toLowerCase()));
      const others = usage.databases.filter((d) => !mine.has(d.toLowerCase()));
      if (others.length || usage.dagCount > 0) {
        ctx.log(
          `keeping availability group ${ag}: it still ${others.length ? `holds ${others.join(', ')}` : ''}${others.length && usage.dagCount ? ' and ' : ''}${usage.dagCount ? `is part of ${usage.dagCount} other link(s)` : ''}`,
        );
      } else {
        ctx.log(`dropping the availability group ${ag} on SQL Server`);
        await ctx.sql.dropAvailabilityGroup(ag);
        droppedAvailabilityGroup = true;
      }
    } else {
      ctx.log(`availability group ${ag} is already gone on SQL Server`);
    }
  }
  return { droppedLink, droppedAvailabilityGroup, cleanupAt: iso(ctx.clock.now()) };
}

export async function deleteLinkResource(
  i: ReadyLink,
  ctx: LinkContext,
  olds: Record<string, unknown>,
): Promise<string> {
  // A recorded cutover is the answer: the cleanup reads what it acts on itself (issue 9: no observation first).
  const recorded = typeof olds.cutoverAt === 'string';
  const o = recorded ? undefined : await observeLink(i, ctx);
  // No cutover recorded, the link gone and SQL Server still primary: what a destroy with beforeCutoverDelete
  // 'breakLink' leaves. Resumed after an interrupted one, it is finished: never read as a cutover whose cleanup
  // would then drop SQL Server's availability groups, which this destroy was not asked to do.
  if (!recorded && i.beforeCutoverDelete === 'breakLink' && !o!.link && eq(o!.sqlServerRole, 'PRIMARY')) {
    ctx.log(
      `the link ${i.linkName} is already broken on the managed instance and SQL Server is primary: the delete before cutover is done; SQL Server's objects are kept`,
    );
    return 'broken';
  }
  const done = recorded || (cutOver(o!) && (await allReadWrite(i, ctx)));
  const miCutoverAt =
    typeof olds.managedInstanceCutoverAt === 'string' ? olds.managedInstanceCutoverAt : undefined;
  if (done) {
    if (olds.cleanupAt) {
      ctx.log('cleanup already done during up: nothing left to drop');
      return 'already-clean';
    }
    ctx.log(formatPlan('cleanup after cutover', planCleanup(i)));
    await cleanupAfterCutover(i, ctx, miCutoverAt);
    return 'cleaned';
  }
  switch (i.beforeCutoverDelete) {
    case 'forget':
      ctx.log(`forgetting the link ${i.linkName}: it keeps replicating; nothing is changed`);
      return 'forgotten';
    case 'breakLink':
      ctx.log(`breaking the link ${i.linkName} before cutover (ARM DELETE): SQL Server stays primary`);
      if (o!.link) await deleteLinkOnce(i, ctx, o!.link);
      return 'broken';
    default:
      throw new MigrationError(
        'DeleteBeforeCutover',
        `Refusing to delete the link ${i.linkName} before cutover: it still replicates ${i.databaseNames.join(', ')} and SQL Server is primary.`,
        {
          hint: "choose one and run up, then destroy: cutover: true (migrate first; destroy then cleans up), beforeCutoverDelete: 'forget' (remove from the stack only, the link keeps running), or beforeCutoverDelete: 'breakLink' (break the link; the managed instance copies become independent)",
        },
      );
  }
}

/**
 * The link DELETE of a cleanup or a break. A run killed after Azure accepted it leaves no record (a destroy
 * cannot save state; the cleanup records only its end), and the link looks as before until the removal ends
 * (11–23 s, link-mgmt seq 8–10). So the link is first watched for a removal already in flight (core/watch.ts);
 * gone, no second DELETE is sent.
 */
async function deleteLinkOnce(i: ReadyLink, ctx: LinkContext, link: LinkView): Promise<void> {
  ctx.log(
    `link ${i.linkName}: reading it again in ${formatDuration(watchWindowMs(i.operationDeadlineInMs))} before removing it, in case an interrupted run's removal is in flight (it leaves no record)`,
  );
  const what = `a removal of ${i.linkName} sent by an interrupted run`;
  if (await watchLink(i, ctx, what, (l) => !l, { first: { state: link }, cadence: 'end' })) {
    ctx.log(`link ${i.linkName} was removed by an interrupted run's DELETE: not sending another`);
    return;
  }
  await ctx.arm.deleteLink();
}
