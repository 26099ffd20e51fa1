/**
 * LogReplayMigration through the real Pulumi provider host (gRPC), against the sandbox: Azurite holding
 * backups a simulated SQL Server writes, and the ARM stand-in restoring them over simulated time as the real
 * service was recorded doing (../shared/recordings/lrs-*.jsonl).
 */
import assert from 'node:assert/strict';
import { UNKNOWN } from '../../sandbox/engine/host';
import { rawRequest } from '../sandbox/helpers';
import { lrsResource, lrsRig, until } from './rig';

describe('LogReplayMigration lifecycle (provider host + sandbox)', function () {
  this.timeout(120_000);
  const rig = lrsRig();
  const inputs = rig.inputs;
  afterEach(() => {
    rig.sandbox.clock.speed = 100;
  });

  async function seed(db: string, logs: number, options: { stripes?: number } = {}): Promise<string[]> {
    const s = rig.sandbox.sqlServer;
    s.addDatabase(db, { folder: db.toLowerCase(), startLsn: '34000000021600001', sizeMB: 50 });
    s.startWorkload(db, 500);
    const names = [(await s.backupFull(db, { stripes: options.stripes })).blobName];
    for (let k = 0; k < logs; k++) names.push((await s.backupLog(db)).blobName);
    return names.map((n) => n.split('/').pop()!);
  }

  const database = (name: string) => rig.sandbox.instance.databases.get(name);
  const requests = (method: string, pathPattern: RegExp) =>
    rig.sandbox.arm.requests.filter({ method, pathPattern });
  const operationBody = async (url: unknown) => {
    const u = new URL(String(url));
    const r = await rawRequest(rig.sandbox, 'GET', u.pathname + u.search);
    return r.body as { status?: string; endTime?: string };
  };
  const operationStatus = async (url: unknown) => (await operationBody(url)).status;

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

  it('check refuses reserved keywords, non-blob storage hosts and blob-level SAS before any call (point 6)', async () => {
    const engine = rig.engine('rules');
    const before = rig.sandbox.arm.requests.count();
    const account = 'https://acct.blob.core.windows.net';
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ storageContainerUri: `${account}/mybackups/db1` }, 'storageContainerUri', /reserved keyword/],
      [{ storageContainerUri: `${account}/migration/db1backup` }, 'storageContainerUri', /reserved keyword/],
      [
        { storageContainerUri: 'https://acct.file.core.windows.net/share/db1' },
        'storageContainerUri',
        /Blob service/,
      ],
      [
        { storageContainerUri: 'https://acct.dfs.core.windows.net/fs/db1' },
        'storageContainerUri',
        /Blob service/,
      ],
      [
        {
          storageContainerSasToken: rig.sandbox.storage
            .makeSas({ permissions: 'rl' })
            .replace('sr=c', 'sr=b'),
        },
        'storageContainerSasToken',
        /container/,
      ],
    ];
    for (const [over, property, reason] of cases) {
      const [step] = await engine.preview([lrsResource(rig, 'r', inputs('Rules', over))]);
      const failure = step.failures.find((f) => f.property === property);
      assert.ok(failure, `${JSON.stringify(over)}: ${JSON.stringify(step.failures)}`);
      assert.match(failure.reason, reason);
    }
    // Only a name CONTAINING the keyword is refused: 'bak' or 'sales' are fine.
    const [fine] = await engine.preview([
      lrsResource(rig, 'r', inputs('Rules', { storageContainerUri: `${account}/migration/sales-bak` })),
    ]);
    assert.deepEqual(fine.failures, []);
    assert.equal(rig.sandbox.arm.requests.count(), before);
  });

  it('first up returns while the start operation still runs; the cutover ends on Online, not on its operation (points 1, 9)', async () => {
    const files = await seed('Sales', 2);
    const engine = rig.engine('sales');
    const [created] = await engine.up([lrsResource(rig, 'sales', inputs('Sales'))]);
    assert.equal(created.op, 'create');
    const out = created.outputs!;
    assert.equal(out.phase, 'restoring');
    assert.equal(out.databaseStatus, 'Restoring');
    assert.equal(out.storageContainerSasToken, undefined, 'no SAS in outputs');
    assert.equal(requests('PUT', /databases\/Sales$/).length, 1);
    // The start operation lives until the migration completes (lrs-continuous t4…t22).
    assert.equal(await operationStatus(out.startOperationUrl), 'InProgress');
    assert.ok(
      engine.lastLogs.some((l) => /start operation keeps running until the migration completes/.test(l)),
      engine.lastLogs.join('\n'),
    );

    // In preview, a `complete` that is not known yet is shown as what would happen if it becomes true.
    const [maybe] = await engine.preview([
      lrsResource(rig, 'sales', inputs('Sales', { complete: UNKNOWN, lastBackupName: UNKNOWN })),
    ]);
    assert.equal(maybe.op, 'update');
    assert.ok(
      engine.lastLogs.some((l) => /if complete turns out true: complete the restore \(cutover\)/.test(l)),
    );

    // The workload stops, the last log backup is taken and uploaded and restored; the user flips `complete`.
    rig.sandbox.sqlServer.stopWorkload('Sales');
    const last = (await rig.sandbox.sqlServer.backupLog('Sales')).blobName.split('/').pop()!;
    await until('the last backup to be restored', async () => {
      await rig.sandbox.world.touch(database('Sales'));
      return database('Sales')?.lrs?.toJSON().lastRestoredFileName === last;
    });
    const declared = lrsResource(rig, 'sales', inputs('Sales', { lastBackupName: last, complete: true }));
    const [plan] = await engine.preview([declared]);
    assert.equal(plan.op, 'update');
    assert.ok(
      engine.lastLogs.some((l) => /complete the restore \(cutover\).*\[IRREVERSIBLE\]/.test(l)),
      engine.lastLogs.join('\n'),
    );
    const mark = rig.sandbox.arm.requests.count();
    // The completeRestore operation outlives the Online state (lrs-ps-complete 8/35); here it never ends, so an
    // up that waited for it could not finish.
    const timings = rig.sandbox.world.timings;
    const linger = timings.completeOperationLingerMs;
    timings.completeOperationLingerMs = Number.POSITIVE_INFINITY;
    // The operation is read while it still lingers: the stand-in judges it when read, and once the linger is
    // back to 15 s simulated time soon ends it (the provider itself no longer reads it during the up, issue 9).
    let op: Awaited<ReturnType<typeof operationBody>> | undefined;
    let lastRequest: (typeof rig.sandbox.arm.requests.entries)[number] | undefined;
    const [updated] = await engine
      .up([declared])
      .then(async (r) => {
        lastRequest = rig.sandbox.arm.requests.entries.slice(mark).pop()!;
        op = await operationBody(r[0].outputs!.completeOperationUrl);
        return r;
      })
      .finally(() => {
        timings.completeOperationLingerMs = linger;
      });
    assert.equal(updated.outputs!.phase, 'completed');
    assert.equal(updated.outputs!.databaseStatus, 'Online');
    assert.equal(updated.outputs!.lastRestoredFileName, last);
    assert.ok(updated.outputs!.completedAt);
    assert.equal(requests('POST', /completeRestore/).length, 1);
    // Issue 9: the last backup was already restored, so completeRestore follows the first reading directly.
    const beforePost = rig.sandbox.arm.requests.entries.slice(mark);
    const post = beforePost.findIndex((r) => r.method === 'POST');
    const reads = beforePost
      .slice(0, post)
      .filter((r) => /databases\/Sales(\/restoreDetails\/Default)?$/.test(r.path));
    assert.equal(reads.length, 2, reads.map((r) => r.path).join('\n'));
    // The completeRestore operation outlives the Online state (lrs-ps-complete 8/35): not waited for. Judged in
    // simulated time, not by racing the sandbox clock: the provider's last request of this `up` came before the
    // operation ended (or it is still running).
    assert.ok(
      op!.status === 'InProgress' || (op!.endTime !== undefined && lastRequest!.simAt < op!.endTime),
      `last request at ${lastRequest!.simAt}, operation ${JSON.stringify(op)}`,
    );
    assert.ok(files.length === 3);

    const [refreshed] = await engine.refresh();
    assert.equal(refreshed.outputs.databaseStatus, 'Online');
    assert.equal(refreshed.outputs.phase, 'completed');

    await engine.destroy();
    assert.ok(engine.lastLogs.some((l) => /completed its migration and is kept/.test(l)));
    assert.equal(requests('DELETE', /databases\/Sales$/).length, 0);
    assert.equal(database('Sales')?.status, 'Online');
  });

  it('destroy before completion ends when the database is gone, not when the drop operation ends (point 2)', async () => {
    await seed('Stage', 1);
    const engine = rig.engine('stage');
    await engine.up([lrsResource(rig, 'stage', inputs('Stage'))]);
    // The drop operation runs ~25 min after the database is gone (lrs-cancel u6…u-last); here it never ends,
    // so a destroy that waited for it could not finish.
    const timings = rig.sandbox.world.timings;
    const dropOperationMs = timings.dropOperationMs;
    timings.dropOperationMs = Number.POSITIVE_INFINITY;
    await engine.destroy().finally(() => {
      timings.dropOperationMs = dropOperationMs;
    });
    assert.equal(requests('DELETE', /databases\/Stage$/).length, 1);
    assert.equal(database('Stage'), undefined, 'gone (GET 404)');
    assert.ok(engine.lastLogs.some((l) => /dropped: the migration was stopped before completion/.test(l)));
  });

  it('a start that fails reports the service code and what to do on the first up (point 1)', async () => {
    const s = rig.sandbox.sqlServer;
    s.addDatabase('NoFull', { folder: 'nofull-src', sizeMB: 5 });
    s.startWorkload('NoFull', 500);
    await s.backupFull('NoFull');
    await s.backupLog('NoFull', { blobName: 'nofull/only_a_log.trn' });
    const engine = rig.engine('nofull');
    await assert.rejects(engine.up([lrsResource(rig, 'nofull', inputs('NoFull'))]), (e: Error) => {
      assert.match(e.message, /RestoreFailed\/FullBackupNotFound/);
      assert.match(e.message, /What to do: no full backup found in the folder/);
      assert.doesNotMatch(e.message, /long-running operation/i);
      return true;
    });
  });

  it('refuses to take over a database it did not start, and never drops it', async () => {
    await seed('Taken', 1);
    rig.sandbox.world.createDatabase(rig.sandbox.instance, 'Taken', {
      collation: 'SQL_Latin1_General_CP1_CI_AS',
    });
    const engine = rig.engine('taken');
    const puts = requests('PUT', /databases\/Taken$/).length;
    await assert.rejects(engine.up([lrsResource(rig, 'taken', inputs('Taken'))]), (e: Error) => {
      assert.match(
        e.message,
        /DatabaseExists[\s\S]*was not started by this resource[\s\S]*never takes over or drops/,
      );
      return true;
    });
    assert.equal(requests('PUT', /databases\/Taken$/).length, puts);
    assert.equal(engine.state().resources.length, 0);
  });

  it('a second stack declaring the same database neither resumes nor drops the first one (point 5)', async () => {
    await seed('Shared', 1);
    const first = rig.engine('shared-a');
    await first.up([lrsResource(rig, 'shared', inputs('Shared'))]);
    const second = rig.engine('shared-b');
    await assert.rejects(second.up([lrsResource(rig, 'shared', inputs('Shared'))]), (e: Error) => {
      assert.match(e.message, /DatabaseExists[\s\S]*another migration/);
      return true;
    });
    assert.equal(second.state().resources.length, 0, 'the second stack does not adopt it');
    await second.destroy();
    assert.equal(requests('DELETE', /databases\/Shared$/).length, 0);
    assert.equal(database('Shared')?.status, 'Restoring');
    await first.destroy();
    assert.equal(requests('DELETE', /databases\/Shared$/).length, 1);
  });

  it('a crash after the PUT and before state is saved: the next up neither adopts nor drops, and says what to do (point 5)', async () => {
    await seed('Lost', 1);
    const engine = rig.engine('lost');
    const run = engine.up([lrsResource(rig, 'lost', inputs('Lost'))]).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    await until('the start PUT', () => requests('PUT', /databases\/Lost$/).length === 1);
    rig.sandbox.clock.speed = 0; // the restore stays Initializing: the provider is still waiting when killed
    await engine.kill();
    assert.notEqual(await run, 'finished');
    assert.equal(engine.state().resources.length, 0, 'nothing was recorded');
    rig.sandbox.clock.speed = 100;
    await assert.rejects(engine.up([lrsResource(rig, 'lost', inputs('Lost'))]), (e: Error) => {
      assert.match(e.message, /DatabaseExists/);
      assert.match(e.message, /interrupted/);
      assert.match(e.message, /az sql midb log-replay stop/);
      return true;
    });
    assert.equal(requests('PUT', /databases\/Lost$/).length, 1);
    assert.equal(requests('DELETE', /databases\/Lost$/).length, 0);
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
    assert.equal(requests('POST', /databases\/Crash\/completeRestore/).length, 1);
  });

  it('a broken log chain fails with the code of the start operation; destroy keeps the database it cannot prove is an LRS restore (points 1, 5)', async () => {
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
    assert.equal(requests('POST', /databases\/Gap\/completeRestore/).length, 0);
    const [refreshed] = await engine.refresh();
    assert.equal(refreshed.outputs.phase, 'failed');
    // Restore details of a failed restore answer 500 (lrs-ps-failed-start v4): no proof, so no DELETE.
    await engine.destroy();
    assert.equal(requests('DELETE', /databases\/Gap$/).length, 0);
    assert.ok(database('Gap'), 'kept');
    assert.ok(
      engine.lastLogs.some(
        (l) => /kept: its restore details are unavailable \(HTTP 500/.test(l) && /az sql midb delete/.test(l),
      ),
      engine.lastLogs.join('\n'),
    );
  });

  it('shows restore details as they come: "<empty value>" is no file, an unknown status stays as it is (point 4)', async () => {
    await seed('Odd', 1);
    const engine = rig.engine('odd');
    await engine.up([lrsResource(rig, 'odd', inputs('Odd'))]);
    const restore = database('Odd')?.lrs;
    assert.ok(restore);
    // A status no source shows, with the recorded oddities (lrs-ps-stop x4; README: unrestorableFiles ["[]"]).
    restore.restoreDetails = () => ({
      status: 'Completing',
      currentRestoringFileName: '<empty value>',
      unrestorableFiles: ['[]'],
      numberOfFilesDetected: 2,
    });
    const [refreshed] = await engine.refresh();
    assert.equal(refreshed.outputs.phase, 'unknown');
    assert.equal(refreshed.outputs.restoreStatus, 'Completing');
    assert.equal(refreshed.outputs.currentRestoringFileName, null);
    assert.deepEqual(refreshed.outputs.unrestorableFiles, []);
  });

  it('destroy never drops an online database, whatever its restore details say (point 5)', async () => {
    await seed('Done', 1);
    const engine = rig.engine('done');
    const last = (await rig.sandbox.sqlServer.backupLog('Done')).blobName.split('/').pop()!;
    await engine.up([lrsResource(rig, 'done', inputs('Done', { complete: true, lastBackupName: last }))]);
    assert.equal(database('Done')?.status, 'Online');
    const restore = database('Done')?.lrs;
    assert.ok(restore);
    restore.restoreDetails = () => ({ status: 'Failed', numberOfFilesDetected: 2 });
    await engine.destroy();
    assert.equal(requests('DELETE', /databases\/Done$/).length, 0);
    assert.equal(database('Done')?.status, 'Online');
  });

  it('migrates a striped full backup (point 6)', async () => {
    await seed('Stripes', 1, { stripes: 4 });
    const engine = rig.engine('stripes');
    const [created] = await engine.up([lrsResource(rig, 'stripes', inputs('Stripes'))]);
    assert.equal(created.outputs!.phase, 'restoring');
    assert.equal(created.outputs!.numberOfFilesDetected, 5);
    await engine.destroy();
  });

  it('waits for a free restore slot when the instance runs 100 restores, saying so (issue 10)', async () => {
    const mi = rig.sandbox.instance;
    const fillers: string[] = [];
    // The provider counts every database in status Restoring (earlier tests leave some, failed ones too).
    const restoring = () => [...mi.databases.values()].filter((d) => d.status === 'Restoring').length;
    for (let k = 0; restoring() < 100; k++) {
      fillers.push(`slot${k}`);
      rig.sandbox.world.startLogReplay(mi, `slot${k}`, {
        collation: 'SQL_Latin1_General_CP1_CI_AS',
        createParameters: { createMode: 'RestoreExternalBackup', collation: 'SQL_Latin1_General_CP1_CI_AS' },
        params: {
          storageContainerUri: rig.sandbox.storage.containerUrl('slots'),
          storageContainerSasToken: rig.sas,
          useManagedIdentity: false,
          autoCompleteRestore: false,
        },
      });
    }
    try {
      await seed('Wave', 1);
      const engine = rig.engine('wave');
      const run = engine.up([lrsResource(rig, 'wave', inputs('Wave'))]);
      await until('the provider to wait for a slot', () =>
        rig.logs.some((l) =>
          /\[LogReplayMigration wave\] waiting for a free Log Replay Service slot .*at most 100/.test(l),
        ),
      );
      assert.equal(requests('PUT', /databases\/Wave$/).length, 0, 'no start beyond the limit');
      rig.sandbox.world.dropDatabase(mi, mi.databases.get(fillers[0])!);
      const [created] = await run;
      assert.equal(created.outputs!.phase, 'restoring');
      await engine.destroy();
    } finally {
      for (const name of fillers) {
        const db = mi.databases.get(name);
        if (db) rig.sandbox.world.dropDatabase(mi, db);
      }
    }
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
    const sig = new URLSearchParams(rig.sas).get('sig')!;
    assert.ok(!surface.includes(rig.sas), 'whole SAS leaked');
    assert.ok(!surface.includes(sig), 'SAS signature leaked');
    assert.ok(!surface.includes(encodeURIComponent(sig)), 'encoded SAS signature leaked');
    assert.ok(!rig.texts.lrs.includes(sig));
  });
});
