/**
 * ARM requests and T-SQL statements per operation, through the real provider host against the sandbox
 * (the ARM stand-in's request log, the SQL stand-ins' statement records), against the minimum the contract
 * needs. The minimum of each operation is written down below with its reasoning (sources: the REST spec via
 * /work/shared/spec/azure-control-plane.md and the recordings in /work/shared/recordings).
 */
import type { DeclaredResource } from '../sandbox/engine/engine';
import {
  armShape,
  countBy,
  describeCounts,
  markTraffic,
  statementName,
  type Traffic,
  trafficSince,
} from '../sandbox/cutoverReport';
import { managedInstanceId } from '../sandbox/world/instances';
import { type Bench, type BenchContext, type BenchRig, fixed, until } from './common';
import { syncLinkWithWorkload } from './cutover';

interface Minimum {
  arm: number | string;
  sqlServer: number | string;
  managedInstance: number | string;
  why: string;
}

/** What the contract needs per operation (R = LSN readings of the gate). */
const MINIMUM: Record<string, Minimum> = {
  'LRS start': {
    arm: 5,
    sqlServer: 0,
    managedInstance: 0,
    why: 'GET database (absent, or ours to resume: never adopt a foreign one) · GET managed instance (its location goes into the PUT body) · PUT database createMode=RestoreExternalBackup · GET database once after the PUT (corrected from 4, issue 9: the database appears seconds after the 202, lrs-continuous creationDate 4 s after the PUT, and its owner tag, id and status are read from the service, not assumed from what was sent; restoreDetails alone cannot show the tag) · GET restoreDetails once to see the restore running (+1 per extra poll while LRS initialises; the database read is carried while they say Initializing/Restoring). With restore slots the first GET database is the instance listing that counts restores. The start LRO lives until the migration completes (recordings lrs-continuous t2…t22): polling it is waste. Storage (not ARM): one listing of the folder (preflight).',
  },
  'LRS complete': {
    arm: 5,
    sqlServer: 0,
    managedInstance: 0,
    why: 'GET database (corrected from 3, issue 9: the owner tag is read before the irreversible POST in every run; a database dropped and recreated by another migration keeps the same id, so the stored id proves nothing) · GET restoreDetails (lastRestoredFileName = lastBackupName) · POST completeRestore · GET database until Online (≥1; +1 per poll while completing) · GET restoreDetails once online (the outputs show the final restore state). The database Online is the end, in whichever order it and the details show completion (recordings show details Completed first, lrs-ps-complete 13, lrs-ps-autocomplete 41; no source says it is a contract). The completeRestore LRO runs for minutes after that (recordings): not read per poll; read once only if the wait times out (a failed completion is not recorded).',
  },
  'LRS stop (drops a restoring database)': {
    arm: 6,
    sqlServer: 0,
    managedInstance: 0,
    why: 'GET database (our tag, not completed) · GET restoreDetails (an LRS restore; az CLI checks it before dropping) · both once more when the watch for a drop already in flight ends (corrected from 4, issue 8: a destroy interrupted after its DELETE leaves no record and the database looks unchanged until GET answers 404 within seconds, lrs-cancel u6 → u10; one reading at the end of the window, not one per interval, and the whole proof again since the database may have completed or failed meanwhile) · DELETE database. The drop LRO stays InProgress ~25 min after GET already answers 404 (recordings lrs-cancel u6…): do not wait on it · GET database until 404 (≥1; corrected from 3, issue 9: destroy ends when the database is gone, so a create of the same name right after does not meet the dropping database).',
  },
  'LRS destroy after completion (kept)': {
    arm: 1,
    sqlServer: 0,
    managedInstance: 0,
    why: 'The state says completed: nothing to drop. One GET database to confirm it is online is the most a careful provider needs.',
  },
  'link attach (create, async)': {
    arm: 2,
    sqlServer: 2,
    managedInstance: 1,
    why: 'ARM: GET link (exists, mode, role) · GET managed instance (tier: Business Critical reads only the primary replica). SQL Server: the DAG replicas (modes) · one LSN reading for the outputs. MI: one LSN reading.',
  },
  'link sync switch': {
    arm: 5,
    sqlServer: 4,
    managedInstance: 1,
    why: 'ARM: GET link · PATCH replicationMode=Sync · GET its operation until it ends (≥1; corrected from 4, issue 9: only the operation says why a PATCH failed, else the wait would end in a timeout without the cause) · GET link until Sync (verifies; also the outputs) · GET managed instance (tier, for the outputs’ LSN reading). SQL Server: replicas (modes) · ALTER AVAILABILITY GROUP … MODIFY (both members in one statement) · replicas until both SYNCHRONOUS_COMMIT · one LSN reading. MI: one LSN reading.',
  },
  'link cutover': {
    arm: 7,
    sqlServer: '4 + R',
    managedInstance: '1 + R',
    why: 'ARM (corrected from 3, issue 9: the cutover removes the link by default, and the irreversible call needs a fresh read): GET link (mode, role) · GET managed instance (tier, update policy) · GET link right before the failover call (proves it is still needed after the gate window; a crash-resumed run may find it done) · GET link until the MI is Primary (≥1; its last reading is what the removal acts on) · DELETE link · its operation (≥1) · GET link answering 404 (the removal verified; the outputs take the link from it, not read again). The break-link route: the DELETE, its operation and the 404 instead of the failover and its wait (6). SQL Server: version (route) · replicas (modes) · R LSN readings · ALTER AVAILABILITY GROUP … FAILOVER · replicas once after the failover (corrected from 3 + R, issue 9: the outputs show SQL Server’s role and modes, which the failover changes and no earlier reading shows; the LSN query has no row for a replica without databases, so it cannot stand in). MI: R LSN readings (each also answers the instance’s clock: the cutover time on the instance is the last reading’s, no query of its own) · one database-state query for all databases. R ≥ 2 (first reading and one at the end of the window); reading every P inside the window is what bounds the overhead to P if the workload moves again.',
  },
  'link cleanup (destroy after cutover)': {
    arm: 1,
    sqlServer: 4,
    managedInstance: 1,
    why: 'MI: first full backup of all databases (one query). ARM: GET link (+ GET link once more when the watch for a removal already in flight ends, and DELETE, only if it still exists). SQL Server: the DAG exists · DROP DAG · the AG exists and what else uses it (one query can answer both) · DROP AG.',
  },
};

const PER_CYCLE_MINIMUM: Record<string, Minimum> = {
  'LRS wait (one poll)': {
    arm: 1,
    sqlServer: 0,
    managedInstance: 0,
    why: 'GET restoreDetails: its status and lastRestoredFileName carry what the wait needs; the database turns Online in the poll where restoreDetails says Completed (recordings, README).',
  },
  'link gate (one reading)': {
    arm: 0,
    sqlServer: 1,
    managedInstance: 1,
    why: 'One query per side for all databases of the link.',
  },
};

interface Measured {
  op: string;
  traffic: Traffic;
  note?: string;
}

function lrsResource(
  rig: BenchRig,
  db: string,
  sas: string,
  over: Record<string, unknown> = {},
): DeclaredResource {
  return {
    name: db.toLowerCase(),
    providerText: rig.texts.lrs,
    inputs: {
      pulumiName: db.toLowerCase(),
      managedInstanceId: managedInstanceId(rig.sandbox.instance),
      databaseName: db,
      storageContainerUri: rig.sandbox.storage.containerUrl(db.toLowerCase()),
      storageContainerSasToken: sas,
      pollIntervalInMs: 200,
      startDeadlineInMs: 120_000,
      restoreDeadlineInMs: 120_000,
      completeDeadlineInMs: 120_000,
      ...over,
    },
    secretInputs: ['storageContainerSasToken'],
  };
}

let round = 0;

async function lrsOperations(rig: BenchRig, out: Measured[], cycles: Measured[], quick: boolean) {
  const sb = rig.sandbox;
  const sas = sb.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  round++;
  const seed = async (db: string) => {
    sb.sqlServer.addDatabase(db, { folder: db.toLowerCase(), sizeMB: 1 });
    sb.sqlServer.startWorkload(db, 100);
    await sb.sqlServer.backupFull(db, { sizeMB: 1 });
    await sb.sqlServer.backupLog(db, { sizeMB: 1 });
  };
  const measure = async <T>(op: string, body: () => Promise<T>, note?: string) => {
    const mark = markTraffic(sb);
    const r = await body();
    out.push({ op, traffic: trafficSince(sb, mark), note });
    return r;
  };

  // A: start; then the wait for a last backup that is not uploaded yet (cost per poll cycle).
  const a = `ReqA${round}`;
  await seed(a);
  const logA: string[] = [];
  const engineA = rig.engine(`lrs-a-${round}`, (l) => logA.push(l));
  await measure('LRS start', () => engineA.up([lrsResource(rig, a, sas)]));
  const finalA = `${a}_final.trn`;
  const waiting = engineA.up([lrsResource(rig, a, sas, { complete: true, lastBackupName: finalA })]);
  await until('the wait for the last backup', () =>
    logA.some((l) => l.includes(`waiting for last backup ${finalA}`)),
  );
  const mark = markTraffic(sb);
  const k = quick ? 3 : 10;
  await until(
    `${k} polls`,
    () => trafficSince(sb, mark).arm.filter((r) => /restoreDetails/i.test(r.path)).length >= k,
  );
  const t = trafficSince(sb, mark);
  const polls = t.arm.filter((r) => /restoreDetails/i.test(r.path)).length;
  cycles.push({ op: 'LRS wait (one poll)', traffic: t, note: `${polls} polls` });
  sb.sqlServer.stopWorkload(a);
  await sb.sqlServer.backupLog(a, { blobName: `${a.toLowerCase()}/${finalA}`, sizeMB: 1 });
  await waiting;

  // B: complete when the last backup is already restored.
  const b = `ReqB${round}`;
  await seed(b);
  const engineB = rig.engine(`lrs-b-${round}`);
  await engineB.up([lrsResource(rig, b, sas)]);
  sb.sqlServer.stopWorkload(b);
  const finalB = `${b}_final.trn`;
  await sb.sqlServer.backupLog(b, { blobName: `${b.toLowerCase()}/${finalB}`, sizeMB: 1 });
  for (let tries = 0; ; tries++) {
    const [r] = await engineB.refresh();
    if (r?.outputs.lastRestoredFileName === finalB) break;
    if (tries > 30) throw new Error(`${finalB} was not restored`);
  }
  await measure('LRS complete', () =>
    engineB.up([lrsResource(rig, b, sas, { complete: true, lastBackupName: finalB })]),
  );
  await measure('LRS destroy after completion (kept)', () => engineB.destroy());

  // C: stop while restoring.
  const c = `ReqC${round}`;
  await seed(c);
  const engineC = rig.engine(`lrs-c-${round}`);
  await engineC.up([lrsResource(rig, c, sas)]);
  await measure('LRS stop (drops a restoring database)', () => engineC.destroy());
  await engineA.destroy();
}

async function linkOperations(rig: BenchRig, out: Measured[], cycles: Measured[]) {
  const sb = rig.sandbox;
  const l = await syncLinkWithWorkload(rig, 'requests');
  const timing = {
    lsnStabilityWindowInMs: 1_000,
    lsnPollIntervalInMs: 250,
    cleanup: 'linkAndAvailabilityGroup',
  };
  const measure = async (op: string, body: () => Promise<unknown>, note?: string) => {
    const mark = markTraffic(sb);
    await body();
    const traffic = trafficSince(sb, mark);
    out.push({ op, traffic, note });
    return traffic;
  };
  await measure('link attach (create, async)', () =>
    l.engine.up([l.resource({ ...timing, replicationMode: 'Async' })]),
  );
  await measure('link sync switch', () => l.engine.up([l.resource({ ...timing, replicationMode: 'Sync' })]));
  sb.link.stopWorkload({ database: l.names.db });
  const cut = await measure(
    'link cutover',
    () => l.engine.up([l.resource({ ...timing, replicationMode: 'Sync', cutover: true })]),
    'window 1 s, P 250 ms, workload already stopped',
  );
  // One database: every LSN statement on SQL Server is one reading.
  const isLsn = (name: string) => /lsn/i.test(name);
  const readings = cut.sqlServer.filter((s) => isLsn(statementName(s))).length;
  cycles.push({
    op: 'link gate (one reading)',
    traffic: {
      arm: [],
      sqlServer: cut.sqlServer.filter((s) => isLsn(statementName(s))),
      managedInstance: cut.managedInstance.filter((s) => isLsn(statementName(s))),
      tokens: 0,
    },
    note: `${readings} readings in the cutover above`,
  });
  out[out.length - 1].note += `; R = ${readings}`;
  await measure('link cleanup (destroy after cutover)', () => l.engine.destroy());
}

function report(
  ctx: BenchContext,
  measured: Measured[],
  minimum: Record<string, Minimum>,
  per?: (m: Measured) => number,
) {
  const rows = measured.map((m) => {
    const min = minimum[m.op];
    const n = per ? per(m) : 1;
    const v = (x: number) => (n === 1 ? String(x) : fixed(x / n, 1));
    return [
      m.op,
      v(m.traffic.arm.length),
      String(min?.arm ?? '?'),
      v(m.traffic.sqlServer.length),
      String(min?.sqlServer ?? '?'),
      v(m.traffic.managedInstance.length),
      String(min?.managedInstance ?? '?'),
      per ? '' : String(m.traffic.tokens),
      [
        m.note,
        describeCounts(countBy(m.traffic.arm, armShape)),
        describeCounts(
          countBy(
            [...m.traffic.sqlServer, ...m.traffic.managedInstance],
            (s) => `${s.side === 'sqlServer' ? 'SQL' : 'MI'}:${statementName(s)}`,
          ),
        ),
      ]
        .filter(Boolean)
        .join('; '),
    ];
  });
  ctx.table(
    ['operation', 'ARM', 'ARM min', 'T-SQL SQL Server', 'min', 'T-SQL MI', 'min', 'token', 'what was sent'],
    rows,
  );
}

export const requestsBench: Bench = {
  name: 'requests',
  title: 'ARM requests and T-SQL statements per operation vs the contract minimum',
  async run(ctx) {
    const rig = await ctx.sandbox();
    const measured: Measured[] = [];
    const cycles: Measured[] = [];
    await lrsOperations(rig, measured, cycles, ctx.quick);
    await linkOperations(rig, measured, cycles);
    ctx.say(
      'Through the real provider host (one host per operation, as the CLI runs it; "token" = requests to the managed identity endpoint, one per fresh host is the floor). Counts from the ARM stand-in’s request log and the SQL stand-ins’ statement records.',
    );
    report(ctx, measured, MINIMUM);
    ctx.say('Per poll cycle (averaged over the cycles seen):');
    report(ctx, cycles, PER_CYCLE_MINIMUM, (m) => {
      if (m.op.startsWith('LRS')) return m.traffic.arm.filter((r) => /restoreDetails/i.test(r.path)).length;
      return m.traffic.sqlServer.length || 1;
    });
    ctx.say('The minimum of each operation, and why:');
    for (const [op, m] of Object.entries({ ...MINIMUM, ...PER_CYCLE_MINIMUM }))
      ctx.say(`- **${op}**: ${m.why}`);
  },
};
