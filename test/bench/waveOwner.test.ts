/**
 * The waves bench attributes ARM requests per resource by URL path (issue 9): a link's requests never count
 * against the databases, and the instance read both kinds make is counted apart.
 */
import assert from 'node:assert/strict';
import { ownerOf } from '../../bench/waves';

describe('waves bench: ARM requests by owner', () => {
  it('tells the databases’, the links’ and the instance reads apart by path', () => {
    const mi = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/mi-one';
    const loc = '/subscriptions/s/providers/Microsoft.Sql/locations/westeurope';
    assert.equal(ownerOf(mi), 'instance');
    assert.equal(ownerOf(`${mi}/databases`), 'database');
    assert.equal(ownerOf(`${mi}/databases/Sales`), 'database');
    assert.equal(ownerOf(`${mi}/databases/Sales/restoreDetails/Default`), 'database');
    assert.equal(ownerOf(`${loc}/managedDatabaseRestoreAzureAsyncOperation/1`), 'database');
    assert.equal(ownerOf(`${mi}/distributedAvailabilityGroups/DAG_1`), 'link');
    assert.equal(ownerOf(`${loc}/distributedAvailabilityGroupsAzureAsyncOperation/2`), 'link');
  });
});
