/**
 * The Managed Instance link's ARM contract in the sandbox (distributedAvailabilityGroups over https), checked
 * against the recorded traffic (../shared/recordings/link-*.jsonl): 202 stubs with both LRO headers, operation
 * lifetimes, bodies. Simulated time is frozen; tests move it explicitly while they poll, so no assertion
 * depends on how fast the machine is.
 */
import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import { SqlManagementClient } from '@azure/arm-sql';
import type { TokenCredential } from '@azure/core-auth';
import * as sql from 'mssql';
import * as statements from '../../provider/sql/statements';
import { type Sandbox, startSandbox } from '../../sandbox';
import { dagRoutes } from '../../sandbox/arm/routes/dag';
import { managedInstanceRoutes } from '../../sandbox/arm/routes/managedInstances';
import { ArmServer } from '../../sandbox/arm/server';
import { type LinkSandbox, startLinkSandbox } from '../../sandbox/link';
import { SimClock } from '../../sandbox/world/clock';
import type { ManagedInstance } from '../../sandbox/world/instances';
import { World } from '../../sandbox/world/world';
import { armClient, whileAdvancing } from './helpers';

const DAG = 'DAG_Sales';
const SQL_AG = 'AG_Sales';
const MI_AG = 'sqlmi-link';
const DB = 'SalesDb';
const BIG_LSN = 34000000021600001n;
const NEW_API = '2025-01-01';

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
  let clock: SimClock;

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

  /**
   * Polls a Location (202 …) or Azure-AsyncOperation URL until the operation ends, moving simulated time by
   * `stepMs` between polls (the clock is frozen otherwise); returns the last answer and the polls it took.
   */
  async function pollOperation(
    url: string,
    stepMs = 5_000,
  ): Promise<{ status: number; body: Record<string, unknown>; polls: number }> {
    for (let polls = 1; polls <= 500; polls++) {
      const res = await request('GET', url);
      const running = res.status === 202 || res.body.status === 'InProgress';
      if (!running) return { ...res, polls };
      clock.advance(stepMs);
    }
    throw new Error(`operation still running after 500 polls: ${url}`);
  }

  /** Runs an SDK call that polls an operation while simulated time moves on (the SDK sees it finish). */
  async function advancing<T>(action: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => clock.advance(1_000), 2);
    try {
      return await action();
    } finally {
      clearInterval(timer);
    }
  }

  /** The 202 of every write: the stub body and both LRO headers (recordings README). */
  function assertAccepted(
    res: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
    operation: string,
  ) {
    assert.equal(res.status, 202);
    assert.deepEqual(Object.keys(res.body).sort(), ['operation', 'startTime']);
    assert.equal(res.body.operation, operation);
    assert.ok(res.headers['azure-asyncoperation'], 'Azure-AsyncOperation header');
    assert.ok(res.headers.location, 'Location header');
  }

  beforeEach(async () => {
    // Frozen simulated time: only the tests move it (no race between wall time and simulated time).
    clock = new SimClock({ speed: 0 });
    world = new World({ clock });
    mi = world.addManagedInstance({ subscriptionId: SUB, resourceGroup: RG, name: MI_AG });
    sandbox = await startLinkSandbox({ world, managedInstance: mi });
    arm = await ArmServer.start({
      world,
      retryAfterSeconds: 0,
      routes: [dagRoutes(sandbox.link, { pageSize: 1 }), managedInstanceRoutes],
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
    const updated = await advancing(() =>
      client.distributedAvailabilityGroups.beginUpdateAndWait(
        RG,
        MI_AG,
        DAG,
        { replicationMode: 'Sync' },
        { updateIntervalInMs: 10 },
      ),
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
    assertAccepted(forced, 'DistributedAvailabilityGroupsFailover');
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

  it('DELETE breaks the link when its operation ends; DELETE of a missing link is 202 and fails OperationIdNotFound', async () => {
    assert.equal(mi.databases.get(DB)?.readOnly, true);
    const del = await request('DELETE', dagPath(), { apiVersion: '2023-08-01-preview' });
    assertAccepted(del, 'DistributedAvailabilityGroupsDropLink'); // link-mgmt seq 8
    assert.equal(
      (await request('GET', dagPath(), { apiVersion: NEW_API })).status,
      200,
      'still there while running',
    );
    const ended = await pollOperation(del.headers['azure-asyncoperation']);
    assert.equal(ended.body.status, 'Succeeded');
    assert.ok(ended.polls > 1, 'the operation ran for a while (11–23 s recorded)');
    world.runDue();
    assert.deepEqual([mi.databases.get(DB)?.status, mi.databases.get(DB)?.readOnly], ['Online', false]);
    assert.equal(sandbox.link.dagReplicaRows('sqlServer', DAG)[1].state?.connected, 'DISCONNECTED');
    // link-errors seq 6–7: 202, and an operation that fails at once; never 404/204.
    const gone = await request('DELETE', dagPath(), { apiVersion: '2023-08-01-preview' });
    assertAccepted(gone, 'DistributedAvailabilityGroupsDropLink');
    const failed = await pollOperation(gone.headers['azure-asyncoperation']);
    assert.equal(failed.polls, 1);
    assert.equal(failed.body.status, 'Failed');
    assert.deepEqual(failed.body.error, {
      code: 'OperationIdNotFound',
      message: `The operation with Id: '${DAG}' does not exist.`,
    });
    const missing = await request('GET', dagPath(), { apiVersion: NEW_API });
    assert.deepEqual(missing.body.error, {
      code: 'ResourceNotFound',
      message: `The requested resource of type 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups' with name '${DAG}' was not found.`,
    });
    const newer = await request('DELETE', dagPath(), { apiVersion: '2025-08-01-preview' });
    assert.equal(newer.body.operation, 'DropManagedFailoverGroup'); // link-multi-database-update seq 27
  });

  it('PUT creates a link (new model) that succeeds once seeded, and times out without a SQL Server side', async () => {
    sandbox.link.createAvailabilityGroup('AG_New', ['NewDb']);
    sandbox.link.createSqlServerDag({ name: 'DAG_New', sqlServerAg: 'AG_New', miAg: 'mi-ag-new' });
    const body = {
      properties: {
        databases: [{ databaseName: 'NewDb' }],
        failoverMode: 'Manual',
        instanceAvailabilityGroupName: 'mi-ag-new',
        instanceLinkRole: 'Secondary',
        partnerAvailabilityGroupName: 'AG_New',
        partnerEndpoint: 'tcp://10.0.1.8:5022',
        seedingMode: 'Automatic',
      },
    };
    const put = await request('PUT', dagPath('DAG_New'), { apiVersion: '2023-08-01-preview', body });
    assertAccepted(put, 'DistributedAvailabilityGroupsLinkCreate'); // link-errors seq 9
    assert.equal(mi.databases.get('NewDb')?.status, 'Restoring');
    const sparse = await request('GET', dagPath('DAG_New'), { apiVersion: NEW_API });
    assert.equal(
      (sparse.body.properties as Record<string, unknown>).databases,
      undefined,
      'sparse right after',
    );
    const status = await pollOperation(put.headers['azure-asyncoperation']);
    assert.equal(status.body.status, 'Succeeded');
    world.runDue();
    assert.deepEqual(
      [mi.databases.get('NewDb')?.status, mi.databases.get('NewDb')?.readOnly],
      ['Online', true],
    );
    const got = await request('GET', dagPath('DAG_New'), { apiVersion: '2023-08-01-preview' });
    const props = got.body.properties as Record<string, unknown>;
    const [db] = props.databases as Array<Record<string, unknown>>;
    assert.equal(props.failoverMode, 'Manual');
    assert.equal(db.replicaState, 'LinkSynchronizing'); // link-errors seq 15
    assert.ok('lastReceivedLsn' in db && !('lastSentLsn' in db), 'a secondary reports what it received');

    // link-errors seq 16–17: the same PUT again succeeds at once.
    const again = await request('PUT', dagPath('DAG_New'), { apiVersion: '2023-08-01-preview', body });
    assertAccepted(again, 'DistributedAvailabilityGroupsLinkCreate');
    const once = await pollOperation(again.headers['azure-asyncoperation']);
    assert.deepEqual([once.body.status, once.polls], ['Succeeded', 1]);

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
    const failed = await pollOperation(orphan.headers['azure-asyncoperation'], 30_000);
    assert.equal(failed.body.status, 'Failed');
    assert.equal((failed.body.error as Record<string, unknown>).code, 'OperationTimedOut');
    assert.equal((await request('GET', dagPath('DAG_Orphan'), { apiVersion: '2025-01-01' })).status, 404);
  });

  it('refuses bad create bodies at once with the recorded codes (link-errors seq 0–4)', async () => {
    const base = {
      databases: [{ databaseName: 'PS4' }],
      failoverMode: 'Manual',
      instanceAvailabilityGroupName: 'AG_PS4_MI',
      instanceLinkRole: 'Secondary',
      partnerAvailabilityGroupName: 'AG_PS4',
      partnerEndpoint: 'tcp://10.0.1.8:5022',
      seedingMode: 'Automatic',
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ databases: [] }, 'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestDatabases'],
      [
        { instanceAvailabilityGroupName: '' },
        'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestInstanceAvailabilityGroupName',
      ],
      [
        { partnerAvailabilityGroupName: '' },
        'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestPartnerAvailabilityGroupName',
      ],
      [{ partnerEndpoint: 'not_valid_value' }, 'InvalidParameterValue'],
    ];
    for (const [over, code] of cases) {
      const res = await request('PUT', dagPath('Link4'), {
        apiVersion: '2023-08-01-preview',
        body: { properties: { ...base, ...over } },
      });
      assert.deepEqual([res.status, (res.body.error as Record<string, unknown>).code], [400, code]);
    }
    const noMi = await request(
      'POST',
      dagPath('Link4').replace(`/managedInstances/${MI_AG}/`, '/managedInstances/invalidmi/') + '/failover',
      { apiVersion: '2023-08-01-preview', body: { failoverType: 'Planned' } },
    );
    assert.equal(noMi.status, 404); // link-errors seq 5
    assert.match(
      String((noMi.body.error as Record<string, unknown>).message),
      /managedInstances\/invalidmi' under resource group/,
    );
  });

  it('reports a lag of -1 while the link is not replicating, and the update policy on newer api-versions', async () => {
    sandbox.link.breakReplication();
    const res = await request('GET', dagPath(), { apiVersion: NEW_API });
    const [db] = (res.body.properties as Record<string, unknown>).databases as Array<Record<string, unknown>>;
    assert.equal(db.instanceRedoReplicationLagSeconds, -1);
    assert.equal(db.replicaState, 'LinkSynchronizationError');
    const miPath = dagPath().replace(/\/distributedAvailabilityGroups\/.*$/, '');
    const current = await request('GET', miPath, { apiVersion: '2025-01-01' });
    assert.equal((current.body.properties as Record<string, unknown>).databaseFormat, 'SQLServer2022');
    mi.databaseFormat = 'AlwaysUpToDate';
    const changed = await request('GET', miPath, { apiVersion: '2025-01-01' });
    assert.equal((changed.body.properties as Record<string, unknown>).databaseFormat, 'AlwaysUpToDate');
    const older = await request('GET', miPath, { apiVersion: '2023-08-01' });
    assert.equal((older.body.properties as Record<string, unknown>).databaseFormat, undefined);
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
