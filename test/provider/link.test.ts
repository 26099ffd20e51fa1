/**
 * DistributedAvailabilityGroupLink through the real Pulumi provider host (gRPC), against the sandbox: the
 * ARM stand-in (link contract) and two TDS stand-ins playing SQL Server and the managed instance, reached
 * by the real mssql/tedious client over TLS.
 */
import assert from 'node:assert/strict';
import { armShape, markTraffic, statementName, trafficSince } from '../../sandbox/cutoverReport';
import { linkResource, type Rig, startRig, until } from './rig';

describe('DistributedAvailabilityGroupLink lifecycle (provider host + sandbox)', function () {
  this.timeout(180_000);
  let rig: Rig;
  let n = 0;

  before(async () => {
    // The managed instance runs in UTC+2 (msdb dates are local time there). Its first full backup after a
    // cutover comes when a test says so (takeFirstFullBackup), never on a timer the test would race.
    rig = await startRig({
      link: { firstBackupDelayMs: 24 * 3_600_000, managedInstance: { utcOffsetMinutes: 120 } },
    });
  });
  after(async () => {
    await rig?.stop();
  });

  /**
   * A fresh link with its own AG and database(s), so each test starts from a clean runbook state.
   * `sqlServerMember`: the managed instance's member name in SQL Server's DAG (older links: the instance).
   */
  function freshLink(options: { databases?: number; sqlServerMember?: string } = {}) {
    n++;
    const names = { dag: `DAG_${n}`, ag: `AG_${n}`, miAg: `MI_AG_${n}`, db: `Orders${n}` };
    const dbs = [
      names.db,
      ...Array.from({ length: (options.databases ?? 1) - 1 }, (_, k) => `Lines${n}_${k}`),
    ];
    rig.sandbox.link.establishLink({
      name: names.dag,
      sqlServerAg: names.ag,
      miAg: names.miAg,
      databases: dbs,
      sqlServerMember: options.sqlServerMember,
    });
    return { ...names, dbs };
  }

  const resource = (names: ReturnType<typeof freshLink>, over: Record<string, unknown> = {}) =>
    linkResource(rig, names, over);

  const settle = (p: Promise<unknown>) =>
    p.then(
      () => 'finished',
      (e: Error) => e.message,
    );

  /** A fresh link, switched to sync and cut over, whose destroy may drop the DAG and the AG. */
  async function cutOverForCleanup(stack: string) {
    const names = freshLink();
    const engine = rig.engine(`${stack}-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    await engine.up([
      resource(names, { replicationMode: 'Sync', cutover: true, cleanup: 'linkAndAvailabilityGroup' }),
    ]);
    return { names, engine };
  }

  const changes = (side: 'sqlServer' | 'managedInstance') =>
    rig.sandbox.sqlEndpoints[side].changes().map((c) => c.sql);

  it('attaches, switches to sync on both sides (verified by DMV) and back', async () => {
    const names = freshLink();
    const engine = rig.engine(`mode-${n}`);
    const [created] = await engine.up([resource(names)]);
    assert.equal(created.outputs!.sqlServerReplicationMode, 'ASYNCHRONOUS_COMMIT');
    const dbs = created.outputs!.databases as { managedInstanceLastHardenedLsn: string }[];
    assert.match(dbs[0].managedInstanceLastHardenedLsn, /^\d{17,}$/, 'LSNs as exact strings above 2^53');

    const [plan] = await engine.preview([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(plan.op, 'update');
    assert.ok(engine.lastLogs.some((l) => /ARM PATCH replicationMode=Sync/.test(l)));
    const [sync] = await engine.up([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(sync.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    assert.equal(sync.outputs!.managedInstanceReplicationMode, 'Sync');
    assert.equal(
      rig.sandbox.arm.requests.count({ method: 'PATCH', pathPattern: new RegExp(`${names.dag}$`) }),
      1,
    );
    assert.ok(
      changes('sqlServer').some((s) => s.includes(`[${names.dag}]`) && s.includes('SYNCHRONOUS_COMMIT')),
    );

    const [back] = await engine.up([resource(names, { replicationMode: 'Async' })]);
    assert.equal(back.outputs!.sqlServerReplicationMode, 'ASYNCHRONOUS_COMMIT');
  });

  it('logs in to the managed instance with Entra ID through DefaultAzureCredential', async () => {
    const names = freshLink();
    const engine = rig.engine(`entra-${n}`);
    const entra = {
      server: '127.0.0.1',
      port: rig.sandbox.miTds.port,
      authentication: 'entra',
      caCertificate: rig.sandbox.tdsCa,
    };
    const [created] = await engine.up([resource(names, { managedInstanceSql: entra })]);
    const dbs = created.outputs!.databases as { managedInstanceLastHardenedLsn: string | null }[];
    assert.match(String(dbs[0].managedInstanceLastHardenedLsn), /^\d+$/);
    const last = rig.sandbox.sqlEndpoints.managedInstance.executed.at(-1)!;
    assert.equal(last.user, 'sandbox-managed-identity', 'the statement ran as the token identity');
  });

  it('cutover waits for a running workload to stop, then fails over by T-SQL (SQL Server 2022 CU13)', async () => {
    const names = freshLink();
    const engine = rig.engine(`cut-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    const run = engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
    await until('the gate to see moving LSNs', () =>
      rig.logs.some((l) => l.includes(names.db) && /LSNs still moving/.test(l)),
    );
    rig.sandbox.link.stopWorkload({ database: names.db });
    const [done] = await run;
    assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
    assert.equal(done.outputs!.forcedFailover, false);
    assert.ok(done.outputs!.cutoverAt);
    assert.ok(changes('sqlServer').some((s) => s.includes(`[${names.dag}] FAILOVER`)));
    const db = rig.sandbox.link.snapshot().managedInstance.databases.find((d) => d.name === names.db)!;
    assert.deepEqual([db.state, db.readOnly], ['ONLINE', false]);
  });

  it('a gate that cannot pass times out with the last LSNs and fails over nothing without consent', async () => {
    const names = freshLink();
    const engine = rig.engine(`gate-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    const before = changes('sqlServer').length;
    await assert.rejects(
      engine.up([resource(names, { replicationMode: 'Sync', cutover: true, lsnDeadlineInMs: 2_000 })]),
      (e: Error) => {
        assert.match(e.message, /LsnGateNotPassed/);
        assert.match(e.message, new RegExp(`Last state seen: ${names.db}: SQL Server hardened \\d+`));
        assert.match(e.message, /allowDataLoss/);
        return true;
      },
    );
    rig.sandbox.link.stopWorkload({ database: names.db });
    assert.equal(changes('sqlServer').length, before, 'no ALTER/DROP ran');
    assert.equal(rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: new RegExp(names.dag) }), 0);
  });

  it('with consent, a broken replication is forced over by breaking the link, loudly (SQL Server 2019 route)', async () => {
    rig.sandbox.link.setVersion('15.0.4365.2', null);
    try {
      const names = freshLink();
      const engine = rig.engine(`forced-${n}`);
      await engine.up([resource(names, { replicationMode: 'Sync' })]);
      rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
      rig.sandbox.link.breakReplication();
      const [done] = await engine.up([
        resource(names, {
          replicationMode: 'Sync',
          cutover: true,
          lsnDeadlineInMs: 1_500,
          allowDataLoss: true,
          afterForcedFailover: 'setSqlServerSecondary',
        }),
      ]);
      rig.sandbox.link.restoreReplication();
      rig.sandbox.link.stopWorkload({ database: names.db });
      assert.equal(done.outputs!.forcedFailover, true);
      assert.equal(done.outputs!.failoverRouteUsed, 'breakLink');
      assert.ok(rig.logs.some((l) => l.includes('DATA MAY BE LOST')));
      assert.equal(
        rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: new RegExp(`${names.dag}$`) }),
        1,
      );
    } finally {
      rig.sandbox.link.setVersion('16.0.4125.3', 'CU13');
    }
  });

  it('delete before cutover is refused with the choices; forget removes it from the stack only', async () => {
    const names = freshLink();
    const engine = rig.engine(`keep-${n}`);
    await engine.up([resource(names)]);
    const before = changes('sqlServer').length;
    await assert.rejects(
      engine.destroy(),
      /Refusing to delete the link .* before cutover[\s\S]*beforeCutoverDelete/,
    );
    await engine.up([resource(names, { beforeCutoverDelete: 'forget' })]);
    await engine.destroy();
    assert.equal(engine.state().resources.length, 0);
    assert.equal(changes('sqlServer').length, before);
    assert.ok(rig.sandbox.link.snapshot().links.some((l) => l.name === names.dag && l.onManagedInstance));
  });

  it('cleanup after cutover waits for the first full backup, then drops the DAG and the unused AG; a crash in between resumes', async () => {
    const { names, engine } = await cutOverForCleanup('clean');
    const destroy = settle(engine.destroy());
    await until('cleanup to wait for the first full backup', () =>
      rig.logs.some((l) =>
        l.includes(`waiting for the managed instance's first full backup of ${names.db}:`),
      ),
    );
    assert.ok(
      !changes('sqlServer').some((s) => s.includes(`DROP AVAILABILITY GROUP [${names.dag}]`)),
      'no drop before the backup',
    );
    await engine.kill();
    assert.notEqual(await destroy, 'finished');
    rig.sandbox.link.takeFirstFullBackup(names.db);
    await engine.destroy();
    const drops = changes('sqlServer').filter((s) => s.startsWith('DROP'));
    assert.ok(drops.includes(`DROP AVAILABILITY GROUP [${names.dag}];`), drops.join('\n'));
    assert.ok(drops.includes(`DROP AVAILABILITY GROUP [${names.ag}];`), drops.join('\n'));
    assert.equal(engine.state().resources.length, 0);
  });

  it('a crash during the LSN gate resumes on the next up', async () => {
    const names = freshLink();
    const engine = rig.engine(`crashgate-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    const declared = resource(names, { replicationMode: 'Sync', cutover: true });
    const run = settle(engine.up([declared]));
    await until('the gate to run', () =>
      rig.logs.some((l) => l.includes('waiting for the LSN gate') && l.includes(names.db)),
    );
    await engine.kill();
    assert.notEqual(await run, 'finished');
    rig.sandbox.link.stopWorkload({ database: names.db });
    const [done] = await engine.up([declared]);
    assert.ok(done.outputs!.cutoverAt);
    const failovers = changes('sqlServer').filter((s) => s.includes(`[${names.dag}] FAILOVER`));
    assert.equal(failovers.length, 1);
    // And once more: nothing to do, no second failover.
    await engine.up([declared]);
    assert.equal(changes('sqlServer').filter((s) => s.includes(`[${names.dag}] FAILOVER`)).length, 1);
  });

  /** Kills the provider host the moment SQL Server has executed a matching statement (a crash right after it). */
  function crashAfter(engine: { kill(): Promise<void> }, pattern: RegExp): { fired: () => boolean } {
    let fired = false;
    const seen = changes('sqlServer').filter((s) => pattern.test(s)).length;
    rig.sandbox.link.subscribe(() => {
      if (!fired && changes('sqlServer').filter((s) => pattern.test(s)).length > seen) {
        fired = true;
        void engine.kill();
      }
    });
    return { fired: () => fired };
  }

  it('a crash right after the sync switch on SQL Server converges on the next up', async () => {
    const names = freshLink();
    const engine = rig.engine(`crashsync-${n}`);
    await engine.up([resource(names)]);
    const crash = crashAfter(engine, new RegExp(`\\[${names.dag}\\][\\s\\S]*SYNCHRONOUS_COMMIT`));
    const first = await settle(engine.up([resource(names, { replicationMode: 'Sync' })]));
    assert.ok(crash.fired());
    assert.notEqual(first, 'finished');
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(done.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    assert.equal(done.outputs!.managedInstanceReplicationMode, 'Sync');
    const alters = changes('sqlServer').filter(
      (s) => s.includes(`[${names.dag}]`) && s.includes(' SYNCHRONOUS_COMMIT'),
    );
    assert.equal(alters.length, 1, 'no second ALTER: the resumed run saw the switch already done');
  });

  it('a crash right after the failover call converges without a second failover', async () => {
    const names = freshLink();
    const engine = rig.engine(`crashfo-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const crash = crashAfter(engine, new RegExp(`\\[${names.dag}\\] FAILOVER`));
    const declared = resource(names, { replicationMode: 'Sync', cutover: true });
    assert.notEqual(await settle(engine.up([declared])), 'finished');
    assert.ok(crash.fired());
    const [done] = await engine.up([declared]);
    assert.ok(done.outputs!.cutoverAt);
    assert.equal(done.outputs!.linkState, 'Removed', 'the resumed run still removes the link');
    assert.equal(changes('sqlServer').filter((s) => s.includes(`[${names.dag}] FAILOVER`)).length, 1);
  });

  it('a crash between the two DROPs converges on the next destroy', async () => {
    const { names, engine } = await cutOverForCleanup('crashdrop');
    rig.sandbox.link.takeFirstFullBackup(names.db);
    const crash = crashAfter(engine, new RegExp(`^DROP AVAILABILITY GROUP \\[${names.dag}\\]`));
    assert.notEqual(await settle(engine.destroy()), 'finished');
    assert.ok(crash.fired());
    assert.ok(
      !changes('sqlServer').includes(`DROP AVAILABILITY GROUP [${names.ag}];`),
      'crashed before the AG drop',
    );
    await engine.destroy();
    const drops = changes('sqlServer').filter(
      (s) => s.startsWith('DROP') && (s.includes(names.dag) || s.includes(names.ag)),
    );
    assert.deepEqual(drops, [
      `DROP AVAILABILITY GROUP [${names.dag}];`,
      `DROP AVAILABILITY GROUP [${names.ag}];`,
    ]);
    assert.equal(engine.state().resources.length, 0);
  });

  it('Business Critical: the gate reads only the primary replica of the managed instance', async () => {
    const mi = rig.sandbox.instance as { tier: string };
    mi.tier = 'BusinessCritical';
    rig.sandbox.link.setTier('BusinessCritical', 2);
    try {
      const names = freshLink();
      const engine = rig.engine(`bc-${n}`);
      await engine.up([resource(names, { replicationMode: 'Sync' })]);
      const [done] = await engine.up([
        resource(names, { replicationMode: 'Sync', cutover: true, lsnDeadlineInMs: 10_000 }),
      ]);
      assert.ok(done.outputs!.cutoverAt);
      assert.equal(done.outputs!.forcedFailover, false);
      const lsnQueries = rig.sandbox.sqlEndpoints.managedInstance.executed.filter((e) =>
        /last_hardened_lsn/.test(e.sql),
      );
      assert.ok(lsnQueries.at(-1)!.sql.includes('drs.is_primary_replica = 1'));
    } finally {
      mi.tier = 'GeneralPurpose';
      rig.sandbox.link.setTier('GeneralPurpose', 0);
    }
  });

  // ---------- issue 7: behave as the real service does ----------

  it('point 7: a disconnected link with the tail of the log missing never passes the gate (SQL Server row by is_local)', async () => {
    rig.sandbox.link.setVersion('15.0.4365.2', null);
    try {
      const names = freshLink();
      const engine = rig.engine(`local-${n}`);
      await engine.up([resource(names, { replicationMode: 'Sync' })]);
      rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
      rig.sandbox.link.breakReplication();
      rig.sandbox.link.stopWorkload({ database: names.db });
      await assert.rejects(
        engine.up([resource(names, { replicationMode: 'Sync', cutover: true, lsnDeadlineInMs: 2_000 })]),
        (e: Error) => {
          assert.match(e.message, /LsnGateNotPassed/);
          assert.match(e.message, /DISCONNECTED|NOT SYNCHRONIZING/);
          return true;
        },
      );
      assert.equal(
        rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: new RegExp(`${names.dag}$`) }),
        0,
        'the link was not broken',
      );
    } finally {
      rig.sandbox.link.restoreReplication();
      rig.sandbox.link.setVersion('16.0.4125.3', 'CU13');
    }
  });

  it('issue 9: reads all databases of the link in one query per side per reading', async () => {
    const names = freshLink({ databases: 3 });
    const engine = rig.engine(`onequery-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const from = {
      sql: rig.sandbox.sqlEndpoints.sqlServer.executed.length,
      mi: rig.sandbox.sqlEndpoints.managedInstance.executed.length,
    };
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
    assert.ok(done.outputs!.cutoverAt);
    const lsnReads = (side: 'sqlServer' | 'managedInstance', start: number) =>
      rig.sandbox.sqlEndpoints[side].executed.slice(start).filter((e) => /last_hardened_lsn/.test(e.sql));
    const sql = lsnReads('sqlServer', from.sql);
    const mi = lsnReads('managedInstance', from.mi);
    assert.ok(sql.length > 0);
    assert.ok(
      sql.every((e) => e.statement === 'sqlServerLsns' && !('db' in e.params)),
      'one query for the DAG, no per-database parameter',
    );
    assert.ok(mi.every((e) => !('db' in e.params)));
    assert.equal(sql.length, mi.length, 'one query per side per reading');
    const dbs = done.outputs!.databases as { databaseName: string }[];
    assert.deepEqual(dbs.map((d) => d.databaseName).sort(), [...names.dbs].sort());
  });

  it('issue 9: the cutover ends on the GET that saw the link removed (outputs from it), destroy reads the link once', async () => {
    const names = freshLink();
    const engine = rig.engine(`counts-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const mark = markTraffic(rig.sandbox);
    const [done] = await engine.up([
      resource(names, { replicationMode: 'Sync', cutover: true, cleanup: 'linkAndAvailabilityGroup' }),
    ]);
    const cut = trafficSince(rig.sandbox, mark);
    const shapes = cut.arm.map((r) => `${armShape(r)} ${r.status}`);
    const dag = new RegExp(`${names.dag}$`);
    const gone = cut.arm.filter((r) => r.method === 'GET' && dag.test(r.path) && r.status === 404);
    assert.equal(gone.length, 1, shapes.join('\n'));
    assert.equal(cut.arm.at(-1), gone[0], 'nothing read after the removal was verified');
    assert.equal(done.outputs!.linkState, 'Removed');
    assert.equal(done.outputs!.linkRemovedAtFailover, true);
    assert.equal(done.outputs!.instanceLinkRole, null);
    // Start (mode, role) · instance · right before the failover, then until Primary (≥1) · DELETE · its
    // operation (≥1) · 404: the minimum, 7 requests, when each wait needs one reading (repeats collapsed here).
    const steps = shapes.filter((x, k) => x !== shapes[k - 1]);
    assert.deepEqual(steps, [
      'GET managedInstances/{mi}/distributedAvailabilityGroups/{dag} 200',
      'GET managedInstances/{mi} 200',
      'GET managedInstances/{mi}/distributedAvailabilityGroups/{dag} 200',
      'DELETE managedInstances/{mi}/distributedAvailabilityGroups/{dag} 202',
      'GET locations/{loc}/distributedAvailabilityGroupsAzureAsyncOperation/{id} 200',
      'GET managedInstances/{mi}/distributedAvailabilityGroups/{dag} 404',
    ]);
    assert.equal(
      cut.arm.filter((r) => r.method === 'GET' && dag.test(r.path) && r.status === 200).length,
      3,
      'the link read at the start, right before the failover and once Primary',
    );

    // T-SQL besides the LSN readings: SQL Server's version and replicas at the start, the FAILOVER, the
    // replicas once after it (the outputs: SQL Server's new role); the managed instance's clock comes with
    // its LSN readings (no utcNow of its own).
    const besidesLsns = (side: 'sqlServer' | 'managedInstance') =>
      cut[side].map(statementName).filter((x) => !/lsn/i.test(x));
    assert.deepEqual(besidesLsns('sqlServer').sort(), [
      'dagReplicas',
      'dagReplicas',
      'failoverDag',
      'serverInfo',
    ]);
    assert.deepEqual([...new Set(besidesLsns('managedInstance'))], ['databaseState']);
    assert.equal(done.outputs!.sqlServerRole, 'SECONDARY');

    rig.sandbox.link.takeFirstFullBackup(names.db);
    const before = markTraffic(rig.sandbox);
    await engine.destroy();
    const clean = trafficSince(rig.sandbox, before);
    const sent = (side: 'sqlServer' | 'managedInstance') => clean[side].map(statementName);
    // ARM: GET link (404: no DELETE). SQL Server: the DAG exists · DROP DAG · the AG and what uses it · DROP AG.
    assert.deepEqual(
      clean.arm.map((r) => `${armShape(r)} ${r.status}`),
      ['GET managedInstances/{mi}/distributedAvailabilityGroups/{dag} 404'],
    );
    assert.deepEqual(sent('sqlServer'), [
      'availabilityGroupByName',
      'dropAvailabilityGroup',
      'availabilityGroupUsage',
      'dropAvailabilityGroup',
    ]);
    assert.deepEqual(sent('managedInstance'), ['firstFullBackupOnMi']);
  });

  it('point 12: the sync switch names the managed instance as SQL Server knows it (an older link names the instance)', async () => {
    const names = freshLink({ sqlServerMember: rig.sandbox.instance.name });
    const engine = rig.engine(`member-${n}`);
    await engine.up([resource(names)]);
    const [sync] = await engine.up([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(sync.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    const alter = changes('sqlServer').find(
      (s) => s.includes(`[${names.dag}]`) && s.includes(' SYNCHRONOUS_COMMIT'),
    );
    assert.ok(alter?.includes(`N'${rig.sandbox.instance.name}'`), alter);
  });

  it('point 10: the cutover removes the link by default; keepLinkAfterFailover keeps it for failback (both shown in preview)', async () => {
    const names = freshLink();
    const engine = rig.engine(`remove-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    await engine.preview([resource(names, { replicationMode: 'Sync', cutover: true })]);
    assert.ok(
      engine.lastLogs.some((l) => /remove the link .*ARM DELETE/.test(l) && /keepLinkAfterFailover/.test(l)),
      engine.lastLogs.join('\n'),
    );
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
    assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
    assert.equal(done.outputs!.linkState, 'Removed');
    assert.ok(!rig.sandbox.link.snapshot().links.some((l) => l.name === names.dag && l.onManagedInstance));

    const kept = freshLink();
    const engine2 = rig.engine(`keep-${n}`);
    await engine2.up([resource(kept, { replicationMode: 'Sync', keepLinkAfterFailover: true })]);
    await engine2.preview([
      resource(kept, { replicationMode: 'Sync', cutover: true, keepLinkAfterFailover: true }),
    ]);
    assert.ok(
      engine2.lastLogs.some((l) => /keep the link/.test(l)),
      engine2.lastLogs.join('\n'),
    );
    const [k] = await engine2.up([
      resource(kept, { replicationMode: 'Sync', cutover: true, keepLinkAfterFailover: true }),
    ]);
    assert.equal(k.outputs!.instanceLinkRole, 'Primary');
    assert.equal(
      rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: new RegExp(`${kept.dag}$`) }),
      0,
    );
  });

  it('point 9: the route follows the update policy, decided before the sync switch (Always-up-to-date breaks the link)', async () => {
    const mi = rig.sandbox.instance;
    mi.databaseFormat = 'AlwaysUpToDate';
    try {
      const names = freshLink();
      const engine = rig.engine(`policy-${n}`);
      await engine.up([resource(names)]);
      const before = changes('sqlServer').length;
      const patches = rig.sandbox.arm.requests.count({
        method: 'PATCH',
        pathPattern: new RegExp(`${names.dag}$`),
      });
      await assert.rejects(
        engine.up([
          resource(names, { cutover: true, switchToSyncForCutover: true, failoverRoute: 'tsqlFailover' }),
        ]),
        (e: Error) =>
          /FailoverRouteUnsupported/.test(e.message) && /update policy|AlwaysUpToDate/i.test(e.message),
      );
      assert.equal(changes('sqlServer').length, before, 'refused before the sync switch on SQL Server');
      assert.equal(
        rig.sandbox.arm.requests.count({ method: 'PATCH', pathPattern: new RegExp(`${names.dag}$`) }),
        patches,
        'refused before the sync switch on the managed instance',
      );
      const [done] = await engine.up([resource(names, { cutover: true, switchToSyncForCutover: true })]);
      assert.equal(done.outputs!.failoverRouteUsed, 'breakLink');
      assert.ok(!changes('sqlServer').some((s) => s.includes(`[${names.dag}] FAILOVER`)));
      assert.ok(rig.logs.some((l) => /update policy/i.test(l) && l.includes(names.dag)));
    } finally {
      delete mi.databaseFormat;
    }
  });

  it('point 9: SQL Server 2025 fails over by T-SQL only with the SQL Server 2025 update policy', async () => {
    const mi = rig.sandbox.instance;
    rig.sandbox.link.setVersion('17.0.1000.7', 'RTM');
    mi.databaseFormat = 'SQLServer2025';
    try {
      const names = freshLink();
      const engine = rig.engine(`sql2025-${n}`);
      await engine.up([resource(names, { replicationMode: 'Sync' })]);
      const [done] = await engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
      assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
      // The SQL Server 2022 policy does not fit SQL Server 2025: the link is broken instead.
      mi.databaseFormat = 'SQLServer2022';
      const other = freshLink();
      const engine2 = rig.engine(`sql2025b-${n}`);
      await engine2.up([resource(other, { replicationMode: 'Sync' })]);
      const [broken] = await engine2.up([resource(other, { replicationMode: 'Sync', cutover: true })]);
      assert.equal(broken.outputs!.failoverRouteUsed, 'breakLink');
    } finally {
      delete mi.databaseFormat;
      rig.sandbox.link.setVersion('16.0.4125.3', 'CU13');
    }
  });

  it('point 8: a forced failover needs afterForcedFailover; setSqlServerSecondary ends the split brain on SQL Server', async () => {
    const names = freshLink();
    const engine = rig.engine(`split-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const [refused] = await engine.preview([
      resource(names, { replicationMode: 'Sync', cutover: true, allowDataLoss: true }),
    ]);
    assert.ok(
      refused.failures.some((f) => f.property === 'afterForcedFailover'),
      JSON.stringify(refused.failures),
    );
    const declared = resource(names, {
      replicationMode: 'Sync',
      cutover: true,
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
      lsnDeadlineInMs: 1_500,
    });
    await engine.preview([declared]);
    assert.ok(
      engine.lastLogs.some((l) => /SET \(ROLE = SECONDARY\)/.test(l)),
      engine.lastLogs.join('\n'),
    );
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    rig.sandbox.link.breakReplication();
    try {
      const [done] = await engine.up([declared]);
      assert.equal(done.outputs!.forcedFailover, true);
      assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
      assert.ok(
        changes('sqlServer').includes(`ALTER AVAILABILITY GROUP [${names.dag}] SET (ROLE = SECONDARY);`),
      );
      const sqlDb = rig.sandbox.link.snapshot().sqlServer.databases.find((d) => d.name === names.db)!;
      assert.equal(sqlDb.readOnly || sqlDb.state === 'RESTORING', true, 'SQL Server no longer takes writes');
    } finally {
      rig.sandbox.link.stopWorkload({ database: names.db });
      rig.sandbox.link.restoreReplication();
    }
  });

  it('issue 8: a crash right after the forced failover call resumes truthfully, without a second POST', async () => {
    const names = freshLink();
    const engine = rig.engine(`crashforced-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const declared = resource(names, {
      replicationMode: 'Sync',
      cutover: true,
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
      lsnDeadlineInMs: 1_500,
    });
    const post = { method: 'POST', pathPattern: new RegExp(`${names.dag}/failover$`) };
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    rig.sandbox.link.breakReplication();
    try {
      const run = settle(engine.up([declared]));
      await until(
        'the forced failover POST to be accepted',
        () => rig.sandbox.arm.requests.count({ ...post, status: 202 }) === 1,
      );
      await engine.kill();
      assert.notEqual(await run, 'finished');
      // The service carries the operation out on its own time; the resumed run finds it done.
      await until('the forced failover to take effect', () => {
        rig.sandbox.world.runDue();
        return rig.sandbox.link
          .snapshot()
          .links.some((l) => l.name === names.dag && l.primary === 'managedInstance');
      });
      const [done] = await engine.up([declared]);
      assert.equal(
        done.outputs!.forcedFailover,
        true,
        'still recorded as forced (SQL Server was still primary)',
      );
      assert.deepEqual(Object.keys(done.outputs!.finalLsns as object), [names.db]);
      assert.equal(rig.sandbox.arm.requests.count(post), 1, 'no second ForcedAllowDataLoss');
      assert.ok(
        changes('sqlServer').includes(`ALTER AVAILABILITY GROUP [${names.dag}] SET (ROLE = SECONDARY);`),
      );
    } finally {
      rig.sandbox.link.stopWorkload({ database: names.db });
      rig.sandbox.link.restoreReplication();
    }
  });

  it('point 13: a link DELETE whose link is already gone (OperationIdNotFound) counts as removed', async () => {
    const names = freshLink();
    const engine = rig.engine(`gone-${n}`);
    await engine.up([resource(names, { beforeCutoverDelete: 'breakLink' })]);
    const fault = rig.sandbox.arm.faults.inject({
      method: 'DELETE',
      pathPattern: new RegExp(`${names.dag}$`),
      kind: 'slow',
      delayMs: 1_500,
    });
    const destroy = settle(engine.destroy());
    // The DELETE arrived; someone removes the link before the service handles it.
    await until('the DELETE to arrive', () => fault.hits === 1);
    rig.sandbox.link.removeManagedInstanceLink(names.dag);
    assert.equal(await destroy, 'finished');
    assert.equal(engine.state().resources.length, 0);
  });

  it('point 11: cleanup waits for a full, not copy-only backup of this database started after the cutover', async () => {
    const names = freshLink();
    const engine = rig.engine(`backup-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    // An older database of the same name left a full backup an hour ago (UTC+2: it reads as later than now).
    rig.sandbox.link.addOlderDatabaseHistory(
      'managedInstance',
      names.db,
      rig.sandbox.clock.now() - 3_600_000,
    );
    await engine.up([
      resource(names, { replicationMode: 'Sync', cutover: true, cleanup: 'linkAndAvailabilityGroup' }),
    ]);
    const cutAt = rig.sandbox.clock.now();
    const destroy = settle(engine.destroy());
    await until('cleanup to wait for the first full backup', () =>
      rig.logs.some((l) =>
        l.includes(`waiting for the managed instance's first full backup of ${names.db}:`),
      ),
    );
    // A copy-only backup after the cutover does not count either.
    rig.sandbox.link.takeCopyOnlyBackup('managedInstance', names.db);
    const reads = () =>
      rig.sandbox.sqlEndpoints.managedInstance.executed.filter((e) => e.statement === 'firstFullBackupOnMi')
        .length;
    const seen = reads();
    await until('another reading of the backups', () => reads() > seen);
    assert.ok(
      !changes('sqlServer').some((s) => s.includes(`DROP AVAILABILITY GROUP [${names.dag}]`)),
      'nothing dropped on a copy-only backup',
    );
    rig.sandbox.link.takeFirstFullBackup(names.db);
    assert.equal(await destroy, 'finished');
    const drop = rig.sandbox.sqlEndpoints.sqlServer.executed.find(
      (e) => e.sql === `DROP AVAILABILITY GROUP [${names.dag}];`,
    )!;
    const firstFull = rig.sandbox.link
      .snapshot()
      .managedInstance.databases.find((d) => d.name === names.db)!.firstFullBackupAt!;
    assert.ok(firstFull > cutAt);
    assert.ok(drop.at >= firstFull, 'the DAG was dropped only after the real first full backup');
  });

  it('no password appears in state, __provider, outputs, logs or errors', () => {
    const surface = rig.leakSurface();
    for (const side of ['sqlServer', 'managedInstance'] as const) {
      const pw = rig.sandbox.logins[side].password;
      assert.ok(!surface.includes(pw), `${side} password leaked`);
      assert.ok(!rig.texts.link.includes(pw));
    }
  });
});
