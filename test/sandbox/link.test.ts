/**
 * The Managed Instance link in the sandbox: the pure link world and the T-SQL stand-ins driven by the real
 * mssql/tedious client over TLS (the DAG ARM contract is in linkArm.test.ts).
 */
import * as assert from 'node:assert/strict';
import * as sql from 'mssql';
import * as statements from '../../provider/sql/statements';
import { type LinkSandbox, startLinkSandbox } from '../../sandbox/link';
import { SimClock } from '../../sandbox/world/clock';
import { ServiceError } from '../../sandbox/world/errors';
import {
  EngineError,
  LinkWorld,
  type LinkWorldOptions,
  supportsTsqlLinkFailover,
} from '../../sandbox/world/link';
import { parseDagPut, renderDag, usesNewDagModel } from '../../sandbox/world/linkArm';

const DAG = 'DAG_Sales';
const SQL_AG = 'AG_Sales';
const MI_AG = 'sqlmi-link';
const DB = 'SalesDb';
const BIG_LSN = 34000000021600001n; // above 2^53: a JS number would read 34000000021600000
const SQL2019 = '15.0.4385.2';

function linkedWorld(options: Partial<LinkWorldOptions> = {}): { world: LinkWorld; clock: SimClock } {
  const clock = new SimClock({ speed: 0 });
  const world = new LinkWorld({ clock, managedInstance: { name: MI_AG }, ...options });
  world.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG, databases: [DB] });
  return { world, clock };
}

const dbOn = (world: LinkWorld, side: 'sqlServer' | 'managedInstance', name = DB) => {
  const db = world.snapshot()[side].databases.find((d) => d.name === name);
  assert.ok(db, `${name} on ${side}`);
  return db;
};

function engineError(number: number): (err: unknown) => boolean {
  return (err) => err instanceof EngineError && err.number === number;
}

/** Both sides synchronous (SQL Server by T-SQL semantics, the managed instance by its ARM property). */
function switchToSync(world: LinkWorld): void {
  world.updateReplicationMode(DAG, 'Sync');
  world.alterDagModes('sqlServer', DAG, [
    { name: SQL_AG, mode: 'SYNCHRONOUS_COMMIT' },
    { name: MI_AG, mode: 'SYNCHRONOUS_COMMIT' },
  ]);
}

describe('link world (pure)', () => {
  it('advances the SQL Server LSN with the workload, the managed instance follows with the lag', () => {
    const { world, clock } = linkedWorld();
    world.setLag({ ms: 2_000 });
    world.startWorkload({ lsnPerSecond: 1_000 });
    clock.advance(10_000);
    assert.equal(dbOn(world, 'sqlServer').endOfLogLsn, BIG_LSN + 10_000n);
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 8_000n);
    world.stopWorkload();
    clock.advance(1_000);
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 9_000n);
    clock.advance(5_000);
    assert.equal(dbOn(world, 'sqlServer').endOfLogLsn, BIG_LSN + 10_000n, 'stopped workload: no movement');
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 10_000n, 'caught up');
  });

  it('keeps a backlog in LSN units until it is cleared, and never moves the secondary backwards', () => {
    const { world, clock } = linkedWorld();
    world.setLsn({ database: DB, lsn: BIG_LSN + 100n });
    world.setLag({ lsn: 7n });
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 100n, 'lag never goes backwards');
    world.setLsn({ database: DB, lsn: BIG_LSN + 200n });
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 193n);
    world.setLag({ lsn: 0n });
    clock.advance(1);
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 200n);
  });

  it('stops the managed instance while replication is broken and catches up when restored', () => {
    const { world, clock } = linkedWorld();
    world.startWorkload({ lsnPerSecond: 500 });
    clock.advance(2_000);
    world.breakReplication();
    clock.advance(4_000);
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 1_000n);
    assert.equal(world.snapshot().links[0].connected, false);
    world.restoreReplication();
    assert.equal(dbOn(world, 'managedInstance').lastHardenedLsn, BIG_LSN + 3_000n);
  });

  it('fails over with T-SQL on SQL Server 2022 CU13 only when synchronous and caught up', () => {
    const { world, clock } = linkedWorld({ firstBackupDelayMs: 60_000 });
    assert.ok(supportsTsqlLinkFailover('16.0.4125.3'));
    assert.ok(!supportsTsqlLinkFailover('16.0.4115.5'));
    assert.throws(() => world.tsqlFailover('sqlServer', DAG), engineError(41142), 'async');
    switchToSync(world);
    world.setLag({ lsn: 1n });
    world.setLsn({ database: DB, lsn: BIG_LSN + 10n });
    assert.throws(() => world.tsqlFailover('sqlServer', DAG), engineError(41142), 'not caught up');
    world.setLag({ lsn: 0n });
    world.tsqlFailover('sqlServer', DAG);
    const link = world.snapshot().links[0];
    assert.equal(link.primary, 'managedInstance');
    assert.deepEqual(
      { state: dbOn(world, 'sqlServer').state, readOnly: dbOn(world, 'sqlServer').readOnly },
      { state: 'ONLINE', readOnly: true },
    );
    assert.equal(dbOn(world, 'managedInstance').readOnly, false);
    assert.equal(world.backups('managedInstance', DB).length, 0, 'first full backup not yet taken');
    clock.advance(60_000);
    const [backup] = world.backups('managedInstance', DB);
    assert.equal(backup.type, 'D');
    assert.throws(() => world.tsqlFailover('managedInstance', DAG), engineError(41122));
  });

  it('refuses T-SQL FAILOVER on SQL Server 2019', () => {
    const { world } = linkedWorld({ sqlServer: { version: SQL2019 } });
    switchToSync(world);
    assert.throws(() => world.tsqlFailover('sqlServer', DAG), engineError(41122));
    assert.equal(world.snapshot().links[0].primary, 'sqlServer');
  });

  it('breaking the link makes the managed instance database read-write and loses what it had not hardened', () => {
    const { world, clock } = linkedWorld();
    world.setLag({ lsn: 25n });
    world.setLsn({ database: DB, lsn: BIG_LSN + 100n });
    const { lostLsns } = world.removeManagedInstanceLink(DAG);
    assert.deepEqual(lostLsns, { [DB]: 25n });
    const mi = dbOn(world, 'managedInstance');
    assert.deepEqual([mi.state, mi.readOnly, mi.endOfLogLsn], ['ONLINE', false, BIG_LSN + 75n]);
    world.setLsn({ database: DB, lsn: BIG_LSN + 500n });
    clock.advance(1_000);
    assert.equal(dbOn(world, 'managedInstance').endOfLogLsn, BIG_LSN + 75n, 'no longer replicated');
    assert.equal(world.snapshot().links[0].onManagedInstance, false);
    assert.equal(world.dagReplicaRows('sqlServer', DAG)[1].state?.connected, 'DISCONNECTED');
  });

  it('forced failover through ARM leaves SQL Server primary and writable until SET (ROLE = SECONDARY)', () => {
    const { world, clock } = linkedWorld();
    world.breakReplication();
    world.setLsn({ database: DB, lsn: BIG_LSN + 40n });
    world.armFailover(DAG, 'ForcedAllowDataLoss');
    assert.equal(world.linkView(DAG).instanceLinkRole, 'Primary');
    const sql = () => world.snapshot().links[0].sqlServerRole;
    assert.equal(sql(), 'PRIMARY', 'split brain: both primary');
    world.startWorkload({ database: DB, side: 'sqlServer', lsnPerSecond: 10 });
    clock.advance(1_000);
    assert.equal(dbOn(world, 'sqlServer').readOnly, false, 'SQL Server still accepts writes');
    assert.equal(dbOn(world, 'sqlServer').endOfLogLsn, BIG_LSN + 50n);
    assert.equal(dbOn(world, 'managedInstance').readOnly, false);
    world.restoreReplication();
    clock.advance(1_000);
    assert.equal(dbOn(world, 'managedInstance').endOfLogLsn, BIG_LSN, 'diverged: nothing replicates');
    world.tsqlSetRoleSecondary('sqlServer', DAG);
    assert.equal(sql(), 'SECONDARY');
    assert.equal(dbOn(world, 'sqlServer').readOnly, true, 'SQL Server stopped taking writes');
    assert.equal(world.dagReplicaRows('sqlServer', DAG)[0].state?.role, 'SECONDARY');
    assert.throws(() => world.tsqlSetRoleSecondary('managedInstance', DAG), engineError(40517));
  });

  it('forced failover through ARM swaps roles and reports the data lost', () => {
    const { world } = linkedWorld();
    world.breakReplication();
    world.setLsn({ database: DB, lsn: BIG_LSN + 40n });
    assert.throws(
      () => world.armFailover(DAG, 'Planned'),
      (err) =>
        err instanceof ServiceError && err.code === 'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
    );
    world.armFailover(DAG, 'ForcedAllowDataLoss');
    const event = world.events.find((e) => e.kind === 'forced-failover');
    assert.deepEqual(event?.detail.lostLsns, { [DB]: 40n });
    assert.equal(world.linkView(DAG).instanceLinkRole, 'Primary');
  });

  it('drops the DAG, then the AG; refuses a referenced or missing one', () => {
    const { world } = linkedWorld();
    assert.throws(() => world.dropAvailabilityGroup('sqlServer', SQL_AG), engineError(3729));
    world.dropAvailabilityGroup('sqlServer', DAG);
    world.dropAvailabilityGroup('sqlServer', SQL_AG);
    assert.throws(() => world.dropAvailabilityGroup('sqlServer', SQL_AG), engineError(15151));
    assert.deepEqual(world.availabilityGroups('sqlServer'), []);
    assert.throws(() => world.dropAvailabilityGroup('managedInstance', DAG), engineError(40517));
  });

  it('returns the local secondary replicas of a Business Critical instance with other LSNs', () => {
    const { world } = linkedWorld({ managedInstance: { tier: 'BusinessCritical', secondaryReplicas: 3 } });
    const rows = world.lsnRows('managedInstance', { db: DB });
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((r) => [r.isLocal, r.isPrimaryReplica]),
      [
        [false, false],
        [false, false],
        [false, false],
        [true, true],
      ],
      'the primary replica last (reversed order)',
    );
    assert.equal(new Set(rows.map((r) => r.lastHardenedLsn)).size, 4);
    assert.equal(rows[3].lastHardenedLsn, BIG_LSN);
  });

  it("returns SQL Server's own row and its row for the managed instance, remote first, by default", () => {
    const { world, clock } = linkedWorld();
    switchToSync(world);
    world.breakReplication();
    world.setLsn({ database: DB, lsn: BIG_LSN + 9n });
    clock.advance(1_000);
    const [remote, local] = world.lsnRows('sqlServer', { dag: DAG });
    assert.deepEqual([remote.isLocal, local.isLocal], [false, true], 'no guaranteed order: remote first');
    assert.equal(local.endOfLogLsn, BIG_LSN + 9n, "SQL Server's own end of log");
    assert.equal(local.lastHardenedLsn, null, 'NULL while the synchronous secondary is lost');
    assert.equal(local.synchronizationState, 'SYNCHRONIZED', 'a primary shows SYNCHRONIZED');
    assert.deepEqual(
      [remote.lastHardenedLsn, remote.synchronizationState, remote.connectedState],
      [BIG_LSN, 'NOT SYNCHRONIZING', 'DISCONNECTED'],
      'what SQL Server knows of the managed instance',
    );
    const async = linkedWorld().world;
    const [, asyncLocal] = async.lsnRows('sqlServer', { dag: DAG });
    assert.equal(asyncLocal.lastHardenedLsn, null, 'NULL on an asynchronous primary (DMV docs)');
    const rotating = linkedWorld({ dmvRowOrder: 'rotating' }).world;
    const orders = new Set(
      [0, 1, 2, 3].map(() =>
        rotating
          .lsnRows('sqlServer', { dag: DAG })
          .map((r) => r.isLocal)
          .join(),
      ),
    );
    assert.equal(orders.size, 2, 'the order changes from read to read');
  });

  it('names the managed instance member as SQL Server defined it (older links: the instance itself)', () => {
    const clock = new SimClock({ speed: 0 });
    const world = new LinkWorld({ clock, managedInstance: { name: 'sqlmi-prod' } });
    world.establishLink({
      name: DAG,
      sqlServerAg: SQL_AG,
      miAg: 'AG_Sales_MI',
      databases: [DB],
      sqlServerMember: 'sqlmi-prod',
    });
    assert.deepEqual(
      world.dagReplicaRows('sqlServer', DAG).map((r) => r.replicaServerName),
      [SQL_AG, 'sqlmi-prod'],
    );
    assert.equal(world.linkView(DAG).instanceAvailabilityGroupName, 'AG_Sales_MI');
    assert.throws(
      () => world.alterDagModes('sqlServer', DAG, [{ name: 'AG_Sales_MI', mode: 'SYNCHRONOUS_COMMIT' }]),
      engineError(15151),
    );
    world.alterDagModes('sqlServer', DAG, [
      { name: SQL_AG, mode: 'SYNCHRONOUS_COMMIT' },
      { name: 'sqlmi-prod', mode: 'SYNCHRONOUS_COMMIT' },
    ]);
    assert.deepEqual(world.snapshot().links[0].sqlServerModes, {
      sqlServerAg: 'SYNCHRONOUS_COMMIT',
      miAg: 'SYNCHRONOUS_COMMIT',
    });
  });

  it('refuses a failover that keeps the link when the update policy does not match SQL Server', () => {
    const { world } = linkedWorld();
    switchToSync(world);
    world.setUpdatePolicy(() => 'AlwaysUpToDate');
    assert.throws(() => world.tsqlFailover('sqlServer', DAG), engineError(41199));
    world.setUpdatePolicy(() => 'SQLServer2022');
    world.tsqlFailover('sqlServer', DAG);
    assert.equal(world.snapshot().links[0].primary, 'managedInstance');
  });

  it('keeps msdb history of every kind: secondary-time, copy-only, older databases, first full after cutover', () => {
    const { world, clock } = linkedWorld({ firstBackupDelayMs: 120_000, secondaryFullBackupDelayMs: 10_000 });
    world.addOlderDatabaseHistory('managedInstance', DB, clock.now() - 86_400_000);
    clock.advance(20_000);
    switchToSync(world);
    world.tsqlFailover('sqlServer', DAG);
    const cutAt = clock.now();
    clock.advance(120_000);
    const rows = world.backups('managedInstance', DB);
    const guid = world.databaseGuid('managedInstance', DB);
    const kind = (b: (typeof rows)[number]) =>
      b.databaseGuid !== guid
        ? 'older database'
        : b.isCopyOnly
          ? 'copy-only'
          : b.backupStartDate.getTime() < cutAt
            ? 'while secondary'
            : 'first full after cutover';
    assert.deepEqual(rows.map(kind), [
      'older database',
      'while secondary',
      'copy-only',
      'first full after cutover',
    ]);
  });

  it('renders both ARM property models and reads both PUT bodies', () => {
    const { world } = linkedWorld();
    const id = `/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/managedInstances/${MI_AG}/distributedAvailabilityGroups/${DAG}`;
    assert.ok(usesNewDagModel('2023-05-01-preview') && usesNewDagModel('2025-01-01'));
    assert.ok(!usesNewDagModel('2021-11-01-preview') && !usesNewDagModel('2023-08-01'));
    const oldBody = renderDag(world.linkView(DAG), id, '2021-11-01-preview');
    assert.equal(oldBody.properties.targetDatabase, DB);
    assert.equal(oldBody.properties.primaryAvailabilityGroupName, SQL_AG);
    assert.equal(oldBody.properties.lastHardenedLsn, BIG_LSN.toString());
    const newBody = renderDag(world.linkView(DAG), id, '2025-01-01');
    assert.equal(newBody.properties.instanceLinkRole, 'Secondary');
    assert.equal(newBody.properties.partnerAvailabilityGroupName, SQL_AG);
    const [db] = newBody.properties.databases as Array<Record<string, unknown>>;
    assert.equal(db.lastHardenedLsn, BIG_LSN.toString());
    assert.equal(db.connectedState, 'CONNECTED');
    const spec = parseDagPut(
      'x',
      {
        properties: {
          targetDatabase: 'd',
          primaryAvailabilityGroupName: 'a',
          secondaryAvailabilityGroupName: 'b',
        },
      },
      '2021-05-01-preview',
    );
    assert.deepEqual(
      [spec.databases, spec.partnerAvailabilityGroupName, spec.instanceAvailabilityGroupName],
      [['d'], 'a', 'b'],
    );
  });

  it('seeds a new link for the configured time before the managed instance database is online', () => {
    const clock = new SimClock({ speed: 0 });
    const world = new LinkWorld({ clock, seedingMs: 30_000, managedInstance: { name: MI_AG } });
    world.createAvailabilityGroup(SQL_AG, [DB]);
    world.createSqlServerDag({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG });
    world.createManagedInstanceLink({
      name: DAG,
      partnerAvailabilityGroupName: SQL_AG,
      instanceAvailabilityGroupName: MI_AG,
      databases: [DB],
    });
    assert.equal(dbOn(world, 'managedInstance').state, 'RESTORING');
    assert.equal(world.linkView(DAG).databases[0].replicaState, 'InitiatingLink');
    clock.advance(30_000);
    assert.equal(dbOn(world, 'managedInstance').state, 'ONLINE');
    assert.equal(dbOn(world, 'managedInstance').readOnly, true);
    assert.equal(world.linkView(DAG).databases[0].replicaState, 'LinkSynchronizing');
    world.breakReplication();
    const db = world.linkView(DAG).databases[0];
    assert.deepEqual([db.replicaState, db.lagSeconds], ['LinkSynchronizationError', -1]);
  });
});

describe('link T-SQL stand-ins (mssql over TLS)', function () {
  this.timeout(30_000);
  let sandbox: LinkSandbox;
  let clock: SimClock;
  let pools: sql.ConnectionPool[] = [];

  const connect = async (
    side: 'sqlServer' | 'managedInstance',
    auth?: Partial<sql.config>,
  ): Promise<sql.ConnectionPool> => {
    const login = sandbox.logins[side];
    const pool = new sql.ConnectionPool({
      server: '127.0.0.1',
      port: side === 'sqlServer' ? sandbox.sqlServerTds.port : sandbox.miTds.port,
      user: login.user,
      password: login.password,
      database: 'master',
      options: {
        encrypt: true,
        trustServerCertificate: false,
        cryptoCredentialsDetails: { ca: [sandbox.ca] },
      },
      pool: { max: 1 },
      ...auth,
    });
    pools.push(pool);
    return pool.connect();
  };

  const query = async (
    pool: sql.ConnectionPool,
    text: string,
    params: Record<string, string> = {},
  ): Promise<sql.IResult<Record<string, unknown>>> => {
    const request = pool.request();
    for (const [name, value] of Object.entries(params)) request.input(name, sql.NVarChar(128), value);
    return request.query(text);
  };

  const sqlError = (number: number) => (err: unknown) =>
    err instanceof sql.RequestError && (err as sql.RequestError & { number: number }).number === number;

  beforeEach(async () => {
    clock = new SimClock({ speed: 0 });
    sandbox = await startLinkSandbox({
      clock,
      link: {
        managedInstance: { name: MI_AG },
        credentials: { tokens: ['token-allowed'] },
        firstBackupDelayMs: 120_000,
      },
    });
    sandbox.link.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG, databases: [DB] });
  });

  afterEach(async () => {
    await Promise.all(pools.map((p) => p.close()));
    pools = [];
    await sandbox.stop();
  });

  it('recognises every statement the provider sends, with real column names and types', async () => {
    const sqlServer = await connect('sqlServer');
    const mi = await connect('managedInstance');
    const info = await query(sqlServer, statements.serverInfo);
    assert.deepEqual(info.recordset[0], {
      product_version: '16.0.4125.3',
      product_update_level: 'CU13',
      engine_edition: 3,
      server_name: sandbox.link.sqlServerName,
    });
    assert.equal((await query(mi, statements.serverInfo)).recordset[0].engine_edition, 8);

    const replicas = await query(sqlServer, statements.dagReplicas, { dag: DAG });
    assert.deepEqual(
      replicas.recordset.map((r) => [
        r.ag_name,
        r.replica_server_name,
        r.availability_mode_desc,
        r.role_desc,
      ]),
      [
        [DAG, SQL_AG, 'ASYNCHRONOUS_COMMIT', 'PRIMARY'],
        [DAG, MI_AG, 'ASYNCHRONOUS_COMMIT', 'SECONDARY'],
      ],
    );
    const lsns = await query(sqlServer, statements.sqlServerLsns, { dag: DAG });
    assert.deepEqual(Object.keys(lsns.recordset[0]), [
      'ag_name',
      'database_name',
      'is_local',
      'is_primary_replica',
      'synchronization_state_desc',
      'connected_state_desc',
      'end_of_log_lsn',
      'last_hardened_lsn',
    ]);
    assert.deepEqual(
      lsns.recordset.map((r) => [r.database_name, r.is_local, r.connected_state_desc]),
      [
        [DB, false, 'CONNECTED'],
        [DB, true, 'CONNECTED'],
      ],
      'every row, the remote one first',
    );
    const miLsns = await query(mi, statements.managedInstanceLsns(false));
    assert.deepEqual(Object.keys(miLsns.recordset[0]), [
      'database_name',
      'is_local',
      'is_primary_replica',
      'synchronization_state_desc',
      'end_of_log_lsn',
      'last_hardened_lsn',
      'utc_now',
    ]);
    assert.match(String(miLsns.recordset[0].utc_now), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$/);
    assert.equal(miLsns.recordset[0].is_local, true);
    assert.equal(typeof miLsns.recordset[0].last_hardened_lsn, 'string');
    assert.equal((await query(mi, statements.managedInstanceLsns(true))).recordset.length, 1);
    const state = await query(mi, statements.databaseState, { db: DB });
    assert.deepEqual(state.recordset[0], {
      name: DB,
      state_desc: 'ONLINE',
      is_read_only: true,
      user_access_desc: 'MULTI_USER',
    });
    const ag = await query(sqlServer, statements.availabilityGroupByName, { name: DAG });
    assert.deepEqual(ag.recordset, [{ name: DAG, is_distributed: true }]);
    const usage = await query(sqlServer, statements.availabilityGroupUsage, { ag: SQL_AG });
    assert.deepEqual(usage.recordset, [
      { ag_name: SQL_AG, is_distributed: false, database_name: DB, dag_count: 1 },
    ]);
    const none = await query(sqlServer, statements.availabilityGroupUsage, { ag: 'NoSuchAg' });
    assert.deepEqual(none.recordset, [], 'no such AG: no row');
    const [{ utc_now: miNow }] = (await query(mi, statements.utcNow)).recordset;
    assert.match(String(miNow), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}$/, 'style 126, no zone');
    const backups = await query(mi, statements.firstFullBackupOnMi, { db: DB, since: String(miNow) });
    assert.deepEqual(backups.recordset, []);
    await query(sqlServer, statements.setDagRoleSecondary(DAG));
    assert.equal(sandbox.sqlServer.executed.filter((e) => e.error).length, 0);
    assert.deepEqual(
      sandbox.sqlServer.changes().map((c) => c.statement),
      ['setDagRoleSecondary'],
      'no other ALTER/DROP ran (SET ROLE on a primary that is the link primary: no split brain, no-op)',
    );
  });

  it('answers the sync switch in the DMV once both members are synchronous', async () => {
    const pool = await connect('sqlServer');
    await query(pool, statements.alterDagMode(DAG, SQL_AG, MI_AG, 'SYNCHRONOUS_COMMIT'));
    const rows = (await query(pool, statements.dagReplicas, { dag: DAG })).recordset;
    assert.deepEqual(
      rows.map((r) => r.availability_mode_desc),
      ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT'],
    );
    const remoteRow = async () =>
      (await query(pool, statements.sqlServerLsns, { dag: DAG })).recordset.find(
        (r) => r.is_local === false,
      )!;
    const lsn = await remoteRow();
    assert.equal(lsn.synchronization_state_desc, 'SYNCHRONIZING', 'the managed instance side is still async');
    sandbox.link.updateReplicationMode(DAG, 'Sync');
    const synced = await remoteRow();
    assert.equal(synced.synchronization_state_desc, 'SYNCHRONIZED');
    await assert.rejects(
      query(pool, statements.alterDagMode(DAG, 'NoSuchAg', MI_AG, 'SYNCHRONOUS_COMMIT')),
      sqlError(15151),
    );
    await assert.rejects(
      query(pool, statements.alterDagMode('NoSuchDag', SQL_AG, MI_AG, 'SYNCHRONOUS_COMMIT')),
      sqlError(15151),
    );
    assert.deepEqual(
      sandbox.sqlServer.changes().map((e) => e.statement),
      ['alterDagMode', 'alterDagMode', 'alterDagMode'],
    );
  });

  it('moves the LSN rows while the workload runs and holds them when it stops; exact above 2^53', async () => {
    const sqlServer = await connect('sqlServer');
    const mi = await connect('managedInstance');
    const read = async () => {
      const miRow = (await query(mi, statements.managedInstanceLsns(false))).recordset.find(
        (r) => r.database_name === DB,
      )!;
      // The instance's clock moves with simulated time; the LSNs are what must hold.
      delete miRow.utc_now;
      return {
        sql: (await query(sqlServer, statements.sqlServerLsns, { dag: DAG })).recordset.find(
          (r) => r.is_local,
        )!,
        mi: miRow,
      };
    };
    const first = await read();
    assert.equal(first.sql.end_of_log_lsn, '34000000021600001');
    assert.equal(first.mi.last_hardened_lsn, '34000000021600001');
    sandbox.link.setLag({ ms: 1_000 });
    sandbox.link.startWorkload({ lsnPerSecond: 300 });
    clock.advance(2_000);
    const moving = await read();
    assert.equal(BigInt(moving.sql.end_of_log_lsn as string), BIG_LSN + 600n);
    assert.equal(BigInt(moving.mi.last_hardened_lsn as string), BIG_LSN + 300n);
    sandbox.link.stopWorkload();
    clock.advance(5_000);
    const a = await read();
    clock.advance(5_000);
    const b = await read();
    assert.deepEqual(a, b, 'stable once stopped and caught up');
    assert.equal(a.sql.end_of_log_lsn, a.mi.last_hardened_lsn);
    assert.equal(a.sql.last_hardened_lsn, null, 'an asynchronous primary reports NULL (DMV docs)');

    sandbox.link.setLsn({ database: DB, lsn: 99999999999999999n });
    assert.equal(
      (await read()).mi.last_hardened_lsn,
      a.mi.last_hardened_lsn,
      'the lag holds the secondary back',
    );
    clock.advance(1_000);
    const big = await read();
    assert.equal(big.sql.end_of_log_lsn, '99999999999999999');
    assert.equal(big.mi.last_hardened_lsn, '99999999999999999');
  });

  it("answers the failover guide's per-database queries with every row: BC secondaries unless filtered", async () => {
    sandbox.link.setTier('BusinessCritical', 3);
    const mi = await connect('managedInstance');
    // managed-instance-link-failover-how-to.md, "Check LSN values": what a person runs.
    const guide = (
      bc: boolean,
    ) => `SELECT db.name AS database_name, drs.synchronization_state_desc, drs.is_primary_replica,
      CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
      CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
      FROM sys.dm_hadr_database_replica_states drs
      JOIN sys.databases db ON db.database_id = drs.database_id
      WHERE db.name = @db${bc ? ' AND drs.is_primary_replica = 1' : ''}`;
    const all = (await query(mi, guide(false), { db: DB })).recordset;
    assert.equal(all.length, 4);
    assert.notEqual(all[0].last_hardened_lsn, all[3].last_hardened_lsn);
    const primary = (await query(mi, guide(true), { db: DB })).recordset;
    assert.deepEqual(
      primary.map((r) => [r.is_primary_replica, r.last_hardened_lsn]),
      [[true, BIG_LSN.toString()]],
    );
    const sqlServer = await connect('sqlServer');
    const sqlGuide = `SELECT ag.name AS ag_name, db.name AS database_name, drs.synchronization_state_desc,
      CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
      CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
      FROM sys.dm_hadr_database_replica_states drs
      JOIN sys.databases db ON db.database_id = drs.database_id
      JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
      WHERE ag.is_distributed = 1 AND ag.name = @dag AND db.name = @db`;
    assert.equal(
      (await query(sqlServer, sqlGuide, { dag: DAG, db: DB })).recordset.length,
      2,
      'local and remote',
    );
  });

  it('fails over with T-SQL on 2022 CU13 and refuses on 2019 with the real error numbers', async () => {
    const pool = await connect('sqlServer');
    await assert.rejects(query(pool, statements.failoverDag(DAG)), sqlError(41142));
    await query(pool, statements.alterDagMode(DAG, SQL_AG, MI_AG, 'SYNCHRONOUS_COMMIT'));
    sandbox.link.updateReplicationMode(DAG, 'Sync');

    sandbox.link.setVersion(SQL2019);
    await assert.rejects(query(pool, statements.failoverDag(DAG)), sqlError(41122));
    sandbox.link.setVersion('16.0.4125.3', 'CU13');
    await query(pool, statements.failoverDag(DAG));

    const sqlDb = (await query(pool, statements.databaseState, { db: DB })).recordset[0];
    assert.equal(sqlDb.is_read_only, true);
    const mi = await connect('managedInstance');
    const miDb = (await query(mi, statements.databaseState, { db: DB })).recordset[0];
    assert.deepEqual([miDb.state_desc, miDb.is_read_only], ['ONLINE', false]);
    const roles = (await query(pool, statements.dagReplicas, { dag: DAG })).recordset;
    assert.deepEqual(
      roles.map((r) => r.role_desc),
      ['SECONDARY', null],
      'a secondary only knows its own replica state',
    );
  });

  it('drops the DAG and the AG on SQL Server and reports missing ones', async () => {
    const pool = await connect('sqlServer');
    await assert.rejects(query(pool, statements.dropAvailabilityGroup(SQL_AG)), sqlError(3729));
    await query(pool, statements.dropAvailabilityGroup(DAG));
    await query(pool, statements.dropAvailabilityGroup(SQL_AG));
    await assert.rejects(query(pool, statements.dropAvailabilityGroup(SQL_AG)), (err: unknown) => {
      assert.ok(sqlError(15151)(err));
      assert.match((err as Error).message, /Cannot drop the availability group 'AG_Sales'/);
      return true;
    });
    assert.deepEqual((await query(pool, statements.availabilityGroupByName, { name: DAG })).recordset, []);
    assert.deepEqual(
      sandbox.sqlServer.changes().map((e) => [e.statement, e.error?.number]),
      [
        ['dropAvailabilityGroup', 3729],
        ['dropAvailabilityGroup', undefined],
        ['dropAvailabilityGroup', undefined],
        ['dropAvailabilityGroup', 15151],
      ],
    );
  });

  it("finds only the managed instance's first full, not copy-only backup of this database after the cutover", async () => {
    const mi = await connect('managedInstance');
    sandbox.link.addOlderDatabaseHistory('managedInstance', DB, clock.now() - 3_600_000);
    clock.advance(90_000); // the managed instance backs the secondary up (60 s after seeding)
    const since = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '');
    const brokenAt = clock.now();
    sandbox.link.removeManagedInstanceLink(DAG);
    const state = (await query(mi, statements.databaseState, { db: DB })).recordset[0];
    assert.deepEqual([state.state_desc, state.is_read_only], ['ONLINE', false]);
    const first = () => query(mi, statements.firstFullBackupOnMi, { db: DB, since: since(brokenAt) });
    assert.deepEqual((await first()).recordset, [], 'not the secondary-time backup, not the older database');
    clock.advance(60_000);
    sandbox.link.takeCopyOnlyBackup('managedInstance', DB);
    assert.deepEqual((await first()).recordset, [], 'not a copy-only backup');
    clock.advance(60_000);
    const [row] = (await first()).recordset;
    assert.ok(row.backup_finish_date instanceof Date);
    assert.equal((row.backup_finish_date as Date).getTime(), brokenAt + 120_000);
    await assert.rejects(
      query(mi, statements.firstFullBackupOnMi, { db: DB, since: new Date(brokenAt).toISOString() }),
      sqlError(241),
      'CONVERT(datetime2, …, 126) refuses the Z designator',
    );
    const plain = `SELECT TOP (1) backup_finish_date FROM msdb.dbo.backupset
      WHERE database_name = @db AND type = 'D' ORDER BY backup_finish_date ASC`;
    const [naive] = (await query(mi, plain, { db: DB })).recordset;
    assert.ok((naive.backup_finish_date as Date).getTime() < brokenAt, 'a plain query finds the wrong one');
  });

  it('shows msdb dates in the instance time zone and shifts @since the same way', async () => {
    await sandbox.stop();
    clock = new SimClock({ speed: 0 });
    sandbox = await startLinkSandbox({
      clock,
      link: { managedInstance: { name: MI_AG, utcOffsetMinutes: 120 }, firstBackupDelayMs: 60_000 },
    });
    sandbox.link.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG, databases: [DB] });
    clock.advance(90_000);
    const cut = clock.now();
    sandbox.link.removeManagedInstanceLink(DAG);
    clock.advance(60_000);
    const mi = await connect('managedInstance');
    const since = new Date(cut).toISOString().replace(/Z$/, '');
    const [row] = (await query(mi, statements.firstFullBackupOnMi, { db: DB, since })).recordset;
    assert.equal((row.backup_finish_date as Date).getTime(), cut + 60_000 + 2 * 3_600_000, 'local time');
  });

  it('fails unknown SQL with SQL Server error numbers', async () => {
    const pool = await connect('sqlServer');
    await assert.rejects(query(pool, 'SELECT name FROM sys.nonexistent'), sqlError(208));
    await assert.rejects(query(pool, 'SELEC name FROM sys.databases'), sqlError(102));
    await assert.rejects(
      query(pool, 'SELECT name, state_desc FROM sys.databases WHERE name = @db', { db: DB }),
      sqlError(102),
    );
    await assert.rejects(query(pool, statements.databaseState), sqlError(137));
    await assert.rejects(
      query(pool, `ALTER AVAILABILITY GROUP ${DAG} FAILOVER`),
      sqlError(102),
      'unquoted name',
    );
    assert.deepEqual(
      sandbox.sqlServer.executed.map((e) => e.error?.number),
      [208, 102, 102, 137, 102],
    );
  });

  it('checks logins: SQL login password, access token allow-list', async () => {
    const bad = new sql.ConnectionPool({
      server: '127.0.0.1',
      port: sandbox.sqlServerTds.port,
      user: sandbox.logins.sqlServer.user,
      password: 'wrong',
      options: { encrypt: true, trustServerCertificate: true },
    });
    pools.push(bad);
    await assert.rejects(bad.connect(), /Login failed/);
    const tokenLogin = (token: string): Partial<sql.config> => ({
      user: undefined,
      password: undefined,
      authentication: { type: 'azure-active-directory-access-token', options: { token } },
    });
    const ok = await connect('managedInstance', tokenLogin('token-allowed'));
    assert.equal((await query(ok, statements.serverInfo)).recordset[0].engine_edition, 8);
    await assert.rejects(connect('managedInstance', tokenLogin('token-unknown')), /Login failed/);
  });
});
