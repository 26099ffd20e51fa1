/**
 * Waves through the program runner: examples/wave (MigrationWave components) with 20 LogReplayMigration
 * databases and 2 links in one stack, against the sandbox. Engine-level properties: all steps of a wave run
 * at once in ONE provider host, a failed database leaves the others running, the next up retries only what
 * failed, cutover per database or per wave by stack config. The resources' own outputs are checked loosely.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT, programProject } from '../../sandbox/engine/consumer';
import { type Sandbox, startSandbox } from '../../sandbox/index';
import { sandboxSubstitutions } from '../../sandbox/program/bindings';
import type { ConfigValue } from '../../sandbox/program/config';
import type { ProgramRunnerOptions } from '../../sandbox/program/runner';
import type { StepRecord } from '../../sandbox/program/types';
import { managedInstanceId } from '../../sandbox/world/instances';
import { until } from '../provider/rig';
import { explain, ops, type TestRunner, testRunner } from './helpers';

const WAVE = path.join(PACKAGE_ROOT, 'examples', 'wave');
const LRS_TYPE = 'pulumi-nodejs:dynamic/pulumi-sqlmi-migration:LogReplayMigration';

const dbName = (n: number) => `db${String(n).padStart(2, '0')}`;

describe('migration waves through the program runner', function () {
  this.timeout(300_000);
  let sb: Sandbox;
  let dir: string;
  /** Once: each call makes a new SAS, and a new SAS is a changed input. */
  let v: Record<string, string>;
  const runners: TestRunner[] = [];

  before(async () => {
    sb = await startSandbox({ speed: 100, link: { firstBackupDelayMs: 60_000 } });
    dir = programProject(WAVE);
    v = sandboxSubstitutions(sb);
  });
  after(async () => {
    await sb?.stop();
    for (const r of runners) r.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function seedDatabase(name: string): Promise<void> {
    sb.sqlServer.addDatabase(name, { folder: name, sizeMB: 20 });
    await sb.sqlServer.backupFull(name);
    await sb.sqlServer.backupLog(name);
    await sb.sqlServer.backupLog(name, { blobName: `${name}/final.trn` });
  }

  function stackConfig(waves: unknown[]): Record<string, ConfigValue> {
    const conn = (side: 'sqlServer' | 'managedInstanceSql') => ({
      server: '127.0.0.1',
      port: Number(side === 'sqlServer' ? v.sqlServerPort : v.managedInstanceSqlPort),
      userName: side === 'sqlServer' ? v.sqlServerUser : v.managedInstanceSqlUser,
      password: { secure: side === 'sqlServer' ? v.sqlServerPassword : v.managedInstanceSqlPassword },
      caCertificate: v.tdsCa,
    });
    return {
      managedInstanceId: managedInstanceId(sb.instance),
      sasToken: { secure: v.sas },
      pollIntervalInMs: 250,
      // Explicit: without them every up updates each database (the provider's diff compares the defaults
      // with the stored outputs and reports "record new settings"; reported, not this slice's code).
      lrs: { startDeadlineInMs: 600_000, restoreDeadlineInMs: 3_600_000, completeDeadlineInMs: 600_000 },
      waves,
      sqlServer: conn('sqlServer'),
      managedInstanceSql: conn('managedInstanceSql'),
    };
  }

  function runner(
    stack: string,
    config: Record<string, ConfigValue>,
    options: Partial<ProgramRunnerOptions> = {},
  ) {
    const r = testRunner(dir, { stack, env: sb.env(), config, ...options });
    runners.push(r);
    return r;
  }

  const databases = (names: string[], extra: Record<string, unknown> = {}) =>
    names.map((n) => ({
      databaseName: n,
      storageContainerUri: sb.storage.containerUrl(n),
      lastBackupName: 'final.trn',
      ...extra,
    }));

  it('20 databases and 2 links in one wave: every step runs at the same time in ONE provider host', async () => {
    const names = Array.from({ length: 20 }, (_, i) => dbName(i + 1));
    for (const n of names) await seedDatabase(n);
    for (const l of ['A', 'B']) {
      sb.link.establishLink({
        name: `DAG_${l}`,
        sqlServerAg: `AG_${l}`,
        miAg: `MI_AG_${l}`,
        databases: [`Link${l}`],
      });
    }
    const links = ['A', 'B'].map((l) => ({
      linkName: `DAG_${l}`,
      sqlServerAvailabilityGroupName: `AG_${l}`,
      databaseNames: [`Link${l}`],
      beforeCutoverDelete: 'forget',
    }));
    const running = new Set<string>();
    let peakLrs = 0;
    const onStep = (s: StepRecord) => {
      if (s.status === 'running') running.add(s.urn);
      else running.delete(s.urn);
      peakLrs = Math.max(peakLrs, [...running].filter((u) => u.includes(LRS_TYPE)).length);
    };
    const r = runner('big', stackConfig([{ name: 'big', databases: databases(names), links }]), {
      parallel: 32,
      onEvent: (e) => e.kind === 'step' && onStep(e.step),
    });
    // Simulated time stands still until all 20 LRS creates are in flight (none can finish before: the start
    // of LRS takes simulated time), then runs again.
    sb.clock.speed = 0;
    try {
      const up = r.up();
      await until('20 LogReplayMigration creates in flight at once', () => peakLrs >= 20, 120_000);
      sb.clock.speed = 100;
      const result = await up;
      assert.ok(result.ok, explain(result, r));
      assert.equal(result.hostPids.length, 1, 'one provider host for the 22 resources');
      const created = result.steps.filter((s) => s.op === 'create' && s.status === 'done');
      assert.equal(created.length, 22);
      assert.equal(peakLrs, 20);
      for (const n of names) assert.ok(sb.instance.databases.get(n), `${n} is on the managed instance`);
    } finally {
      sb.clock.speed = 100;
    }
  });

  it('a failed database leaves the others running; the next up retries only it', async () => {
    const names = ['fa1', 'fa2', 'fa3', 'fa4', 'fa5'];
    for (const n of names) if (n !== 'fa3') await seedDatabase(n);
    // fa3's folder holds no backups yet: its start fails, the other four go on (--continue-on-error).
    const config = stackConfig([{ name: 'failing', databases: databases(names) }]);
    const first = runner('failing', config, { continueOnError: true });
    const up = await first.up();
    assert.equal(up.ok, false);
    const byName = Object.fromEntries(up.steps.map((s) => [s.name, s]));
    assert.equal(byName['failing-fa3'].status, 'failed');
    assert.ok(
      up.errors.some((e) => e.includes('failing-fa3')),
      up.errors.join('\n'),
    );
    for (const n of ['fa1', 'fa2', 'fa4', 'fa5']) assert.equal(byName[`failing-${n}`].status, 'done', n);

    await seedDatabase('fa3');
    const second = runner('failing', config, { stateFile: first.stateFile, continueOnError: true });
    const again = await second.up();
    assert.ok(again.ok, explain(again, second));
    const touched = again.steps.filter((s) => s.op !== 'same').map((s) => `${s.name}:${s.op}`);
    assert.deepEqual(touched.sort(), ['failing-fa3:create'].sort(), 'only the failed database is retried');
  });

  it('cutover by stack config: one database first, then the rest of the wave', async () => {
    const names = ['cu1', 'cu2', 'cu3'];
    for (const n of names) await seedDatabase(n);
    const wave = (extra: Record<string, unknown>, dbs: unknown[]) =>
      stackConfig([{ name: 'cut', databases: dbs, ...extra }]);
    const start = runner('cut', wave({}, databases(names)));
    assert.ok((await start.up()).ok);

    const one = databases(names).map((d) => (d.databaseName === 'cu2' ? { ...d, complete: true } : d));
    const r1 = runner('cut', wave({}, one), { stateFile: start.stateFile });
    const preview = await r1.preview();
    assert.ok(preview.ok, explain(preview, r1));
    assert.deepEqual(
      ops(preview, (s) => s.type === LRS_TYPE),
      { 'cut-cu1': 'same', 'cut-cu2': 'update', 'cut-cu3': 'same' },
    );
    const up1 = await r1.up();
    assert.ok(up1.ok, explain(up1, r1));
    assert.deepEqual(
      ops(up1, (s) => s.type === LRS_TYPE),
      { 'cut-cu1': 'same', 'cut-cu2': 'update', 'cut-cu3': 'same' },
    );

    const r2 = runner('cut', wave({ cutover: true }, one), { stateFile: start.stateFile });
    const up2 = await r2.up();
    assert.ok(up2.ok, explain(up2, r2));
    assert.deepEqual(
      ops(up2, (s) => s.type === LRS_TYPE),
      { 'cut-cu1': 'update', 'cut-cu2': 'same', 'cut-cu3': 'update' },
    );
    const phases = (up2.outputs.phases as Record<string, Record<string, unknown>>).cut;
    assert.deepEqual(Object.keys(phases).sort(), names);
  });
});
