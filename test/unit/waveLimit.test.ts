/**
 * Issue 10: "preview of a wave that exceeds [the 100 restores per managed instance of Log Replay Service] says
 * so". Check (what preview runs) needs no call for it: every LogReplayMigration of a stack is checked in the one
 * provider process, which counts the restores the deployment would start on each managed instance.
 */
import assert from 'node:assert/strict';
import { logReplayMigration } from '../../provider/resources/logReplayMigration';
import { LRS_GOOD } from './badInputCases';
import { printed } from '../support/printed';

describe('a wave beyond the Log Replay Service limit is said in preview', () => {
  it('the 101st and later new restores on one instance warn, naming the limit and what to do; others do not', async () => {
    const mi = `${String(LRS_GOOD.managedInstanceId)}-wave`;
    const lines = await printed(async () => {
      for (let k = 1; k <= 103; k++) {
        const news = {
          ...LRS_GOOD,
          managedInstanceId: mi,
          pulumiName: `w-db${k}`,
          databaseName: `WaveDb${k}`,
        };
        const r = await logReplayMigration.check({}, news);
        assert.deepEqual(r.failures, []);
        // A second check of the same resource (the engine may check again) does not count twice.
        if (k === 50) await logReplayMigration.check({}, news);
      }
      // A resource that already exists (olds) starts nothing new.
      await logReplayMigration.check(
        { ...LRS_GOOD, managedInstanceId: mi, databaseName: 'Old' },
        { ...LRS_GOOD, managedInstanceId: mi, pulumiName: 'old', databaseName: 'Old' },
      );
    });
    const limit = lines.filter((l) => /at most 100/.test(l));
    assert.equal(limit.length, 3, lines.filter((l) => l.includes('WARNING')).join('\n'));
    limit.forEach((l, n) => {
      assert.match(l, new RegExp(`^\\[LogReplayMigration w-db${101 + n}\\] WARNING managedInstanceId: `));
      assert.match(l, /starts \d+ Log Replay Service restores/);
      assert.match(l, /split the wave|startDeadlineInMs/);
    });
  });
});
