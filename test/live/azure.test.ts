/**
 * Opt-in checks against real Azure, read-only: they run only when SQLMI_LIVE_MANAGED_INSTANCE_ID is set,
 * with credentials from DefaultAzureCredential. They verify that the adapters speak the real contract.
 */
import assert from 'node:assert/strict';
import { createLrsArm } from '../../provider/azure/lrs';
import { checkContainerUri } from '../../provider/core/storageUri';
import { createBackupStorage } from '../../provider/storage/blob';

const miId = process.env.SQLMI_LIVE_MANAGED_INSTANCE_ID;

(miId ? describe : describe.skip)('live Azure (opt-in: SQLMI_LIVE_MANAGED_INSTANCE_ID)', function () {
  this.timeout(120_000);

  it('reads the managed instance and a database that does not exist', async () => {
    const arm = createLrsArm({
      managedInstanceId: miId!,
      databaseName: `sqlmi-migrate-probe-${Date.now()}`,
    });
    const mi = await arm.getInstance();
    assert.ok(mi.location.length > 0);
    assert.equal(await arm.getDatabase(), undefined);
    assert.ok('unavailable' in (await arm.getRestoreDetails()), 'no restore details for a missing database');
  });

  (process.env.SQLMI_LIVE_CONTAINER_URI && process.env.SQLMI_LIVE_SAS ? it : it.skip)(
    'lists the backup folder with the SAS (SQLMI_LIVE_CONTAINER_URI, SQLMI_LIVE_SAS)',
    async () => {
      const loc = checkContainerUri(process.env.SQLMI_LIVE_CONTAINER_URI!).location!;
      const listing = await createBackupStorage(loc, process.env.SQLMI_LIVE_SAS!).list();
      assert.ok(Array.isArray(listing.files));
    },
  );
});
