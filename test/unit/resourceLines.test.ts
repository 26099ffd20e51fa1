/**
 * Every line the providers print names its resource and shows user values escaped: check warnings (which
 * also name their field), plans, progress lines of concurrent operations in one process, failures. And the
 * sdk classes pass the resource name the lines use (the dynamic provider gets no URN).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { FakeClock } from '../../provider/core/clock';
import { MigrationError } from '../../provider/core/errors';
import { converge, type LrsContext } from '../../provider/core/lrs/workflow';
import { Redactor } from '../../provider/core/redact';
import { hasUnsafeCharacters, safeLine, safeText, shown } from '../../provider/core/shown';
import { UNKNOWN } from '../../provider/core/unknown';
import { distributedAvailabilityGroupLink } from '../../provider/resources/distributedAvailabilityGroupLink';
import { logReplayMigration } from '../../provider/resources/logReplayMigration';
import { OperationContext, resourceLabel, validInputs } from '../../provider/runtime/context';
import { Logger } from '../../provider/runtime/logger';
import { node22, PACKAGE_ROOT } from '../../sandbox/engine/consumer';
import { LINK_GOOD, LRS_GOOD, sasExpiringIn } from './badInputCases';
import { drive, FakeLrsArm, lrsInputs } from './fakes';
import { printed } from '../support/printed';

describe('check warnings name their resource and field', () => {
  it('20 resources with the same expiring SAS print 20 distinct warnings, each with resource and field', async () => {
    const token = sasExpiringIn(10);
    const lines = await printed(async () => {
      for (let k = 1; k <= 20; k++) {
        const r = await logReplayMigration.check(
          {},
          {
            ...LRS_GOOD,
            pulumiName: `wave1-db${k}`,
            databaseName: `Db${k}`,
            storageContainerSasToken: token,
          },
        );
        assert.deepEqual(r.failures, []);
      }
    });
    const warnings = lines.filter((l) => l.includes('WARNING'));
    assert.equal(warnings.length, 20, lines.join('\n'));
    assert.equal(new Set(warnings).size, 20, 'no two warnings alike');
    warnings.forEach((w, n) =>
      assert.match(
        w,
        new RegExp(
          `^\\[LogReplayMigration wave1-db${n + 1}\\] WARNING storageContainerSasToken: SAS token expires at \\S+, within the 30 days`,
        ),
      ),
    );
    assert.ok(!warnings.some((w) => w.includes('sig=')), 'the token is not in the warning');
  });

  it('link warnings name the resource and the field', async () => {
    const lines = await printed(() =>
      distributedAvailabilityGroupLink.check(
        {},
        {
          ...LINK_GOOD,
          databaseNames: Array.from({ length: 9 }, (_, k) => `Db${k}`),
          allowDataLoss: true,
          afterForcedFailover: 'setSqlServerSecondary',
          lsnStabilityWindowInMs: 10_000,
          lsnPollIntervalInMs: 20_000,
          allowShortStabilityWindow: true,
        },
      ),
    );
    const warnings = lines.filter((l) => l.includes('WARNING'));
    const fields = warnings.map(
      (w) => /^\[DistributedAvailabilityGroupLink orders-link\] WARNING (\w+): /.exec(w)?.[1],
    );
    assert.deepEqual(
      fields.sort(),
      ['allowDataLoss', 'databaseNames', 'lsnStabilityWindowInMs'],
      warnings.join('\n'),
    );
  });

  it('a started migration whose SAS expired warns with resource and field, and does not fail', async () => {
    let olds: Record<string, unknown> = {};
    await printed(async () => (olds = (await logReplayMigration.check({}, LRS_GOOD)).inputs));
    let failures: unknown[] = [];
    const lines = await printed(async () => {
      failures = (
        await logReplayMigration.check(olds, {
          ...LRS_GOOD,
          storageContainerSasToken: LRS_GOOD.storageContainerSasToken
            ?.toString()
            .replace('2099-01-01', '2020-01-01'),
        })
      ).failures;
    });
    assert.deepEqual(failures, []);
    assert.match(
      lines.join('\n'),
      /^\[LogReplayMigration sales-db\] WARNING storageContainerSasToken: expired at 2020/m,
    );
  });
});

describe('every line names its resource', () => {
  it('every line of a create plan and of an update plan carries the label, not only the first', async () => {
    const create = await printed(() =>
      logReplayMigration.check({}, { ...LRS_GOOD, complete: true, lastBackupName: 'l.trn' }),
    );
    assert.ok(create.length >= 3, create.join('\n'));
    for (const l of create) assert.ok(l.startsWith('[LogReplayMigration sales-db] '), l);

    let olds: Record<string, unknown> = {};
    await printed(async () => (olds = (await logReplayMigration.check({}, LRS_GOOD)).inputs));
    const update = await printed(() =>
      logReplayMigration.diff('id', olds, { ...LRS_GOOD, complete: true, lastBackupName: 'l.trn' }),
    );
    assert.ok(update.length >= 2, update.join('\n'));
    for (const l of update) assert.ok(l.startsWith('[LogReplayMigration sales-db] '), l);

    let linkOlds: Record<string, unknown> = {};
    await printed(
      async () => (linkOlds = (await distributedAvailabilityGroupLink.check({}, LINK_GOOD)).inputs),
    );
    const linkUpdate = await printed(() =>
      distributedAvailabilityGroupLink.diff('id', linkOlds, { ...LINK_GOOD, replicationMode: 'Sync' }),
    );
    assert.ok(
      linkUpdate.some((l) => /on destroy before cutover/.test(l)),
      linkUpdate.join('\n'),
    );
    for (const l of linkUpdate) assert.ok(l.startsWith('[DistributedAvailabilityGroupLink orders-link] '), l);
  });

  it('falls back to the database or link name without pulumiName, and says when it is not known yet', () => {
    assert.equal(
      resourceLabel('LogReplayMigration', { databaseName: 'Sales' }, 'Sales'),
      '[LogReplayMigration Sales] ',
    );
    assert.equal(
      resourceLabel('LogReplayMigration', { databaseName: UNKNOWN }, UNKNOWN),
      '[LogReplayMigration (name not known yet)] ',
    );
    assert.equal(
      resourceLabel('LogReplayMigration', { pulumiName: 'db\u001b[2K' }, 'x'),
      '[LogReplayMigration db\\u001b[2K] ',
    );
  });

  it('concurrent operations in one process: each line carries its own resource', async () => {
    const clock = new FakeClock();
    const run = (name: string) => {
      const op = new OperationContext(resourceLabel('LogReplayMigration', { pulumiName: name }), [], clock);
      const arm = new FakeLrsArm();
      let polls = 0;
      arm.onPoll = (a) => {
        if (a.details && ++polls > 3)
          a.details = { ...a.details, status: 'Restoring', numberOfFilesDetected: 2 };
      };
      const ctx: LrsContext = {
        arm,
        storage: { list: async () => ({ files: ['full.bak', 'log1.trn'] }) },
        clock,
        log: op.say,
        wait: op.wait,
      };
      return converge(lrsInputs({ lastBackupName: undefined }), ctx, { owner: `lrs-${name}` });
    };
    const lines = await printed(() => drive(clock, Promise.all([run('wave-a'), run('wave-b')])));
    const a = lines.filter((l) => l.startsWith('[LogReplayMigration wave-a] '));
    const b = lines.filter((l) => l.startsWith('[LogReplayMigration wave-b] '));
    assert.ok(a.length > 1 && b.length > 1, lines.join('\n'));
    assert.equal(a.length + b.length, lines.length, `unattributed lines:\n${lines.join('\n')}`);
  });
});

describe('user values never reach a message raw', () => {
  const NASTY = 'Sal\u001b[31mes\u009b2J\u202e\u0007\r\nfake';

  it('shown() quotes and escapes; safeText keeps newlines, safeLine does not', () => {
    assert.equal(shown(NASTY), "'Sal\\u001b[31mes\\u009b2J\\u202e\\u0007\\r\\nfake'");
    assert.equal(shown(['a', 5]), "['a', 5]");
    assert.equal(shown({ a: 1 }), 'an object');
    assert.ok(shown('x'.repeat(500)).endsWith("… (500 characters)'"));
    assert.equal(safeText('a\u001bb\nc'), 'a\\u001bb\nc');
    assert.equal(safeLine('a\u001bb\nc'), 'a\\u001bb\\nc');
  });

  it('the logger escapes every line, prefixes every line, and still redacts', () => {
    const out: string[] = [];
    const log = new Logger(new Redactor(['s3cr3t-value']), '[LogReplayMigration db\u001b[0m] ', (l) =>
      out.push(l),
    );
    log.info(`restoring ${NASTY} with s3cr3t-value\nsecond line sig=abcdef123456`);
    assert.equal(out.length, 3, out.join('\n'));
    for (const l of out) {
      assert.ok(l.startsWith('[LogReplayMigration db\\u001b[0m] '), l);
      assert.ok(!hasUnsafeCharacters(l), JSON.stringify(l));
      assert.ok(!l.includes('s3cr3t-value') && !l.includes('abcdef123456'), l);
    }
  });

  it('a failure is escaped, redacted and logged with the resource label on every line', () => {
    const op = new OperationContext('[LogReplayMigration sales-db] ', ['s3cr3t-value']);
    let err: Error | undefined;
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => void lines.push(line);
    try {
      err = op.failure(
        new MigrationError('DatabaseVanished', `Database ${NASTY} is gone (token s3cr3t-value).`, {
          hint: 'destroy and create again',
        }),
      );
    } finally {
      console.log = log;
    }
    assert.ok(!hasUnsafeCharacters(err.message.replace(/\n/g, '')), JSON.stringify(err.message));
    assert.ok(!err.message.includes('s3cr3t-value'));
    assert.ok(lines.length >= 2);
    for (const l of lines) assert.ok(l.startsWith('[LogReplayMigration sales-db] '), l);
  });

  it('the error of inputs refused at create time is escaped too', () => {
    assert.throws(
      () =>
        validInputs({
          inputs: {},
          failures: [{ property: 'databaseName', reason: 'databaseName x\u001by' }],
        }),
      (e: Error) => e.message.includes('x\\u001by') && !hasUnsafeCharacters(e.message),
    );
  });
});

describe('the sdk passes the resource name to the provider', function () {
  this.timeout(60_000);
  it('LogReplayMigration and DistributedAvailabilityGroupLink register pulumiName = the resource name', () => {
    // A separate process: pulumi's mocks are process-wide and must not reach other tests.
    const script = `
      const pulumi = require('@pulumi/pulumi');
      const seen = [];
      pulumi.runtime.setMocks({
        newResource: (a) => { seen.push({ name: a.name, pulumiName: a.inputs.pulumiName }); return { id: a.name + '-id', state: a.inputs }; },
        call: () => ({}),
      }, 'proj', 'stack', true);
      const sdk = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist', 'sdk'))});
      new sdk.LogReplayMigration('sales-db', { managedInstanceId: 'x', databaseName: 'Sales', storageContainerUri: 'u' });
      new sdk.DistributedAvailabilityGroupLink('orders-link', { linkName: 'L', sqlServerAvailabilityGroupName: 'A', databaseNames: ['d'], sqlServer: { server: 's' }, managedInstanceSql: { server: 'm' } });
      // Registrations settle asynchronously: print once nothing is left to run.
      let done = false;
      process.on('beforeExit', () => { if (!done) { done = true; console.log(JSON.stringify(seen)); } });
    `;
    const r = spawnSync(node22(), ['-e', script], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as {
      name: string;
      pulumiName: string;
    }[];
    assert.deepEqual(seen.map((s) => [s.name, s.pulumiName]).sort(), [
      ['orders-link', 'orders-link'],
      ['sales-db', 'sales-db'],
    ]);
  });
});
