/**
 * The cutover: route, sync switch if needed, the LSN gate, the failover, the link's removal, and the
 * managed instance's databases read-write; a resumed run picks up after the failover without repeating it.
 */
import { iso } from '../clock';
import { MigrationError } from '../errors';
import { describeSamples, type LsnSample, lsnText } from '../lsn';
import { runGate } from './gate';
import type { ReadyLink } from './inputs';
import { ensureMode } from './modeSwitch';
import {
  cutOver,
  eq,
  isBusinessCritical,
  isReadWrite,
  type LinkContext,
  type LinkObservation,
  linkMissing,
  observeLink,
  SYNC,
  watchLink,
} from './observe';
import type { LinkView } from './ports';
import { chooseRoute, type Route } from './route';

export interface CutoverResult {
  cutoverAt: string;
  /**
   * The managed instance's own UTC clock at the gate's last reading, the last step before the failover call
   * (style 126): the first full backup must start after it. Its own clock, because msdb dates are the
   * instance's and clocks differ.
   */
  managedInstanceCutoverAt?: string;
  route: Route;
  routeReason?: string;
  /**
   * Whether the failover was forced (ForcedAllowDataLoss, or breaking the link without a passed gate). Null:
   * unknown. A run resumed after an interrupted one that had already failed over and ended the split brain
   * cannot tell a forced failover from a planned one (nothing Azure or SQL Server shows afterwards says which),
   * so with allowDataLoss set it reports null and says so, never false.
   */
  forced: boolean | null;
  finalLsns: Record<string, string | null>;
  /** The cutover removed the link on the managed instance (or it was gone already). */
  linkRemoved?: boolean;
  /**
   * When the irreversible call was sent (the T-SQL FAILOVER, the ForcedAllowDataLoss POST, or the DELETE that
   * breaks the link) and when the link's removal was, written into the record right before each call. A run
   * that fails after a call leaves them in its partial-failure outputs, so the next run follows that call
   * instead of repeating it. A crash writes no record: their absence proves nothing.
   */
  failoverSentAt?: string;
  removalSentAt?: string;
  /**
   * Not an output: the link as the cutover's last reading of it showed it; undefined when the link is gone
   * (the removal's own GET answered 404, or the first reading found none).
   */
  linkAfter?: LinkView;
}

/**
 * `previous`: what the state recorded (a finished cutover, or the record of an earlier run that failed after an
 * irreversible call). `record`: written into right before each irreversible call, for the caller's
 * partial-failure outputs when this run fails after it.
 */
export async function cutover(
  i: ReadyLink,
  ctx: LinkContext,
  previous?: Partial<CutoverResult>,
  record: Partial<CutoverResult> = {},
): Promise<CutoverResult> {
  // First step, before anything changes: the link on both sides, the server version, the instance (tier and
  // update policy, read once), and the route. A refusal here costs no downtime.
  let o = await observeLink(i, ctx);
  const sent = previous?.failoverSentAt !== undefined && !previous.cutoverAt;
  if (!o.link && o.replicas.length === 0 && !previous?.cutoverAt && !sent) throw linkMissing(i, o)!;
  const instance = await ctx.arm.getInstance();
  // An earlier run sent the failover (or the DELETE breaking the link) and failed: that call may still run (a
  // failover ~15 s, a removal 11–23 s: recordings README) while the link looks as before. Follow it, never
  // run the gate or send the call again while it runs.
  if (!cutOver(o) && sent && (await sentCallEnded(i, ctx, previous))) o = await observeLink(i, ctx);
  let result: CutoverResult | undefined;
  if (cutOver(o)) {
    // The link removed (by this resource before a crash, or already cleaned up) or the MI primary: the
    // failover happened; what is left is ending a split brain, removing the link, and the verification.
    ctx.log(
      `link ${i.linkName} is already ${o.link ? 'failed over' : 'removed'}: resuming after the failover`,
    );
    const splitBrain = !!o.link && eq(o.sqlServerRole, 'PRIMARY');
    if (splitBrain)
      ctx.log(
        `SQL Server is still primary of ${i.linkName} while the managed instance is: the failover was forced`,
      );
    // Outputs written before the cutover say forcedFailover false: only a recorded true or the split brain count
    // as forced. Without allowDataLoss this resource cannot have forced it; with it, an interrupted run may have:
    // unknown (null), said loudly, never a false "not forced".
    const forced = previous?.forced === true || splitBrain ? true : i.allowDataLoss ? null : false;
    if (forced === null)
      ctx.log(
        `WARNING: the failover of ${i.linkName} was made by an earlier run that was interrupted, with allowDataLoss set: whether it was forced (data may be lost) is not known, so forcedFailover is null. Compare the data on the managed instance with SQL Server's before removing SQL Server's copy.`,
      );
    // The verification's last reading, when SQL Server was set secondary.
    const seen = (splitBrain ? await endSplitBrain(i, ctx) : undefined) ?? o;
    // No cutover recorded: an interrupted run failed over, and may have sent the removal's DELETE already.
    const present =
      seen.link !== undefined && !i.keepLinkAfterFailover && !previous?.cutoverAt
        ? await removalInFlight(i, ctx)
        : seen.link !== undefined;
    const linkRemoved = await removeLinkIfAsked(i, ctx, present, record);
    result = {
      ...(previous?.failoverSentAt ? { failoverSentAt: previous.failoverSentAt } : {}),
      ...(record.removalSentAt || previous?.removalSentAt
        ? { removalSentAt: record.removalSentAt ?? previous?.removalSentAt }
        : {}),
      cutoverAt: previous?.cutoverAt ?? iso(ctx.clock.now()),
      // Not recorded before the crash: the instance's clock now (later than the failover: never too early).
      managedInstanceCutoverAt: previous?.managedInstanceCutoverAt ?? (await ctx.mi.utcNow()),
      // With the link gone, SQL Server secondary in its DAG says a T-SQL FAILOVER (breaking the link leaves it primary).
      route: previous?.route ?? (o.link || eq(o.sqlServerRole, 'SECONDARY') ? 'tsqlFailover' : 'breakLink'),
      routeReason: previous?.routeReason,
      forced,
      // Not recorded before the crash: unknown per database (null), never an empty claim.
      finalLsns: previous?.finalLsns ?? Object.fromEntries(i.databaseNames.map((d) => [d, null])),
      linkRemoved: previous?.linkRemoved ?? linkRemoved,
      linkAfter: linkRemoved ? undefined : seen.link,
    };
  } else {
    const info = await ctx.sql.info();
    const decision = chooseRoute(i.failoverRoute ?? 'auto', info, instance.databaseFormat);
    if (i.keepLinkAfterFailover && decision.route === 'breakLink') {
      throw new MigrationError(
        'KeepLinkImpossible',
        `keepLinkAfterFailover is true but the link ${i.linkName} can only be failed over by breaking it: ${decision.reason}.`,
        {
          hint: "set keepLinkAfterFailover: false to migrate by breaking the link, or meet the T-SQL route's conditions (SQL Server 2022 CU13+ with the SQL Server 2022 update policy, or 2025 with the 2025 policy)",
        },
      );
    }
    ctx.log(
      `failover route of ${i.linkName}: ${decision.route === 'tsqlFailover' ? 'T-SQL FAILOVER' : 'break the link (ARM DELETE)'}, because ${decision.reason} (update policy from ARM databaseFormat)`,
    );
    if (!eq(o.managedInstanceMode, 'Sync') || o.replicas.some((r) => !eq(r.availabilityMode, SYNC))) {
      if (!(i.switchToSyncForCutover || i.replicationMode === 'Sync')) {
        throw new MigrationError(
          'NotSynchronous',
          `The link ${i.linkName} is not in synchronous commit on both sides.`,
          {
            hint: "set replicationMode: 'Sync' (or switchToSyncForCutover: true) and run up again",
          },
        );
      }
      o = await ensureMode(i, ctx, 'Sync');
    }
    const gate = await runGate(i, ctx, isBusinessCritical(instance));
    const forced = !gate.passed;
    if (forced) {
      if (!i.allowDataLoss) throw gate.error!;
      ctx.log(`WARNING: DATA MAY BE LOST. ${gate.error!.message} Last LSNs: ${gate.error!.lastState}`);
      ctx.log('WARNING: allowDataLoss is true: failing over without the LSN gate.');
    } else {
      ctx.log(`LSN gate passed: ${describeSamples(gate.samples)}`);
    }
    const finalLsns = Object.fromEntries(
      gate.samples.map((s: LsnSample) => [s.database, lsnText(s.managedInstanceHardened)]),
    );
    // The instance's clock at the gate's last reading, the last step before the irreversible call (issue 9:
    // no query of its own); only a gate without a single answered MI reading asks the clock now.
    const managedInstanceCutoverAt = gate.managedInstanceUtc ?? (await ctx.mi.utcNow());
    // Right before the irreversible call: is it done already (a resumed run, or someone else)?
    const now = await ctx.arm.getLink();
    // What this run decided, recorded before the call (for the partial-failure outputs if it fails after it).
    Object.assign(record, {
      managedInstanceCutoverAt,
      route: decision.route,
      routeReason: decision.reason,
      forced,
      finalLsns,
    });
    // The link as last read: the failover's wait ends on a reading of it (issue 9: not read again before the
    // removal; a link removed meanwhile makes the DELETE end OperationIdNotFound, which the adapter verifies).
    let after = now;
    if (!now || eq(now.instanceLinkRole, 'Primary')) {
      ctx.log(
        `link ${i.linkName} is already ${now ? 'failed over' : 'removed'}: not calling the failover again`,
      );
    } else {
      record.failoverSentAt = iso(ctx.clock.now());
      if (decision.route === 'breakLink') record.removalSentAt = record.failoverSentAt;
      after = await failover(i, ctx, decision.route, forced);
    }
    if (forced && decision.route === 'tsqlFailover') after = (await endSplitBrain(i, ctx))?.link ?? after;
    const removedNow =
      decision.route !== 'breakLink' && (await removeLinkIfAsked(i, ctx, after !== undefined, record));
    const linkRemoved = decision.route === 'breakLink' || removedNow;
    result = {
      ...(record.failoverSentAt ? { failoverSentAt: record.failoverSentAt } : {}),
      ...(record.removalSentAt ? { removalSentAt: record.removalSentAt } : {}),
      cutoverAt: iso(ctx.clock.now()),
      managedInstanceCutoverAt,
      route: decision.route,
      routeReason: decision.reason,
      forced,
      finalLsns,
      linkRemoved,
      linkAfter: removedNow ? undefined : after,
    };
  }
  await ctx.wait({
    what: `the managed instance databases (${i.databaseNames.join(', ')}) to be online and read-write`,
    poll: () => Promise.all(i.databaseNames.map(async (d) => [d, await ctx.mi.databaseState(d)] as const)),
    judge: (rows) =>
      rows.every(([, s]) => isReadWrite(s))
        ? { done: true }
        : { done: false, waiting: 'not all online read-write yet' },
    describe: (rows) =>
      rows
        .map(([d, s]) => `${d} ${s ? `${s.state}${s.readOnly ? ' read-only' : ' read-write'}` : 'missing'}`)
        .join(', '),
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'the failover is done; run up again: it resumes with this check and fails nothing over again (raise operationDeadlineInMs if the databases need longer)',
  });
  ctx.log(`cutover done: ${i.databaseNames.join(', ')} online and read-write on the managed instance`);
  return result;
}

/** True when the link is still there after the watch (then it is removed), false when it went by itself. */
async function removalInFlight(i: ReadyLink, ctx: LinkContext): Promise<boolean> {
  ctx.log(
    `link ${i.linkName} failed over in an interrupted run: watching it for a removal already in flight before removing it`,
  );
  const gone = await watchLink(i, ctx, `a removal of ${i.linkName} sent by the interrupted run`, (l) => !l);
  if (gone) ctx.log(`link ${i.linkName} was removed by the interrupted run's DELETE: not sending another`);
  return !gone;
}

/**
 * An earlier run recorded its failover call (or breaking the link) as sent, and the link does not show it yet:
 * watches for the role change or the removal. True when it came (the cutover resumes after the failover); false
 * when the link still looks as before after the watch (the call did not act: the cutover runs as new).
 */
async function sentCallEnded(
  i: ReadyLink,
  ctx: LinkContext,
  previous: Partial<CutoverResult>,
): Promise<boolean> {
  const call = previous.route === 'breakLink' ? 'the DELETE breaking the link' : 'the failover';
  ctx.log(
    `an earlier run sent ${call} of ${i.linkName} at ${previous.failoverSentAt} and failed: watching the link for it before anything else (no LSN gate, no call again while it may run)`,
  );
  const ended = await watchLink(
    i,
    ctx,
    `${call} of ${i.linkName} sent by the earlier run`,
    (l) => !l || eq(l.instanceLinkRole, 'Primary'),
  );
  ctx.log(
    ended
      ? `${call} of ${i.linkName} sent by the earlier run took effect: resuming after it`
      : `${call} of ${i.linkName} sent by the earlier run did not take effect within the watch: the cutover runs again from the start`,
  );
  return ended;
}

/** The migration guide removes the link at the failover; keepLinkAfterFailover keeps it (for failback). */
async function removeLinkIfAsked(
  i: ReadyLink,
  ctx: LinkContext,
  present: boolean,
  record: Partial<CutoverResult>,
): Promise<boolean> {
  if (!present) return true;
  if (i.keepLinkAfterFailover) {
    ctx.log(
      `keeping the link ${i.linkName} after the failover (keepLinkAfterFailover): it replicates back to SQL Server`,
    );
    return false;
  }
  ctx.log(`removing the link ${i.linkName} on the managed instance (ARM DELETE): the failover is one way`);
  record.removalSentAt = iso(ctx.clock.now());
  await ctx.arm.deleteLink();
  return true;
}

/**
 * After a forced failover the managed instance is primary and SQL Server still accepts writes (split brain,
 * failover guide "Inconsistent state after forced failover"): SET (ROLE = SECONDARY) on SQL Server, verified,
 * or, with afterForcedFailover 'leaveSqlServerPrimary', a loud warning. Answers the verification's last
 * reading (undefined: nothing read).
 */
async function endSplitBrain(i: ReadyLink, ctx: LinkContext): Promise<LinkObservation | undefined> {
  if (i.afterForcedFailover !== 'setSqlServerSecondary') {
    ctx.log(
      `WARNING: SQL Server is still primary of ${i.linkName} and accepts writes (split brain); afterForcedFailover is leaveSqlServerPrimary: stop the applications writing to SQL Server and run ALTER AVAILABILITY GROUP [${i.linkName}] SET (ROLE = SECONDARY) there`,
    );
    return undefined;
  }
  ctx.log(
    `ending the split brain: SQL Server takes the secondary role in ${i.linkName} (ALTER AVAILABILITY GROUP ... SET (ROLE = SECONDARY))`,
  );
  await ctx.sql.setDagRoleSecondary(i.linkName);
  return ctx.wait({
    what: `SQL Server to be secondary in ${i.linkName}`,
    poll: () => observeLink(i, ctx),
    judge: (o) =>
      !eq(o.sqlServerRole, 'PRIMARY')
        ? { done: true }
        : { done: false, waiting: 'SQL Server still reports PRIMARY' },
    describe: (o) => `SQL Server ${o.sqlServerRole ?? 'without the DAG'}`,
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: "run up again: it reads SQL Server's role first and resumes; meanwhile keep the applications from writing to SQL Server",
  });
}

/** Fails over; answers the link as the last reading showed it (undefined: removed). */
async function failover(
  i: ReadyLink,
  ctx: LinkContext,
  route: Route,
  forced: boolean,
): Promise<LinkView | undefined> {
  if (route === 'breakLink') {
    ctx.log(
      `breaking the link ${i.linkName} (ARM DELETE)${forced ? ' WITHOUT a passed LSN gate: data may be lost' : ''}`,
    );
    await ctx.arm.deleteLink();
    return undefined;
  }
  if (forced) {
    ctx.log(
      `forcing failover of ${i.linkName} on the managed instance (ForcedAllowDataLoss): data may be lost`,
    );
    await ctx.arm.failover('ForcedAllowDataLoss');
  } else {
    ctx.log(`failing over ${i.linkName} with T-SQL on SQL Server (ALTER AVAILABILITY GROUP ... FAILOVER)`);
    await ctx.sql.failover(i.linkName);
  }
  return ctx.wait({
    what: `the managed instance to become primary of ${i.linkName}`,
    poll: () => ctx.arm.getLink(),
    judge: (l) =>
      !l || eq(l.instanceLinkRole, 'Primary')
        ? { done: true }
        : { done: false, waiting: 'role change pending' },
    describe: (l) => (l ? `managed instance ${l.instanceLinkRole ?? 'unknown role'}` : 'link removed'),
    deadline: ctx.clock.now() + i.operationDeadlineInMs,
    intervalMs: i.pollIntervalInMs,
    hint: 'run up again: it reads the link first and does not fail over a second time',
  });
}
