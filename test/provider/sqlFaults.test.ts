/**
 * SQL faults under the DistributedAvailabilityGroupLink, through the real Pulumi provider host against the
 * sandbox: per-request deadlines (a stalled LSN query ends the gate at its deadline with the last LSNs),
 * transient read errors retried within the deadline, and state-changing statements whose answer was lost
 * verified instead of repeated (at most one applied change per intended change).
 */
import assert from 'node:assert/strict';
import type { ExecutedStatement } from '../../sandbox/sql/endpoint';
import { linkResource, type Rig, startRig, until } from './rig';

describe('DistributedAvailabilityGroupLink under SQL faults (provider host + sandbox)', function () {
  this.timeout(180_000);
  let rig: Rig;
  let n = 0;
  let faultCount = 0;

  before(async () => {
    rig = await startRig({ link: { firstBackupDelayMs: 60_000 } });
  });
  afterEach(() => {
    rig.sandbox.sqlEndpoints.sqlServer.faults.clear();
    rig.sandbox.sqlEndpoints.managedInstance.faults.clear();
  });
  after(async () => {
    console.log(`      (SQL fault scenarios: ${n}, faults injected: ${faultCount})`);
    await rig?.stop();
  });

  const faults = (side: 'sqlServer' | 'managedInstance') => {
    const f = rig.sandbox.sqlEndpoints[side].faults;
    return {
      inject: (spec: Parameters<typeof f.inject>[0]) => {
        faultCount++;
        return f.inject(spec);
      },
    };
  };

  function freshLink() {
    n++;
    const names = { dag: `FDAG_${n}`, ag: `FAG_${n}`, miAg: `FMI_AG_${n}`, db: `Faulty${n}` };
    rig.sandbox.link.establishLink({
      name: names.dag,
      sqlServerAg: names.ag,
      miAg: names.miAg,
      databases: [names.db],
    });
    return names;
  }

  const resource = (names: ReturnType<typeof freshLink>, over: Record<string, unknown> = {}) =>
    linkResource(rig, names, over);

  /** Statements on SQL Server that change state of the named objects: as sent, and as really applied. */
  function changesOf(names: { dag: string } | string[], pattern: RegExp) {
    const objects = Array.isArray(names) ? names : [names.dag];
    const mine = (e: ExecutedStatement) =>
      objects.some((o) => e.sql.includes(`[${o}]`)) && pattern.test(e.sql);
    const ep = rig.sandbox.sqlEndpoints.sqlServer;
    return { sent: ep.changes().filter(mine).length, applied: ep.applied().filter(mine).length };
  }
  const TO_SYNC = / SYNCHRONOUS_COMMIT/;
  const FAILOVER = /\] FAILOVER/;

  it('a stalled LSN query fails the gate at its deadline with the last LSNs, and the query is cancelled', async () => {
    const names = freshLink();
    const engine = rig.engine(`stall-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    rig.sandbox.link.startWorkload({ database: names.db, lsnPerSecond: 50 });
    const declared = resource(names, { replicationMode: 'Sync', cutover: true, lsnDeadlineInMs: 3_000 });
    const run = engine.up([declared]).then(
      () => 'finished',
      (e: Error) => e,
    );
    await until('the gate to have LSN readings', () =>
      rig.logs.some((l) => l.includes('waiting for the LSN gate') && l.includes(names.db)),
    );
    const stall = faults('sqlServer').inject({ kind: 'stall', statement: 'sqlServerLsns' });
    const outcome = await run;
    rig.sandbox.link.stopWorkload({ database: names.db });
    assert.ok(outcome instanceof Error, 'the cutover must not finish');
    assert.match(outcome.message, /LsnGateNotPassed/);
    assert.match(outcome.message, new RegExp(`Last state seen: ${names.db}: SQL Server hardened \\d+`));
    assert.doesNotMatch(outcome.message, /not reachable|Timeout: Request failed/);
    assert.equal(stall.hits, 1);
    const held = rig.sandbox.sqlEndpoints.sqlServer.executed.find((e) => e.fault?.id === stall.id);
    assert.equal(held?.fault?.cancelled, true, 'the provider cancelled the stalled query at the deadline');
    assert.deepEqual(changesOf(names, FAILOVER), { sent: 0, applied: 0 });
  });

  it('a deadlock (1205) and a lock timeout (1222) during reads are retried and the cutover succeeds', async () => {
    const names = freshLink();
    const engine = rig.engine(`deadlock-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    const lsn = faults('sqlServer').inject({ kind: 'error', statement: 'sqlServerLsns', times: 2 });
    const state = faults('managedInstance').inject({
      kind: 'error',
      statement: 'databaseState',
      error: { number: 1222 },
    });
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
    assert.ok(done.outputs!.cutoverAt);
    assert.equal(done.outputs!.forcedFailover, false);
    assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
    assert.equal(lsn.hits, 2);
    assert.equal(state.hits, 1);
    assert.deepEqual(changesOf(names, FAILOVER), { sent: 1, applied: 1 });
  });

  it('a session killed after the sync-switch ALTER was applied is verified, not repeated', async () => {
    const names = freshLink();
    const engine = rig.engine(`killafter-${n}`);
    await engine.up([resource(names)]);
    const kill = faults('sqlServer').inject({ kind: 'kill', statement: 'alterDagMode', when: 'after' });
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(kill.hits, 1);
    assert.equal(done.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    assert.equal(done.outputs!.managedInstanceReplicationMode, 'Sync');
    assert.deepEqual(changesOf(names, TO_SYNC), { sent: 1, applied: 1 });
  });

  it('a connection reset before the ALTER acted is verified, then the ALTER is sent once more', async () => {
    const names = freshLink();
    const engine = rig.engine(`dropbefore-${n}`);
    await engine.up([resource(names)]);
    faults('sqlServer').inject({ kind: 'drop', statement: 'alterDagMode' });
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync' })]);
    assert.equal(done.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    assert.deepEqual(changesOf(names, TO_SYNC), { sent: 2, applied: 1 });
  });

  it('an ALTER whose answer stalls past its time is cancelled, verified and not repeated', async () => {
    const names = freshLink();
    const engine = rig.engine(`stallalter-${n}`);
    await engine.up([resource(names)]);
    faults('sqlServer').inject({ kind: 'stall', statement: 'alterDagMode', when: 'after' });
    const [done] = await engine.up([
      resource(names, { replicationMode: 'Sync', operationDeadlineInMs: 4_000 }),
    ]);
    assert.equal(done.outputs!.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT');
    assert.deepEqual(changesOf(names, TO_SYNC), { sent: 1, applied: 1 });
  });

  it('a FAILOVER whose session is killed after it acted is not sent twice', async () => {
    const names = freshLink();
    const engine = rig.engine(`killfo-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    faults('sqlServer').inject({ kind: 'kill', statement: 'failoverDag', when: 'after' });
    const [done] = await engine.up([resource(names, { replicationMode: 'Sync', cutover: true })]);
    assert.ok(done.outputs!.cutoverAt);
    assert.equal(done.outputs!.failoverRouteUsed, 'tsqlFailover');
    assert.equal(done.outputs!.linkState, 'Removed', 'the cutover removes the link after the failover');
    assert.deepEqual(changesOf(names, FAILOVER), { sent: 1, applied: 1 });
  });

  it('a DROP whose answer is lost (connection reset after acting) is not repeated; cleanup completes', async () => {
    const names = freshLink();
    const engine = rig.engine(`dropdrop-${n}`);
    await engine.up([resource(names, { replicationMode: 'Sync' })]);
    await engine.up([
      resource(names, { replicationMode: 'Sync', cutover: true, cleanup: 'linkAndAvailabilityGroup' }),
    ]);
    faults('sqlServer').inject({ kind: 'drop', statement: 'dropAvailabilityGroup', when: 'after', times: 2 });
    await engine.destroy();
    assert.equal(engine.state().resources.length, 0);
    assert.deepEqual(changesOf([names.dag], /^DROP/), { sent: 1, applied: 1 });
    assert.deepEqual(changesOf([names.ag], /^DROP/), { sent: 1, applied: 1 });
  });

  it('a permanent error on the ALTER fails once with its number and is not retried', async () => {
    const names = freshLink();
    const engine = rig.engine(`permanent-${n}`);
    await engine.up([resource(names)]);
    faults('sqlServer').inject({
      kind: 'error',
      statement: 'alterDagMode',
      error: {
        number: 15151,
        severity: 16,
        message:
          'Cannot alter the availability group, because it does not exist or you do not have permission.',
      },
    });
    await assert.rejects(engine.up([resource(names, { replicationMode: 'Sync' })]), /SqlError\/15151/);
    assert.deepEqual(changesOf(names, TO_SYNC), { sent: 1, applied: 0 });
  });

  it('no password appears in state, logs or errors after the faults', () => {
    const surface = rig.leakSurface();
    for (const side of ['sqlServer', 'managedInstance'] as const) {
      assert.ok(!surface.includes(rig.sandbox.logins[side].password), `${side} password leaked`);
    }
  });
});
