/**
 * LogReplayMigration through the real Pulumi provider host (gRPC), against the sandbox: Azurite holding
 * backups a simulated SQL Server writes, and the ARM stand-in restoring them over simulated time.
 */
import assert from 'node:assert/strict';
import { managedInstanceId } from '../../sandbox/world/instances';
import { UNKNOWN } from '../../sandbox/engine/host';
import { lrsResource, type Rig, startRig, until } from './rig';

const MS = {
  pollIntervalInMs: 100,
  startDeadlineInMs: 20_000,
  restoreDeadlineInMs: 20_000,
  completeDeadlineInMs: 20_000,
};

describe('LogReplayMigration lifecycle (provider host + sandbox)', function () {
  this.timeout(120_000);
  let rig: Rig;
  let miId: string;
  let sas: string;

  before(async () => {
    rig = await startRig();
    miId = managedInstanceId(rig.sandbox.instance);
    sas = rig.sandbox.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  });
  after(async () => {
    await rig?.stop();
  });

  const inputs = (db: string, over: Record<string, unknown> = {}) => ({
    managedInstanceId: miId,
    databaseName: db,
    storageContainerUri: rig.sandbox.storage.containerUrl(db.toLowerCase()),
    storageContainerSasToken: sas,
    ...MS,
    ...over,
  });

  async function seed(db: string, logs: number): Promise<string[]> {
    const s = rig.sandbox.sqlServer;
    s.addDatabase(db, { folder: db.toLowerCase(), startLsn: '34000000021600001', sizeMB: 50 });
    s.startWorkload(db, 500);
    const names = [(await s.backupFull(db)).blobName];
    for (let k = 0; k < logs; k++) names.push((await s.backupLog(db)).blobName);
    return names.map((n) => n.split('/').pop()!);
  }

  it('preview accepts unknowns and calls nothing; check names the field and the fix', async () => {
    const engine = rig.engine('preview');
    const before = rig.sandbox.arm.requests.count();
    const [step] = await engine.preview([
      lrsResource(rig, 'p1', inputs('Prev', { managedInstanceId: UNKNOWN, lastBackupName: UNKNOWN })),
    ]);
    assert.equal(step.op, 'create');
    assert.deepEqual(step.failures, []);
    assert.ok(
      engine.lastLogs.some((l) => /start Log Replay Service: create database Prev/.test(l)),
      engine.lastLogs.join('\n'),
    );
    assert.ok(engine.lastLogs.some((l) => /not known until apply: .*managedInstanceId/.test(l)));
    const [bad] = await engine.preview([
      lrsResource(
        rig,
        'p1',
        inputs('Prev', { storageContainerSasToken: rig.sandbox.storage.makeSas({ permissions: 'rwl' }) }),
      ),
    ]);
    assert.equal(bad.failures[0]?.property, 'storageContainerSasToken');
    assert.match(
      bad.failures[0]?.reason ?? '',
      /must grant exactly Read and List \(sp=rl\).*also grants Write \(w\)/,
    );
    assert.equal(rig.sandbox.arm.requests.count(), before, 'preview made no ARM call');
  });

  it('starts, shows progress, completes on the cutover switch, reads, and keeps the database on destroy', async () => {
    const files = await seed('Sales', 2);
    const engine = rig.engine('sales');
    const [created] = await engine.up([lrsResource(rig, 'sales', inputs('Sales'))]);
    assert.equal(created.op, 'create');
    const out = created.outputs!;
    assert.match(String(out.phase), /restoring|starting/);
    assert.equal(out.storageContainerSasToken, undefined, 'no SAS in outputs');
    assert.equal(rig.sandbox.arm.requests.count({ method: 'PUT', pathPattern: /databases\/Sales$/ }), 1);

    // In preview, a `complete` that is not known yet is shown as what would happen if it becomes true.
    const [maybe] = await engine.preview([
      lrsResource(rig, 'sales', inputs('Sales', { complete: UNKNOWN, lastBackupName: UNKNOWN })),
    ]);
    assert.equal(maybe.op, 'update');
    assert.ok(
      engine.lastLogs.some((l) => /if complete turns out true: complete the restore \(cutover\)/.test(l)),
    );

    // The workload stops, the last log backup is taken and uploaded; the user flips `complete`.
    rig.sandbox.sqlServer.stopWorkload('Sales');
    const last = (await rig.sandbox.sqlServer.backupLog('Sales')).blobName.split('/').pop()!;
    const declared = lrsResource(rig, 'sales', inputs('Sales', { lastBackupName: last, complete: true }));
    const [plan] = await engine.preview([declared]);
    assert.equal(plan.op, 'update');
    assert.ok(
      engine.lastLogs.some((l) => /complete the restore \(cutover\).*\[IRREVERSIBLE\]/.test(l)),
      engine.lastLogs.join('\n'),
    );
    const [updated] = await engine.up([declared]);
    assert.equal(updated.outputs!.phase, 'completed');
    assert.equal(updated.outputs!.lastRestoredFileName, last);
    assert.ok(updated.outputs!.completedAt);
    assert.equal(rig.sandbox.arm.requests.count({ method: 'POST', pathPattern: /completeRestore/ }), 1);
    assert.ok(
      engine.lastLogs.some(
        (l) =>
          l.includes(`waiting for last backup ${last} to be restored`) ||
          l.includes('completing the restore'),
      ),
    );
    assert.ok(files.length === 3);

    const [refreshed] = await engine.refresh();
    assert.equal(refreshed.outputs.databaseStatus, 'Online');

    await engine.destroy();
    assert.ok(engine.lastLogs.some((l) => /completed its migration and is kept/.test(l)));
    assert.equal(rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: /databases\/Sales$/ }), 0);
    assert.equal(
      rig.sandbox.instance.databases.get('sales')?.status ??
        rig.sandbox.instance.databases.get('Sales')?.status,
      'Online',
    );
  });

  it('destroy before completion drops only the database it started', async () => {
    await seed('Stage', 1);
    const engine = rig.engine('stage');
    await engine.up([lrsResource(rig, 'stage', inputs('Stage'))]);
    await engine.destroy();
    assert.equal(rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: /databases\/Stage$/ }), 1);
    assert.ok(engine.lastLogs.some((l) => /dropped: the migration was stopped before completion/.test(l)));
  });

  it('refuses to take over a database it did not start, and never drops it', async () => {
    await seed('Taken', 1);
    rig.sandbox.world.createDatabase(rig.sandbox.instance, 'Taken', {
      collation: 'SQL_Latin1_General_CP1_CI_AS',
    });
    const engine = rig.engine('taken');
    const puts = rig.sandbox.arm.requests.count({ method: 'PUT', pathPattern: /databases\/Taken$/ });
    await assert.rejects(engine.up([lrsResource(rig, 'taken', inputs('Taken'))]), (e: Error) => {
      assert.match(
        e.message,
        /DatabaseExists[\s\S]*was not started by this resource[\s\S]*never takes over or drops/,
      );
      return true;
    });
    assert.equal(rig.sandbox.arm.requests.count({ method: 'PUT', pathPattern: /databases\/Taken$/ }), puts);
    assert.equal(engine.state().resources.length, 0);
  });

  it('a SAS without list permission fails in preflight, before LRS starts', async () => {
    await seed('NoList', 1);
    const engine = rig.engine('nolist');
    const before = rig.sandbox.arm.requests.count({ method: 'PUT' });
    await assert.rejects(
      engine.up([
        lrsResource(
          rig,
          'nolist',
          inputs('NoList', {
            storageContainerSasToken: rig.sandbox.storage.makeSas({ permissions: 'r', protocol: 'https' }),
          }),
        ),
      ]),
      /sp=rl|List/,
    );
    const check = await engine.preview([
      lrsResource(
        rig,
        'nolist',
        inputs('NoList', { storageContainerSasToken: rig.sandbox.storage.makeSas({ permissions: 'r' }) }),
      ),
    ]);
    assert.match(check[0].failures[0]?.reason ?? '', /lacks List/);
    assert.equal(rig.sandbox.arm.requests.count({ method: 'PUT' }), before);
  });

  it('a crash mid-cutover resumes on the next up without a second completion', async () => {
    await seed('Crash', 1);
    const engine = rig.engine('crash');
    await engine.up([lrsResource(rig, 'crash', inputs('Crash'))]);
    const pending = 'crash_log_final.trn';
    const declared = lrsResource(rig, 'crash', inputs('Crash', { complete: true, lastBackupName: pending }));
    const run = engine.up([declared]).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    await until('the provider to wait for the last backup', () =>
      rig.logs.some((l) => l.includes(`waiting for last backup ${pending}`)),
    );
    await engine.kill();
    assert.notEqual(await run, 'finished');
    rig.sandbox.sqlServer.stopWorkload('Crash');
    await rig.sandbox.sqlServer.backupLog('Crash', { blobName: `crash/${pending}` });
    const [resumed] = await engine.up([declared]);
    assert.equal(resumed.outputs!.phase, 'completed');
    assert.equal(
      rig.sandbox.arm.requests.count({ method: 'POST', pathPattern: /databases\/Crash\/completeRestore/ }),
      1,
    );
  });

  it('a broken log chain fails with the service code and what to do; destroy drops the failed database', async () => {
    const s = rig.sandbox.sqlServer;
    await seed('Gap', 1);
    // A log backup that never reaches the folder: the chain has a gap.
    await s.backupLog('Gap', { blobName: 'elsewhere/gap_missing.trn' });
    const after = (await s.backupLog('Gap')).blobName.split('/').pop()!;
    const engine = rig.engine('gap');
    await engine.up([lrsResource(rig, 'gap', inputs('Gap'))]);
    rig.sandbox.clock.advance(rig.sandbox.world.lrs.options.stallGraceMs + 60_000);
    await assert.rejects(
      engine.up([lrsResource(rig, 'gap', inputs('Gap', { complete: true, lastBackupName: after }))]),
      (e: Error) => {
        assert.match(e.message, /RestoreFailed\/BrokenRestorePlanGapInLogBackups/);
        assert.match(e.message, /What to do: log backups are missing between two files/);
        return true;
      },
    );
    assert.equal(
      rig.sandbox.arm.requests.count({ method: 'POST', pathPattern: /databases\/Gap\/completeRestore/ }),
      0,
    );
    const [refreshed] = await engine.refresh();
    assert.equal(refreshed.outputs.phase, 'failed');
    await engine.destroy();
    assert.equal(rig.sandbox.arm.requests.count({ method: 'DELETE', pathPattern: /databases\/Gap$/ }), 1);
  });

  it('rides out throttling and server errors from ARM', async () => {
    await seed('Flaky', 1);
    rig.sandbox.arm.faults.inject({
      method: 'GET',
      pathPattern: /restoreDetails/,
      times: 2,
      kind: '429',
      retryAfterSeconds: 1,
    });
    rig.sandbox.arm.faults.inject({ method: 'PUT', pathPattern: /databases\/Flaky$/, times: 1, kind: '503' });
    const engine = rig.engine('flaky');
    const [created] = await engine.up([lrsResource(rig, 'flaky', inputs('Flaky'))]);
    assert.match(String(created.outputs!.phase), /restoring|starting/);
    await engine.destroy();
  });

  it('changing a create-only input of a started migration is refused in check', async () => {
    await seed('Fixed', 1);
    const engine = rig.engine('fixed');
    await engine.up([lrsResource(rig, 'fixed', inputs('Fixed'))]);
    const [step] = await engine.preview([
      lrsResource(rig, 'fixed', inputs('Fixed', { collation: 'Latin1_General_100_CI_AS' })),
    ]);
    assert.equal(step.failures[0]?.property, 'collation');
    assert.match(step.failures[0]?.reason ?? '', /cannot change on a started/);
    await engine.destroy();
  });

  it('no secret input value appears in state, __provider, outputs, logs or errors', () => {
    const surface = rig.leakSurface();
    const sig = new URLSearchParams(sas).get('sig')!;
    assert.ok(!surface.includes(sas), 'whole SAS leaked');
    assert.ok(!surface.includes(sig), 'SAS signature leaked');
    assert.ok(!surface.includes(encodeURIComponent(sig)), 'encoded SAS signature leaked');
    assert.ok(!rig.texts.lrs.includes(sig));
  });
});
