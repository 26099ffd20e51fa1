/** An unchanged program is no change: defaulted settings are compared as the defaults the outputs store. */
import assert from 'node:assert/strict';
import { logReplayMigration } from '../../provider/resources/logReplayMigration';
import { LRS_GOOD } from './badInputCases';

describe('LogReplayMigration diff of an unchanged program', () => {
  it('a resource declared without deadlines or poll interval shows no update on the next preview', async () => {
    // What the outputs of such a resource hold (lrsOutputs stores the defaulted values).
    const olds = {
      ...LRS_GOOD,
      storageContainerSasToken: undefined,
      useManagedIdentity: false,
      collation: 'SQL_Latin1_General_CP1_CI_AS',
      lastBackupName: null,
      autoComplete: false,
      complete: false,
      startDeadlineInMs: 15 * 60_000,
      restoreDeadlineInMs: 6 * 60 * 60_000,
      completeDeadlineInMs: 30 * 60_000,
      pollIntervalInMs: 30_000,
      armEndpoint: null,
      phase: 'restoring',
    };
    const r = await logReplayMigration.diff('id', olds, { ...LRS_GOOD });
    assert.equal(r.changes, false);
  });
});
