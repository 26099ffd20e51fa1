import assert from 'node:assert/strict';
import { FakeClock } from '../../provider/core/clock';
import { MigrationError } from '../../provider/core/errors';
import type { LrsInputs } from '../../provider/core/lrs/inputs';
import {
  complete,
  converge,
  OWNER_TAG,
  ownerToken,
  planCreate,
  stop,
} from '../../provider/core/lrs/workflow';
import { drive, FakeLrsArm, lrsContext } from './fakes';

const inputs = (over: Partial<LrsInputs> = {}) => ({
  managedInstanceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi',
  databaseName: 'Sales',
  storageContainerUri: 'https://acct.blob.core.windows.net/sales/db1',
  storageContainerSasToken: 'sp=rl&sig=x',
  useManagedIdentity: false,
  collation: 'SQL_Latin1_General_CP1_CI_AS',
  lastBackupName: 'log3.trn',
  autoComplete: false,
  complete: false,
  startDeadlineInMs: 60_000,
  restoreDeadlineInMs: 120_000,
  completeDeadlineInMs: 60_000,
  pollIntervalInMs: 1_000,
  ...over,
});

/** Restores one file every 5 s of fake time: full.bak, log1.trn, log2.trn, log3.trn. */
function progressing(arm: FakeLrsArm, clock: FakeClock) {
  const files = ['full.bak', 'log1.trn', 'log2.trn', 'log3.trn'];
  const t0 = clock.now();
  arm.onPoll = (a) => {
    const n = Math.min(files.length, 1 + Math.floor((clock.now() - t0) / 5000));
    if (!a.details || a.details.status === 'Completed') return;
    if (a.details.status === 'Completing') {
      if (a.db) a.db.status = 'Online';
      a.details = { ...a.details, status: 'Completed' };
      return;
    }
    a.details = {
      ...a.details,
      status: 'Restoring',
      numberOfFilesDetected: files.length,
      lastUploadedFileName: files[files.length - 1],
      lastRestoredFileName: files[n - 1],
      percentCompleted: Math.round((100 * n) / files.length),
    };
  };
}

describe('LRS workflow (fake ARM, fake clock)', () => {
  it('starts LRS from nothing, tags the database and waits until restoring', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx, lines } = lrsContext(arm, clock);
    const o = await drive(clock, converge(inputs(), ctx));
    assert.equal(arm.count('startRestore'), 1);
    assert.equal(arm.started?.tags[OWNER_TAG], ownerToken(inputs()));
    assert.equal(arm.started?.lastBackupName, undefined);
    assert.equal(o.details?.status, 'Restoring');
    assert.ok(lines.some((l) => l.includes('starting Log Replay Service')));
  });

  it('resumes on an existing database it started, without a second start', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: { [OWNER_TAG]: ownerToken(inputs()) } };
    arm.details = { type: 'LRSRestore', status: 'Restoring', numberOfFilesDetected: 2 };
    const { ctx, lines } = lrsContext(arm, clock);
    await drive(clock, converge(inputs(), ctx));
    assert.equal(arm.count('startRestore'), 0);
    assert.ok(lines.some((l) => l.includes('resuming')));
  });

  it('refuses a database it did not start', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Online', tags: {} };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(
      drive(clock, converge(inputs(), ctx)),
      (e: MigrationError) => e.code === 'DatabaseExists',
    );
    assert.equal(arm.count('startRestore'), 0);
  });

  it('preflight refuses an empty folder and a missing last backup with autoComplete', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    const empty = lrsContext(arm, clock, []);
    await assert.rejects(converge(inputs(), empty.ctx), (e: MigrationError) => e.code === 'NoBackups');
    const missing = lrsContext(arm, clock, ['full.bak']);
    await assert.rejects(
      converge(inputs({ autoComplete: true }), missing.ctx),
      (e: MigrationError) => e.code === 'LastBackupMissing',
    );
    assert.equal(arm.count('startRestore'), 0);
  });

  it('completes only after the last backup is restored, then waits for online', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx, lines } = lrsContext(arm, clock);
    await drive(clock, converge(inputs(), ctx));
    const o = await drive(clock, complete(inputs({ complete: true }), ctx));
    assert.equal(arm.count('completeRestore'), 1);
    assert.equal(o.database?.status, 'Online');
    const waitLine = lines.find((l) => l.startsWith('waiting for last backup log3.trn to be restored'));
    assert.ok(waitLine, lines.join(' // '));
    assert.match(waitLine, /deadline 2026-01-05T09:\d\d:\d\dZ/);
    // Run again: already completed, no second completeRestore.
    await drive(clock, complete(inputs({ complete: true }), ctx));
    assert.equal(arm.count('completeRestore'), 1);
  });

  it('treats an already signalled completion as progress', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx } = lrsContext(arm, clock);
    await drive(clock, converge(inputs(), ctx));
    arm.completeRestore = async function (this: FakeLrsArm, _l: string) {
      this.calls.push('completeRestore');
      this.details = { ...this.details, status: 'Completing' };
      throw new MigrationError('AzureError', 'already', {
        causeCode: 'ExternalBackupAlreadySignaledToComplete',
      });
    };
    const o = await drive(clock, complete(inputs({ complete: true }), ctx));
    assert.equal(o.database?.status, 'Online');
  });

  it('times out with the last state seen', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: { [OWNER_TAG]: ownerToken(inputs()) } };
    arm.details = {
      type: 'LRSRestore',
      status: 'Restoring',
      lastRestoredFileName: 'log1.trn',
      percentCompleted: 40,
      numberOfFilesDetected: 2,
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(
      drive(clock, complete(inputs({ complete: true, restoreDeadlineInMs: 10_000 }), ctx)),
      (e: MigrationError) => {
        assert.equal(e.code, 'Timeout');
        assert.match(
          e.describe(),
          /Last state seen: database Restoring, restore Restoring, last restored log1.trn, 40%/,
        );
        return true;
      },
    );
    assert.equal(arm.count('completeRestore'), 0);
  });

  it('fails with the service code and the unrestorable files', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.onPoll = (a) => {
      a.details = {
        type: 'LRSRestore',
        status: 'Failed',
        blockReason: 'BrokenRestorePlanGapInLogBackups',
        unrestorableFiles: ['log7.trn'],
      };
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(drive(clock, converge(inputs(), ctx)), (e: MigrationError) => {
      assert.equal(e.causeCode, 'BrokenRestorePlanGapInLogBackups');
      assert.match(e.message, /log7.trn/);
      assert.match(e.hint ?? '', /upload every log backup/);
      return true;
    });
  });

  it('stop drops only its own restoring database and keeps completed ones', async () => {
    const clock = new FakeClock();
    const own = { [OWNER_TAG]: ownerToken(inputs()) };
    const cases: [Partial<FakeLrsArm>, string, number][] = [
      [
        {
          db: { id: 'd', status: 'Restoring', tags: own },
          details: { type: 'LRSRestore', status: 'Restoring' },
        },
        'dropped',
        1,
      ],
      [
        {
          db: { id: 'd', status: 'Online', tags: own },
          details: { type: 'LRSRestore', status: 'Completed' },
        },
        'kept-completed',
        0,
      ],
      [
        {
          db: { id: 'd', status: 'Restoring', tags: {} },
          details: { type: 'LRSRestore', status: 'Restoring' },
        },
        'kept-foreign',
        0,
      ],
      [
        {
          db: { id: 'd', status: 'Restoring', tags: own },
          details: { type: 'LRSRestore', status: 'Completing' },
        },
        'kept-completing',
        0,
      ],
      [{}, 'gone', 0],
    ];
    for (const [state, outcome, drops] of cases) {
      const arm = Object.assign(new FakeLrsArm(), state);
      const { ctx } = lrsContext(arm, clock);
      assert.equal(await stop(inputs(), ctx), outcome);
      assert.equal(arm.count('dropDatabase'), drops, outcome);
    }
  });

  it('plans the cutover as irreversible', () => {
    const steps = planCreate(inputs({ complete: true }));
    assert.ok(steps.some((s) => s.irreversible && /complete the restore/.test(s.action)));
  });
});
