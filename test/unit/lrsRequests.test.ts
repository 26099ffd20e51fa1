import assert from 'node:assert/strict';
import { FakeClock } from '../../provider/core/clock';
import type { MigrationError } from '../../provider/core/errors';
import { phaseOf } from '../../provider/core/lrs/phase';
import { RestoreSlots } from '../../provider/core/lrs/slots';
import { complete, converge, type LrsRecord, OWNER_TAG, stop } from '../../provider/core/lrs/workflow';
import { drive, FakeLrsArm, lrsContext, lrsInputs as inputs } from './fakes';

/**
 * ARM requests per LRS operation, pinned (issue 9): counts, not times. Each list is the contract's minimum as
 * bench/requests.ts explains it; a request added to an operation fails here.
 */
const OWNER = 'lrs-requests-owner';
const own = { [OWNER_TAG]: OWNER };
const record = (over: Partial<LrsRecord> = {}): LrsRecord => ({ owner: OWNER, ...over });

/** A database restoring `files` one per poll (reading), as restore details show it. */
function restoring(arm: FakeLrsArm, files: string[], from = 0) {
  arm.db = { id: 'dbid', status: 'Restoring', tags: own };
  let n = from;
  arm.details = { status: 'Restoring', numberOfFilesDetected: files.length };
  arm.onPoll = (a) => {
    if (!a.details || a.details.status !== 'Restoring') return;
    n = Math.min(files.length, n + 1);
    a.details = { ...a.details, lastRestoredFileName: files[n - 1], lastUploadedFileName: files.at(-1) };
  };
}

describe('LRS ARM requests per operation (fake ARM counts)', () => {
  it('start: GET database, GET instance, PUT, then one GET restoreDetails (+1 per poll while initialising)', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.afterStart = (a) => {
      a.details = { status: 'Restoring', numberOfFilesDetected: 1 };
    };
    const { ctx } = lrsContext(arm, clock);
    const o = await drive(clock, converge(inputs(), ctx, record()));
    assert.equal(phaseOf(o), 'restoring');
    // The database is read once after the PUT: its id, status and tags come from the service.
    assert.deepEqual(arm.calls, [
      'getDatabase',
      'getInstance',
      'startRestore',
      'getDatabase',
      'getRestoreDetails',
    ]);
  });

  it('start with restore slots: the listing that counts restores also answers whether the database exists', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    // The accepted PUT leaves restore details Initializing (FakeLrsArm.startRestore); Restoring from the 3rd poll.
    let polls = 0;
    arm.onPoll = (a) => {
      if (a.details && ++polls >= 3) a.details = { status: 'Restoring', numberOfFilesDetected: 1 };
    };
    const { ctx } = lrsContext(arm, clock);
    ctx.slots = new RestoreSlots();
    await drive(clock, converge(inputs(), ctx, record()));
    // Initializing for two readings: each further poll is the restore details alone.
    assert.deepEqual(arm.calls, [
      'listDatabases',
      'getInstance',
      'startRestore',
      'getDatabase',
      'getRestoreDetails',
      'getRestoreDetails',
      'getRestoreDetails',
    ]);
  });

  it('the wait for the last backup costs one GET restoreDetails per poll', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    restoring(arm, ['full.bak', 'log1.trn', 'log2.trn', 'log3.trn', 'log4.trn', 'log5.trn', 'log6.trn']);
    arm.completeRestore = async () => {
      throw new Error('not this time');
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(drive(clock, complete(inputs({ lastBackupName: 'log6.trn' }), ctx, record())));
    // First reading: database + details; then 6 polls until log6.trn is restored, each the details alone.
    assert.equal(arm.count('getDatabase'), 1);
    assert.equal(arm.count('getRestoreDetails'), 7);
    assert.equal(arm.count('getOperation'), 0);
  });

  it('complete: GET database (owner tag before the irreversible POST), GET restoreDetails, POST, GET database until Online, GET restoreDetails once', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring', lastRestoredFileName: 'log3.trn', numberOfFilesDetected: 4 };
    let after = 0;
    arm.onPoll = (a) => {
      // Online at the second reading after the POST (one poll still Restoring).
      if (a.completion && a.db && ++after >= 2) {
        a.db.status = 'Online';
        a.details = { ...a.details, status: 'Completed' };
      }
    };
    const { ctx } = lrsContext(arm, clock);
    const r = record({ startOperationUrl: 'https://arm/start/1', startedAt: '2026-01-05T09:00:00Z' });
    const o = await drive(clock, complete(inputs({ complete: true }), ctx, r));
    assert.equal(phaseOf(o), 'completed');
    assert.equal(
      (o.details as { status?: string }).status,
      'Completed',
      'the outputs show the final details',
    );
    assert.deepEqual(arm.calls, [
      'getDatabase',
      'getRestoreDetails',
      'completeRestore',
      'getDatabase',
      'getDatabase',
      'getRestoreDetails',
    ]);
  });

  it('a completion whose operation failed while the database stays Restoring is reported at the deadline, read once', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring', lastRestoredFileName: 'log3.trn', numberOfFilesDetected: 4 };
    arm.onPoll = (a) => {
      if (a.completion) a.completion = { status: 'Failed', error: { code: 'SomeCompletionError' } };
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(
      drive(clock, complete(inputs({ complete: true, completeDeadlineInMs: 10_000 }), ctx, record())),
      (e: MigrationError) => {
        assert.equal(e.code, 'RestoreFailed');
        assert.equal(e.causeCode, 'SomeCompletionError');
        return true;
      },
    );
    assert.equal(arm.count('getOperation'), 1);
    assert.equal(arm.count('completeRestore'), 1);
  });

  it('stop of a restoring database: GET database and restoreDetails, both again after the in-flight watch, DELETE, GET database until 404', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    restoring(arm, ['full.bak']);
    const { ctx } = lrsContext(arm, clock);
    assert.equal(await drive(clock, stop(inputs(), ctx, record())), 'dropped');
    // The watch for a drop in flight (core/watch.ts) reads once, when its window ends, not every interval: the
    // whole proof again, since the drop acts on what is there then.
    assert.deepEqual(arm.calls, [
      'getDatabase',
      'getRestoreDetails',
      'getDatabase',
      'getRestoreDetails',
      'dropDatabase',
      'getDatabase',
    ]);
  });

  it('destroy after completion: one GET database (online: kept, nothing else to prove)', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Online', tags: own };
    arm.details = { status: 'Completed' };
    const { ctx } = lrsContext(arm, clock);
    assert.equal(await drive(clock, stop(inputs(), ctx, record())), 'kept-completed');
    assert.deepEqual(arm.calls, ['getDatabase']);
  });

  it('a database that vanishes while the restore is followed is read again and reported', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    restoring(arm, ['full.bak', 'log1.trn', 'log2.trn', 'log3.trn', 'log4.trn']);
    let polls = 0;
    const onPoll = arm.onPoll!;
    arm.onPoll = (a) => {
      onPoll(a);
      if (++polls === 3) {
        a.db = undefined;
        a.details = undefined; // the fake answers 500 (the service: 404)
      }
    };
    const { ctx } = lrsContext(arm, clock);
    const r = record({ startOperationUrl: 'https://arm/start/1', startedAt: '2026-01-05T09:00:00Z' });
    await assert.rejects(
      drive(clock, complete(inputs({ lastBackupName: 'log4.trn' }), ctx, r)),
      (e: MigrationError) => {
        assert.equal(e.code, 'DatabaseVanished');
        return true;
      },
    );
    assert.deepEqual(arm.calls.slice(-3), ['getRestoreDetails', 'getDatabase', 'getOperation']);
  });
});
