/**
 * The Managed Instance link in the sandbox: the pure link world, the T-SQL stand-ins driven by the real
 * mssql/tedious client over TLS, and the DAG ARM contract over https.
 */
import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import { SqlManagementClient } from '@azure/arm-sql';
import type { TokenCredential } from '@azure/core-auth';
import * as sql from 'mssql';
import * as statements from '../../provider/sql/statements';
import { type Sandbox, startSandbox } from '../../sandbox';
import { dagRoutes } from '../../sandbox/arm/routes/dag';
import { ArmServer } from '../../sandbox/arm/server';
import { type LinkSandbox, startLinkSandbox } from '../../sandbox/link';
import { SimClock } from '../../sandbox/world/clock';
import { ServiceError } from '../../sandbox/world/errors';
import type { ManagedInstance } from '../../sandbox/world/instances';
import {
  EngineError,
  LinkWorld,
  type LinkWorldOptions,
  supportsTsqlLinkFailover,
} from '../../sandbox/world/link';
import { parseDagPut, renderDag, usesNewDagModel } from '../../sandbox/world/linkArm';
import { World } from '../../sandbox/world/world';
import { armClient, whileAdvancing } from './helpers';

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
    const rows = world.lsnRows('managedInstance', DB);
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((r) => r.isPrimaryReplica),
      [false, false, false, true],
    );
    assert.equal(new Set(rows.map((r) => r.lastHardenedLsn)).size, 4);
    assert.equal(rows[3].lastHardenedLsn, BIG_LSN);
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
    assert.equal(world.linkView(DAG).databases[0].replicaState, 'Seeding');
    clock.advance(30_000);
    assert.equal(dbOn(world, 'managedInstance').state, 'ONLINE');
    assert.equal(dbOn(world, 'managedInstance').readOnly, true);
    assert.equal(world.linkView(DAG).databases[0].replicaState, 'Catchup');
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
    const lsns = await query(sqlServer, statements.sqlServerLsns, { db: DB, dag: DAG });
    assert.deepEqual(Object.keys(lsns.recordset[0]), [
      'ag_name',
      'database_name',
      'synchronization_state_desc',
      'end_of_log_lsn',
      'last_hardened_lsn',
    ]);
    const miLsns = await query(mi, statements.managedInstanceLsns(false), { db: DB });
    assert.equal(miLsns.recordset[0].is_primary_replica, true);
    assert.equal(typeof miLsns.recordset[0].last_hardened_lsn, 'string');
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
    assert.deepEqual(usage.recordset, [{ database_count: 1, dag_count: 1 }]);
    const dbs = await query(sqlServer, statements.availabilityGroupDatabases, { ag: SQL_AG });
    assert.deepEqual(dbs.recordset, [{ database_name: DB }]);
    const backups = await query(mi, statements.firstFullBackupOnMi, { db: DB });
    assert.deepEqual(backups.recordset, []);
    assert.equal(sandbox.sqlServer.executed.filter((e) => e.error).length, 0);
    assert.deepEqual(sandbox.sqlServer.changes(), [], 'no ALTER/DROP ran');
  });

  it('answers the sync switch in the DMV once both members are synchronous', async () => {
    const pool = await connect('sqlServer');
    await query(pool, statements.alterDagMode(DAG, SQL_AG, MI_AG, 'SYNCHRONOUS_COMMIT'));
    const rows = (await query(pool, statements.dagReplicas, { dag: DAG })).recordset;
    assert.deepEqual(
      rows.map((r) => r.availability_mode_desc),
      ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT'],
    );
    const lsn = (await query(pool, statements.sqlServerLsns, { db: DB, dag: DAG })).recordset[0];
    assert.equal(lsn.synchronization_state_desc, 'SYNCHRONIZING', 'the managed instance side is still async');
    sandbox.link.updateReplicationMode(DAG, 'Sync');
    const synced = (await query(pool, statements.sqlServerLsns, { db: DB, dag: DAG })).recordset[0];
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
    const read = async () => ({
      sql: (await query(sqlServer, statements.sqlServerLsns, { db: DB, dag: DAG })).recordset[0],
      mi: (await query(mi, statements.managedInstanceLsns(false), { db: DB })).recordset[0],
    });
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
    assert.equal(a.sql.last_hardened_lsn, a.mi.last_hardened_lsn);

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

  it('returns Business Critical secondary rows unless filtered on is_primary_replica', async () => {
    sandbox.link.setTier('BusinessCritical', 3);
    const mi = await connect('managedInstance');
    const all = (await query(mi, statements.managedInstanceLsns(false), { db: DB })).recordset;
    assert.equal(all.length, 4);
    assert.notEqual(all[0].last_hardened_lsn, all[3].last_hardened_lsn);
    const primary = (await query(mi, statements.managedInstanceLsns(true), { db: DB })).recordset;
    assert.deepEqual(
      primary.map((r) => [r.is_primary_replica, r.last_hardened_lsn]),
      [[true, BIG_LSN.toString()]],
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

  it("shows the managed instance's first full backup in msdb.dbo.backupset after the link is broken", async () => {
    const mi = await connect('managedInstance');
    sandbox.link.removeManagedInstanceLink(DAG);
    const state = (await query(mi, statements.databaseState, { db: DB })).recordset[0];
    assert.deepEqual([state.state_desc, state.is_read_only], ['ONLINE', false]);
    assert.deepEqual((await query(mi, statements.firstFullBackupOnMi, { db: DB })).recordset, []);
    const brokenAt = clock.now();
    clock.advance(120_000);
    const [row] = (await query(mi, statements.firstFullBackupOnMi, { db: DB })).recordset;
    assert.ok(row.backup_finish_date instanceof Date);
    assert.equal((row.backup_finish_date as Date).getTime(), brokenAt + 120_000);
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

describe('link ARM contract (distributedAvailabilityGroups over https)', function () {
  this.timeout(30_000);
  const SUB = '00000000-1111-2222-3333-444444444444';
  const RG = 'rg-link';
  let world: World;
  let mi: ManagedInstance;
  let sandbox: LinkSandbox;
  let arm: ArmServer;
  let client: SqlManagementClient;
  let token: string;

  const dagPath = (name = DAG) =>
    `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Sql/managedInstances/${MI_AG}/distributedAvailabilityGroups/${name}`;

  /** One raw ARM request (for the api-versions and actions @azure/arm-sql 10 does not model). */
  function request(
    method: string,
    pathOrUrl: string,
    options: { apiVersion?: string; body?: unknown } = {},
  ): Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }> {
    const url = new URL(pathOrUrl, arm.url);
    if (options.apiVersion) url.searchParams.set('api-version', options.apiVersion);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: arm.ca,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Record<string, string>,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Polls a Location (202 …) or Azure-AsyncOperation URL until the operation ends; returns the last answer. */
  async function pollOperation(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await request('GET', url);
      const running = res.status === 202 || res.body.status === 'InProgress';
      if (!running) return res;
      if (Date.now() > deadline) throw new Error(`operation still running: ${url}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  beforeEach(async () => {
    // Fast simulated time: operations (5 s) and seeding (30 s) take milliseconds of real time.
    const clock = new SimClock({ speed: 10_000 });
    world = new World({ clock });
    mi = world.addManagedInstance({ subscriptionId: SUB, resourceGroup: RG, name: MI_AG });
    sandbox = await startLinkSandbox({ world, managedInstance: mi });
    arm = await ArmServer.start({
      world,
      retryAfterSeconds: 0,
      routes: [dagRoutes(sandbox.link, { pageSize: 1 })],
    });
    token = arm.tokens.issue('https://management.azure.com/').token;
    const credential: TokenCredential = {
      getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    client = new SqlManagementClient(credential, SUB, {
      endpoint: arm.url,
      credentialScopes: ['https://management.azure.com/.default'],
      tlsOptions: { ca: arm.ca },
    });
    sandbox.link.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG, databases: [DB] });
  });

  afterEach(async () => {
    await arm.stop();
    await sandbox.stop();
  });

  it('GETs the old model with @azure/arm-sql and the new model on newer api-versions', async () => {
    const old = await client.distributedAvailabilityGroups.get(RG, MI_AG, DAG);
    assert.equal(old.name, DAG);
    assert.equal(old.targetDatabase, DB);
    assert.equal(old.primaryAvailabilityGroupName, SQL_AG);
    assert.equal(old.replicationMode, 'Async');
    assert.equal(old.lastHardenedLsn, BIG_LSN.toString());
    const current = await request('GET', dagPath(), { apiVersion: '2025-01-01' });
    assert.equal(current.status, 200);
    const props = current.body.properties as Record<string, unknown>;
    assert.deepEqual(
      [props.instanceLinkRole, props.partnerLinkRole, props.instanceAvailabilityGroupName],
      ['Secondary', 'Primary', MI_AG],
    );
    const missing = await request('GET', dagPath('nope'), { apiVersion: '2025-01-01' });
    assert.equal(missing.status, 404);
    assert.equal((missing.body.error as Record<string, unknown>).code, 'ResourceNotFound');
  });

  it('lists links page by page (nextLink)', async () => {
    sandbox.link.establishLink({
      name: 'DAG_Two',
      sqlServerAg: 'AG_Two',
      miAg: 'mi-ag-two',
      databases: ['OtherDb'],
    });
    const names: string[] = [];
    for await (const dag of client.distributedAvailabilityGroups.listByInstance(RG, MI_AG))
      names.push(dag.name ?? '');
    assert.deepEqual(names.sort(), ['DAG_Sales', 'DAG_Two']);
    const first = await request('GET', dagPath('').replace(/\/$/, ''), { apiVersion: '2025-01-01' });
    assert.equal((first.body.value as unknown[]).length, 1);
    assert.match(String(first.body.nextLink), /skipToken=1/);
  });

  it('PATCH replicationMode switches the managed instance side (LRO via Location)', async () => {
    const updated = await client.distributedAvailabilityGroups.beginUpdateAndWait(
      RG,
      MI_AG,
      DAG,
      { replicationMode: 'Sync' },
      { updateIntervalInMs: 10 },
    );
    assert.equal(updated.replicationMode, 'Sync');
    assert.equal(sandbox.link.snapshot().links[0].replicationMode, 'Sync');
    const rows = sandbox.link.dagReplicaRows('managedInstance', DAG);
    assert.deepEqual(
      rows.map((r) => r.availabilityMode),
      ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT'],
    );
  });

  it('refuses a planned failover while the managed instance is secondary, forces one on request', async () => {
    const planned = await request('POST', `${dagPath()}/failover`, {
      apiVersion: '2025-01-01',
      body: { failoverType: 'Planned' },
    });
    assert.equal(planned.status, 400);
    assert.deepEqual(planned.body.error, {
      code: 'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
      message:
        'Planned failover can be executed on a link in the primary role only. Current state of the specified link is secondary.',
    });
    const forced = await request('POST', `${dagPath()}/failover`, {
      apiVersion: '2025-01-01',
      body: { failoverType: 'ForcedAllowDataLoss' },
    });
    assert.equal(forced.status, 202);
    const done = await pollOperation(forced.headers.location);
    assert.equal(done.status, 200);
    assert.equal((done.body.properties as Record<string, unknown>).instanceLinkRole, 'Primary');
    assert.equal(mi.databases.get(DB)?.readOnly, false, 'the managed database is read-write');
    const back = await request('POST', `${dagPath()}/setRole`, {
      apiVersion: '2025-01-01',
      body: { instanceRole: 'Secondary', roleChangeType: 'Forced' },
    });
    const after = await pollOperation(back.headers.location);
    assert.equal((after.body.properties as Record<string, unknown>).instanceLinkRole, 'Secondary');
  });

  it('DELETE breaks the link: the managed database goes read-write, SQL Server sees it disconnected', async () => {
    assert.equal(mi.databases.get(DB)?.readOnly, true);
    await client.distributedAvailabilityGroups.beginDeleteAndWait(RG, MI_AG, DAG, { updateIntervalInMs: 10 });
    assert.deepEqual([mi.databases.get(DB)?.status, mi.databases.get(DB)?.readOnly], ['Online', false]);
    assert.equal(sandbox.link.dagReplicaRows('sqlServer', DAG)[1].state?.connected, 'DISCONNECTED');
    const gone = await request('DELETE', dagPath(), { apiVersion: '2025-01-01' });
    assert.equal(gone.status, 204);
  });

  it('PUT creates a link (new model) that succeeds once seeded, and times out without a SQL Server side', async () => {
    sandbox.link.createAvailabilityGroup('AG_New', ['NewDb']);
    sandbox.link.createSqlServerDag({ name: 'DAG_New', sqlServerAg: 'AG_New', miAg: 'mi-ag-new' });
    const put = await request('PUT', dagPath('DAG_New'), {
      apiVersion: '2025-01-01',
      body: {
        properties: {
          partnerAvailabilityGroupName: 'AG_New',
          instanceAvailabilityGroupName: 'mi-ag-new',
          partnerEndpoint: 'TCP://SQLVM01:5022',
          databases: [{ databaseName: 'NewDb' }],
        },
      },
    });
    assert.equal(put.status, 202); // every write answers 202 (recordings link-errors 9)
    assert.equal(mi.databases.get('NewDb')?.status, 'Restoring');
    const status = await pollOperation(put.headers['azure-asyncoperation']);
    assert.equal(status.body.status, 'Succeeded');
    world.runDue();
    assert.deepEqual(
      [mi.databases.get('NewDb')?.status, mi.databases.get('NewDb')?.readOnly],
      ['Online', true],
    );

    const orphan = await request('PUT', dagPath('DAG_Orphan'), {
      apiVersion: '2025-01-01',
      body: {
        properties: {
          partnerAvailabilityGroupName: 'AG_Missing',
          instanceAvailabilityGroupName: 'mi-ag-orphan',
          databases: [{ databaseName: 'OrphanDb' }],
        },
      },
    });
    const failed = await pollOperation(orphan.headers['azure-asyncoperation']);
    assert.equal(failed.body.status, 'Failed');
    assert.equal((failed.body.error as Record<string, unknown>).code, 'OperationTimedOut');
    assert.equal((await request('GET', dagPath('DAG_Orphan'), { apiVersion: '2025-01-01' })).status, 404);
  });
});

describe('link wired into startSandbox', function () {
  this.timeout(60_000);
  let sb: Sandbox;

  before(async () => {
    sb = await startSandbox({ speed: 0, retryAfterSeconds: 0 });
  });

  after(async () => {
    await sb?.stop();
  });

  it('serves the link over both TDS stand-ins and the ARM stand-in, on the default managed instance', async () => {
    sb.link.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: sb.instance.name, databases: [DB] });
    const pool = await new sql.ConnectionPool({
      server: '127.0.0.1',
      port: sb.miTds.port,
      user: sb.logins.managedInstance.user,
      password: sb.logins.managedInstance.password,
      options: { encrypt: true, cryptoCredentialsDetails: { ca: [sb.tdsCa] } },
    }).connect();
    try {
      const state = await pool.request().input('db', sql.NVarChar(128), DB).query(statements.databaseState);
      assert.deepEqual([state.recordset[0].state_desc, state.recordset[0].is_read_only], ['ONLINE', true]);
    } finally {
      await pool.close();
    }
    assert.equal(sb.sqlEndpoints.managedInstance.executed.at(-1)?.statement, 'databaseState');
    assert.equal(
      sb.instance.databases.get(DB)?.readOnly,
      true,
      'the link database appears as a managed database',
    );

    const client = armClient(sb);
    const dag = await client.distributedAvailabilityGroups.get(
      sb.instance.resourceGroup,
      sb.instance.name,
      DAG,
    );
    assert.equal(dag.targetDatabase, DB);
    await whileAdvancing(sb, 1_000, () =>
      client.distributedAvailabilityGroups.beginDeleteAndWait(
        sb.instance.resourceGroup,
        sb.instance.name,
        DAG,
        {
          updateIntervalInMs: 5,
        },
      ),
    );
    assert.equal(sb.instance.databases.get(DB)?.readOnly, false);
    assert.ok(
      sb.arm.requests.entries.some(
        (r) => r.method === 'DELETE' && /distributedAvailabilityGroups/.test(r.path),
      ),
    );
  });
});
