#!/usr/bin/env node
/**
 * The rehearsal: starts the sandbox (ARM stand-in, https Azurite, TDS stand-ins for SQL Server and the
 * managed instance) and takes one LogReplayMigration and one DistributedAvailabilityGroupLink through
 * preview, up, progress, cutover and destroy, through the real Pulumi provider host, printing what a user
 * sees. Exits non-zero if any step does not do what it should.
 *
 *   npm run rehearse            both scenarios
 *   npm run rehearse -- lrs     only Log Replay Service
 *   npm run rehearse -- link    only the Managed Instance link
 *
 *   sqlmi-rehearse <program dir> [--stack NAME] [preview|up|refresh|destroy …]
 *                               a user's own Pulumi program, through the program runner (program/rehearseProgram.ts)
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { distributedAvailabilityGroupLinkProvider, logReplayMigrationProvider } from '../sdk';
import { cutoverCost, describeCutoverCost, markTraffic, markWorkloadStop } from './cutoverReport';
import { consumerProject, node22 } from './engine/consumer';
import { type DeclaredResource, MiniEngine, type StepResult } from './engine/engine';
import { type Sandbox, startSandbox } from './index';
import { isProgramDirectory, rehearseProgram } from './program/rehearseProgram';
import { managedInstanceId } from './world/instances';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s);
const section = (s: string) => say(`\n${bold(`== ${s}`)}`);
const user = (s: string) => say(bold(`$ ${s}`));

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`rehearsal check failed: ${what}`);
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`rehearsal timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary(steps: StepResult[], keys: string[]): void {
  for (const s of steps) {
    say(`   ${s.op.padEnd(7)} ${s.name}`);
    for (const k of keys) {
      if (s.outputs && s.outputs[k] !== undefined) say(`     ${k}: ${JSON.stringify(s.outputs[k])}`);
    }
  }
}

async function serialize(p: pulumi.dynamic.ResourceProvider): Promise<string> {
  return (await pulumi.runtime.serializeFunction(() => p, { allowSecrets: true })).text;
}

function engineFor(sb: Sandbox, dir: string, stack: string, log: string[]): MiniEngine {
  return new MiniEngine({
    stateFile: path.join(dir, `${stack}.state.json`),
    cwd: dir,
    env: sb.env(),
    nodePath: node22(),
    project: 'rehearsal',
    stack,
    onLog: (line) => {
      log.push(line);
      if (line.trim()) say(`   | ${line}`);
    },
  });
}

async function rehearseLrs(sb: Sandbox, dir: string): Promise<void> {
  section('Log Replay Service: SQL Server "Sales" → managed instance, with backups in Blob storage');
  const mi = sb.instance;
  const miId = managedInstanceId(mi);
  const sql = sb.sqlServer;
  sql.addDatabase('Sales', { folder: 'sales', sizeMB: 200 });
  sql.startWorkload('Sales', 2_000);
  const written = [await sql.backupFull('Sales'), await sql.backupLog('Sales'), await sql.backupLog('Sales')];
  say(`SQL Server took backups WITH CHECKSUM to ${sb.storage.containerUrl('sales')}:`);
  for (const w of written)
    say(`   ${w.blobName}  (${w.header.type}, LSN ${w.header.firstLsn} → ${w.header.lastLsn})`);
  const sas = sb.storage.makeSas({
    permissions: 'rl',
    expiresOn: new Date(Date.now() + 40 * 24 * 3600 * 1000),
  });
  const log: string[] = [];
  const engine = engineFor(sb, dir, 'lrs', log);
  const declare = (extra: Record<string, unknown>): DeclaredResource => ({
    name: 'sales',
    providerText: lrsText,
    inputs: {
      managedInstanceId: miId,
      databaseName: 'Sales',
      storageContainerUri: sb.storage.containerUrl('sales'),
      storageContainerSasToken: sas,
      pollIntervalInMs: 250,
      startDeadlineInMs: 60_000,
      restoreDeadlineInMs: 120_000,
      completeDeadlineInMs: 60_000,
      ...extra,
    },
    secretInputs: ['storageContainerSasToken'],
  });

  user('pulumi preview   # a SAS with write permission by mistake');
  const wrong = await engine.preview([
    {
      ...declare({}),
      inputs: { ...declare({}).inputs, storageContainerSasToken: sb.storage.makeSas({ permissions: 'rwl' }) },
    },
  ]);
  for (const f of wrong[0].failures) say(`   error: ${f.property}: ${f.reason}`);
  check(wrong[0].failures.length > 0, 'check refuses a SAS with write permission');

  user('pulumi preview');
  summary(await engine.preview([declare({})]), []);
  user('pulumi up');
  const created = await engine.up([declare({})]);
  summary(created, ['phase', 'restoreStatus', 'lastRestoredFileName', 'percentCompleted']);
  check(created[0].outputs?.storageContainerSasToken === undefined, 'no SAS in outputs');

  say('\nSQL Server keeps taking log backups while LRS restores them continuously…');
  await sql.backupLog('Sales');
  await sql.backupLog('Sales');
  user('pulumi refresh');
  const [r] = await engine.refresh();
  say(
    `   restore ${r.outputs.restoreStatus}: last restored ${r.outputs.lastRestoredFileName}, ${r.outputs.numberOfFilesDetected} files detected`,
  );

  say('\nCutover window: the application stops writing; the last log backup will be Sales_log_final.trn.');
  sql.stopWorkload('Sales');
  const last = 'Sales_log_final.trn';
  const cutover = declare({ lastBackupName: last, complete: true });
  user(`pulumi config set complete true && pulumi config set lastBackupName ${last} && pulumi preview`);
  summary(await engine.preview([cutover]), []);
  user('pulumi up   # started before the last backup is uploaded: it waits for it');
  const running = engine.up([cutover]);
  await until('the provider to wait for the last backup', () =>
    log.some((l) => l.includes(`waiting for last backup ${last}`)),
  );
  say('\n   … the DBA takes the tail-log backup and uploads it.\n');
  await sql.backupLog('Sales', { blobName: `sales/${last}`, sizeMB: 400 });
  const done = await running;
  summary(done, ['phase', 'databaseStatus', 'lastRestoredFileName', 'completedAt']);
  check(done[0].outputs?.phase === 'completed', 'the database is online after the cutover');

  user('pulumi destroy   # after completion: the migrated database is kept');
  await engine.destroy();
  check(
    mi.databases.get('sales')?.status === 'Online' ||
      [...mi.databases.values()].some((d) => d.name === 'Sales' && d.status === 'Online'),
    'the migrated database is kept',
  );
  const leaked = [engine.lastLogs.join('\n'), ...log].some((l) =>
    l.includes(new URLSearchParams(sas).get('sig')!),
  );
  check(!leaked, 'the SAS never appears in the output');
  say('   Sales stays online on the managed instance; the SAS never appeared in state, outputs or logs.');
}

async function rehearseLink(sb: Sandbox, dir: string): Promise<void> {
  section('Managed Instance link: SQL Server AG "AG_Orders" → managed instance through DAG "DAG_Orders"');
  const mi = sb.instance;
  const miId = managedInstanceId(mi);
  sb.link.establishLink({
    name: 'DAG_Orders',
    sqlServerAg: 'AG_Orders',
    miAg: 'MI_AG_Orders',
    databases: ['Orders'],
  });
  sb.link.startWorkload({ database: 'Orders', lsnPerSecond: 40 });
  say('The link replicates Orders asynchronously; the application is writing.');
  const log: string[] = [];
  const engine = engineFor(sb, dir, 'link', log);
  const declare = (extra: Record<string, unknown>): DeclaredResource => ({
    name: 'orders-link',
    providerText: linkText,
    inputs: {
      managedInstanceId: miId,
      linkName: 'DAG_Orders',
      sqlServerAvailabilityGroupName: 'AG_Orders',
      databaseNames: ['Orders'],
      sqlServer: sb.sqlConnection('sqlServer'),
      managedInstanceSql: sb.sqlConnection('managedInstance'),
      replicationMode: 'Async',
      lsnStabilityWindowInMs: 2_000,
      lsnPollIntervalInMs: 250,
      lsnDeadlineInMs: 60_000,
      pollIntervalInMs: 250,
      operationDeadlineInMs: 60_000,
      firstBackupDeadlineInMs: 60_000,
      cleanup: 'linkAndAvailabilityGroup',
      ...extra,
    },
    secretInputs: ['sqlServer', 'managedInstanceSql'],
  });

  user('pulumi up');
  summary(await engine.up([declare({})]), [
    'sqlServerReplicationMode',
    'managedInstanceReplicationMode',
    'databases',
  ]);

  user('pulumi config set replicationMode Sync && pulumi preview');
  summary(await engine.preview([declare({ replicationMode: 'Sync' })]), []);
  user('pulumi up');
  summary(await engine.up([declare({ replicationMode: 'Sync' })]), [
    'sqlServerReplicationMode',
    'managedInstanceReplicationMode',
  ]);

  const cut = declare({ replicationMode: 'Sync', cutover: true });
  user('pulumi config set cutover true && pulumi preview');
  summary(await engine.preview([cut]), []);
  user('pulumi up   # the application is still writing: the gate waits');
  const mark = markTraffic(sb);
  const run = engine.up([cut]);
  await until('the gate to notice the running workload', () => log.some((l) => /LSNs still moving/.test(l)));
  say('\n   … the application is stopped now.\n');
  const stop = markWorkloadStop(sb, 'Orders');
  const done = await run;
  summary(done, ['instanceLinkRole', 'failoverRouteUsed', 'finalLsns', 'cutoverAt']);
  const timing = {
    windowMs: Number(cut.inputs.lsnStabilityWindowInMs),
    pollMs: Number(cut.inputs.lsnPollIntervalInMs),
  };
  const cost = cutoverCost(sb, { mark, stop, windowMs: timing.windowMs, dag: 'DAG_Orders' });
  for (const line of describeCutoverCost(cost, timing)) say(`   ${line}`);
  check(typeof done[0].outputs?.cutoverAt === 'string', 'the cutover happened');
  const orders = sb.link.snapshot().managedInstance.databases.find((d) => d.name === 'Orders');
  check(
    orders && orders.state === 'ONLINE' && !orders.readOnly,
    'Orders is read-write on the managed instance',
  );

  user(
    'pulumi destroy   # cleanup: waits for the first full backup on the MI, then drops the DAG and the AG',
  );
  await engine.destroy();
  const drops = sb.sqlEndpoints.sqlServer.changes().filter((c) => c.sql.startsWith('DROP'));
  for (const d of drops) say(`   SQL Server ran: ${d.sql}`);
  check(drops.length === 2, 'the DAG and the AG were dropped');
  const secrets = [sb.logins.sqlServer.password, sb.logins.managedInstance.password];
  check(!log.some((l) => secrets.some((s) => l.includes(s))), 'no password in the output');
}

let lrsText = '';
let linkText = '';

async function main(): Promise<void> {
  if (isProgramDirectory(process.argv[2])) {
    process.exitCode = await rehearseProgram(process.argv.slice(2));
    return;
  }
  const which = process.argv[2] ?? 'all';
  lrsText = await serialize(logReplayMigrationProvider);
  linkText = await serialize(distributedAvailabilityGroupLinkProvider);
  say(bold('Rehearsal of SQL Server → Azure SQL Managed Instance migrations on local stand-ins'));
  say(
    '(ARM stand-in over https, Azurite over https, TDS stand-ins over TLS; the real Pulumi provider host over gRPC;',
  );
  say(
    ` simulated time runs 60x; __provider sizes: LogReplayMigration ${lrsText.length} B, link ${linkText.length} B)`,
  );
  const sb = await startSandbox({ speed: 60, link: { firstBackupDelayMs: 3 * 60_000 } });
  const dir = consumerProject();
  try {
    if (which === 'all' || which === 'lrs') await rehearseLrs(sb, dir);
    if (which === 'all' || which === 'link') await rehearseLink(sb, dir);
    section('Rehearsal passed');
  } finally {
    await sb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`\n${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
