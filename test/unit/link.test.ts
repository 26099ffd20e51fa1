import assert from 'node:assert/strict';
import { FakeClock } from '../../provider/core/clock';
import type { MigrationError } from '../../provider/core/errors';
import { checkLinkInputs, type ReadyLink } from '../../provider/core/link/inputs';
import {
  chooseRoute,
  cleanupAfterCutover,
  type CutoverResult,
  cutover,
  deleteLinkResource,
  ensureMode,
  type LinkContext,
  planCutover,
  supportsTsqlFailover,
} from '../../provider/core/link/workflow';
import { knownLag } from '../../provider/azure/dag';
import { sampleOf } from '../../provider/core/link/gate';
import { LsnGate, parseLsn } from '../../provider/core/lsn';
import { waitFor } from '../../provider/runtime/waiter';
import { quoteIdentifier, quoteLiteral } from '../../provider/sql/statements';
import { drive } from './fakes';
import { FakeLinkWorld } from './linkFakes';

const MI =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi-one';
const conn = { server: 'sql1', userName: 'sa', password: 'Secret#1' };
const raw = (over: Record<string, unknown> = {}) => ({
  managedInstanceId: MI,
  linkName: 'DAG',
  sqlServerAvailabilityGroupName: 'AG1',
  databaseNames: ['Sales'],
  sqlServer: conn,
  managedInstanceSql: conn,
  lsnStabilityWindowInMs: 10_000,
  lsnPollIntervalInMs: 1_000,
  lsnDeadlineInMs: 60_000,
  pollIntervalInMs: 1_000,
  ...over,
});

function setup(over: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const world = new FakeLinkWorld();
  const lines: string[] = [];
  const ctx: LinkContext = {
    arm: world.arm,
    sql: world.sql,
    mi: world.mi,
    clock,
    log: (l) => lines.push(l),
    // As OperationContext waits: backoff up to 4 intervals unless the caller sets its own bound.
    wait: (o) =>
      waitFor({
        ...o,
        clock,
        progress: (l) => lines.push(l),
        maxIntervalMs: o.maxIntervalMs ?? o.intervalMs * 4,
      }),
  };
  const c = checkLinkInputs({}, raw(over));
  assert.deepEqual(c.failures, []);
  return { clock, world, ctx, lines, i: c.inputs as ReadyLink };
}

describe('LSNs', () => {
  it('parses above 2^53 exactly and refuses inexact numbers', () => {
    assert.equal(parseLsn('34000000021600001'), 34000000021600001n);
    assert.notEqual(parseLsn('34000000021600001'), parseLsn('34000000021600000'));
    assert.throws(() => parseLsn(34000000021600000), /inexact/);
    assert.equal(parseLsn(null), undefined);
  });
  it('the gate needs equal, known LSNs stable over the window', () => {
    const g = new LsnGate(10_000);
    const s = (a?: bigint, b?: bigint) => [
      { database: 'd', sqlServerHardened: a, managedInstanceHardened: b, sqlServerEndOfLog: a },
    ];
    assert.equal(g.observe(s(5n, undefined), 0).status, 'waiting');
    assert.equal(g.observe(s(5n, 4n), 1000).status, 'waiting');
    assert.equal(g.observe(s(5n, 5n), 2000).status, 'waiting');
    assert.equal(g.observe(s(5n, 5n), 11_000).status, 'waiting');
    assert.equal(g.observe(s(5n, 5n), 12_000).status, 'passed');
    assert.equal(g.observe(s(6n, 6n), 13_000).status, 'waiting', 'movement restarts the window');
    const big = 2n ** 60n;
    assert.match(JSON.stringify(new LsnGate(0).observe(s(big + 1n, big), 0)), /behind by 1 /);
  });
});

describe('link inputs', () => {
  it('rejects an async cutover without consent to switch, and bad names', () => {
    const c = checkLinkInputs(
      {},
      raw({ cutover: true, linkName: 'a\u0001b', databaseNames: ['Sales', 'sales'] }),
    );
    const text = c.failures.map((f) => `${f.property}: ${f.reason}`).join('\n');
    assert.match(text, /replicationMode: replicationMode is 'Async' but cutover needs synchronous commit/);
    assert.match(text, /linkName: linkName contains control characters/);
    assert.match(text, /databaseNames: databaseNames lists 'sales' twice/);
  });
  it('keeps the MI connection encrypted and requires credentials', () => {
    const c = checkLinkInputs({}, raw({ managedInstanceSql: { server: 'mi', encrypt: false } }));
    const text = c.failures.map((f) => f.reason).join('\n');
    assert.match(text, /managedInstanceSql.encrypt must stay on/);
    assert.match(text, /managedInstanceSql.userName is required/);
  });
  it('never echoes a password in a failure', () => {
    const c = checkLinkInputs(
      {},
      raw({ sqlServer: { ...conn, password: 987654321, authentication: 'kerberos' } }),
    );
    assert.ok(c.failures.length >= 2);
    assert.ok(!JSON.stringify(c.failures).includes('987654321'));
  });
  it('quotes identifiers and literals', () => {
    assert.equal(quoteIdentifier('a]b'), '[a]]b]');
    assert.equal(quoteLiteral("o'neil"), "N'o''neil'");
  });
});

describe('link workflow (fake world, fake clock)', () => {
  it('switches to sync on both sides and verifies, then back', async () => {
    const { world, ctx, clock, i } = setup();
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    assert.deepEqual(world.calls, ['arm.mode:Sync', 'sql.mode:SYNCHRONOUS_COMMIT']);
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    assert.equal(world.calls.length, 2, 'idempotent');
    await drive(clock, ensureMode(i, ctx, 'Async'));
    assert.deepEqual(world.calls.slice(2), ['arm.mode:Async', 'sql.mode:ASYNCHRONOUS_COMMIT']);
  });

  it('a mode switch reads the link and the replicas once before and once to verify; none needed, once (issue 9)', async () => {
    const { world, ctx, clock, i } = setup();
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    assert.deepEqual([world.linkReads, world.replicaReads], [2, 2], 'read, PATCH + ALTER, verified');
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    assert.deepEqual([world.linkReads, world.replicaReads], [3, 3], 'already Sync: the one reading verifies');
  });

  it('a T-SQL cutover reads the link at the start, right before the failover and until primary; not again before removing it (issue 9)', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    world.linkReads = 0;
    const r = await drive(clock, cutover(i, ctx), 1000);
    assert.equal(r.route, 'tsqlFailover');
    assert.equal(r.linkRemoved, true);
    assert.ok(world.calls.includes('arm.delete'));
    // Start (mode, role) · right before the irreversible call · the wait's reading that shows it Primary.
    assert.equal(world.linkReads, 3);
  });

  it('waits while the workload runs, then passes the gate and fails over by T-SQL on 2022 CU13', async () => {
    const { world, ctx, clock, i, lines } = setup({ cutover: true, replicationMode: 'Sync' });
    world.workload = 7n;
    world.stopWorkloadAfter = 5;
    const r = await drive(clock, cutover(i, ctx), 1000);
    assert.equal(r.route, 'tsqlFailover');
    assert.equal(r.forced, false);
    assert.ok(world.calls.includes('sql.failover'));
    assert.ok(
      lines.some((l) => /LSNs still moving/.test(l)),
      lines.join('\n'),
    );
    assert.deepEqual(world.miState.Sales, { state: 'ONLINE', readOnly: false });
  });

  it('says the LSNs are still moving only while they move', async () => {
    const { world, ctx, clock, i, lines } = setup({
      cutover: true,
      replicationMode: 'Sync',
      lsnStabilityWindowInMs: 150_000,
      lsnDeadlineInMs: 600_000,
    });
    world.workload = 7n;
    world.stopWorkloadAfter = 5;
    await drive(clock, cutover(i, ctx), 1000);
    const gateLines = lines.filter((l) => l.startsWith('waiting for the LSN gate'));
    assert.ok(
      gateLines.some((l) => /still moving/.test(l)),
      'said while moving',
    );
    const stableHeartbeats = gateLines.filter((l) => /stable for [1-9]\d*s/.test(l));
    assert.ok(stableHeartbeats.length > 0, gateLines.join('\n'));
    for (const l of stableHeartbeats) assert.doesNotMatch(l, /still moving/);
  });

  it('breaks the link on SQL Server 2019 and refuses tsqlFailover there', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    world.version = { productVersion: '15.0.4365.2' };
    assert.equal(supportsTsqlFailover(world.version), false);
    assert.throws(
      () => chooseRoute('tsqlFailover', world.version, 'SQLServer2022'),
      /needs SQL Server 2022 CU13/,
    );
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.route, 'breakLink');
    assert.ok(world.calls.includes('arm.delete'));
  });

  it('times out with the last LSNs and never fails over without consent', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      lsnDeadlineInMs: 20_000,
    });
    world.replicating = false;
    world.workload = 3n;
    await assert.rejects(drive(clock, cutover(i, ctx)), (e: MigrationError) => {
      assert.equal(e.code, 'LsnGateNotPassed');
      assert.match(
        e.describe(),
        /Last state seen: Sales: SQL Server hardened (\d+|NULL) .*end of log \d+.*managed instance hardened 1000/,
      );
      assert.match(e.hint ?? '', /allowDataLoss/);
      return true;
    });
    assert.ok(!world.calls.some((c) => /failover|delete/.test(c)));
  });

  it('forces with consent, loudly', async () => {
    const { world, ctx, clock, i, lines } = setup({
      cutover: true,
      replicationMode: 'Sync',
      lsnDeadlineInMs: 20_000,
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
    });
    world.replicating = false;
    world.workload = 3n;
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.forced, true);
    assert.ok(world.calls.includes('arm.failover:ForcedAllowDataLoss'));
    assert.ok(lines.some((l) => l.includes('DATA MAY BE LOST')));
    // The split brain ends on SQL Server before the link is removed.
    const order = world.calls.filter((c) => /failover|setRole|delete/.test(c));
    assert.deepEqual(order, ['arm.failover:ForcedAllowDataLoss', 'sql.setRoleSecondary', 'arm.delete']);
    assert.equal(world.sqlRole, 'SECONDARY');
  });

  it('resumes after the failover call without failing over twice', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    await drive(clock, cutover(i, ctx));
    const n = world.calls.length;
    const again = await drive(clock, cutover(i, ctx, { cutoverAt: '2026-01-05T09:00:00Z' }));
    assert.equal(world.calls.length, n);
    assert.equal(again.cutoverAt, '2026-01-05T09:00:00Z');
  });

  it('resumes after a crash while the link removal was still bringing the databases read-write', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    // The DELETE of the link went through, the databases are not read-write yet, the DAG is still on SQL Server.
    world.link = undefined;
    world.replicating = false;
    world.readWriteAfter = 3;
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.route, 'breakLink');
    assert.deepEqual(world.calls, [], 'no second failover, no mode switch');
    assert.deepEqual(world.miState.Sales, { state: 'ONLINE', readOnly: false });
  });

  it('resumes after a crash once the link removal after a T-SQL failover ended: the route stays tsqlFailover', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    // The T-SQL FAILOVER made SQL Server secondary, then the link's DELETE ended before state was saved (found by
    // test/provider/crashResume/link.test.ts: the resumed run said breakLink).
    world.sqlRole = 'SECONDARY';
    world.link = undefined;
    world.replicating = false;
    world.readWriteAfter = 0;
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.route, 'tsqlFailover');
    assert.deepEqual(world.calls, [], 'no second failover, no second removal');
  });

  it('records the route, forced, final LSNs and the time right before the failover call, for a failure after it', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    world.failAfterActing.add('failover');
    const record: Partial<CutoverResult> = {};
    await assert.rejects(drive(clock, cutover(i, ctx, undefined, record)), /answer to the failover was lost/);
    assert.equal(record.route, 'tsqlFailover');
    assert.equal(record.forced, false);
    assert.deepEqual(record.finalLsns, { Sales: '1000' });
    assert.equal(record.managedInstanceCutoverAt, '2026-01-05T08:58:00.0000000');
    assert.equal(typeof record.failoverSentAt, 'string');
    assert.equal(record.removalSentAt, undefined, 'the removal was not sent');
  });

  it('records the removal before its DELETE, and breaking the link as both calls', async () => {
    const tsql = setup({ cutover: true, replicationMode: 'Sync' });
    tsql.world.failAfterActing.add('delete');
    const r1: Partial<CutoverResult> = {};
    await assert.rejects(drive(tsql.clock, cutover(tsql.i, tsql.ctx, undefined, r1)), /answer to the delete/);
    assert.ok(r1.failoverSentAt && r1.removalSentAt);
    const brk = setup({ cutover: true, replicationMode: 'Sync', failoverRoute: 'breakLink' });
    brk.world.failAfterActing.add('delete');
    const r2: Partial<CutoverResult> = {};
    await assert.rejects(drive(brk.clock, cutover(brk.i, brk.ctx, undefined, r2)), /answer to the delete/);
    assert.equal(r2.route, 'breakLink');
    assert.equal(r2.removalSentAt, r2.failoverSentAt);
  });

  it('a run after a recorded failover still in flight follows it: no LSN gate, no second call, the recorded LSNs', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    world.calls = [];
    // The failover sent by the failed run ends at the third read of the link from now.
    world.inFlight = {
      afterReads: 3,
      apply: () => {
        world.link = { ...world.link!, instanceLinkRole: 'Primary', partnerLinkRole: 'Secondary' };
        world.sqlRole = 'SECONDARY';
        world.makeReadWrite();
      },
    };
    const readsBefore = world.reads;
    const previous = {
      failoverSentAt: '2026-01-05T08:58:01.000Z',
      route: 'tsqlFailover' as const,
      forced: false,
      finalLsns: { Sales: '999' },
      managedInstanceCutoverAt: '2026-01-05T08:58:00.0000000',
    };
    const r = await drive(clock, cutover(i, ctx, previous), 1000);
    assert.equal(world.reads, readsBefore, 'the LSN gate did not run again');
    assert.deepEqual(world.calls, ['arm.delete'], 'no second failover; the removal (never sent) once');
    assert.equal(r.forced, false);
    assert.deepEqual(r.finalLsns, { Sales: '999' }, 'the LSNs recorded before the call');
    assert.equal(r.managedInstanceCutoverAt, '2026-01-05T08:58:00.0000000');
    assert.equal(r.failoverSentAt, previous.failoverSentAt);
  });

  it('a run after a recorded breakLink DELETE still in flight waits for the removal: no gate, no second DELETE', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      failoverRoute: 'breakLink',
    });
    world.version = { productVersion: '15.0.4365.2' };
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    world.calls = [];
    world.inFlight = {
      afterReads: 4,
      apply: () => {
        world.link = undefined;
        world.replicating = false;
        world.makeReadWrite();
      },
    };
    const readsBefore = world.reads;
    const at = '2026-01-05T08:58:01.000Z';
    const r = await drive(
      clock,
      cutover(i, ctx, {
        failoverSentAt: at,
        removalSentAt: at,
        route: 'breakLink',
        forced: false,
        finalLsns: { Sales: '1000' },
      }),
      1000,
    );
    assert.equal(world.reads, readsBefore, 'the LSN gate did not run again');
    assert.deepEqual(world.calls, [], 'no second DELETE');
    assert.equal(r.route, 'breakLink');
    assert.equal(r.removalSentAt, at);
    assert.deepEqual(r.finalLsns, { Sales: '1000' });
  });

  it('a recorded call that never takes effect within the watch: the cutover runs again from the start, once', async () => {
    const { world, ctx, clock, i, lines } = setup({ cutover: true, replicationMode: 'Sync' });
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    world.calls = [];
    const r = await drive(
      clock,
      cutover(i, ctx, { failoverSentAt: '2026-01-05T08:58:01.000Z', route: 'tsqlFailover', forced: false }),
      1000,
    );
    assert.ok(lines.some((l) => /did not take effect within the watch/.test(l)));
    assert.deepEqual(world.calls, ['sql.failover', 'arm.delete']);
    assert.equal(r.forced, false);
  });

  it('refuses a cutover when the link exists on neither side', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    world.link = undefined;
    world.dagOnSql = false;
    await assert.rejects(drive(clock, cutover(i, ctx)), (e: MigrationError) => e.code === 'LinkNotFound');
  });

  it('cleanup waits for the first full backup, drops the DAG, and the AG only when unused', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      cleanup: 'linkAndAvailabilityGroup',
    });
    await drive(clock, cutover(i, ctx));
    world.backupAfter = 3;
    world.agDatabases = ['Sales', 'Other'];
    const r = await drive(clock, cleanupAfterCutover(i, ctx));
    assert.ok(world.reads > 0);
    assert.equal(r.droppedLink, true);
    assert.equal(r.droppedAvailabilityGroup, false, 'AG holds another database');
    assert.ok(world.calls.includes('sql.drop:DAG'));
    assert.ok(!world.calls.includes('sql.drop:AG1'));
    world.agDatabases = ['Sales'];
    const again = await drive(clock, cleanupAfterCutover(i, ctx));
    assert.equal(again.droppedLink, false, 'DAG already gone');
    assert.equal(again.droppedAvailabilityGroup, true);
  });

  it('destroy after a recorded cutover reads the link twice and asks SQL Server once per AG (issue 9)', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      cleanup: 'linkAndAvailabilityGroup',
      keepLinkAfterFailover: true,
    });
    const cut = await drive(clock, cutover(i, ctx));
    world.backupAfter = 0;
    [world.linkReads, world.replicaReads, world.agReads] = [0, 0, 0];
    const olds = { cutoverAt: cut.cutoverAt, managedInstanceCutoverAt: '2026-01-05T08:30:00.0000000' };
    assert.equal(await drive(clock, deleteLinkResource(i, ctx, olds)), 'cleaned');
    assert.deepEqual(world.calls.slice(-3), ['arm.delete', 'sql.drop:DAG', 'sql.drop:AG1']);
    // The state says cut over: no observation first. ARM: GET link (kept), GET link again when the watch for a
    // removal in flight ends (core/watch.ts), DELETE. SQL Server: the DAG exists · the AG exists and what uses
    // it, in one query.
    assert.deepEqual([world.linkReads, world.replicaReads, world.agReads], [2, 0, 2]);
  });

  it('refuses delete before cutover with the choices, and honours forget and breakLink', async () => {
    const { world, ctx, clock, i } = setup();
    await assert.rejects(
      drive(clock, deleteLinkResource(i, ctx, {})),
      /Refusing to delete the link DAG before cutover/,
    );
    assert.equal(world.calls.length, 0);
    const f = setup({ beforeCutoverDelete: 'forget' });
    assert.equal(await drive(f.clock, deleteLinkResource(f.i, f.ctx, {})), 'forgotten');
    assert.equal(f.world.calls.length, 0);
    const b = setup({ beforeCutoverDelete: 'breakLink' });
    assert.equal(await drive(b.clock, deleteLinkResource(b.i, b.ctx, {})), 'broken');
    assert.deepEqual(b.world.calls, ['arm.delete']);
  });

  it('a destroy breaking the link reads it again after the in-flight watch and sends no second DELETE if it went (issue 8)', async () => {
    // A destroy killed after ARM accepted its DELETE leaves no record; resumed, the link still looks as before.
    const b = setup({ beforeCutoverDelete: 'breakLink' });
    b.world.inFlight = { afterReads: 2, apply: () => (b.world.link = undefined) };
    const started = b.clock.now();
    assert.equal(await drive(b.clock, deleteLinkResource(b.i, b.ctx, {})), 'broken');
    assert.deepEqual(b.world.calls, [], 'no second DELETE');
    // The observation, then one read when the window ends: min(30 s, a quarter of the operation deadline).
    assert.equal(b.world.linkReads, 2);
    assert.equal(b.clock.now() - started, Math.min(30_000, b.i.operationDeadlineInMs / 4));
    // Nothing in flight: the link is still there after the watch and is removed once.
    const c = setup({ beforeCutoverDelete: 'breakLink' });
    assert.equal(await drive(c.clock, deleteLinkResource(c.i, c.ctx, {})), 'broken');
    assert.deepEqual(c.world.calls, ['arm.delete']);
  });

  it('plans mark the failover irreversible and forced paths as data loss', () => {
    const { i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
    });
    const steps = planCutover(i, 'Async');
    assert.ok(steps.some((s) => s.dataLoss));
    assert.ok(steps.some((s) => /switch the link DAG to synchronous/.test(s.action)));
  });
});

describe('link route (update policy, version)', () => {
  const v = (productVersion: string) => ({ productVersion });
  it('T-SQL only with the matching update policy; SQL Server 2025 needs the 2025 policy', () => {
    const cases: [string, string | undefined, string][] = [
      ['16.0.4125.3', 'SQLServer2022', 'tsqlFailover'],
      ['16.0.4125.3', 'sqlserver2022', 'tsqlFailover'],
      ['16.0.4125.3', 'AlwaysUpToDate', 'breakLink'],
      ['16.0.4125.3', 'SQLServer2025', 'breakLink'],
      ['16.0.4125.3', undefined, 'breakLink'],
      ['16.0.4115.5', 'SQLServer2022', 'breakLink'],
      ['17.0.1000.7', 'SQLServer2025', 'tsqlFailover'],
      ['17.0.1000.7', 'SQLServer2022', 'breakLink'],
      ['17.0.1000.7', 'AlwaysUpToDate', 'breakLink'],
      ['15.0.4365.2', 'SQLServer2022', 'breakLink'],
      ['18.0.100.1', 'SQLServer2025', 'breakLink'],
    ];
    for (const [version, policy, route] of cases) {
      assert.equal(chooseRoute('auto', v(version), policy).route, route, `${version} ${policy}`);
    }
    assert.match(
      chooseRoute('auto', v('16.0.4125.3'), 'AlwaysUpToDate').reason,
      /update policy is 'AlwaysUpToDate'/,
    );
    assert.throws(
      () => chooseRoute('tsqlFailover', v('17.0.1000.7'), 'SQLServer2022'),
      /update policy SQLServer2025.*'SQLServer2022'/,
    );
    assert.equal(chooseRoute('breakLink', v('17.0.1000.7'), 'SQLServer2025').route, 'breakLink');
  });

  it('decides the route before the sync switch: a refusal changes nothing', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      switchToSyncForCutover: true,
      failoverRoute: 'tsqlFailover',
    });
    world.databaseFormat = 'AlwaysUpToDate';
    await assert.rejects(drive(clock, cutover(i, ctx)), /FailoverRouteUnsupported|update policy/);
    assert.deepEqual(world.calls, [], 'no PATCH, no ALTER');
    assert.equal(world.reads, 0, 'no gate reading');
  });

  it("takes the instance's cutover time from the gate's last reading, with no clock query of its own (issue 9)", async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, replicationMode: 'Sync' });
    await drive(clock, ensureMode(i, ctx, 'Sync'));
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.managedInstanceCutoverAt, '2026-01-05T08:58:00.0000000');
    assert.equal(world.clockReads, 0);
  });

  it('reads the instance (tier, update policy) once per cutover', async () => {
    const { world, ctx, clock, i } = setup({ cutover: true, switchToSyncForCutover: true });
    await drive(clock, cutover(i, ctx));
    assert.equal(world.instanceReads, 1);
  });

  it('refuses keepLinkAfterFailover when the route can only break the link, before any change', async () => {
    const { world, ctx, clock, i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      keepLinkAfterFailover: true,
    });
    world.version = { productVersion: '15.0.4365.2' };
    await assert.rejects(
      drive(clock, cutover(i, ctx)),
      (e: MigrationError) => e.code === 'KeepLinkImpossible',
    );
    assert.deepEqual(world.calls, []);
  });

  it('removes the link right after a T-SQL failover unless keepLinkAfterFailover', async () => {
    const a = setup({ cutover: true, replicationMode: 'Sync' });
    const r = await drive(a.clock, cutover(a.i, a.ctx));
    assert.equal(r.linkRemoved, true);
    assert.deepEqual(
      a.world.calls.filter((c) => c !== 'arm.mode:Sync' && c !== 'sql.mode:SYNCHRONOUS_COMMIT'),
      ['sql.failover', 'arm.delete'],
    );
    const b = setup({ cutover: true, replicationMode: 'Sync', keepLinkAfterFailover: true });
    const k = await drive(b.clock, cutover(b.i, b.ctx));
    assert.equal(k.linkRemoved, false);
    assert.ok(!b.world.calls.includes('arm.delete'));
    // The outputs take the link from the cutover's last reading (issue 9): gone, or kept and Primary.
    assert.equal(r.linkAfter, undefined);
    assert.equal(k.linkAfter?.instanceLinkRole, 'Primary');
  });
});

describe('link gate readings (local row, witness, timing)', () => {
  const row = (database: string, isLocal: boolean, over: Record<string, unknown> = {}) => ({
    database,
    isLocal,
    syncState: 'SYNCHRONIZED',
    connectedState: 'CONNECTED',
    endOfLog: isLocal ? 200n : 100n,
    hardened: 100n,
    ...over,
  });
  it("picks SQL Server's own row by is_local, whatever the order, and the remote row as witness", () => {
    const mi = [{ database: 'sales', hardened: 100n, primary: true }];
    for (const rows of [
      [row('Sales', false), row('Sales', true)],
      [row('Sales', true), row('Sales', false)],
    ]) {
      const s = sampleOf('Sales', rows, mi);
      assert.equal(s.sqlServerEndOfLog, 200n, 'the local row');
      assert.equal(s.witnessHardened, 100n);
      assert.match(
        JSON.stringify(new LsnGate(0, { requireSynchronized: true }).observe([s], 0)),
        /behind by 100/,
      );
    }
    const onlyRemote = sampleOf('Sales', [row('Sales', false)], mi);
    assert.equal(onlyRemote.sqlServerEndOfLog, undefined, 'no local row: unknown, never the remote row');
    assert.equal(new LsnGate(0).observe([onlyRemote], 0).status, 'waiting');
  });

  it('in sync mode the gate needs CONNECTED and SYNCHRONIZED even when the LSNs are equal', () => {
    const mi = [{ database: 'Sales', hardened: 100n }];
    const equal = (over: Record<string, unknown>) =>
      sampleOf('Sales', [row('Sales', true, { endOfLog: 100n }), row('Sales', false, over)], mi);
    const gate = () => new LsnGate(0, { requireSynchronized: true });
    assert.equal(gate().observe([equal({})], 0).status, 'passed');
    assert.match(
      JSON.stringify(
        gate().observe([equal({ connectedState: 'DISCONNECTED', syncState: 'NOT SYNCHRONIZING' })], 0),
      ),
      /DISCONNECTED/,
    );
    assert.match(JSON.stringify(gate().observe([equal({ syncState: 'SYNCHRONIZING' })], 0)), /SYNCHRONIZING/);
    assert.match(
      JSON.stringify(gate().observe([equal({ hardened: 99n })], 0)),
      /view of the managed instance/,
    );
  });

  it('fails over at most one poll interval after the LSNs settle and the window ends (no back-off)', async () => {
    for (const [window, poll] of [
      [10_000, 1_000],
      [60_000, 5_000],
      [7_000, 2_000],
    ]) {
      const { world, ctx, clock, i } = setup({
        cutover: true,
        replicationMode: 'Sync',
        lsnStabilityWindowInMs: window,
        lsnPollIntervalInMs: poll,
        lsnDeadlineInMs: 600_000,
      });
      world.now = () => clock.now();
      world.workload = 7n;
      world.stopWorkloadAfter = 5;
      let failedOverAt = 0;
      const original = world.sql.failover;
      world.sql.failover = async (dag) => {
        failedOverAt = clock.now();
        await original(dag);
      };
      await drive(clock, cutover(i, ctx), 50);
      // The 5th reading saw the final LSNs: they were stable from then on.
      const settledAt = world.readingTimes[4];
      const overhead = failedOverAt - settledAt - window;
      assert.ok(overhead <= poll + 50, `overhead ${overhead} ms > ${poll} ms (window ${window})`);
    }
  });
});

describe('link inputs (issue 7/8)', () => {
  const failures = (over: Record<string, unknown>) =>
    checkLinkInputs({}, raw(over)).failures.map((f) => `${f.property}: ${f.reason}`);
  it('allowDataLoss needs afterForcedFailover unless the route is breakLink', () => {
    assert.ok(failures({ allowDataLoss: true }).some((f) => f.startsWith('afterForcedFailover:')));
    assert.deepEqual(failures({ allowDataLoss: true, afterForcedFailover: 'setSqlServerSecondary' }), []);
    assert.deepEqual(failures({ allowDataLoss: true, failoverRoute: 'breakLink' }), []);
    assert.ok(failures({ afterForcedFailover: 'maybe' }).some((f) => f.startsWith('afterForcedFailover:')));
  });
  it('rejects a stability window shorter than three poll intervals unless allowShortStabilityWindow', () => {
    assert.ok(failures({ lsnStabilityWindowInMs: 0 }).some((f) => f.startsWith('lsnStabilityWindowInMs:')));
    assert.ok(
      failures({ lsnStabilityWindowInMs: 2_999, lsnPollIntervalInMs: 1_000 }).some((f) =>
        /allowShortStabilityWindow/.test(f),
      ),
    );
    const c = checkLinkInputs({}, raw({ lsnStabilityWindowInMs: 0, allowShortStabilityWindow: true }));
    assert.deepEqual(c.failures, []);
    assert.ok(c.warnings.some((w) => /allowShortStabilityWindow/.test(w.message)));
  });
  it('keepLinkAfterFailover cannot go with failoverRoute breakLink', () => {
    assert.ok(
      failures({ keepLinkAfterFailover: true, failoverRoute: 'breakLink' }).some((f) =>
        f.startsWith('keepLinkAfterFailover:'),
      ),
    );
  });
  it('preview states the route rule, the link removal and the split-brain handling', () => {
    const { i } = setup({
      cutover: true,
      replicationMode: 'Sync',
      allowDataLoss: true,
      afterForcedFailover: 'setSqlServerSecondary',
    });
    const text = planCutover(i, 'Sync')
      .map((s) => s.action)
      .join('\n');
    assert.match(text, /update policy/);
    assert.match(text, /SQL Server 2025/);
    assert.match(text, /remove the link .*ARM DELETE/);
    assert.match(text, /SET \(ROLE = SECONDARY\)/);
  });
});

describe('link cleanup (first backup after the cutover)', () => {
  it('asks for a backup started after the recorded cutover time', async () => {
    const { world, ctx, clock, i } = setup({ cleanup: 'link' });
    world.backupAfter = 0;
    world.link = undefined;
    await drive(clock, cleanupAfterCutover(i, ctx, '2026-01-05T08:30:00.1234567'));
    assert.equal(world.backupSince, '2026-01-05T08:30:00.1234567', "the instance's clock at the cutover");
    await drive(clock, cleanupAfterCutover(i, ctx));
    assert.equal(world.backupSince, '2026-01-05T08:59:00.0000000', "unknown: the instance's clock now");
  });
});

describe('link ARM lag', () => {
  it('never reads a lag of -1 as caught up', () => {
    assert.equal(knownLag(-1), undefined);
    assert.equal(knownLag('0'), undefined);
    assert.equal(knownLag(0), 0);
    assert.equal(knownLag(4), 4);
  });
});
