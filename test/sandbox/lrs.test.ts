import assert from 'node:assert/strict';
import type { ManagedDatabaseRestoreDetailsResult, SqlManagementClient } from '@azure/arm-sql';
import { type Sandbox, startSandbox } from '../../sandbox';
import { decodeBackupHeader, type WrittenBackup } from '../../sandbox/world/backups';
import { formatLsn } from '../../sandbox/world/lsn';
import { armClient, lrsDatabase, rejection, whileAdvancing } from './helpers';

/**
 * The Log Replay Service simulation, driven with the real @azure/arm-sql client. Simulated time is frozen
 * (speed 0) and moved by hand, so every restore step is deterministic.
 */
describe('sandbox Log Replay Service', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let client: SqlManagementClient;
  let rg: string;
  let mi: string;
  const fileName = (b: WrittenBackup) => b.blobName.split('/').pop() ?? '';
  const details = (db: string): Promise<ManagedDatabaseRestoreDetailsResult> =>
    client.managedDatabaseRestoreDetails.get(rg, mi, db, 'Default');
  /** Starts LRS into `db` from folder `db` (continuous mode unless overridden) and waits for the PUT LRO. */
  const start = (db: string, overrides = {}) =>
    client.managedDatabases.beginCreateOrUpdateAndWait(rg, mi, db, lrsDatabase(sb, db, overrides), {
      updateIntervalInMs: 10,
    });

  before(async () => {
    sb = await startSandbox({
      speed: 0,
      retryAfterSeconds: 0,
      timings: { lrsStartMs: 0, dropDatabaseMs: 10_000 },
      lrs: { restoreMBps: 10, perFileOverheadMs: 1_000, completionMs: 10_000, stallGraceMs: 60_000 },
    });
    client = armClient(sb);
    rg = sb.instance.resourceGroup;
    mi = sb.instance.name;
  });

  after(async () => {
    await sb?.stop();
  });

  it('restores full, differential and logs in LSN order as simulated time passes, then completes', async () => {
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

    const db = await start('sales');
    assert.equal(db.status, 'Restoring');
    let d = await details('sales');
    assert.equal(d.typePropertiesType, 'LRSRestore');
    assert.equal(d.status, 'Restoring');
    assert.equal(d.currentRestoringFileName, fileName(full));
    assert.equal(d.currentBackupType, 'Full');
    assert.equal(d.percentCompleted, 0);
    assert.equal(d.numberOfFilesDetected, 6);
    assert.equal(d.numberOfFilesUnrestorable, 1);
    assert.deepEqual(
      d.unrestorableFiles?.map((f) => f.name),
      ['ImageFile.JPG'],
    );
    assert.equal(d.lastUploadedFileName !== undefined, true);
    assert.deepEqual(
      d.fullBackupSets?.map((s) => s.status),
      ['Restoring'],
    );
    assert.deepEqual(
      d.logBackupSets?.map((s) => s.status),
      ['Queued', 'Queued', 'Queued'],
    );

    // Half of the full backup (1 s overhead + 100 MB at 10 MB/s).
    sb.clock.advance(5_500);
    d = await details('sales');
    assert.ok(
      (d.percentCompleted ?? 0) > 0 && (d.percentCompleted ?? 0) < 100,
      `percent ${d.percentCompleted}`,
    );
    assert.equal(d.currentRestoringFileName, fileName(full));

    sb.clock.advance(6_000);
    d = await details('sales');
    assert.deepEqual(
      d.fullBackupSets?.map((s) => s.status),
      ['Restored'],
    );
    assert.equal(d.currentRestoringFileName, fileName(diff));
    assert.equal(d.lastRestoredFileName, fileName(full));

    sb.clock.advance(120_000);
    d = await details('sales');
    assert.equal(d.lastRestoredFileName, fileName(log3));
    assert.equal(d.percentCompleted, 100);
    assert.deepEqual(
      d.diffBackupSets?.map((s) => s.status),
      ['Restored'],
    );
    assert.deepEqual(
      d.logBackupSets?.map((s) => [s.firstStripeName, s.status]),
      [
        [fileName(log1), 'Skipped'],
        [fileName(log2), 'Restored'],
        [fileName(log3), 'Restored'],
      ],
    );
    assert.equal(d.numberOfFilesRestored, 4);
    assert.equal(d.numberOfFilesSkipped, 1);
    assert.equal(sb.instance.databases.get('sales')?.lrs?.restoredLsn, log3.header.lastLsn);

    // A new log backup is picked up while the restore waits.
    sb.clock.advance(10_000);
    const log4 = await sql.backupLog('sales');
    sb.clock.advance(30_000);
    d = await details('sales');
    assert.equal(d.lastRestoredFileName, fileName(log4));

    const wrong = await rejection(
      client.managedDatabases.beginCompleteRestoreAndWait(rg, mi, 'sales', {
        lastBackupName: fileName(log3),
      }),
    );
    assert.equal(wrong.code, 'RequiredBackupIsNotLastRestored');
    assert.match(wrong.message, new RegExp(fileName(log4)));

    await whileAdvancing(sb, 1_000, () =>
      client.managedDatabases.beginCompleteRestoreAndWait(
        rg,
        mi,
        'sales',
        { lastBackupName: fileName(log4) },
        { updateIntervalInMs: 10 },
      ),
    );
    const online = await client.managedDatabases.get(rg, mi, 'sales');
    assert.equal(online.status, 'Online');
    assert.equal(sb.instance.databases.get('sales')?.readOnly, false);
    d = await details('sales');
    assert.equal(d.status, 'Completed');
    assert.equal(d.percentCompleted, 100);

    const again = await rejection(
      client.managedDatabases.beginCompleteRestoreAndWait(rg, mi, 'sales', {
        lastBackupName: fileName(log4),
      }),
    );
    assert.equal(again.code, 'ExternalBackupAlreadySignaledToComplete');
    const posts = sb.arm.requests.filter({ method: 'POST', pathPattern: '/databases/sales/completeRestore' });
    assert.deepEqual(
      posts.map((r) => r.status),
      [400, 202, 400],
    );
  });

  it('completes on its own with autoCompleteRestore when lastBackupName is restored (the PUT LRO runs until then)', async () => {
    sb.sqlServer.addDatabase('auto', { sizeMB: 20 });
    await sb.sqlServer.backupFull('auto');
    sb.clock.advance(5_000);
    const last = await sb.sqlServer.backupLog('auto');
    const db = await whileAdvancing(sb, 2_000, () =>
      start('auto', { autoCompleteRestore: true, lastBackupName: fileName(last) }),
    );
    assert.equal(db.status, 'Online');
    const d = await details('auto');
    assert.equal(d.status, 'Completed');
    assert.equal(d.lastRestoredFileName, fileName(last));
  });

  it('fails with a storage error code when the SAS cannot list, or grants too much', async () => {
    sb.sqlServer.addDatabase('nolist');
    await sb.sqlServer.backupFull('nolist');
    const readOnly = await rejection(
      start('nolist', { storageContainerSasToken: sb.storage.makeSas({ permissions: 'r' }) }),
    );
    assert.match(readOnly.message, /StorageBrokenIssueDetectedAtTheStart/);
    const detailsError = await rejection(details('nolist'));
    assert.equal(detailsError.code, 'StorageBrokenIssueDetectedAtTheStart');
    assert.match(detailsError.message, /403/);

    sb.sqlServer.addDatabase('toomuch');
    await sb.sqlServer.backupFull('toomuch');
    const writable = await rejection(
      start('toomuch', { storageContainerSasToken: sb.storage.makeSas({ permissions: 'rwl' }) }),
    );
    assert.match(writable.message, /StorageBrokenIssueDetectedAtTheStart.*more than read and list/);
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
    await start('gappy');
    sb.clock.advance(10_000);
    const d = await details('gappy');
    assert.equal(d.lastRestoredFileName, fileName(log1));
    assert.equal(d.status, 'Restoring');
    assert.equal(d.blockReason, 'BrokenRestorePlanGapInLogBackups');
    sb.clock.advance(60_000);
    const err = await rejection(details('gappy'));
    assert.equal(err.code, 'BrokenRestorePlanGapInLogBackups');
    assert.match(err.message, new RegExp(formatLsn(log1.header.lastLsn)));
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
    await start('unordered');
    sb.clock.advance(10_000);
    assert.equal((await details('unordered')).blockReason, 'BrokenRestorePlanGapInLogBackups');
    await sql.uploadRaw('unordered/unordered_log_1.bak', await readBlob(sb, log1.blobName));
    sb.clock.advance(10_000);
    const d = await details('unordered');
    assert.equal(d.lastRestoredFileName, fileName(log2));
    assert.equal(d.blockReason, undefined);
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
    await start('bignum');
    sb.clock.advance(30_000);
    assert.equal((await details('bignum')).lastRestoredFileName, fileName(log));
    const restored = sb.instance.databases.get('bignum')?.lrs?.restoredLsn;
    assert.equal(restored, log.header.lastLsn);
    assert.equal(formatLsn(restored ?? 0n), '9007199254740999'); // start + 2 (full) + 3 s of workload + 1
  });

  it('refuses backups of several databases in one folder', async () => {
    sb.sqlServer.addDatabase('mixa', { folder: 'mixed' });
    sb.sqlServer.addDatabase('mixb', { folder: 'mixed' });
    await sb.sqlServer.backupFull('mixa');
    await sb.sqlServer.backupFull('mixb');
    const err = await rejection(start('mixed'));
    assert.match(err.message, /BackupsFromMultipleDatabasesDetectedInTheContainerFromTheStart/);
  });

  it('fails BrokenRestorePlanNoFullBackup and FullBackupMissingChecksum', async () => {
    sb.sqlServer.addDatabase('nofull', { folder: 'nofull-source' });
    await sb.sqlServer.backupFull('nofull');
    await sb.sqlServer.backupLog('nofull', 'nofull/nofull_log.bak');
    await start('nofull');
    sb.clock.advance(61_000);
    assert.equal((await rejection(details('nofull'))).code, 'BrokenRestorePlanNoFullBackup');

    sb.sqlServer.addDatabase('nochecksum');
    await sb.sqlServer.backupFull('nochecksum', { checksum: false });
    assert.match((await rejection(start('nochecksum'))).message, /FullBackupMissingChecksum/);
  });

  it('restores with the managed identity, and fails when the identity has no access', async () => {
    sb.sqlServer.addDatabase('identity', { sizeMB: 1 });
    await sb.sqlServer.backupFull('identity');
    await start('identity', {
      storageContainerSasToken: undefined,
      storageContainerIdentity: 'ManagedIdentity',
    });
    sb.clock.advance(5_000);
    assert.equal((await details('identity')).numberOfFilesRestored, 1);

    const storage = sb.world.storage;
    assert.ok(storage);
    storage.managedIdentityHasAccess = false;
    try {
      sb.sqlServer.addDatabase('noidentity');
      await sb.sqlServer.backupFull('noidentity');
      const err = await rejection(
        start('noidentity', {
          storageContainerSasToken: undefined,
          storageContainerIdentity: 'ManagedIdentity',
        }),
      );
      assert.match(err.message, /ManagedIdentityIssueDetectedFromTheStart/);
    } finally {
      storage.managedIdentityHasAccess = true;
    }
  });

  it('stops the restore and drops the database on DELETE (an LRO)', async () => {
    sb.sqlServer.addDatabase('dropme', { sizeMB: 500 });
    await sb.sqlServer.backupFull('dropme');
    await start('dropme');
    const restore = sb.instance.databases.get('dropme')?.lrs;
    await whileAdvancing(sb, 1_000, () =>
      client.managedDatabases.beginDeleteAndWait(rg, mi, 'dropme', { updateIntervalInMs: 10 }),
    );
    assert.equal(restore?.status, 'Stopped');
    assert.equal(sb.instance.databases.has('dropme'), false);
    assert.equal((await rejection(client.managedDatabases.get(rg, mi, 'dropme'))).code, 'ResourceNotFound');
  });
});

async function readBlob(sb: Sandbox, blobName: string): Promise<Buffer> {
  return sb.storage.azurite.serviceClient
    .getContainerClient(sb.storage.container)
    .getBlobClient(blobName)
    .downloadToBuffer();
}
