import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import type { SqlManagementClient } from '@azure/arm-sql';
import { AnonymousCredential, ContainerClient, type RestError } from '@azure/storage-blob';
import { type Sandbox, startSandbox } from '../../sandbox';
import {
  ARM_SCOPE,
  armClient,
  COLLATION,
  errorCode,
  lrsDatabase,
  rawRequest,
  rejection,
  waitFor,
  whileAdvancing,
} from './helpers';

/** The ARM stand-in, driven with the real @azure/arm-sql client and the real DefaultAzureCredential. */
describe('sandbox ARM stand-in', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let client: SqlManagementClient;
  let rg: string;
  let mi: string;
  let base: string;

  before(async () => {
    sb = await startSandbox({
      speed: 0,
      retryAfterSeconds: 0,
      timings: { lrsStartMs: 5_000, dropDatabaseMs: 20_000 },
    });
    client = armClient(sb);
    rg = sb.instance.resourceGroup;
    mi = sb.instance.name;
    base = `/subscriptions/${sb.instance.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Sql/managedInstances/${mi}`;
    sb.sqlServer.addDatabase('armdb');
    await sb.sqlServer.backupFull('armdb');
  });

  after(async () => {
    await sb?.stop();
  });

  beforeEach(() => {
    sb.arm.faults.clear();
  });

  it('serves the managed instance to the SDK with a token from DefaultAzureCredential', async () => {
    const before = sb.arm.server.tokens.requestCount;
    const instance = await client.managedInstances.get(rg, mi);
    assert.equal(instance.name, mi);
    assert.equal(instance.type, 'Microsoft.Sql/managedInstances');
    assert.equal(instance.sku?.tier, 'GeneralPurpose');
    assert.equal(instance.state, 'Ready');
    assert.ok(
      sb.arm.server.tokens.requestCount >= before,
      'token endpoint used (or its token cached by MSAL)',
    );
    assert.ok(sb.arm.server.tokens.requestCount > 0);
  });

  it('answers 401 with WWW-Authenticate without a valid token, and for a wrong audience', async () => {
    const none = await rawRequest(sb, 'GET', `${base}?api-version=2023-08-01`, { token: null });
    assert.equal(none.status, 401);
    assert.equal(errorCode(none.body), 'AuthenticationFailed');
    assert.match(
      String(none.headers['www-authenticate']),
      /^Bearer authorization_uri=".+", error="invalid_token"/,
    );
    const foreign = await rawRequest(sb, 'GET', `${base}?api-version=2023-08-01`, {
      token: 'eyJ.not.issued',
    });
    assert.equal(errorCode(foreign.body), 'InvalidAuthenticationToken');
    // Without credentialScopes the SDK asks for "<endpoint>/.default": ARM refuses that audience.
    const noScopes = armClient(sb, { credentialScopes: undefined });
    const err = await rejection(noScopes.managedInstances.get(rg, mi));
    assert.equal(err.statusCode, 401);
    assert.equal(err.code, 'InvalidAuthenticationTokenAudience');
  });

  it('requires api-version but accepts any, and records it', async () => {
    const missing = await rawRequest(sb, 'GET', base);
    assert.equal(missing.status, 400);
    assert.equal(errorCode(missing.body), 'MissingApiVersionParameter');
    const odd = await rawRequest(sb, 'GET', `${base}?api-version=2099-01-01-preview`);
    assert.equal(odd.status, 200);
    assert.ok(sb.arm.requests.apiVersions()['2099-01-01-preview'] >= 1);
  });

  it('answers 404 with the ARM shapes', async () => {
    const db = await rejection(client.managedDatabases.get(rg, mi, 'nosuchdb'));
    assert.equal(db.statusCode, 404);
    assert.equal(db.code, 'ResourceNotFound');
    // A nested resource under a missing instance: the gateway names the instance (link-errors seq 5).
    const parent = await rejection(client.managedDatabases.get(rg, 'nosuchmi', 'db'));
    assert.equal(parent.code, 'ResourceNotFound');
    assert.match(parent.message, /Microsoft\.Sql\/managedInstances\/nosuchmi'/);
    const instance = await rejection(client.managedInstances.get(rg, 'nosuchmi'));
    assert.equal(instance.code, 'ResourceNotFound');
    const group = await rejection(client.managedInstances.get('nosuchrg', mi));
    assert.equal(group.code, 'ResourceGroupNotFound');
    const details = await rawRequest(
      sb,
      'GET',
      `${base}/databases/nosuchdb/restoreDetails/Default?api-version=2022-05-01-preview`,
    );
    assert.equal(details.status, 404);
    assert.equal(errorCode(details.body), 'ParentResourceNotFound');
  });

  it('matches resource names case-insensitively', async () => {
    const instance = await client.managedInstances.get(rg.toUpperCase(), mi.toUpperCase());
    assert.equal(instance.name, mi);
  });

  it('validates a RestoreExternalBackup PUT like Azure', async () => {
    const good: Record<string, unknown> = { ...lrsDatabase(sb, 'armdb') };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['LocationRequired', { properties: { ...props(good) } }],
      ['MissingStorageContainerUri', body(good, { storageContainerUri: undefined })],
      ['MissingStorageContainerSasToken', body(good, { storageContainerSasToken: undefined })],
      ['AutoCompleteMissingLastBackupName', body(good, { autoCompleteRestore: true })],
      ['LastBackupNameHasNewline', body(good, { autoCompleteRestore: true, lastBackupName: 'log\n1.bak' })],
      ['InvalidDatabaseCreateOrUpdateRequest', body(good, { storageContainerIdentity: 'ManagedIdentity' })],
      [
        'InvalidDatabaseCreateOrUpdateRequest',
        body(good, { storageContainerUri: sb.storage.containerUrl('backups') }),
      ],
      ['InvalidRequestContent', body(good, { autoCompleteRestore: 'yes' })],
    ];
    for (const [code, payload] of cases) {
      const res = await rawRequest(sb, 'PUT', `${base}/databases/invalid?api-version=2022-05-01-preview`, {
        body: payload,
      });
      assert.equal(res.status, 400, `${code}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res.body), code, JSON.stringify(res.body));
    }
    assert.equal(sb.instance.databases.has('invalid'), false);
  });

  it('starts with 202 + an operation stub (lrs-continuous t2), repeats idempotently, refuses different parameters', async () => {
    const parameters = lrsDatabase(sb, 'armdb');
    const put = (name: string, p: object) =>
      rawRequest(sb, 'PUT', `${base}/databases/${name}?api-version=2022-05-01-preview`, {
        body: { location: sb.instance.location, properties: p },
      });
    const { location: _l, ...properties } = parameters;
    const first = await put('ArmDb', properties);
    assert.equal(first.status, 202);
    assert.equal(
      (first.body as { operation: string }).operation,
      'CreateExternalManagedBackupRestoreV2Request',
    );
    assert.ok(first.headers['azure-asyncoperation'] && first.headers.location);
    sb.clock.advance(sb.world.timings.lrsDatabaseAppearMs);
    const db = await client.managedDatabases.get(rg, mi, 'armdb');
    assert.equal(db.status, 'Restoring');
    assert.equal(db.name, 'ArmDb');
    assert.equal(db.type, 'Microsoft.Sql/managedInstances/databases');
    const again = await put('armdb', properties);
    assert.equal(again.status, 202);
    const other = await put('armdb', { ...properties, collation: 'Latin1_General_100_CI_AS' });
    assert.equal(errorCode(other.body), 'ManagedDatabaseNameInUse');
  });

  it('retries 429 (Retry-After) and 503 in the SDK pipeline', async () => {
    sb.arm.requests.clear();
    sb.arm.faults.inject({
      method: 'GET',
      pathPattern: `/managedInstances/${mi}`,
      kind: '429',
      retryAfterSeconds: 1,
    });
    sb.arm.faults.inject({
      method: 'GET',
      pathPattern: `/managedInstances/${mi}`,
      kind: '503',
      retryAfterSeconds: 0,
    });
    const started = Date.now();
    const instance = await client.managedInstances.get(rg, mi);
    assert.equal(instance.name, mi);
    assert.ok(Date.now() - started >= 900, 'the client waited for Retry-After');
    const statuses = sb.arm.requests
      .filter({ method: 'GET', pathPattern: `/managedInstances/${mi}` })
      .map((r) => r.status);
    assert.deepEqual(statuses, [429, 503, 200]);
    assert.equal(sb.arm.requests.filter({ status: 429 })[0].errorCode, 'SubscriptionRequestsThrottled');
  });

  it('retries a 500 and a dropped connection', async () => {
    sb.arm.requests.clear();
    sb.arm.faults.inject({ method: 'GET', pathPattern: `/managedInstances/${mi}`, kind: '500' });
    sb.arm.faults.inject({ method: 'GET', pathPattern: `/managedInstances/${mi}`, kind: 'drop' });
    const instance = await client.managedInstances.get(rg, mi);
    assert.equal(instance.name, mi);
    const records = sb.arm.requests.filter({ method: 'GET', pathPattern: `/managedInstances/${mi}` });
    assert.deepEqual(
      records.map((r) => [r.status, r.fault]),
      [
        [500, '500'],
        [0, 'drop'],
        [200, undefined],
      ],
    );
  });

  it('answers slowly when asked to', async () => {
    sb.arm.faults.inject({ pathPattern: `/managedInstances/${mi}`, kind: 'slow', delayMs: 300 });
    const started = Date.now();
    await client.managedInstances.get(rg, mi);
    assert.ok(Date.now() - started >= 290);
  });

  it('deletes as an LRO: 202 + both headers, the operation outlives the database; a missing database answers 204', async () => {
    sb.arm.requests.clear();
    await whileAdvancing(sb, 10_000, () =>
      client.managedDatabases.beginDeleteAndWait(rg, mi, 'armdb', { updateIntervalInMs: 10 }),
    );
    assert.equal(sb.instance.databases.has('armdb'), false);
    const del = sb.arm.requests.filter({ method: 'DELETE' });
    assert.deepEqual(
      del.map((r) => r.status),
      [202],
    );
    // lrs-ps-stop x8…y1: the drop operation runs ~25 min, long after GET answers 404.
    const polls = sb.arm.requests.filter({ pathPattern: /managedDatabaseAzureAsyncOperation\// });
    assert.ok(polls.length > 1);
    const missing = await rawRequest(sb, 'DELETE', `${base}/databases/armdb?api-version=2022-05-01-preview`);
    assert.equal(missing.status, 204);
  });

  it('creates an empty database (createMode Default) and reports it Online after the create time', async () => {
    const db = await whileAdvancing(sb, 5_000, () =>
      client.managedDatabases.beginCreateOrUpdateAndWait(
        rg,
        mi,
        'emptydb',
        { location: sb.instance.location, collation: COLLATION },
        {
          updateIntervalInMs: 10,
        },
      ),
    );
    assert.equal(db.status, 'Online');
    const complete = await rejection(
      client.managedDatabases.beginCompleteRestoreAndWait(rg, mi, 'emptydb', { lastBackupName: 'x' }),
    );
    assert.equal(complete.code, 'ManagedDatabaseNotInRestoringState');
    // lrs-ps-stop-foreign-database w5: restore details of a database LRS did not create answer 500.
    const details = await rawRequest(
      sb,
      'GET',
      `${base}/databases/emptydb/restoreDetails/Default?api-version=2022-05-01-preview`,
    );
    assert.equal(details.status, 500);
    assert.equal(errorCode(details.body), 'InternalServerError');
  });

  it('mirrors the control surface under /_sandbox', async () => {
    const fault = await rawRequest(sb, 'POST', '/_sandbox/faults', {
      token: null,
      body: { kind: '503', pathPattern: '/nothing-matches', times: 2 },
    });
    assert.equal(fault.status, 201);
    assert.equal(sb.arm.faults.active.length, 1);
    const world = await rawRequest(sb, 'GET', '/_sandbox/world', { token: null });
    assert.equal((world.body as { instances: Array<{ name: string }> }).instances[0].name, mi);
    const advanced = await rawRequest(sb, 'POST', '/_sandbox/clock/advance', {
      token: null,
      body: { ms: 1000 },
    });
    assert.equal(advanced.status, 200);
    const created = await rawRequest(sb, 'POST', '/_sandbox/sqlserver/databases', {
      token: null,
      body: { name: 'ctl' },
    });
    assert.equal(created.status, 201);
    const backup = await rawRequest(sb, 'POST', '/_sandbox/sqlserver/databases/ctl/backups', {
      token: null,
      body: { type: 'full' },
    });
    assert.equal((backup.body as { blobName: string }).blobName, 'ctl/ctl_full_001.bak');
    assert.equal(sb.arm.requests.count({ pathPattern: '/_sandbox' }), 0, 'control requests are not logged');
  });

  it('serves a separate provider process configured only by env() (NODE_EXTRA_CA_CERTS, managed identity)', async () => {
    const script = `
      const { SqlManagementClient } = require('@azure/arm-sql');
      const { DefaultAzureCredential } = require('@azure/identity');
      const client = new SqlManagementClient(new DefaultAzureCredential(), process.argv[1], {
        endpoint: process.env.SQLMI_ARM_ENDPOINT, credentialScopes: ['${ARM_SCOPE}'],
      });
      client.managedInstances.get(process.argv[2], process.argv[3])
        .then((mi) => console.log(JSON.stringify({ name: mi.name, tier: mi.sku.tier })))
        .catch((e) => { console.error(e.code, e.message); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', script, sb.instance.subscriptionId, rg, mi],
      {
        env: sb.env(),
        cwd: process.cwd(),
        timeout: 30_000,
      },
    );
    assert.deepEqual(JSON.parse(stdout), { name: mi, tier: 'GeneralPurpose' });
  });
});

function props(db: Record<string, unknown>): Record<string, unknown> {
  const { location: _location, ...rest } = db;
  return rest;
}

function body(db: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  return { location: db.location, properties: { ...props(db), ...changes } };
}

/** Every fault the ARM side of the sandbox plays (issue 8 "The sandbox plays every fault"). */
describe('sandbox ARM stand-in: faults and operation answers', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let base: string;
  const api = '?api-version=2022-05-01-preview';
  const dagApi = '?api-version=2025-01-01';
  const DAG = 'DAG_Faults';

  before(async () => {
    sb = await startSandbox({
      speed: 0,
      timings: { lrsStartMs: 5_000, dropDatabaseMs: 20_000, createDatabaseMs: 10_000 },
      lrs: { restoreMBps: 100, perFileOverheadMs: 1_000, completionMs: 5_000 },
    });
    base = `/subscriptions/${sb.instance.subscriptionId}/resourceGroups/${sb.instance.resourceGroup}/providers/Microsoft.Sql/managedInstances/${sb.instance.name}`;
    sb.sqlServer.addDatabase('faultdb', { sizeMB: 10 });
    await sb.sqlServer.backupFull('faultdb');
    sb.link.establishLink({
      name: DAG,
      sqlServerAg: 'AG_Faults',
      miAg: 'MI_AG_Faults',
      databases: ['FaultsDb'],
    });
  });

  after(async () => {
    await sb?.stop();
  });

  beforeEach(() => {
    sb.arm.faults.clear();
    sb.arm.server.lro.options.retryAfter = 'absent';
  });

  const path = (url: unknown) => {
    const u = new URL(String(url));
    return `${u.pathname}${u.search}`;
  };
  const lrsBody = (folder: string) => ({
    location: sb.instance.location,
    properties: {
      createMode: 'RestoreExternalBackup',
      storageContainerUri: sb.storage.containerUrl(folder),
      storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
      collation: COLLATION,
    },
  });

  it('sends no Retry-After by default, and 15 on the 202 and on every poll when asked (recorded PowerShell)', async () => {
    const absent = await rawRequest(sb, 'PUT', `${base}/databases/ra1${api}`, {
      body: { location: sb.instance.location },
    });
    assert.equal(absent.status, 202);
    assert.equal(absent.headers['retry-after'], undefined);

    const set = await rawRequest(sb, 'PUT', '/_sandbox/lro', { token: null, body: { retryAfter: 15 } });
    assert.deepEqual(set.body, { retryAfter: 15 });
    const accepted = await rawRequest(sb, 'PUT', `${base}/databases/ra2${api}`, {
      body: { location: sb.instance.location },
    });
    assert.equal(accepted.headers['retry-after'], '15');
    const poll = () => rawRequest(sb, 'GET', path(accepted.headers['azure-asyncoperation']));
    assert.deepEqual(
      [(await poll()).body, (await poll()).headers['retry-after']].map((x) => typeof x),
      ['object', 'string'],
    );
    const running = await rawRequest(sb, 'GET', path(accepted.headers.location));
    assert.deepEqual([running.status, running.headers['retry-after']], [202, '15']);
    sb.clock.advance(10_000);
    const done = await poll();
    assert.deepEqual(
      [(done.body as { status: string }).status, done.headers['retry-after']],
      ['Succeeded', '15'],
    );
    const result = await rawRequest(sb, 'GET', path(accepted.headers.location));
    assert.equal(
      result.status,
      204,
      'no result body for a create (no source: the provider must not need one)',
    );
    assert.equal(
      result.headers['retry-after'],
      undefined,
      'final Location answers carry none (lrs-ps-complete 36)',
    );
  });

  it('loses the answer of a request it acted on (fault lost)', async () => {
    await rawRequest(sb, 'PUT', `${base}/databases/lostdb${api}`, {
      body: { location: sb.instance.location },
    });
    sb.clock.advance(10_000);
    sb.arm.faults.inject({ method: 'DELETE', pathPattern: '/databases/lostdb', kind: 'lost' });
    await assert.rejects(
      rawRequest(sb, 'DELETE', `${base}/databases/lostdb${api}`),
      /socket hang up|ECONNRESET/,
    );
    assert.ok(sb.instance.databases.get('lostdb')?.dropScheduledAt !== undefined, 'the drop was acted on');
    const [entry] = sb.arm.requests.filter({ method: 'DELETE', pathPattern: '/databases/lostdb' });
    assert.deepEqual([entry.status, entry.fault, entry.unsentStatus], [0, 'lost', 202]);
  });

  it('stalls a request: neither acted on nor answered (fault stall)', async () => {
    sb.arm.faults.inject({ method: 'PUT', pathPattern: '/databases/stalldb', kind: 'stall' });
    const answered = await Promise.race([
      rawRequest(sb, 'PUT', `${base}/databases/stalldb${api}`, {
        body: { location: sb.instance.location },
      }).then(
        () => 'answered',
        () => 'failed',
      ),
      waitFor(
        'the stalled request in the log',
        () => sb.arm.requests.count({ pathPattern: '/databases/stalldb' }) === 1,
      ),
    ]);
    assert.equal(answered, true, 'no answer came');
    assert.equal(sb.instance.databases.has('stalldb'), false, 'not acted on');
  });

  it("stalls after acting (stall when: 'after') and lets matching requests through first (skip)", async () => {
    const put = () =>
      rawRequest(sb, 'PUT', `${base}/databases/stallafter${api}`, {
        body: { location: sb.instance.location },
      });
    // skip 1: the first matching PUT is served; the second is acted on, then held without an answer.
    const fault = sb.arm.faults.inject({
      method: 'PUT',
      pathPattern: '/databases/stallafter',
      kind: 'stall',
      when: 'after',
      skip: 1,
    });
    assert.equal((await put()).status, 202);
    sb.clock.advance(20_000);
    await sb.world.tick();
    sb.instance.databases.delete('stallafter');
    const answered = await Promise.race([
      put().then(
        () => 'answered',
        () => 'failed',
      ),
      waitFor(
        'the held request in the log',
        () => sb.arm.requests.count({ pathPattern: '/databases/stallafter' }) === 2,
      ),
    ]);
    assert.equal(answered, true, 'no answer came');
    assert.equal(sb.instance.databases.has('stallafter'), true, 'acted on');
    const held = sb.arm.requests.filter({ pathPattern: '/databases/stallafter' })[1];
    assert.deepEqual([held.status, held.fault, held.unsentStatus], [0, 'stall', 202]);
    assert.deepEqual([fault.skipped, fault.hits], [1, 1]);
    assert.ok(sb.arm.server.lro.inProgress().length > 0, 'its operation runs');
  });

  it('ends the operation of every write Failed or Canceled on request (faults lroFailed, lroCanceled)', async () => {
    // A restore with its full backup restored, for completeRestore.
    await rawRequest(sb, 'PUT', `${base}/databases/cplt${api}`, { body: lrsBody('faultdb') });
    sb.clock.advance(60_000);
    await sb.world.tick();
    const restored = String(sb.instance.databases.get('cplt')?.lrs?.restoreDetails().lastRestoredFileName);
    const writes: Array<{ kind: string; method: string; path: string; body?: unknown }> = [
      {
        kind: 'managedDatabase',
        method: 'PUT',
        path: `${base}/databases/lro1${api}`,
        body: { location: sb.instance.location },
      },
      {
        kind: 'managedDatabaseRestore',
        method: 'PUT',
        path: `${base}/databases/lro2${api}`,
        body: lrsBody('faultdb'),
      },
      {
        kind: 'managedDatabaseCompleteRestore',
        method: 'POST',
        path: `${base}/databases/cplt/completeRestore${api}`,
        body: { lastBackupName: restored },
      },
      { kind: 'managedDatabase', method: 'DELETE', path: `${base}/databases/lro1${api}` },
      {
        kind: 'distributedAvailabilityGroups',
        method: 'PATCH',
        path: `${base}/distributedAvailabilityGroups/${DAG}${dagApi}`,
        body: { properties: { replicationMode: 'Sync' } },
      },
      {
        kind: 'distributedAvailabilityGroups',
        method: 'POST',
        path: `${base}/distributedAvailabilityGroups/${DAG}/failover${dagApi}`,
        body: { failoverType: 'ForcedAllowDataLoss' },
      },
      {
        kind: 'distributedAvailabilityGroups',
        method: 'POST',
        path: `${base}/distributedAvailabilityGroups/${DAG}/setRole${dagApi}`,
        body: { instanceRole: 'Secondary', roleChangeType: 'Forced' },
      },
      {
        kind: 'distributedAvailabilityGroups',
        method: 'DELETE',
        path: `${base}/distributedAvailabilityGroups/${DAG}${dagApi}`,
      },
      {
        kind: 'distributedAvailabilityGroups',
        method: 'PUT',
        path: `${base}/distributedAvailabilityGroups/DAG_New_Faults${dagApi}`,
        body: {
          properties: {
            partnerAvailabilityGroupName: 'AG_Faults2',
            instanceAvailabilityGroupName: 'MI_AG_Faults2',
            databases: [{ databaseName: 'FaultsDb2' }],
          },
        },
      },
    ];
    let n = 0;
    for (const w of writes) {
      const status = n++ % 2 === 0 ? 'Failed' : 'Canceled';
      sb.arm.faults.inject({
        method: w.method,
        pathPattern: w.path.replace(/\?.*$/, ''),
        kind: status === 'Failed' ? 'lroFailed' : 'lroCanceled',
        errorCode: `Sandbox${status}`,
        afterMs: 1_000,
      });
      const accepted = await rawRequest(sb, w.method, w.path, { body: w.body });
      assert.equal(accepted.status, 202, `${w.method} ${w.path}: ${JSON.stringify(accepted.body)}`);
      const asyncOp = path(accepted.headers['azure-asyncoperation']);
      assert.match(asyncOp, new RegExp(`/${w.kind}AzureAsyncOperation/`));
      const early = await rawRequest(sb, 'GET', asyncOp);
      assert.equal((early.body as { status: string }).status === status, false, 'not before afterMs');
      sb.clock.advance(1_000);
      const ended = await rawRequest(sb, 'GET', asyncOp);
      assert.deepEqual(
        [(ended.body as { status: string }).status, (ended.body as { error?: { code: string } }).error?.code],
        [status, `Sandbox${status}`],
        `${w.method} ${w.path}`,
      );
      const result = await rawRequest(sb, 'GET', path(accepted.headers.location));
      assert.equal(errorCode(result.body), `Sandbox${status}`);
    }
  });

  it('finishes operations on simulated time without being polled', async () => {
    sb.link.establishLink({
      name: 'DAG_Unpolled',
      sqlServerAg: 'AG_Unpolled',
      miAg: 'MI_AG_Unpolled',
      databases: ['UnpolledDb'],
    });
    const dag = `${base}/distributedAvailabilityGroups/DAG_Unpolled${dagApi}`;
    const patch = await rawRequest(sb, 'PATCH', dag, { body: { properties: { replicationMode: 'Sync' } } });
    assert.equal(patch.status, 202);
    sb.clock.advance(30_000); // past a link operation's recorded 11–23 s (routes/dag.ts operationMs)
    const read = await rawRequest(sb, 'GET', dag); // no poll of the operation in between
    assert.equal(
      (read.body as { properties: { replicationMode: string } }).properties.replicationMode,
      'Sync',
    );
    const polls = sb.arm.requests.count({ pathPattern: /OperationResults|AzureAsyncOperation/ });
    const del = await rawRequest(sb, 'DELETE', dag);
    sb.clock.advance(30_000);
    await sb.world.tick(); // the world's tick settles operations too
    assert.equal(sb.link.hasLink('DAG_Unpolled'), false);
    assert.equal(
      sb.arm.requests.count({ pathPattern: /OperationResults|AzureAsyncOperation/ }),
      polls,
      'never polled',
    );
    assert.equal(del.status, 202);
  });

  it('plays identity endpoint faults and slow token answers', async () => {
    const env = sb.envOverrides();
    const token = (timeoutMs = 5_000) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(env.IDENTITY_ENDPOINT);
        url.searchParams.set('api-version', '2019-08-01');
        url.searchParams.set('resource', 'https://management.azure.com');
        const r = http.get(
          url,
          { headers: { 'x-identity-header': env.IDENTITY_HEADER }, timeout: timeoutMs },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        r.on('timeout', () => r.destroy(new Error('timeout')));
        r.on('error', reject);
      });
    const identity = sb.arm.identity;
    identity.faults.inject({ kind: '500', times: 2 });
    assert.equal((await token()).status, 500);
    assert.equal((await token()).status, 500);
    assert.equal((await token()).status, 200);
    identity.faults.inject({ kind: '429', retryAfterSeconds: 3 });
    assert.equal((await token()).status, 429);
    identity.faults.inject({ kind: 'slow', delayMs: 300 });
    const started = Date.now();
    assert.equal((await token()).status, 200);
    assert.ok(Date.now() - started >= 290, 'answered after the delay');
    identity.faults.inject({ kind: 'stall' });
    await assert.rejects(token(300), /timeout/);
    identity.faults.inject({ kind: 'drop' });
    await assert.rejects(token(), /socket hang up|ECONNRESET/);
    const issued = identity.issuedCount;
    identity.faults.inject({ kind: 'lost' });
    await assert.rejects(token(), /socket hang up|ECONNRESET/);
    assert.equal(identity.issuedCount, issued + 1, 'issued, answer lost');
    const ctl = await rawRequest(sb, 'POST', '/_sandbox/identity/faults', {
      token: null,
      body: { kind: '503', times: 1 },
    });
    assert.equal(ctl.status, 201);
    assert.equal((await token()).status, 503);
  });

  it('plays storage faults through the proxy in front of Azurite', async () => {
    const container = new ContainerClient(
      `${sb.storage.containerUrl()}?${sb.storage.makeSas({ permissions: 'rl' })}`,
      new AnonymousCredential(),
      {
        retryOptions: { maxTries: 1 },
      },
    );
    const list = async () => {
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      return names;
    };
    assert.ok((await list()).length > 0);
    sb.storage.faults.inject({ method: 'GET', pathPattern: 'comp=list', kind: '503' });
    await assert.rejects(list(), (e: RestError) => e.statusCode === 503 && e.code === 'ServerBusy');
    sb.storage.faults.inject({ method: 'GET', pathPattern: 'comp=list', kind: 'drop' });
    await assert.rejects(list());
    assert.ok((await list()).length > 0, 'faults are used up');
    // A restore that cannot list its container at the start fails as LRS does.
    sb.storage.faults.inject({ method: 'GET', pathPattern: 'comp=list', kind: '403', times: Infinity });
    await rawRequest(sb, 'PUT', `${base}/databases/nostorage${api}`, { body: lrsBody('faultdb') });
    await sb.world.tick();
    sb.storage.faults.clear();
    assert.equal(
      sb.instance.databases.get('nostorage')?.lrs?.error?.code,
      'StorageBrokenIssueDetectedAtTheStart',
    );
    // A lost answer: Azurite acted (the blob exists), the client saw no answer.
    sb.storage.faults.inject({ method: 'PUT', pathPattern: '/lost.bak', kind: 'lost' });
    await sb.sqlServer.uploadRaw('lost.bak', 'x'); // the storage client sends it again after the lost answer
    assert.ok((await list()).includes('lost.bak'));
    const puts = sb.storage.proxy!.requests.filter((r) => r.method === 'PUT' && r.path.includes('/lost.bak'));
    assert.deepEqual(
      puts.map((r) => [r.status, r.fault]),
      [
        [0, 'lost'],
        [201, undefined],
      ],
    );
    const ctl = await rawRequest(sb, 'POST', '/_sandbox/storage/faults', {
      token: null,
      body: { kind: '500' },
    });
    assert.equal(ctl.status, 201);
    await assert.rejects(list(), (e: RestError) => e.statusCode === 500);
  });
});
