/**
 * LRS poll cost with 10, 100 and 1,000 backup files in the folder: the provider's share of one poll (the
 * real `observe` through the real ARM adapter, then the core's phase and description), in this process
 * against the sandbox. The stand-in's own time (its request handling, which lists the folder) is taken out:
 * provider share = wall time of the poll − the time the ARM stand-in spent answering it.
 */
import { systemClock } from '../provider/core/clock';
import { checkLrsInputs, type LrsInputs } from '../provider/core/lrs/inputs';
import {
  converge,
  describeObservation,
  type LrsContext,
  observe,
  phaseOf,
} from '../provider/core/lrs/workflow';
import { isUnavailable } from '../provider/core/lrs/ports';
import { checkContainerUri } from '../provider/core/storageUri';
import { waitFor } from '../provider/runtime/waiter';
import { managedInstanceId } from '../sandbox/world/instances';
import { type Bench, type BenchContext, fixed, median, msSince } from './common';

let adapters: typeof import('../provider/azure/lrs') | undefined;

async function pollCost(ctx: BenchContext): Promise<void> {
  const rig = await ctx.sandbox();
  const sb = rig.sandbox;
  // The adapters run here: the credential reads the sandbox's identity endpoint from the environment.
  Object.assign(process.env, sb.envOverrides());
  adapters ??= require('../provider/azure/lrs') as typeof import('../provider/azure/lrs');
  const { createBackupStorage } =
    require('../provider/storage/blob') as typeof import('../provider/storage/blob');
  const sizes = ctx.quick ? [10, 30] : [10, 100, 1_000];
  const polls = ctx.quick ? 3 : 15;
  const sas = sb.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  const rows: (string | number)[][] = [];
  for (const files of sizes) {
    const db = `Poll${files}`;
    const folder = db.toLowerCase();
    sb.sqlServer.addDatabase(db, { folder, sizeMB: 1 });
    sb.sqlServer.startWorkload(db, 100);
    const t0 = Date.now();
    await sb.sqlServer.backupFull(db, { sizeMB: 1 });
    for (let k = 1; k < files; k++) await sb.sqlServer.backupLog(db, { sizeMB: 1 });
    const uploadS = (Date.now() - t0) / 1000;
    const c = checkLrsInputs(
      {},
      {
        managedInstanceId: managedInstanceId(sb.instance),
        databaseName: db,
        storageContainerUri: sb.storage.containerUrl(folder),
        storageContainerSasToken: sas,
        pollIntervalInMs: 100,
        startDeadlineInMs: 120_000,
      },
      Date.now(),
    );
    if (c.failures.length) throw new Error(c.failures.map((f) => f.reason).join('; '));
    const i = c.inputs as LrsInputs & { managedInstanceId: string; databaseName: string };
    const lrs: LrsContext = {
      arm: adapters.createLrsArm({
        managedInstanceId: i.managedInstanceId,
        databaseName: i.databaseName,
      }),
      storage: createBackupStorage(checkContainerUri(i.storageContainerUri!).location!, sas),
      clock: systemClock,
      log: () => undefined,
      wait: (o) => waitFor({ ...o, clock: systemClock }),
    };
    const record = { owner: `lrs-bench-${files}` };
    await converge(i, lrs, record);
    for (let k = 0; k < 2; k++) await observe(i, lrs, record); // the stand-in has read every header; connections warm
    const wall: number[] = [];
    const standIn: number[] = [];
    const core: number[] = [];
    let requests = 0;
    let seen = 0;
    for (let k = 0; k < polls; k++) {
      const from = sb.arm.requests.entries.length;
      const t = process.hrtime.bigint();
      const o = await observe(i, lrs, record);
      const tc = process.hrtime.bigint();
      phaseOf(o);
      describeObservation(o);
      core.push(msSince(tc));
      wall.push(msSince(t));
      const answered = sb.arm.requests.entries.slice(from);
      requests += answered.length;
      standIn.push(answered.reduce((s, r) => s + r.durationMs, 0));
      seen = (o.details && !isUnavailable(o.details) ? o.details.numberOfFilesDetected : undefined) ?? seen;
    }
    const share = wall.map((w, k) => w - standIn[k]);
    rows.push([
      files,
      seen,
      polls,
      fixed(requests / polls, 1),
      fixed(median(wall), 1),
      fixed(median(standIn), 1),
      fixed(median(share), 1),
      fixed(median(core) * 1000, 0),
      fixed(uploadS, 1),
    ]);
  }
  ctx.say(
    'One poll = `observe` (GET database, GET restoreDetails) through @azure/arm-sql, then `phaseOf` and `describeObservation`. Provider share = wall − stand-in (the stand-in lists the folder on each GET; its time is its own). The core part alone is in µs.',
  );
  ctx.table(
    [
      'backup files',
      'files detected',
      'polls',
      'ARM requests/poll',
      'wall ms (median)',
      'stand-in ms',
      'provider share ms',
      'core µs',
      'setup s',
    ],
    rows,
  );
}

export const lrsPollBench: Bench = {
  name: 'lrsPoll',
  title: 'LRS poll cost by number of backup files (provider share)',
  run: pollCost,
};
