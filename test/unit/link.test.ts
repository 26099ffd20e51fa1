import assert from 'node:assert/strict';
import { FakeClock } from '../../provider/core/clock';
import type { MigrationError } from '../../provider/core/errors';
import { checkLinkInputs, type ReadyLink } from '../../provider/core/link/inputs';
import {
  chooseRoute,
  cleanupAfterCutover,
  cutover,
  deleteLinkResource,
  ensureMode,
  type LinkContext,
  planCutover,
  supportsTsqlFailover,
} from '../../provider/core/link/workflow';
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
    wait: (o) => waitFor({ ...o, clock, progress: (l) => lines.push(l) }),
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
    assert.throws(() => chooseRoute('tsqlFailover', world.version), /needs SQL Server 2022 CU13/);
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
        /Last state seen: Sales: SQL Server hardened \d+ .*managed instance hardened 1000/,
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
    });
    world.replicating = false;
    world.workload = 3n;
    const r = await drive(clock, cutover(i, ctx));
    assert.equal(r.forced, true);
    assert.ok(world.calls.includes('arm.failover:ForcedAllowDataLoss'));
    assert.ok(lines.some((l) => l.includes('DATA MAY BE LOST')));
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

  it('plans mark the failover irreversible and forced paths as data loss', () => {
    const { i } = setup({ cutover: true, replicationMode: 'Sync', allowDataLoss: true });
    const steps = planCutover(i, 'Async');
    assert.ok(steps.some((s) => s.dataLoss));
    assert.ok(steps.some((s) => /switch the link DAG to synchronous/.test(s.action)));
  });
});
