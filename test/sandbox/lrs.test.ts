import assert from 'node:assert/strict';
import { type Sandbox, startSandbox } from '../../sandbox';
import { decodeBackupHeader, type WrittenBackup } from '../../sandbox/world/backups';
import { formatLsn } from '../../sandbox/world/lsn';
import { armClient, COLLATION, errorCode, type RawResponse, rawRequest } from './helpers';

/**
 * The Log Replay Service stand-in, against what the service was recorded doing (../shared/recordings/lrs-*.jsonl).
 * Raw ARM requests (status codes, headers and bodies as sent); simulated time is frozen (speed 0) and moved by
 * hand, so every step is deterministic.
 */
describe('sandbox Log Replay Service', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let base: string;
  const API = 'api-version=2022-05-01-preview';
  const INIT_MS = 20_000;
  const fileName = (b: WrittenBackup) => b.blobName.split('/').pop() ?? '';
  const dbPath = (db: string) => `${base}/databases/${db}?${API}`;
  const get = (db: string) => rawRequest(sb, 'GET', dbPath(db));
  const details = (db: string) =>
    rawRequest(sb, 'GET', `${base}/databases/${db}/restoreDetails/Default?${API}`);
  const props = (r: RawResponse) => (r.body as { properties: Record<string, unknown> }).properties;
  /** GET of an operation URL the stand-in handed out (absolute). */
  const poll = (url: unknown) =>
    rawRequest(sb, 'GET', new URL(String(url)).pathname + new URL(String(url)).search);
  const opStatus = async (url: unknown) => ((await poll(url)).body as { status: string }).status;
  /** PUT createMode RestoreExternalBackup on folder `db` (continuous mode unless overridden). */
  const start = (db: string, overrides: Record<string, unknown> = {}) =>
    rawRequest(sb, 'PUT', dbPath(db), {
      body: {
        location: sb.instance.location,
        properties: {
          createMode: 'RestoreExternalBackup',
          storageContainerUri: sb.storage.containerUrl(db),
          storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
          collation: COLLATION,
          ...overrides,
        },
      },
    });
  /** Starts and moves past initialization; returns the start operation URL. */
  const started = async (db: string, overrides: Record<string, unknown> = {}) => {
    const res = await start(db, overrides);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    sb.clock.advance(INIT_MS);
    return res.headers['azure-asyncoperation'];
  };

  before(async () => {
    sb = await startSandbox({
      speed: 0,
      retryAfterSeconds: 0,
      timings: { lrsStartMs: INIT_MS },
      lrs: { restoreMBps: 10, perFileOverheadMs: 1_000, completionMs: 10_000, stallGraceMs: 60_000 },
    });
    base = `/subscriptions/${sb.instance.subscriptionId}/resourceGroups/${sb.instance.resourceGroup}/providers/Microsoft.Sql/managedInstances/${sb.instance.name}`;
  });

  after(async () => {
    await sb?.stop();
  });

  it('answers the start with a 202 stub, shows the database seconds later, Initializing then Restoring (as recorded)', async () => {
    sb.sqlServer.addDatabase('rec', { sizeMB: 100 });
    const full = await sb.sqlServer.backupFull('rec');
    const res = await start('rec');
    // lrs-continuous t2: 202, {operation, startTime}, both LRO headers.
    assert.equal(res.status, 202);
    assert.deepEqual(Object.keys(res.body as object), ['operation', 'startTime']);
    assert.equal(
      (res.body as { operation: string }).operation,
      'CreateExternalManagedBackupRestoreV2Request',
    );
    assert.match(
      String(res.headers['azure-asyncoperation']),
      /\/managedDatabaseRestoreAzureAsyncOperation\//,
    );
    assert.match(String(res.headers.location), /\/managedDatabaseRestoreOperationResults\//);
    // creationDate 4 s after the PUT (lrs-continuous t2/t23): not there before.
    assert.equal((await get('rec')).status, 404);
    assert.equal(errorCode((await get('rec')).body), 'ResourceNotFound');
    sb.clock.advance(5_000);
    const db = await get('rec');
    assert.equal(db.status, 200);
    assert.equal(props(db).status, 'Restoring');
    assert.deepEqual(Object.keys(props(db)), [
      'collation',
      'status',
      'creationDate',
      'defaultSecondaryLocation',
    ]);
    // lrs-ps-stop x4: Initializing, files listed, current file the literal "<empty value>".
    const init = await details('rec');
    assert.equal(init.status, 200);
    assert.equal((init.body as { name: string }).name, 'Default');
    assert.deepEqual(props(init), {
      status: 'Initializing',
      currentRestoringFileName: '<empty value>',
      unrestorableFiles: [],
      numberOfFilesDetected: 1,
      lastUploadedFileName: fileName(full),
      lastUploadedFileTime: props(init).lastUploadedFileTime,
    });
    assert.match(String(props(init).lastUploadedFileTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    sb.clock.advance(INIT_MS);
    const restoring = props(await details('rec'));
    assert.equal(restoring.status, 'Restoring');
    assert.equal(restoring.currentRestoringFileName, fileName(full));
    for (const field of ['type', 'blockReason', 'percentCompleted', 'fullBackupSets'])
      assert.equal(field in restoring, false, field);
    assert.equal(await opStatus(res.headers['azure-asyncoperation']), 'InProgress');
  });

  it('keeps the start operation InProgress across the restore and the completeRestore, until Online', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('cont', { sizeMB: 20 });
    sql.startWorkload('cont', 100_000);
    await sql.backupFull('cont');
    sb.clock.advance(5_000);
    const log1 = await sql.backupLog('cont');
    const startOp = await started('cont');
    sb.clock.advance(60_000);
    assert.equal(props(await details('cont')).lastRestoredFileName, fileName(log1));
    assert.equal(await opStatus(startOp), 'InProgress', 'continuous mode: not done when restoring');
    const complete = await rawRequest(sb, 'POST', `${base}/databases/cont/completeRestore?${API}`, {
      body: { lastBackupName: fileName(log1) },
    });
    assert.equal(complete.status, 202);
    assert.equal(
      (complete.body as { operation: string }).operation,
      'ManagedDatabaseCompleteExternalRestore',
    );
    const completeOp = complete.headers['azure-asyncoperation'];
    assert.match(String(completeOp), /\/managedDatabaseCompleteRestoreAzureAsyncOperation\//);
    assert.equal(await opStatus(startOp), 'InProgress', 'lrs-continuous t4…t20: still running');
    sb.clock.advance(5_000);
    assert.equal(props(await details('cont')).status, 'Restoring', 'no Completing status is recorded');
    sb.clock.advance(10_000);
    assert.equal(props(await get('cont')).status, 'Online');
    const done = props(await details('cont'));
    assert.equal(done.status, 'Completed');
    assert.equal(done.lastRestoredFileName, fileName(log1));
    assert.equal(done.currentRestoringFileName, fileName(log1));
    // lrs-continuous t22/t24: the start operation ends with the database Online, completeRestore's after it.
    assert.equal(await opStatus(startOp), 'Succeeded');
    assert.equal(await opStatus(completeOp), 'InProgress');
    sb.clock.advance(sb.world.timings.completeOperationLingerMs);
    assert.equal(await opStatus(completeOp), 'Succeeded');
    const again = await rawRequest(sb, 'POST', `${base}/databases/cont/completeRestore?${API}`, {
      body: { lastBackupName: fileName(log1) },
    });
    assert.equal(errorCode(again.body), 'ExternalBackupAlreadySignaledToComplete');
  });

  it('accepts a completion naming the backup still restoring, and refuses one it does not know', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('early', { sizeMB: 50 });
    sql.startWorkload('early', 100_000);
    const full = await sql.backupFull('early');
    sb.clock.advance(5_000);
    const log1 = await sql.backupLog('early');
    await started('early');
    const restoring = props(await details('early'));
    assert.equal(restoring.currentRestoringFileName, fileName(full));
    const wrong = await rawRequest(sb, 'POST', `${base}/databases/early/completeRestore?${API}`, {
      body: { lastBackupName: 'not_in_the_folder.trn' },
    });
    assert.equal(errorCode(wrong.body), 'RequiredBackupIsNotLastRestored');
    // lrs-ps-complete 12/25: completion with the name of the file being restored is accepted …
    const ok = await rawRequest(sb, 'POST', `${base}/databases/early/completeRestore?${API}`, {
      body: { lastBackupName: fileName(full) },
    });
    assert.equal(ok.status, 202);
    sb.clock.advance(120_000);
    // … and 13: the queued log backup was restored before recovery.
    assert.equal(props(await details('early')).lastRestoredFileName, fileName(log1));
    assert.equal(props(await get('early')).status, 'Online');
  });

  it('with autoCompleteRestore completes once lastBackupName is restored (the start operation runs until then)', async () => {
    sb.sqlServer.addDatabase('auto', { sizeMB: 20 });
    sb.sqlServer.startWorkload('auto', 1_000);
    await sb.sqlServer.backupFull('auto');
    sb.clock.advance(5_000);
    const last = await sb.sqlServer.backupLog('auto');
    const startOp = await started('auto', { autoCompleteRestore: true, lastBackupName: fileName(last) });
    assert.equal(await opStatus(startOp), 'InProgress');
    sb.clock.advance(60_000);
    assert.equal(props(await get('auto')).status, 'Online');
    assert.equal(props(await details('auto')).status, 'Completed');
    assert.equal(await opStatus(startOp), 'Succeeded');
  });

  it('drops on DELETE: 404 within seconds, the drop operation InProgress ~25 min more, the start operation Succeeded', async () => {
    sb.sqlServer.addDatabase('dropme', { sizeMB: 500 });
    await sb.sqlServer.backupFull('dropme');
    const startOp = await started('dropme');
    const del = await rawRequest(sb, 'DELETE', dbPath('dropme'));
    assert.equal(del.status, 202);
    assert.equal((del.body as { operation: string }).operation, 'DropManagedDatabase');
    const dropOp = del.headers['azure-asyncoperation'];
    assert.match(String(dropOp), /\/managedDatabaseAzureAsyncOperation\//);
    sb.clock.advance(sb.world.timings.dropDatabaseMs);
    assert.equal((await get('dropme')).status, 404);
    // lrs-cancel u9, lrs-ps-stop x7: Succeeded, not Failed or Canceled.
    assert.equal(await opStatus(startOp), 'Succeeded');
    assert.equal(await opStatus(dropOp), 'InProgress');
    sb.clock.advance(20 * 60_000);
    assert.equal(await opStatus(dropOp), 'InProgress', 'lrs-cancel u11..: still running 20 min later');
    sb.clock.advance(6 * 60_000);
    assert.equal(await opStatus(dropOp), 'Succeeded');
    assert.equal((await poll(del.headers.location)).status, 204, 'lrs-ps-stop y2');
  });

  it('fails a start without a full backup: the operation Failed with FullBackupNotFound, restore details 500', async () => {
    sb.sqlServer.addDatabase('nofull', { folder: 'nofull-source' });
    sb.sqlServer.startWorkload('nofull', 1_000);
    await sb.sqlServer.backupFull('nofull');
    await sb.sqlServer.backupLog('nofull', 'nofull/nofull_log.bak');
    const startOp = await started('nofull');
    const op = (await poll(startOp)).body as { status: string; error: unknown };
    assert.equal(op.status, 'Failed');
    assert.deepEqual(op.error, { code: 'FullBackupNotFound', message: 'Full backup can not be found.' });
    const d = await details('nofull');
    assert.equal(d.status, 500);
    assert.equal(errorCode(d.body), 'InternalServerError');
  });

  it('answers 500 for the restore details of a database that is not an LRS restore', async () => {
    const put = await rawRequest(sb, 'PUT', dbPath('plain'), { body: { location: sb.instance.location } });
    assert.equal(put.status, 202);
    assert.equal((put.body as { operation: string }).operation, 'CreateManagedDatabase');
    sb.clock.advance(sb.world.timings.createDatabaseMs);
    assert.equal(props(await get('plain')).status, 'Online');
    const d = await details('plain');
    assert.equal(d.status, 500);
    assert.match(
      String((d.body as { error: { message: string } }).error.message),
      /unexpected error occured/,
    );
  });

  it('restores full, differential and logs in LSN order, skipping what the plan does not need', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('sales', { sizeMB: 100 });
    sql.startWorkload('sales', 100_000); // 1 MB of log per simulated second
    const full = await sql.backupFull('sales');
    sb.clock.advance(10_000);
    const log1 = await sql.backupLog('sales');
    sb.clock.advance(10_000);
    const diff = await sql.backupDiff('sales');
    sb.clock.advance(10_000);
    const log2 = await sql.backupLog('sales');
    sb.clock.advance(10_000);
    const log3 = await sql.backupLog('sales');
    await sql.uploadRaw('sales/ImageFile.JPG', 'not a backup');
    await started('sales');
    let d = props(await details('sales'));
    assert.equal(d.currentRestoringFileName, fileName(full));
    assert.equal(d.numberOfFilesDetected, 6);
    assert.deepEqual(d.unrestorableFiles, [{ name: 'ImageFile.JPG' }]);
    sb.clock.advance(12_000);
    d = props(await details('sales'));
    assert.equal(d.lastRestoredFileName, fileName(full));
    assert.equal(d.currentRestoringFileName, fileName(diff));
    sb.clock.advance(120_000);
    d = props(await details('sales'));
    assert.equal(d.lastRestoredFileName, fileName(log3));
    assert.equal(d.currentRestoringFileName, '<empty value>');
    const sets = restoreView('sales').backupSets as Array<{ name: string; status: string }>;
    assert.deepEqual(sets.map((s) => [s.name, s.status]).sort(), [
      [fileName(diff), 'Restored'],
      [fileName(full), 'Restored'],
      [fileName(log1), 'Skipped'],
      [fileName(log2), 'Restored'],
      [fileName(log3), 'Restored'],
    ]);
    assert.equal(sb.instance.databases.get('sales')?.lrs?.restoredLsn, log3.header.lastLsn);
    // A new log backup is picked up while the restore waits.
    sb.clock.advance(10_000);
    const log4 = await sql.backupLog('sales');
    sb.clock.advance(30_000);
    assert.equal(props(await details('sales')).lastRestoredFileName, fileName(log4));
    const older = await rawRequest(sb, 'POST', `${base}/databases/sales/completeRestore?${API}`, {
      body: { lastBackupName: fileName(log3) },
    });
    assert.equal(errorCode(older.body), 'RequiredBackupIsNotLastRestored');
  });

  it('accepts a completion while still initializing (lrs-continuous t3) and restores the chain first', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('quick', { sizeMB: 10 });
    sql.startWorkload('quick', 10_000);
    await sql.backupFull('quick');
    sb.clock.advance(5_000);
    const log1 = await sql.backupLog('quick');
    const res = await start('quick');
    sb.clock.advance(11_000);
    assert.equal(props(await details('quick')).status, 'Initializing');
    const complete = await rawRequest(sb, 'POST', `${base}/databases/quick/completeRestore?${API}`, {
      body: { lastBackupName: fileName(log1) },
    });
    assert.equal(complete.status, 202);
    sb.clock.advance(60_000);
    assert.equal(props(await get('quick')).status, 'Online');
    assert.equal(props(await details('quick')).lastRestoredFileName, fileName(log1));
    assert.equal(await opStatus(res.headers['azure-asyncoperation']), 'Succeeded');
  });

  it('restores striped full and differential backups; refuses a striped log backup; waits for missing stripes', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('striped', { sizeMB: 30 });
    sql.startWorkload('striped', 10_000);
    const full = await sql.backupFull('striped', { stripes: 3 });
    sb.clock.advance(5_000);
    const diff = await sql.backupDiff('striped', { stripes: 2 });
    sb.clock.advance(5_000);
    const log = await sql.backupLog('striped');
    assert.equal(full.blobNames.length, 3);
    await started('striped');
    sb.clock.advance(60_000);
    const d = props(await details('striped'));
    assert.equal(d.numberOfFilesDetected, 6);
    assert.equal(d.lastRestoredFileName, fileName(log));
    const sets = restoreView('striped').backupSets as Array<{
      name: string;
      status: string;
      stripes: number;
    }>;
    assert.deepEqual(sets.map((s) => [s.name, s.stripes, s.status]).sort(), [
      [fileName(diff), 2, 'Restored'],
      [fileName(full), 3, 'Restored'],
      [fileName(log), 1, 'Restored'],
    ]);

    // A striped log backup breaks the restore.
    await sql.backupLog('striped', { stripes: 2 });
    sb.clock.advance(1_000);
    assert.equal((await details('striped')).status, 500);
    assert.equal(
      sb.instance.databases.get('striped')?.lrs?.error?.code,
      'RestoreFromStripedBackupsNotEnabled',
    );

    // A full backup missing a stripe is not restored (nor failed) while it waits.
    sql.addDatabase('partial', { sizeMB: 10 });
    await sql.backupFull('partial', { stripes: 2, skipStripes: [2] });
    await started('partial');
    sb.clock.advance(60_000);
    const p = props(await details('partial'));
    assert.equal(p.status, 'Restoring');
    assert.equal(p.lastRestoredFileName, undefined);
    assert.equal(p.currentRestoringFileName, '<empty value>');
  });

  it('restores backups taken without CHECKSUM, more slowly', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('withsum', { sizeMB: 100 });
    sql.addDatabase('nosum', { sizeMB: 100 });
    await sql.backupFull('withsum');
    await sql.backupFull('nosum', { checksum: false });
    await started('withsum');
    await started('nosum');
    // 1 s + 100 MB at 10 MB/s = 11 s with checksums; 1.5 times that without.
    sb.clock.advance(12_000);
    assert.ok(props(await details('withsum')).lastRestoredFileName);
    assert.equal(props(await details('nosum')).lastRestoredFileName, undefined);
    sb.clock.advance(6_000);
    assert.ok(props(await details('nosum')).lastRestoredFileName);
  });

  it('validates the start request as recorded and documented', async () => {
    // lrs-continuous t2: no collation in the request; the database gets the default one.
    sb.sqlServer.addDatabase('nocoll', { sizeMB: 1 });
    await sb.sqlServer.backupFull('nocoll');
    const res = await start('nocoll', { collation: undefined });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    sb.clock.advance(5_000);
    assert.equal(props(await get('nocoll')).collation, 'SQL_Latin1_General_CP1_CI_AS');
    // The current LRS guide: container or folder names can't contain "backup".
    for (const folder of ['backups', 'sales-backup', 'dbBackup/x']) {
      const refused = await rawRequest(sb, 'PUT', dbPath('reserved'), {
        body: {
          location: sb.instance.location,
          properties: {
            createMode: 'RestoreExternalBackup',
            storageContainerUri: sb.storage.containerUrl(folder),
            storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
          },
        },
      });
      assert.equal(refused.status, 400, folder);
      assert.equal(errorCode(refused.body), 'InvalidDatabaseCreateOrUpdateRequest');
    }
    const noSas = await start('nosas', { storageContainerSasToken: undefined });
    assert.equal(errorCode(noSas.body), 'MissingStorageContainerSasToken');
    const auto = await start('noauto', { autoCompleteRestore: true });
    assert.equal(errorCode(auto.body), 'AutoCompleteMissingLastBackupName');
  });

  it('fails with a storage error code when the SAS cannot list, or grants too much', async () => {
    sb.sqlServer.addDatabase('nolist');
    await sb.sqlServer.backupFull('nolist');
    const op = await started('nolist', {
      storageContainerSasToken: sb.storage.makeSas({ permissions: 'r' }),
    });
    const body = (await poll(op)).body as { status: string; error: { code: string; message: string } };
    assert.equal(body.status, 'Failed');
    assert.equal(body.error.code, 'StorageBrokenIssueDetectedAtTheStart');
    assert.match(body.error.message, /403/);

    sb.sqlServer.addDatabase('toomuch');
    await sb.sqlServer.backupFull('toomuch');
    const op2 = await started('toomuch', {
      storageContainerSasToken: sb.storage.makeSas({ permissions: 'rwl' }),
    });
    const body2 = (await poll(op2)).body as { error: { code: string; message: string } };
    assert.equal(body2.error.code, 'StorageBrokenIssueDetectedAtTheStart');
    assert.match(body2.error.message, /more than read and list/);
  });

  it('fails with BrokenRestorePlanGapInLogBackups when a log backup stays missing', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('gappy', { sizeMB: 10 });
    sql.startWorkload('gappy', 10_000);
    await sql.backupFull('gappy');
    sb.clock.advance(5_000);
    const log1 = await sql.backupLog('gappy');
    sb.clock.advance(5_000);
    await sql.backupLog('gappy', 'elsewhere/gappy_log_missing.bak'); // never reaches the folder
    sb.clock.advance(5_000);
    await sql.backupLog('gappy');
    const op = await started('gappy');
    sb.clock.advance(10_000);
    const d = props(await details('gappy'));
    assert.equal(d.lastRestoredFileName, fileName(log1));
    assert.equal(d.status, 'Restoring');
    assert.equal(await opStatus(op), 'InProgress');
    sb.clock.advance(60_000);
    assert.equal((await details('gappy')).status, 500);
    const failed = (await poll(op)).body as { status: string; error: { code: string; message: string } };
    assert.equal(failed.status, 'Failed');
    assert.equal(failed.error.code, 'BrokenRestorePlanGapInLogBackups');
    assert.match(failed.error.message, new RegExp(formatLsn(log1.header.lastLsn)));
    // No source says what becomes of the database: it stays, Restoring (the hardest on a client).
    assert.equal(props(await get('gappy')).status, 'Restoring');
  });

  it('tolerates log backups that arrive out of order within the grace period', async () => {
    const sql = sb.sqlServer;
    sql.addDatabase('unordered', { sizeMB: 10 });
    sql.startWorkload('unordered', 10_000);
    await sql.backupFull('unordered');
    sb.clock.advance(5_000);
    const log1 = await sql.backupLog('unordered', 'parking/unordered_log_1.bak');
    sb.clock.advance(5_000);
    const log2 = await sql.backupLog('unordered');
    await started('unordered');
    sb.clock.advance(10_000);
    await details('unordered');
    assert.equal(restoreView('unordered').stallReason, 'BrokenRestorePlanGapInLogBackups');
    await sql.uploadRaw('unordered/unordered_log_1.bak', await readBlob(sb, log1.blobName));
    sb.clock.advance(10_000);
    assert.equal(props(await details('unordered')).lastRestoredFileName, fileName(log2));
    assert.equal(restoreView('unordered').stallReason, undefined);
  });

  it('keeps LSNs above 2^53 exact from backup header to restored LSN', async () => {
    const startLsn = 9007199254740993n; // 2^53 + 1: not representable as a double
    sb.sqlServer.addDatabase('bignum', { startLsn, sizeMB: 5 });
    sb.sqlServer.startWorkload('bignum', 1);
    const full = await sb.sqlServer.backupFull('bignum');
    sb.clock.advance(3_000);
    const log = await sb.sqlServer.backupLog('bignum');
    assert.equal(full.header.firstLsn, startLsn);
    const raw = await readBlob(sb, log.blobName);
    assert.ok(raw.toString('utf8').includes(`"lastLsn":"${formatLsn(log.header.lastLsn)}"`));
    assert.equal(decodeBackupHeader(raw)?.lastLsn, log.header.lastLsn);
    await started('bignum');
    sb.clock.advance(30_000);
    assert.equal(props(await details('bignum')).lastRestoredFileName, fileName(log));
    const restored = sb.instance.databases.get('bignum')?.lrs?.restoredLsn;
    assert.equal(restored, log.header.lastLsn);
    assert.equal(formatLsn(restored ?? 0n), '9007199254740999'); // start + 2 (full) + 3 s of workload + 1
  });

  it('refuses backups of several databases in one folder', async () => {
    sb.sqlServer.addDatabase('mixa', { folder: 'mixed' });
    sb.sqlServer.addDatabase('mixb', { folder: 'mixed' });
    await sb.sqlServer.backupFull('mixa');
    await sb.sqlServer.backupFull('mixb');
    const op = await started('mixed');
    const body = (await poll(op)).body as { error: { code: string } };
    assert.equal(body.error.code, 'BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart');
  });

  it('restores with the managed identity, and fails when the identity has no access', async () => {
    sb.sqlServer.addDatabase('identity', { sizeMB: 1 });
    await sb.sqlServer.backupFull('identity');
    await started('identity', {
      storageContainerSasToken: undefined,
      storageContainerIdentity: 'ManagedIdentity',
    });
    sb.clock.advance(5_000);
    assert.ok(props(await details('identity')).lastRestoredFileName);

    const storage = sb.world.storage;
    assert.ok(storage);
    storage.managedIdentityHasAccess = false;
    try {
      sb.sqlServer.addDatabase('noidentity');
      await sb.sqlServer.backupFull('noidentity');
      const op = await started('noidentity', {
        storageContainerSasToken: undefined,
        storageContainerIdentity: 'ManagedIdentity',
      });
      const body = (await poll(op)).body as { error: { code: string } };
      assert.equal(body.error.code, 'ManagedIdentityIssueDetectedFromTheStart');
    } finally {
      storage.managedIdentityHasAccess = true;
    }
  });

  it('serves the real @azure/arm-sql client: the start poller does not end while restoring', async () => {
    sb.sqlServer.addDatabase('sdk', { sizeMB: 1 });
    await sb.sqlServer.backupFull('sdk');
    const client = armClient(sb);
    const poller = await client.managedDatabases.beginCreateOrUpdate(
      sb.instance.resourceGroup,
      sb.instance.name,
      'sdk',
      {
        location: sb.instance.location,
        createMode: 'RestoreExternalBackup',
        storageContainerUri: sb.storage.containerUrl('sdk'),
        storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
      },
      { updateIntervalInMs: 10 },
    );
    sb.clock.advance(INIT_MS + 10_000);
    await poller.poll();
    assert.equal(poller.isDone(), false);
    const d = await client.managedDatabaseRestoreDetails.get(
      sb.instance.resourceGroup,
      sb.instance.name,
      'sdk',
      'Default',
    );
    assert.equal(d.status, 'Restoring');
  });

  it('runs at most 100 restores per managed instance at once (the LRS guide); one more fails its start', async () => {
    const mi = sb.instance;
    const active = () => [...mi.databases.values()].filter((d) => d.lrs?.active).length;
    const fillers: string[] = [];
    for (let k = 0; active() < 100; k++) {
      const name = `filler${k}`;
      fillers.push(name);
      sb.world.startLogReplay(mi, name, {
        collation: COLLATION,
        createParameters: { createMode: 'RestoreExternalBackup', collation: COLLATION },
        params: {
          storageContainerUri: sb.storage.containerUrl('fillers'),
          storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
          useManagedIdentity: false,
          autoCompleteRestore: false,
        },
      });
    }
    sb.sqlServer.addDatabase('onemore', { sizeMB: 1 });
    await sb.sqlServer.backupFull('onemore');
    const refused = await start('onemore');
    assert.equal(refused.status, 202, 'accepted, then failed (no source says how: the hardest)');
    const body = (await poll(refused.headers['azure-asyncoperation'])).body as {
      status: string;
      error: { code: string };
    };
    assert.equal(body.status, 'Failed');
    assert.match(JSON.stringify(body.error), /at most 100/);
    // A slot frees when a restore ends (here: a drop).
    sb.world.dropDatabase(mi, mi.databases.get(fillers[0])!);
    sb.world.dropDatabase(mi, mi.databases.get('onemore')!);
    sb.clock.advance(sb.world.timings.dropDatabaseMs);
    await sb.world.tick();
    const admitted = await start('onemore');
    assert.equal(admitted.status, 202);
    assert.equal(await opStatus(admitted.headers['azure-asyncoperation']), 'InProgress');
    for (const name of fillers) {
      const db = mi.databases.get(name);
      if (db) sb.world.dropDatabase(mi, db);
    }
  });

  function restoreView(db: string): Record<string, unknown> {
    const restore = sb.instance.databases.get(db)?.lrs;
    assert.ok(restore, `no restore for ${db}`);
    return restore.toJSON();
  }
});

async function readBlob(sb: Sandbox, blobName: string): Promise<Buffer> {
  return sb.storage.azurite.serviceClient
    .getContainerClient(sb.storage.container)
    .getBlobClient(blobName)
    .downloadToBuffer();
}
