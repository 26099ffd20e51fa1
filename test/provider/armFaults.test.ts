/**
 * ARM faults through the real Pulumi provider host, against the sandbox (issue 8): a throttling storm during the
 * LRS start, a GET that stalls during a wait, a lost answer to a DELETE. What is proven is the transport's part
 * (provider/azure/pipeline.ts): retries within the deadline, a deadline that holds with the last state, and no
 * destructive call sent twice by the HTTP client.
 */
import assert from 'node:assert/strict';
import { lrsResource, lrsRig, until } from './rig';

const MS = {
  pollIntervalInMs: 100,
  startDeadlineInMs: 60_000,
  restoreDeadlineInMs: 60_000,
  completeDeadlineInMs: 60_000,
};

describe('ARM faults through the provider host (LogReplayMigration)', function () {
  this.timeout(120_000);
  const rig = lrsRig(MS);
  const inputs = rig.inputs;
  afterEach(() => rig.sandbox.arm.faults.clear());

  async function seed(db: string): Promise<void> {
    const s = rig.sandbox.sqlServer;
    s.addDatabase(db, { folder: db.toLowerCase(), startLsn: '34000000021600001', sizeMB: 50 });
    await s.backupFull(db);
    await s.backupLog(db);
  }

  const requests = (method: string, db: string) =>
    rig.sandbox.arm.requests.filter({ method, pathPattern: new RegExp(`/databases/${db}(/|$)`) });

  it('survives a throttling storm during the LRS start within the deadline, saying Azure is throttling', async () => {
    await seed('Storm');
    // Ten throttled answers in a row (more than the SDK's default of 3 retries), each asking for 1 s.
    rig.sandbox.arm.faults.inject({ method: 'PUT', pathPattern: /databases\/Storm$/, kind: '429', times: 2 });
    rig.sandbox.arm.faults.inject({
      method: 'GET',
      pathPattern: /databases\/Storm/,
      kind: '429',
      retryAfterSeconds: 1,
      times: 8,
    });
    const engine = rig.engine('storm');
    const [created] = await engine.up([lrsResource(rig, 'storm', inputs('Storm'))]);
    assert.match(String(created.outputs!.phase), /restoring|starting/);
    const throttled = rig.sandbox.arm.requests.filter({ status: 429, pathPattern: '/databases/Storm' });
    assert.equal(throttled.length, 10, 'every throttled answer was met, none ended the operation');
    assert.equal(requests('PUT', 'Storm').filter((r) => r.status === 202).length, 1, 'one start accepted');
    assert.ok(
      engine.lastLogs.some((l) =>
        /Azure is throttling requests \(HTTP 429 SubscriptionRequestsThrottled/.test(l),
      ),
      engine.lastLogs.join('\n'),
    );
    await engine.destroy();
  });

  it('a GET that stalls during a wait fails at the deadline with the last state seen', async () => {
    await seed('Stall');
    const engine = rig.engine('stall');
    await engine.up([lrsResource(rig, 'stall', inputs('Stall'))]);
    // Complete on a last backup that never comes: the provider waits, reading the restore's progress.
    const waiting = engine.up([
      lrsResource(
        rig,
        'stall',
        inputs('Stall', { complete: true, lastBackupName: 'never.trn', restoreDeadlineInMs: 8_000 }),
      ),
    ]);
    const outcome = waiting.then(
      () => undefined,
      (e: Error) => e,
    );
    await until('the wait for the last backup to poll', () =>
      rig.logs.some((l) => l.includes('never.trn') && /waiting for/.test(l)),
    );
    rig.sandbox.arm.faults.inject({
      method: 'GET',
      pathPattern: /databases\/Stall/,
      kind: 'stall',
      times: Infinity,
    });
    const error = await outcome;
    assert.ok(error, 'the wait ended, although every GET from then on stalled');
    assert.match(error.message, /Timeout/);
    assert.match(error.message, /Last state seen: /);
    rig.sandbox.arm.faults.clear();
    await engine.destroy();
  });

  it('a lost answer to a DELETE does not make a second DELETE', async () => {
    await seed('Lost');
    const engine = rig.engine('lost');
    await engine.up([lrsResource(rig, 'lost', inputs('Lost'))]);
    rig.sandbox.arm.faults.inject({ method: 'DELETE', pathPattern: /databases\/Lost$/, kind: 'lost' });
    const first = await engine.destroy().then(
      () => undefined,
      (e: Error) => e,
    );
    const deletes = () => requests('DELETE', 'Lost');
    assert.deepEqual(
      deletes().map((r) => [r.status, r.fault]),
      [[0, 'lost']],
      'the DELETE was acted on, its answer lost, and it was not sent again',
    );
    if (first) assert.match(first.message, /AzureOutcomeUnknown[\s\S]*may or may not have acted/);
    // The drop Azure accepted runs on; once it is done, destroying again converges without a DELETE.
    await until('the drop to finish', async () => {
      await rig.sandbox.world.tick(); // the world moves when looked at
      return !rig.sandbox.instance.databases.has('Lost');
    });
    if (first) await engine.destroy();
    assert.equal(engine.state().resources.length, 0);
    assert.equal(deletes().length, 1);
  });
  it('a refresh whose GET stalls fails within the start deadline, not when the connection gives up', async () => {
    await seed('Refresh');
    const engine = rig.engine('refresh');
    const declared = lrsResource(rig, 'refresh', inputs('Refresh', { startDeadlineInMs: 3_000 }));
    await engine.up([declared]);
    rig.sandbox.arm.faults.inject({
      method: 'GET',
      pathPattern: /databases\/Refresh/,
      kind: 'stall',
      times: Infinity,
    });
    const t0 = Date.now();
    const error = await engine.refresh().then(
      () => undefined,
      (e: Error) => e,
    );
    const elapsed = Date.now() - t0;
    assert.ok(error, 'the refresh ended although every GET stalled');
    assert.match(error.message, /deadline|Timeout/i);
    // The start deadline (3 s) plus a load allowance of 4 s on a busy CI machine; before, it took the
    // transport's own timeout (a minute or more).
    assert.ok(elapsed < 7_000, `refresh took ${elapsed} ms`);
    rig.sandbox.arm.faults.clear();
    await engine.destroy();
  });
});
