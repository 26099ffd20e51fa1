/**
 * DistributedAvailabilityGroupLink crash-resume at every step boundary of the sync switch (update Async → Sync),
 * the cutover (update cutover: true, by T-SQL FAILOVER, by breaking the link, and forced), the cleanup (destroy
 * after the cutover) and a destroy before cutover (issue 8): see driver.ts for how boundaries are recorded, held
 * and resumed.
 */
import type { DeclaredResource, StepResult } from '../../../sandbox/engine/engine';
import { SecretScan } from '../../support/secretScan';
import { linkResource, type Rig, startRig } from '../rig';
import { CrashTally, itEveryBoundary, type Names, type Operation, type Subject, template } from './driver';

describe('DistributedAvailabilityGroupLink crash-resume at every step boundary (issue 8)', function () {
  this.timeout(400_000);
  let rig: Rig;
  let n = 0;
  const tally = new CrashTally();
  /** Forced cutovers resumed after the split brain had ended: forcedFailover null (unknown), said so. */
  let forcedUnknown = 0;
  const scan = new SecretScan();

  before(async () => {
    // As link.test.ts: the managed instance's first full backup after a cutover comes when a test says so.
    rig = await startRig({
      link: { firstBackupDelayMs: 24 * 3_600_000, managedInstance: { utcOffsetMinutes: 120 } },
    });
    scan.secret(
      rig.sandbox.sqlConnection('sqlServer').password,
      rig.sandbox.sqlConnection('managedInstance').password,
    );
  });
  after(async () => {
    console.log(`      ${tally.line('DistributedAvailabilityGroupLink')}`);
    console.log(
      `      forced cutovers resumed as forcedFailover unknown (null, never false): ${forcedUnknown}`,
    );
    await rig?.stop();
  });

  /** A fresh established link (no name is a part of another: Dg1k, Dg11k, Sg1k …). */
  function freshLink(): Names {
    n++;
    const names = { dag: `Dg${n}k`, ag: `Sg${n}k`, miAg: `Mg${n}k`, db: `Od${n}q` };
    rig.sandbox.link.establishLink({
      name: names.dag,
      sqlServerAg: names.ag,
      miAg: names.miAg,
      databases: [names.db],
    });
    return names;
  }

  /** The suites' one link builder, with the gate's shortest window without allowShortStabilityWindow (4 polls). */
  const resource = (names: Names, over: Record<string, unknown> = {}): DeclaredResource =>
    linkResource(
      rig,
      { dag: names.dag, ag: names.ag, db: names.db },
      { lsnStabilityWindowInMs: 400, ...over },
    );

  const accepted = (method: string, pathPattern: RegExp) =>
    rig.sandbox.arm.requests
      .filter({ method, pathPattern })
      .filter((r) => (r.status >= 200 && r.status < 300) || (r.unsentStatus ?? 0) >= 200).length;
  const applied = (pattern: RegExp) =>
    (['sqlServer', 'managedInstance'] as const)
      .flatMap((side) => rig.sandbox.sqlEndpoints[side].applied())
      .filter((e) => pattern.test(e.sql)).length;

  /** Destructive or irreversible calls on this link, each at most once over its whole life. */
  const destructive = (names: Names) => () => ({
    'ARM DELETE link': accepted('DELETE', new RegExp(`/distributedAvailabilityGroups/${names.dag}$`)),
    'ARM POST failover': accepted(
      'POST',
      new RegExp(`/distributedAvailabilityGroups/${names.dag}/failover$`),
    ),
    'T-SQL FAILOVER': applied(new RegExp(`\\[${names.dag}\\] FAILOVER`)),
    'DROP DAG': applied(new RegExp(`^DROP AVAILABILITY GROUP \\[${names.dag}\\]`)),
    'DROP AG': applied(new RegExp(`^DROP AVAILABILITY GROUP \\[${names.ag}\\]`)),
    'ALTER … SYNCHRONOUS_COMMIT': applied(new RegExp(`\\[${names.dag}\\][\\s\\S]* SYNCHRONOUS_COMMIT`)),
  });

  type Engine = ReturnType<Rig['engine']>;
  function subject(names: Names, engine: Engine, run: () => Promise<StepResult[]>): Subject {
    return {
      names,
      engine,
      run,
      summary: async (result) => summary(names, engine, result),
      destructive: destructive(names),
    };
  }

  /** The key outputs and what the world says of the link. */
  function summary(names: Names, engine: Engine, result: StepResult[]): Record<string, unknown> {
    const out = result[0]?.outputs ?? {};
    const link = rig.sandbox.link.snapshot().links.find((l) => l.name === names.dag);
    const ags = rig.sandbox.link.snapshot().sqlServer.availabilityGroups.map((a) => a.name);
    return {
      op: result[0]?.op,
      state: engine.state().resources.length,
      sqlServerReplicationMode: out.sqlServerReplicationMode,
      managedInstanceReplicationMode: out.managedInstanceReplicationMode,
      cutoverAt: typeof out.cutoverAt === 'string',
      linkState: out.linkState,
      forcedFailover: out.forcedFailover,
      failoverRouteUsed: out.failoverRouteUsed,
      finalLsns: Object.keys((out.finalLsns as object | null | undefined) ?? {}).map((k) =>
        template(k, names),
      ),
      world: link
        ? { primary: link.primary, onSqlServer: link.onSqlServer, onManagedInstance: link.onManagedInstance }
        : 'gone',
      sqlServerAgs: ags.filter((a) => a === names.dag || a === names.ag).map((a) => template(a, names)),
    };
  }

  const SETTLE_MS = 120_000;
  const SECRET_INPUTS = ['sqlServer', 'managedInstanceSql'];

  /** An operation on a fresh established link with its own state file; `prepare` brings it to the operation. */
  const linkOperation = (
    name: string,
    prepare: (names: Names, engine: Engine) => Promise<Subject>,
  ): Operation => ({
    name,
    settleMs: SETTLE_MS,
    secretOutputs: SECRET_INPUTS,
    async fresh() {
      const names = freshLink();
      return prepare(names, rig.engine(`crash-${names.dag}`));
    },
  });

  const syncSwitch = linkOperation('sync switch', async (names, engine) => {
    await engine.up([resource(names)]);
    return subject(names, engine, () => engine.up([resource(names, { replicationMode: 'Sync' })]));
  });

  const cutover = (route: 'tsqlFailover' | 'breakLink'): Operation =>
    linkOperation(`cutover (${route})`, async (names, engine) => {
      const over = { replicationMode: 'Sync', failoverRoute: route };
      await engine.up([resource(names, over)]);
      return subject(names, engine, () => engine.up([resource(names, { ...over, cutover: true })]));
    });

  /**
   * The forced route: a workload that never stops keeps the LSN gate from passing; with allowDataLoss the cutover
   * forces the failover on the managed instance (ARM POST ForcedAllowDataLoss), ends the split brain on SQL Server
   * (SET ROLE = SECONDARY) and removes the link. The one data-losing call must never be sent twice.
   */
  const cutoverForced = linkOperation('cutover (forced)', async (names, engine) => {
    const over = { replicationMode: 'Sync', failoverRoute: 'tsqlFailover' };
    await engine.up([resource(names, over)]);
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    const forced = {
      ...over,
      cutover: true,
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
      lsnDeadlineInMs: 1_000,
    };
    const s = subject(names, engine, () => engine.up([resource(names, forced)]));
    // A run resumed after the interrupted one had failed over and ended the split brain cannot tell a forced
    // failover from a planned one (nothing either side shows afterwards says which): it must say unknown
    // (null), never false. So here "forced" is true or unknown, and false is the failure.
    return {
      ...s,
      summary: async (result) => {
        const sum = await s.summary(result);
        const forcedSeen = sum.forcedFailover;
        if (forcedSeen === null) forcedUnknown++;
        return { ...sum, forcedFailover: forcedSeen === false ? false : 'true or unknown (null)' };
      },
    };
  });

  const cleanup = linkOperation('cleanup', async (names, engine) => {
    const over = { replicationMode: 'Sync', cleanup: 'linkAndAvailabilityGroup' };
    await engine.up([resource(names, over)]);
    await engine.up([resource(names, { ...over, cutover: true })]);
    rig.sandbox.link.takeFirstFullBackup(names.db);
    return subject(names, engine, () => engine.destroy());
  });

  /** Destroy before any cutover, with beforeCutoverDelete 'breakLink': the link removed on the managed instance. */
  const destroyBeforeCutover = linkOperation('destroy before cutover (breakLink)', async (names, engine) => {
    await engine.up([resource(names, { beforeCutoverDelete: 'breakLink' })]);
    return subject(names, engine, () => engine.destroy());
  });

  itEveryBoundary(
    () => rig,
    [syncSwitch, cutover('tsqlFailover'), cutover('breakLink'), cutoverForced, cleanup, destroyBeforeCutover],
    tally,
    scan,
  );
});
