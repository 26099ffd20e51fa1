/**
 * Issue 8's fault matrix for LogReplayMigration: every ARM request shape of start, complete and stop × every
 * fault kind (table.ts), driven in-process (inProcess.ts) against one sandbox at speed 100. For each case:
 * the outcome (succeeded after retry, or a typed error with a code and a next step), destructive calls (DELETE
 * database, POST completeRestore) acted on at most once across the faulted run and the next one, the elapsed
 * time within the operation's deadline plus one poll interval (plus a named load allowance), and convergence:
 * with the fault cleared, the next run reaches the declared state.
 */
import assert from 'node:assert/strict';
import { armShape } from '../../../sandbox/cutoverReport';
import type { InjectedFault } from '../../../sandbox/arm/faults';
import type { RequestRecord } from '../../../sandbox/arm/requestLog';
import { type Sandbox, startSandbox } from '../../../sandbox/index';
import { managedInstanceId } from '../../../sandbox/world/instances';
import { assertNoSecrets } from '../../support/secretScan';
import { until } from '../rig';
import { captureProviderLines, InProcessResource, lrsProvider, timed, useSandboxEnv } from './inProcess';
import {
  type ArmStep,
  type Case,
  cases,
  DEADLINE_MS,
  INJECTED_LRO_CODE,
  KNOWN_FAILURES,
  LOAD_ALLOWANCE_MS,
  MatrixTally,
  POLL_MS,
} from './table';

const TIMING = {
  pollIntervalInMs: POLL_MS,
  startDeadlineInMs: DEADLINE_MS,
  restoreDeadlineInMs: DEADLINE_MS,
  completeDeadlineInMs: DEADLINE_MS,
};
/** Deadlines an operation can spend in turn (complete waits for the restore, then for the database online). */
const BUDGET_MS: Record<Op, number> = { start: DEADLINE_MS, complete: 2 * DEADLINE_MS, stop: DEADLINE_MS };
/** A drop the stop waited for shows in the world within well under a second; this allows for machine load. */
const DROP_SEEN_MS = 10_000;
/** Cases whose fault names the database run side by side, this many at a time. */
const PARALLEL = 6;

type Op = 'start' | 'complete' | 'stop';

const MI = String.raw`managedInstances\/[^/]+`;
const DB = (db: string) => String.raw`${MI}\/databases\/${db}`;

function step(
  op: Op,
  method: string,
  shape: string,
  path: (db: string) => string,
  own: boolean,
  writes = false,
) {
  return { op, method, shape, path: (db: string) => new RegExp(path(db), 'i'), own, startsOperation: writes };
}

/**
 * Every ARM request each operation sends (a fault-free run, read from the ARM stand-in's log). The start and
 * completeRestore operations are read only on branches a fault-free run does not take (the database absent, its
 * restore details unavailable or in a state no source shows: core/lrs/observe.ts), so they are not steps here.
 */
const STEPS: ArmStep[] = [
  step('start', 'GET', 'GET managedInstances/{mi}/databases', () => `${MI}/databases$`, false),
  step('start', 'GET', 'GET managedInstances/{mi}', () => `${MI}$`, false),
  // Own database in its path, but not its own case: starts on one instance are sent one at a time (the restore
  // slots, core/lrs/slots.ts), so a stalled PUT holds up the other cases' starts.
  step('start', 'PUT', 'PUT managedInstances/{mi}/databases/{db}', (db) => `${DB(db)}$`, false, true),
  step('start', 'GET', 'GET managedInstances/{mi}/databases/{db}', (db) => `${DB(db)}$`, true),
  step(
    'start',
    'GET',
    'GET managedInstances/{mi}/databases/{db}/restoreDetails/Default',
    (db) => `${DB(db)}/restoreDetails/`,
    true,
  ),
  step('complete', 'GET', 'GET managedInstances/{mi}/databases/{db}', (db) => `${DB(db)}$`, true),
  step(
    'complete',
    'GET',
    'GET managedInstances/{mi}/databases/{db}/restoreDetails/Default',
    (db) => `${DB(db)}/restoreDetails/`,
    true,
  ),
  step(
    'complete',
    'POST',
    'POST managedInstances/{mi}/databases/{db}/completeRestore',
    (db) => `${DB(db)}/completeRestore$`,
    true,
    true,
  ),
  step('stop', 'GET', 'GET managedInstances/{mi}/databases/{db}', (db) => `${DB(db)}$`, true),
  step(
    'stop',
    'GET',
    'GET managedInstances/{mi}/databases/{db}/restoreDetails/Default',
    (db) => `${DB(db)}/restoreDetails/`,
    true,
  ),
  step('stop', 'DELETE', 'DELETE managedInstances/{mi}/databases/{db}', (db) => `${DB(db)}$`, true, true),
];

/** Destructive: the drop of a database, and the irreversible cutover. */
const isDestructive = (r: RequestRecord, db: string) =>
  (r.method === 'DELETE' && new RegExp(`${DB(db)}$`, 'i').test(r.path)) ||
  (r.method === 'POST' && new RegExp(`${DB(db)}/completeRestore$`, 'i').test(r.path));
/**
 * The service accepted it or may have acted: a success answer, or a fault that acts (lost or slow answer). A
 * repeat the service refuses (completeRestore answers ExternalBackupAlreadySignaledToComplete) did not act.
 */
const acted = (r: RequestRecord) =>
  r.fault === 'lost' || r.fault === 'slow' || (r.fault === undefined && r.status >= 200 && r.status < 400);

describe('fault matrix: LogReplayMigration (ARM steps × faults, in-process)', function () {
  this.timeout(600_000);
  let sb: Sandbox;
  let undo: () => void;
  let capture: ReturnType<typeof captureProviderLines>;
  let sas: string;
  let n = 0;
  const tally = new MatrixTally();
  /** Every error the providers threw, for the secret scan. */
  const errors: string[] = [];

  before(async () => {
    sb = await startSandbox({ speed: 100 });
    undo = useSandboxEnv(sb);
    capture = captureProviderLines();
    sas = sb.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  });
  after(async () => {
    capture?.restore();
    console.log(tally.line('LogReplayMigration'));
    undo?.();
    await sb?.stop();
  });

  const inputs = (db: string, over: Record<string, unknown> = {}) => ({
    pulumiName: db.toLowerCase(),
    managedInstanceId: managedInstanceId(sb.instance),
    databaseName: db,
    storageContainerUri: sb.storage.containerUrl(db.toLowerCase()),
    storageContainerSasToken: sas,
    ...TIMING,
    ...over,
  });

  async function seed(prefix: string): Promise<string> {
    const db = `${prefix}${++n}`;
    sb.sqlServer.addDatabase(db, { folder: db.toLowerCase(), sizeMB: 1 });
    await sb.sqlServer.backupFull(db, { sizeMB: 1 });
    await sb.sqlServer.backupLog(db, { sizeMB: 1 });
    return db;
  }

  /** A database at the point where `op` begins, and the run of `op` (the same call converges when repeated). */
  async function prepare(op: Op, db: string): Promise<{ r: InProcessResource; run: () => Promise<unknown> }> {
    const r = new InProcessResource(lrsProvider);
    if (op === 'start') return { r, run: () => r.up(inputs(db)) };
    await r.up(inputs(db));
    if (op === 'stop') return { r, run: () => r.destroy() };
    const last = `${db}_final.trn`;
    await sb.sqlServer.backupLog(db, { blobName: `${db.toLowerCase()}/${last}`, sizeMB: 1 });
    await until(`${last} restored`, async () => (await r.refresh())?.lastRestoredFileName === last);
    return { r, run: () => r.up(inputs(db, { complete: true, lastBackupName: last })) };
  }

  /** The declared state of `op` is reached. */
  async function declared(op: Op, r: InProcessResource, db: string): Promise<void> {
    if (op === 'stop') {
      assert.equal(r.exists, false, 'the resource is gone from the state');
      await until(
        `${db} dropped`,
        async () => {
          await sb.world.tick();
          return !sb.instance.databases.has(db);
        },
        DROP_SEEN_MS,
      );
      return;
    }
    const outs = await r.refresh();
    if (op === 'start') assert.match(String(outs?.phase), /^(starting|restoring)$/, JSON.stringify(outs));
    else assert.equal(outs?.phase, 'completed', JSON.stringify(outs));
  }

  const requests = (db: string, from: number) =>
    sb.arm.requests.filter().filter((x) => x.seq > from && new RegExp(`/databases/${db}(/|$)`).test(x.path));
  const lastSeq = () => sb.arm.requests.filter().at(-1)?.seq ?? 0;

  it('STEPS lists exactly the ARM requests each operation sends', async () => {
    const sent: Record<Op, Set<string>> = { start: new Set(), complete: new Set(), stop: new Set() };
    for (const op of ['start', 'complete', 'stop'] as Op[]) {
      const db = await seed('Steps');
      const { run } = await prepare(op, db);
      const from = lastSeq();
      await run();
      for (const x of sb.arm.requests.filter().filter((x) => x.seq > from)) sent[op].add(armShape(x));
    }
    // A stop ends with GETs answering 404 (the database is gone): the same shape as the GET above it.
    for (const op of ['start', 'complete', 'stop'] as Op[]) {
      const listed = new Set(STEPS.filter((s) => s.op === op).map((s) => s.shape));
      assert.deepEqual(
        [...sent[op]].filter((s) => !listed.has(s)),
        [],
        `${op} sends steps STEPS does not list`,
      );
      assert.deepEqual(
        [...listed].filter((s) => !sent[op].has(s)),
        [],
        `STEPS lists ${op} steps it no longer sends`,
      );
    }
  });

  /** A case, or a known failure (table.ts) that must still fail. */
  async function runCase(c: Case): Promise<void> {
    const known = KNOWN_FAILURES[c.title];
    if (!known) return runOne(c);
    const outcome = await runOne(c).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(outcome, `known failure now passes, remove it from KNOWN_FAILURES: ${c.title}`);
    tally.n.knownFailures++;
    tally.n.run++;
  }

  async function runOne(c: Case): Promise<void> {
    const op = c.step.op as Op;
    const db = await seed('Fm');
    const { r, run } = await prepare(op, db);
    const from = lastSeq();
    const fault: InjectedFault = sb.arm.faults.inject(c.fault.spec(c.step, db, BUDGET_MS[op]));
    const faulted = await timed(run);
    if (faulted.error) errors.push(faulted.error.message);
    const hits = fault.hits;
    sb.arm.faults.clear(fault);
    const where = `${c.title} (${db}): ${faulted.error?.message ?? 'succeeded'}`;
    assert.ok(hits >= 1, `the fault hit nothing: ${where}`);

    // Outcome: succeeded, or a typed error with the service's code (where it sent one) and a next step.
    if (faulted.error) {
      assert.ok(faulted.error.code, `untyped error: ${where}`);
      assert.match(faulted.error.message, /^\[\w+/, where);
      assert.match(faulted.error.message, /What to do: /, `no next step: ${where}`);
      if (c.fault.name === 'lroFailed') assert.ok(faulted.error.message.includes(INJECTED_LRO_CODE), where);
    }
    // Elapsed: within the deadline(s) plus one poll interval, plus the load allowance.
    const over = faulted.ms - BUDGET_MS[op];
    assert.ok(over <= POLL_MS + LOAD_ALLOWANCE_MS, `took ${faulted.ms} ms: ${where}`);

    // Convergence: the fault cleared, the next run reaches the declared state. An operation the service
    // reported Failed stays failed (that is the service's word, not a fault that clears): the next run must
    // say the same typed error again (its hint names the step that is the user's), unless what is there by now
    // is the declared state (the stand-in's world may have gone on: arm/faults.ts "whatever the world did").
    const again = await timed(run);
    if (again.error) errors.push(again.error.message);
    if (c.fault.name === 'lroFailed' && faulted.error && again.error) {
      assert.equal(again.error.code, faulted.error.code, `the next run after ${where}`);
      assert.ok(again.error?.message.includes(INJECTED_LRO_CODE), again.error?.message);
      tally.n.finalFailures++;
    } else {
      assert.equal(again.error, undefined, `no convergence after ${where}: ${again.error?.message}`);
      await declared(op, r, db);
    }

    const sentDestructive = requests(db, from).filter((x) => isDestructive(x, db));
    const destructive = sentDestructive.filter(acted).length;
    assert.ok(destructive <= 1, `${destructive} destructive calls: ${where}`);
    tally.ranCase({
      hits,
      failed: !!faulted.error,
      destructive,
      sent: sentDestructive.length,
      overMs: over,
    });
    if (op === 'start' && c.fault.name !== 'lroFailed') await r.destroy(); // frees the restore slot
  }

  // FAULT_MATRIX_ONLY=<regexp on the case title>: run only those, one at a time (to look into one case).
  const only = process.env.FAULT_MATRIX_ONLY ? new RegExp(process.env.FAULT_MATRIX_ONLY) : undefined;
  const all = cases(STEPS)
    .filter((c) => !only || only.test(c.title))
    .map((c) => (only ? { ...c, step: { ...c.step, own: false } } : c));
  for (const op of ['start', 'complete', 'stop'] as Op[]) {
    describe(op, () => {
      const mine = all.filter((c) => c.step.op === op);
      const skipped = mine.filter((c) => c.skipped);
      for (const c of skipped) it.skip(`${c.title} (skipped by rule: ${c.skipped})`);
      before(() => void (tally.n.skipped += skipped.length));
      const shared = mine.filter((c) => !c.skipped && c.step.own);
      for (let k = 0; k < shared.length; k += PARALLEL) {
        const batch = shared.slice(k, k + PARALLEL);
        it(`${batch.length} cases side by side: ${batch.map((c) => `${c.step.method} ${c.step.shape.split('/').at(-1)} × ${c.fault.name}`).join(', ')}`, async () => {
          const results = await Promise.allSettled(batch.map(runCase));
          const failed = results.flatMap((x) =>
            x.status === 'rejected' ? [String((x.reason as Error).message)] : [],
          );
          assert.deepEqual(failed, []);
        });
      }
      for (const c of mine.filter((c) => !c.skipped && !c.step.own)) it(c.title, () => runCase(c));
    });
  }

  describe('after the matrix', () => {
    it('no secret in any provider line', () => {
      assertNoSecrets(
        [
          ...capture.lines.map((value, k) => ({ name: `provider line ${k}`, value })),
          ...errors.map((value, k) => ({ name: `error ${k}`, value })),
        ],
        [sas],
      );
    });
  });
});
