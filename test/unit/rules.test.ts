import assert from 'node:assert/strict';
import { parseManagedInstanceId } from '../../provider/core/armId';
import { checkLrsInputs } from '../../provider/core/lrs/inputs';
import { Redactor } from '../../provider/core/redact';
import { checkSasToken } from '../../provider/core/sas';
import { checkContainerUri } from '../../provider/core/storageUri';
import { UNKNOWN } from '../../provider/core/unknown';

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);
const sas = (q: string) => `sv=2024-08-04&sr=c&${q}&sig=abcDEF123%2B%3D`;
const MI =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-mig/providers/Microsoft.Sql/managedInstances/mi-one';

describe('SAS rules', () => {
  it('accepts exactly read+list valid for more than 30 days', () => {
    const v = checkSasToken(sas('sp=rl&se=2026-03-01T00:00:00Z&spr=https'), NOW);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings, []);
  });
  it('strips a leading ?', () => {
    assert.ok(!checkSasToken(`?${sas('sp=rl&se=2026-03-01T00:00:00Z')}`, NOW).normalized.startsWith('?'));
  });
  it('names extra and missing permissions', () => {
    const v = checkSasToken(sas('sp=rwdl&se=2026-03-01T00:00:00Z'), NOW);
    assert.match(v.errors.join(), /also grants Write \(w\), Delete \(d\)/);
    assert.match(checkSasToken(sas('sp=r&se=2026-03-01T00:00:00Z'), NOW).errors.join(), /lacks List/);
  });
  it('refuses stored access policies, expired tokens, http-only and URLs', () => {
    assert.match(
      checkSasToken(sas('si=policy1&sp=rl&se=2026-03-01T00:00:00Z'), NOW).errors.join(),
      /stored access policy/,
    );
    assert.match(
      checkSasToken(sas('sp=rl&se=2026-01-01T00:00:00Z'), NOW).errors.join(),
      /expired at 2026-01-01/,
    );
    assert.match(checkSasToken(sas('sp=rl&se=2026-03-01T00:00:00Z&spr=http'), NOW).errors.join(), /https/);
    assert.match(
      checkSasToken(`https://a.blob.core.windows.net/c?${sas('sp=rl')}`, NOW).errors.join(),
      /is a URL/,
    );
    assert.match(checkSasToken('sp=rl&se=2026-03-01', NOW).errors.join(), /not a SAS token/);
  });
  it('warns when the token expires within the 30-day LRS window', () => {
    const v = checkSasToken(sas('sp=rl&se=2026-01-20T00:00:00Z'), NOW);
    assert.deepEqual(v.errors, []);
    assert.match(v.warnings.join(), /within the 30 days/);
  });
  it('never repeats the signature in a message', () => {
    const v = checkSasToken(sas('sp=rwl&se=2025-01-01T00:00:00Z'), NOW);
    assert.ok(![...v.errors, ...v.warnings].some((m) => m.includes('abcDEF123')));
  });
});

describe('container URI rules', () => {
  it('normalises virtual-hosted and path-style URIs', () => {
    const a = checkContainerUri('https://acct.blob.core.windows.net/sales/db1/');
    assert.deepEqual(a.errors, []);
    assert.equal(a.location?.uri, 'https://acct.blob.core.windows.net/sales/db1');
    assert.equal(a.location?.folder, 'db1');
    const b = checkContainerUri('https://127.0.0.1:10000/devstoreaccount1/sales/db1');
    assert.equal(b.location?.containerUrl, 'https://127.0.0.1:10000/devstoreaccount1/sales');
  });
  it('refuses http, query strings, reserved words and bad container names', () => {
    assert.match(checkContainerUri('http://acct.blob.core.windows.net/sales').errors.join(), /https/);
    assert.match(
      checkContainerUri('https://acct.blob.core.windows.net/sales?sv=1&sig=x').errors.join(),
      /query string/,
    );
    assert.match(
      checkContainerUri('https://acct.blob.core.windows.net/sales/backups/db1').errors.join(),
      /reserved word/,
    );
    assert.match(
      checkContainerUri('https://acct.blob.core.windows.net/db-backup').errors.join(),
      /reserved word/,
    );
    assert.match(
      checkContainerUri('https://acct.blob.core.windows.net/Sales--X').errors.join(),
      /invalid container name/,
    );
    assert.match(checkContainerUri('not a url').errors.join(), /not a URL/);
  });
});

describe('managed instance ids', () => {
  it('parses case-insensitively', () => {
    assert.equal(parseManagedInstanceId(MI.toLowerCase())?.managedInstanceName, 'mi-one');
    assert.equal(parseManagedInstanceId('/subscriptions/x/resourceGroups/y'), undefined);
  });
});

describe('LogReplayMigration check', () => {
  const good = {
    managedInstanceId: MI,
    databaseName: 'Sales',
    storageContainerUri: 'https://acct.blob.core.windows.net/sales/db1',
    storageContainerSasToken: sas('sp=rl&se=2026-03-01T00:00:00Z'),
  };
  const reasons = (r: { failures: { property: string; reason: string }[] }) =>
    r.failures.map((f) => `${f.property}: ${f.reason}`);

  it('accepts good input and normalises it', () => {
    const r = checkLrsInputs({}, good, NOW);
    assert.deepEqual(reasons(r), []);
    assert.equal(r.normalized.collation, 'SQL_Latin1_General_CP1_CI_AS');
  });
  it('builds the id from parts', () => {
    const r = checkLrsInputs(
      {},
      {
        ...good,
        managedInstanceId: undefined,
        subscriptionId: '00000000-0000-0000-0000-000000000001',
        resourceGroupName: 'rg-mig',
        managedInstanceName: 'mi-one',
      },
      NOW,
    );
    assert.deepEqual(reasons(r), []);
    assert.equal(r.normalized.managedInstanceId, MI);
    assert.equal(r.normalized.subscriptionId, undefined);
  });
  it('names the field and the fix', () => {
    const r = checkLrsInputs(
      {},
      { ...good, storageContainerSasToken: sas('sp=rwl&se=2026-03-01T00:00:00Z'), autoComplete: true },
      NOW,
    );
    const text = reasons(r).join('\n');
    assert.match(text, /storageContainerSasToken: storageContainerSasToken must grant exactly Read and List/);
    assert.match(text, /lastBackupName: lastBackupName is required with autoComplete/);
  });
  it('requires lastBackupName to complete, and SAS xor managed identity', () => {
    assert.match(
      reasons(checkLrsInputs({}, { ...good, complete: true }, NOW)).join(),
      /lastBackupName is required to complete/,
    );
    assert.match(reasons(checkLrsInputs({}, { ...good, useManagedIdentity: true }, NOW)).join(), /exclusive/);
    assert.match(
      reasons(checkLrsInputs({}, { ...good, storageContainerSasToken: undefined }, NOW)).join(),
      /is required unless useManagedIdentity/,
    );
  });
  it('accepts unknown values in preview', () => {
    const r = checkLrsInputs(
      {},
      {
        ...good,
        managedInstanceId: UNKNOWN,
        storageContainerSasToken: UNKNOWN,
        lastBackupName: UNKNOWN,
        complete: true,
      },
      NOW,
    );
    assert.deepEqual(reasons(r), []);
    assert.equal(r.normalized.managedInstanceId, UNKNOWN);
  });
  it('refuses to change create-only inputs of a started migration, and to undo a cutover', () => {
    const olds = checkLrsInputs({}, { ...good, complete: true, lastBackupName: 'log9.trn' }, NOW).normalized;
    const moved = checkLrsInputs(
      olds,
      {
        ...good,
        storageContainerUri: 'https://acct.blob.core.windows.net/sales/db2',
        lastBackupName: 'log9.trn',
      },
      NOW,
    );
    const text = reasons(moved).join('\n');
    assert.match(text, /storageContainerUri cannot change on a started Log Replay Service migration/);
    assert.match(text, /complete cannot go back to false/);
  });
  it('treats SAS problems of a started migration as warnings', () => {
    const olds = checkLrsInputs({}, good, NOW).normalized;
    const r = checkLrsInputs(
      olds,
      { ...good, storageContainerSasToken: sas('sp=rl&se=2025-12-01T00:00:00Z') },
      NOW,
    );
    assert.deepEqual(reasons(r), []);
    assert.match(
      r.warnings.map((w) => `${w.property}: ${w.message}`).join(),
      /storageContainerSasToken: .*expired/,
    );
  });
});

describe('redaction', () => {
  it('removes known secrets and secret shapes', () => {
    const r = new Redactor(['?sv=1&sig=SECRETSIG', 'p@ssw0rd!']);
    const out = r.redact(
      'url https://x/c?sv=1&sig=SECRETSIG and Password=p@ssw0rd! Bearer eyJabc.def and sig=OTHER',
    );
    assert.ok(!out.includes('SECRETSIG'));
    assert.ok(!out.includes('p@ssw0rd!'));
    assert.ok(!out.includes('eyJabc'));
    assert.ok(!out.includes('OTHER'));
  });
});
