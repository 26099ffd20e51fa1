import assert from 'node:assert/strict';
import { restoreDetails } from '../../provider/azure/lrs';
import { FakeClock } from '../../provider/core/clock';
import { MigrationError } from '../../provider/core/errors';
import { lrsHint } from '../../provider/core/lrs/hints';
import { type Observation, phaseOf } from '../../provider/core/lrs/phase';
import { RestoreSlots } from '../../provider/core/lrs/slots';
import {
  complete,
  converge,
  type LrsRecord,
  OWNER_TAG,
  planCreate,
  stop,
} from '../../provider/core/lrs/workflow';
import { drive, FakeLrsArm, lrsContext, lrsInputs as inputs } from './fakes';

const OWNER = 'lrs-test-owner';
const record = (over: Partial<LrsRecord> = {}): LrsRecord => ({ owner: OWNER, ...over });
const own = { [OWNER_TAG]: OWNER };

/**
 * Restores one file every 5 s of fake time from the first reading on: full.bak, log1.trn, log2.trn, log3.trn;
 * Initializing for the first 3 s; after completeRestore the database is Online 3 s later.
 */
function progressing(arm: FakeLrsArm, clock: FakeClock) {
  const files = ['full.bak', 'log1.trn', 'log2.trn', 'log3.trn'];
  let t0: number | undefined;
  let completedAt: number | undefined;
  const realComplete = arm.completeRestore.bind(arm);
  arm.completeRestore = async (last: string) => {
    completedAt = clock.now();
    return realComplete(last);
  };
  arm.onPoll = (a) => {
    if (!a.db) return;
    t0 ??= clock.now();
    const elapsed = clock.now() - t0;
    if (completedAt !== undefined && clock.now() >= completedAt + 3_000) {
      a.db.status = 'Online';
      a.details = { ...a.details, status: 'Completed' };
      a.start = { status: 'Succeeded' };
      return;
    }
    if (elapsed < 3_000) return;
    const n = Math.min(files.length, Math.floor((elapsed - 3_000) / 5000));
    a.details = {
      status: 'Restoring',
      numberOfFilesDetected: files.length,
      lastUploadedFileName: files[files.length - 1],
      currentRestoringFileName: files[n] ?? undefined,
      ...(n > 0 ? { lastRestoredFileName: files[n - 1] } : {}),
    };
  };
}

describe('LRS workflow (fake ARM, fake clock)', () => {
  it('starts LRS from nothing with the owner token, never waiting for the start operation', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx, lines } = lrsContext(arm, clock);
    const r = record();
    const o = await drive(clock, converge(inputs(), ctx, r), 100);
    assert.equal(arm.count('startRestore'), 1);
    assert.equal(arm.started?.tags[OWNER_TAG], OWNER);
    assert.equal(arm.started?.lastBackupName, undefined);
    assert.equal(r.startOperationUrl, 'https://arm/start/1');
    assert.ok(r.startedAt);
    assert.equal(phaseOf(o), 'restoring');
    assert.equal(o.start, undefined, 'the start operation is not read: the database and its details tell');
    assert.ok(lines.some((l) => l.includes('starting Log Replay Service')));
    // The first reading comes one interval after the PUT (the database appears seconds later); the start
    // operation lives until completion (lrs-continuous) and is not read while the restore details answer.
    assert.deepEqual(arm.calls.slice(0, 3), ['getDatabase', 'getInstance', 'startRestore']);
    assert.ok(arm.times[3] - arm.times[2] >= 1_000);
    assert.equal(arm.count('getOperation'), 0);
  });

  it('waits for a database that does not exist yet after the PUT, while the start operation runs', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    let putAt = 0;
    arm.afterStart = () => (putAt = clock.now());
    const db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.onPoll = (a) => {
      if (!putAt) return;
      // Not there for 4 s (lrs-continuous: creationDate 4 s after the PUT), restoring from 6 s.
      a.db = clock.now() - putAt >= 4_000 ? db : undefined;
      if (clock.now() - putAt >= 6_000) a.details = { status: 'Restoring', numberOfFilesDetected: 1 };
    };
    const { ctx, lines } = lrsContext(arm, clock);
    const o = await drive(clock, converge(inputs(), ctx, record()), 100);
    assert.equal(phaseOf(o), 'restoring');
    assert.ok(
      lines.some((l) => /has not created the database yet/.test(l)),
      lines.join('\n'),
    );
  });

  it('after a failed start whose database is gone, the next run starts over; otherwise a vanished database is an error', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.onPoll = (a) => {
      if (a.db) a.details = { status: 'Restoring', numberOfFilesDetected: 1 };
    };
    const { ctx, lines } = lrsContext(arm, clock);
    const failed = record({ startedAt: '2026-01-05T08:00:00Z', startOperationUrl: 'https://arm/start/0' });
    await drive(
      clock,
      converge(inputs(), ctx, failed, { phase: 'failed', failureCode: 'FullBackupNotFound' }),
    );
    assert.equal(arm.count('startRestore'), 1);
    assert.equal(failed.startOperationUrl, 'https://arm/start/1');
    assert.ok(
      lines.some((l) =>
        /previous start of Sales failed \(FullBackupNotFound\).*starting Log Replay Service again/.test(l),
      ),
    );

    const other = new FakeLrsArm();
    const gone = lrsContext(other, clock);
    await assert.rejects(
      drive(
        clock,
        converge(inputs(), gone.ctx, record({ startedAt: '2026-01-05T08:00:00Z' }), { phase: 'restoring' }),
      ),
      (e: MigrationError) => e.code === 'DatabaseVanished',
    );
    assert.equal(other.count('startRestore'), 0);
  });

  it('resumes on an existing database it owns, without a second start', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring', numberOfFilesDetected: 2 };
    const { ctx, lines } = lrsContext(arm, clock);
    await drive(clock, converge(inputs(), ctx, record()));
    assert.equal(arm.count('startRestore'), 0);
    assert.ok(lines.some((l) => l.includes('resuming')));
  });

  it('refuses a database it does not own: no tag, or another owner (another stack, or an interrupted start)', async () => {
    const clock = new FakeClock();
    const tagSets: Record<string, string>[] = [{}, { [OWNER_TAG]: 'lrs-someone-else' }];
    for (const tags of tagSets) {
      const arm = new FakeLrsArm();
      arm.db = { id: 'dbid', status: 'Restoring', tags };
      arm.details = { status: 'Restoring' };
      const { ctx } = lrsContext(arm, clock);
      await assert.rejects(drive(clock, converge(inputs(), ctx, record())), (e: MigrationError) => {
        assert.equal(e.code, 'DatabaseExists');
        if (Object.keys(tags).length) {
          assert.match(e.message, /another migration/);
          assert.match(e.hint ?? '', /interrupted[\s\S]*az sql midb log-replay stop/);
        }
        return true;
      });
      assert.equal(arm.count('startRestore'), 0);
      assert.equal(arm.count('getRestoreDetails'), 0, 'nothing more is read of a database that is not ours');
    }
  });

  it('refuses at once a database that appears after its start PUT with another owner tag (issue 8)', async () => {
    // An up interrupted right after its start PUT, resumed before the database showed: the resumed create (a
    // new owner token) sends its PUT too; the database that appears carries the first one's tag.
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.afterStart = (a) => {
      a.db = { id: 'dbid', status: 'Restoring', tags: { [OWNER_TAG]: 'lrs-interrupted-start' } };
    };
    const { ctx } = lrsContext(arm, clock);
    const i = inputs();
    const started = clock.now();
    await assert.rejects(
      drive(clock, converge(i, ctx, record())),
      (e: MigrationError) => e.code === 'DatabaseExists' && /interrupted/.test(e.hint ?? ''),
    );
    assert.equal(arm.count('startRestore'), 1);
    assert.ok(clock.now() - started < i.startDeadlineInMs / 2, 'refused, not timed out');
  });

  it('preflight refuses an empty folder and a missing last backup with autoComplete', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    const empty = lrsContext(arm, clock, []);
    await assert.rejects(
      converge(inputs(), empty.ctx, record()),
      (e: MigrationError) => e.code === 'NoBackups',
    );
    const missing = lrsContext(arm, clock, ['full.bak']);
    await assert.rejects(
      converge(inputs({ autoComplete: true }), missing.ctx, record()),
      (e: MigrationError) => e.code === 'LastBackupMissing',
    );
    assert.equal(arm.count('startRestore'), 0);
  });

  it('a failed start operation fails the first run with the service code and its hint', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.onPoll = (a) => {
      if (!a.start) return;
      a.start = {
        status: 'Failed',
        error: { code: 'FullBackupNotFound', message: 'Full backup can not be found.' },
      };
      a.details = undefined; // 500 from now on (lrs-ps-failed-start v4)
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(drive(clock, converge(inputs(), ctx, record())), (e: MigrationError) => {
      assert.equal(e.code, 'RestoreFailed');
      assert.equal(e.causeCode, 'FullBackupNotFound');
      assert.match(e.message, /Full backup can not be found/);
      assert.match(e.hint ?? '', /no full backup found in the folder[\s\S]*az sql midb delete/);
      return true;
    });
    // The details answer 500 (lrs-ps-failed-start v4): only then is the start operation read, which names the code.
    assert.deepEqual(arm.calls.slice(3), ['getDatabase', 'getRestoreDetails', 'getOperation']);
  });

  it('completes within one poll interval of the last backup being restored, with no repeated reads', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx, lines } = lrsContext(arm, clock);
    const r = record();
    await drive(clock, converge(inputs(), ctx, r), 100);
    const o = await drive(clock, complete(inputs({ complete: true }), ctx, r), 100);
    assert.equal(arm.count('completeRestore'), 1);
    assert.equal(o.database?.status, 'Online');
    // log3.trn is restored 3 s + 4 × 5 s after the first reading; the POST follows the next reading.
    const first = arm.times[arm.calls.indexOf('getDatabase', 3)];
    const post = arm.times[arm.calls.indexOf('completeRestore')];
    assert.ok(post - (first + 23_000) <= 1_000, `completeRestore ${post - first - 23_000} ms late`);
    const i = arm.calls.indexOf('completeRestore');
    assert.deepEqual(
      arm.calls.slice(i - 2, i),
      ['getRestoreDetails', 'getRestoreDetails'],
      'one reading before it: the restore details alone (the database read at the start of the run is carried)',
    );
    const waitLine = lines.find((l) => l.startsWith('waiting for last backup log3.trn to be restored'));
    assert.ok(waitLine, lines.join(' // '));
    assert.match(waitLine, /deadline 2026-01-05T09:\d\d:\d\dZ/);
    assert.equal(r.completeOperationUrl, 'https://arm/complete/1');
    assert.ok(r.completionRequestedAt);
    assert.ok(r.completedAt);
    // Online ends it, though completeRestore's operation still runs (lrs-ps-complete 8/35).
    assert.equal(arm.completion?.status, 'InProgress');
    // Run again: already completed, no second completeRestore.
    await drive(clock, complete(inputs({ complete: true }), ctx, r));
    assert.equal(arm.count('completeRestore'), 1);
  });

  it('converge with complete reads the state it just read only once before completing', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring', lastRestoredFileName: 'log3.trn', numberOfFilesDetected: 4 };
    arm.onPoll = (a) => {
      if (a.completion && a.db) a.db.status = 'Online';
    };
    const { ctx } = lrsContext(arm, clock);
    await drive(clock, converge(inputs({ complete: true }), ctx, record()));
    const i = arm.calls.indexOf('completeRestore');
    assert.deepEqual(arm.calls.slice(0, i), ['getDatabase', 'getRestoreDetails']);
  });

  it('treats an already signalled completion as progress', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    progressing(arm, clock);
    const { ctx } = lrsContext(arm, clock);
    const r = record();
    await drive(clock, converge(inputs(), ctx, r));
    const realComplete = arm.completeRestore;
    arm.completeRestore = async (last: string) => {
      await realComplete(last);
      throw new MigrationError('AzureError', 'already', {
        causeCode: 'ExternalBackupAlreadySignaledToComplete',
      });
    };
    const o = await drive(clock, complete(inputs({ complete: true }), ctx, r));
    assert.equal(o.database?.status, 'Online');
  });

  it('times out with the last state seen', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'dbid', status: 'Restoring', tags: own };
    arm.details = {
      status: 'Restoring',
      lastRestoredFileName: 'log1.trn',
      currentRestoringFileName: 'log2.trn',
      numberOfFilesDetected: 2,
    };
    const { ctx } = lrsContext(arm, clock);
    await assert.rejects(
      drive(clock, complete(inputs({ complete: true, restoreDeadlineInMs: 10_000 }), ctx, record())),
      (e: MigrationError) => {
        assert.equal(e.code, 'Timeout');
        assert.match(
          e.describe(),
          /Last state seen: database Restoring, restore Restoring, restoring log2.trn, last restored log1.trn, 2 file\(s\) detected/,
        );
        return true;
      },
    );
    assert.equal(arm.count('completeRestore'), 0);
  });

  it('phase comes from the recorded values only; anything else is unknown, Online is final', () => {
    const db = (status: string) => ({ id: 'd', status, tags: {} });
    const cases: Array<[Observation, string]> = [
      [{}, 'absent'],
      [{ start: { status: 'Failed', error: { code: 'FullBackupNotFound' } } }, 'failed'],
      [{ database: db('Restoring'), details: { status: 'Initializing' } }, 'starting'],
      [{ database: db('Restoring'), details: { status: 'Restoring' } }, 'restoring'],
      [
        { database: db('Restoring'), details: { status: 'Restoring' }, completionRequested: true },
        'completing',
      ],
      [{ database: db('Restoring'), details: { status: 'Completed' } }, 'completing'],
      [{ database: db('Online'), details: { status: 'Completed' } }, 'completed'],
      [{ database: db('Online'), details: { status: 'Failed' } }, 'completed'],
      [{ database: db('Online'), start: { status: 'Failed' } }, 'completed'],
      [{ database: db('Restoring'), details: { status: 'Failed' } }, 'unknown'],
      [{ database: db('Restoring'), details: { status: 'Stopped' } }, 'unknown'],
      [{ database: db('Restoring'), details: { status: 'Completing' } }, 'unknown'],
      [{ database: db('Restoring'), details: { status: 'Waiting' } }, 'unknown'],
      [{ database: db('Restoring'), details: { unavailable: { status: 500 } } }, 'unknown'],
      [
        {
          database: db('Restoring'),
          details: { unavailable: { status: 500 } },
          start: { status: 'InProgress' },
        },
        'starting',
      ],
      [
        { database: db('Restoring'), details: { status: 'Restoring' }, start: { status: 'Failed' } },
        'failed',
      ],
      [{ database: db('Inaccessible'), details: { status: 'Restoring' } }, 'unknown'],
    ];
    for (const [o, phase] of cases) assert.equal(phaseOf(o), phase, JSON.stringify(o));
  });

  it('reads restore details as recorded: "<empty value>" is no file, ["[]"] no unrestorable file', () => {
    assert.deepEqual(
      restoreDetails({
        status: 'Initializing',
        currentRestoringFileName: '<empty value>',
        unrestorableFiles: ['[]'],
        numberOfFilesDetected: 2,
        lastUploadedFileName: 'log1.bak',
      }),
      {
        type: undefined,
        status: 'Initializing',
        blockReason: undefined,
        lastUploadedFileName: 'log1.bak',
        lastRestoredFileName: undefined,
        currentRestoringFileName: undefined,
        percentCompleted: undefined,
        numberOfFilesDetected: 2,
        unrestorableFiles: [],
      },
    );
    const spec = restoreDetails({
      CurrentRestoringFileName: 'Log10.bak',
      unrestorableFiles: [{ name: 'ImageFile.JPG' }],
    });
    assert.equal(spec.currentRestoringFileName, 'Log10.bak');
    assert.deepEqual(spec.unrestorableFiles, ['ImageFile.JPG']);
  });

  it('stop reads the database again after the in-flight watch and sends no second DELETE if it went (issue 8)', async () => {
    // A destroy killed after ARM accepted its DELETE leaves no record; resumed, the database still looks as
    // before (Restoring, owner tag, restore details) until GET answers 404 (lrs-cancel u6 → u10).
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'd', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring' };
    arm.onPoll = (a) => {
      if (a.count('getDatabase') === 2) a.db = undefined;
    };
    const { ctx } = lrsContext(arm, clock);
    const i = inputs();
    const started = clock.now();
    assert.equal(await drive(clock, stop(i, ctx, record())), 'dropped');
    assert.deepEqual(arm.calls, ['getDatabase', 'getRestoreDetails', 'getDatabase'], 'no second DELETE');
    assert.equal(clock.now() - started, Math.min(30_000, i.startDeadlineInMs / 4));
  });

  it('stop proves again at the end of the in-flight watch: a database that completed meanwhile is kept (issue 8)', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'd', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring' };
    // autoComplete finishing during the window: details Completed and the database Online in the same poll
    // (recordings README: Online from the poll in which restoreDetails says Completed).
    arm.onPoll = (a) => {
      if (a.count('getDatabase') === 2) {
        a.db = { id: 'd', status: 'Online', tags: own };
        a.details = { status: 'Completed' };
      }
    };
    const { ctx, lines } = lrsContext(arm, clock);
    assert.equal(await drive(clock, stop(inputs(), ctx, record())), 'kept-completed');
    assert.equal(arm.count('dropDatabase'), 0);
    assert.ok(
      lines.some((l) => /completed its migration and is kept/.test(l)),
      lines.join('\n'),
    );
  });

  it('stop holds one deadline across the proof, the in-flight watch, the drop and its wait', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.db = { id: 'd', status: 'Restoring', tags: own };
    arm.details = { status: 'Restoring' };
    // The drop is accepted and never ends.
    arm.dropDatabase = async () => {
      arm.calls.push('dropDatabase');
      return { operationUrl: 'https://arm/drop/1' };
    };
    const { ctx } = lrsContext(arm, clock);
    const i = { ...inputs(), startDeadlineInMs: 120_000 };
    const started = clock.now();
    await assert.rejects(drive(clock, stop(i, ctx, record())), /Timed out .* to be dropped/);
    assert.equal(arm.count('dropDatabase'), 1);
    assert.ok(clock.now() - started <= i.startDeadlineInMs, `took ${clock.now() - started} ms`);
  });

  it('stop drops only its own restore in progress that restore details prove, and ends when the database is gone', async () => {
    const clock = new FakeClock();
    const restoring = { status: 'Restoring' };
    const cases: [Partial<FakeLrsArm>, Partial<LrsRecord>, string, number][] = [
      [{ db: { id: 'd', status: 'Restoring', tags: own }, details: restoring }, {}, 'dropped', 1],
      [
        { db: { id: 'd', status: 'Restoring', tags: own }, details: { status: 'Initializing' } },
        {},
        'dropped',
        1,
      ],
      [
        { db: { id: 'd', status: 'Online', tags: own }, details: { status: 'Completed' } },
        {},
        'kept-completed',
        0,
      ],
      // Online is never dropped, whatever the details say.
      [
        { db: { id: 'd', status: 'Online', tags: own }, details: { status: 'Failed' } },
        {},
        'kept-completed',
        0,
      ],
      [{ db: { id: 'd', status: 'Restoring', tags: {} }, details: restoring }, {}, 'kept-foreign', 0],
      [
        {
          db: { id: 'd', status: 'Restoring', tags: { [OWNER_TAG]: 'lrs-other-stack' } },
          details: restoring,
        },
        {},
        'kept-foreign',
        0,
      ],
      // A 500 is no proof (lrs-ps-stop-foreign-database w5: Stop refuses on it).
      [{ db: { id: 'd', status: 'Restoring', tags: own }, details: undefined }, {}, 'kept-unproven', 0],
      [
        {
          db: { id: 'd', status: 'Restoring', tags: own },
          details: { type: 'PointInTimeRestore', status: 'Restoring' },
        },
        {},
        'kept-foreign',
        0,
      ],
      [{ db: { id: 'd', status: 'Inaccessible', tags: own }, details: restoring }, {}, 'kept-foreign', 0],
      [
        { db: { id: 'd', status: 'Restoring', tags: own }, details: restoring },
        { completionRequestedAt: '2026-01-05T09:00:00Z' },
        'kept-completing',
        0,
      ],
      [
        { db: { id: 'd', status: 'Restoring', tags: own }, details: { status: 'Completed' } },
        {},
        'kept-completing',
        0,
      ],
      [{}, {}, 'gone', 0],
    ];
    for (const [state, rec, outcome, drops] of cases) {
      const arm = Object.assign(new FakeLrsArm(), state);
      const { ctx } = lrsContext(arm, clock);
      assert.equal(await drive(clock, stop(inputs(), ctx, record(rec))), outcome, JSON.stringify(state));
      assert.equal(arm.count('dropDatabase'), drops, outcome);
      assert.equal(arm.count('getOperation'), 0, 'stop judges the database, not operations');
    }
  });

  it('stop tells a restore details 500 burst from the 500 state by its start operation', async () => {
    const clock = new FakeClock();
    const startUrl = 'https://arm/managedDatabaseRestoreAzureAsyncOperation/s1';
    const restoring = () => ({ id: 'd', status: 'Restoring', tags: own });
    // Burst: two 500s while the start operation is InProgress, then the details answer: dropped.
    const burst = Object.assign(new FakeLrsArm(), { db: restoring(), start: { status: 'InProgress' } });
    let fiveHundreds = 0;
    burst.onPoll = (a) => {
      a.details = fiveHundreds++ < 2 ? undefined : { status: 'Restoring' };
    };
    const b = lrsContext(burst, clock);
    assert.equal(
      await drive(clock, stop(inputs(), b.ctx, record({ startOperationUrl: startUrl }))),
      'dropped',
    );
    // Three readings through the burst, one more for the proof at the end of the in-flight watch.
    assert.equal(burst.count('getRestoreDetails'), 4);
    assert.equal(burst.count('dropDatabase'), 1);
    // The state: the start operation Failed (lrs-ps-failed-start): kept at once, no second reading.
    const failed = Object.assign(new FakeLrsArm(), { db: restoring(), start: { status: 'Failed' } });
    const f = lrsContext(failed, clock);
    assert.equal(
      await drive(clock, stop(inputs(), f.ctx, record({ startOperationUrl: startUrl }))),
      'kept-unproven',
    );
    assert.deepEqual([failed.count('getRestoreDetails'), failed.count('getOperation')], [1, 1]);
    assert.equal(failed.count('dropDatabase'), 0);
    // 500s past the start deadline while InProgress: the 500 stands, kept (never dropped on no proof).
    const stuck = Object.assign(new FakeLrsArm(), { db: restoring(), start: { status: 'InProgress' } });
    const s = lrsContext(stuck, clock);
    const t0 = clock.now();
    assert.equal(
      await drive(clock, stop(inputs(), s.ctx, record({ startOperationUrl: startUrl }))),
      'kept-unproven',
    );
    assert.equal(stuck.count('dropDatabase'), 0);
    assert.ok(clock.now() - t0 <= inputs().startDeadlineInMs + inputs().pollIntervalInMs);
  });

  it('stop waits for GET to answer 404, not for the drop operation', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    const db = { id: 'd', status: 'Restoring', tags: own };
    arm.db = db;
    arm.details = { status: 'Restoring' };
    let droppedAt: number | undefined;
    arm.dropDatabase = async () => {
      arm.calls.push('dropDatabase');
      droppedAt = clock.now();
      return { operationUrl: 'https://arm/drop/1' };
    };
    arm.onPoll = (a) => {
      a.db = droppedAt !== undefined && clock.now() - droppedAt >= 8_000 ? undefined : db;
    };
    const { ctx } = lrsContext(arm, clock);
    assert.equal(await drive(clock, stop(inputs(), ctx, record())), 'dropped');
    assert.ok(clock.now() - (droppedAt ?? 0) < 10_000);
  });

  it('waits for a free restore slot (at most 100 per instance) within the start deadline, saying so', async () => {
    const clock = new FakeClock();
    const arm = new FakeLrsArm();
    arm.others = Array.from({ length: 100 }, (_, k) => ({
      id: `d${k}`,
      name: `d${k}`,
      status: 'Restoring',
      tags: {},
    }));
    arm.onPoll = (a) => {
      if (a.db) a.details = { status: 'Restoring', numberOfFilesDetected: 1 };
    };
    const { ctx, lines } = lrsContext(arm, clock);
    ctx.slots = new RestoreSlots();
    const run = drive(clock, converge(inputs(), ctx, record()), 1_000);
    setTimeout(() => {
      arm.others[0].status = 'Online'; // one restore completes
    }, 0);
    await run;
    assert.equal(arm.count('startRestore'), 1);
    // The listing that counts the restores also says the database is absent: no separate read of it.
    assert.deepEqual(arm.calls.slice(0, 2), ['listDatabases', 'getInstance']);
    assert.equal(arm.calls.indexOf('getDatabase') > arm.calls.indexOf('startRestore'), true);
    assert.ok(
      lines.some((l) => /waiting for a free Log Replay Service slot .*at most 100/.test(l)),
      lines.join('\n'),
    );

    // Nothing frees up: the start fails at its deadline, naming the limit and what to do.
    const full = new FakeLrsArm();
    full.others = arm.others.map((d) => ({ ...d, status: 'Restoring' }));
    const busy = lrsContext(full, clock);
    busy.ctx.slots = new RestoreSlots();
    await assert.rejects(
      drive(clock, converge(inputs({ startDeadlineInMs: 5_000 }), busy.ctx, record())),
      (e: MigrationError) => {
        assert.equal(e.code, 'Timeout');
        assert.match(e.hint ?? '', /at most 100 restores per managed instance[\s\S]*split the wave/);
        return true;
      },
    );
    assert.equal(full.count('startRestore'), 0);
  });

  it('two starts in one process do not both take the last slot', async () => {
    const clock = new FakeClock();
    const slots = new RestoreSlots();
    const others = Array.from({ length: 99 }, (_, k) => ({
      id: `d${k}`,
      name: `d${k}`,
      status: 'Restoring',
      tags: {},
    }));
    const arms = [new FakeLrsArm(), new FakeLrsArm()];
    const runs = arms.map((arm, k) => {
      // One instance: each listing shows the other's database too once it exists.
      arm.listDatabases = async () => [
        ...others,
        ...arms.flatMap((a, j) => (a.db ? [{ ...a.db, name: `Db${j}` }] : [])),
      ];
      arm.onPoll = (a) => {
        if (a.db) a.details = { status: 'Restoring' };
      };
      const { ctx } = lrsContext(arm, clock);
      ctx.slots = slots;
      return converge(inputs({ databaseName: `Db${k}`, startDeadlineInMs: 10_000 }), ctx, record()).then(
        () => 'started',
        (e: MigrationError) => e.code,
      );
    });
    const results = await drive(clock, Promise.all(runs));
    assert.deepEqual([...results].sort(), ['Timeout', 'started']);
  });

  it('plans the cutover as irreversible and says the start operation is not waited for', () => {
    const steps = planCreate(inputs({ complete: true }));
    assert.ok(steps.some((s) => s.irreversible && /complete the restore/.test(s.action)));
    assert.ok(steps.some((s) => /not waited for/.test(s.action)));
  });

  it('hints say striped full and differential backups are fine, and CHECKSUM is recommended, not required', () => {
    assert.match(lrsHint('RestoreFromStripedBackupsNotEnabled') ?? '', /log backups must not be/);
    assert.doesNotMatch(lrsHint('RestoreFromStripedBackupsNotEnabled') ?? '', /not supported/);
    assert.equal(lrsHint('FullBackupMissingChecksum'), undefined);
    assert.match(lrsHint('BrokenRestorePlanNoFullBackup') ?? '', /recommended/);
  });
});
