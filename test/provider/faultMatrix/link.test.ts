/**
 * Issue 8's fault matrix for DistributedAvailabilityGroupLink, in-process (inProcess.ts) against one sandbox at
 * speed 100: attach (create), the sync switch (update Async → Sync), the cutover by both routes (T-SQL FAILOVER
 * then the link's removal; breakLink, the ARM DELETE) and the cleanup (destroy after a cutover that kept the
 * link, so it removes it) × every ARM request shape × the ARM fault kinds (table.ts), and × every SQL statement
 * shape × the SQL fault kinds (linkTable.ts). For each case: the outcome (succeeded after retry, or a typed
 * error with a code and a next step), each destructive call (ARM DELETE link, ARM POST failover, T-SQL FAILOVER,
 * DROP AVAILABILITY GROUP) acted on at most once across the faulted run and the next one, the elapsed time
 * within one deadline plus one poll interval past the fault-free run (plus a named load allowance), and
 * convergence: with the fault cleared, the next run reaches the declared state. Not covered: the forced route
 * (ARM POST failover ForcedAllowDataLoss and SET ROLE = SECONDARY), which needs a gate that cannot pass.
 */
import assert from 'node:assert/strict';
import { armShape } from '../../../sandbox/cutoverReport';
import type { InjectedFault } from '../../../sandbox/arm/faults';
import { type Sandbox, startSandbox } from '../../../sandbox/index';
import { assertNoSecrets } from '../../support/secretScan';
import { linkInputs, type LinkNames } from '../rig';
import { captureProviderLines, InProcessResource, linkProvider, timed, useSandboxEnv } from './inProcess';
import {
  ARM_STEPS,
  destructive,
  type Op,
  OPS,
  type Side,
  SQL_STEPS,
  type SqlCase,
  sqlCases,
  scoped,
  sqlShape,
} from './linkTable';
import {
  type Case,
  cases,
  DEADLINE_MS,
  INJECTED_LRO_CODE,
  KNOWN_FAILURES,
  LOAD_ALLOWANCE_MS,
  MAY_PASS,
  MatrixTally,
  POLL_MS,
} from './table';

const TIMING = {
  pollIntervalInMs: POLL_MS,
  operationDeadlineInMs: DEADLINE_MS,
  lsnDeadlineInMs: DEADLINE_MS,
  firstBackupDeadlineInMs: DEADLINE_MS,
  lsnPollIntervalInMs: POLL_MS,
  // The gate's shortest window without allowShortStabilityWindow: 4 polls.
  lsnStabilityWindowInMs: 4 * POLL_MS,
};
/** Cases whose fault names the link run side by side, this many at a time. */
const PARALLEL = 6;

describe('fault matrix: DistributedAvailabilityGroupLink (ARM steps × faults, in-process)', function () {
  this.timeout(900_000);
  let sb: Sandbox;
  let undo: () => void;
  let capture: ReturnType<typeof captureProviderLines>;
  let n = 0;
  const armTally = new MatrixTally();
  const sqlTally = new MatrixTally();
  const errors: string[] = [];
  /** Wall time of each operation without a fault (the STEPS test measures it). */
  const faultFreeMs: Partial<Record<Op, number>> = {};

  before(async () => {
    // As link.test.ts: the managed instance's first full backup after a cutover comes when a test says so.
    sb = await startSandbox({
      speed: 100,
      link: { firstBackupDelayMs: 24 * 3_600_000, managedInstance: { utcOffsetMinutes: 120 } },
    });
    undo = useSandboxEnv(sb);
    capture = captureProviderLines();
  });
  after(async () => {
    capture?.restore();
    console.log(`      ${armTally.line('DistributedAvailabilityGroupLink ARM')}`);
    console.log(`      ${sqlTally.line('DistributedAvailabilityGroupLink SQL')}`);
    undo?.();
    await sb?.stop();
  });

  /** A fresh established link (no name is a part of another: Lk1d, Lk11d …). */
  function freshLink(): LinkNames {
    n++;
    const names = { dag: `Lk${n}d`, ag: `La${n}g`, db: `Ld${n}b` };
    sb.link.establishLink({ name: names.dag, sqlServerAg: names.ag, miAg: `Lm${n}i`, databases: [names.db] });
    return names;
  }

  const routeOf = (op: Op) => (op === 'cutover breakLink' ? 'breakLink' : 'tsqlFailover');
  /** What each operation declares on top of the attach. */
  function over(op: Op): Record<string, unknown> {
    switch (op) {
      case 'attach':
        return {};
      case 'sync':
        return { replicationMode: 'Sync' };
      case 'cutover tsqlFailover':
      case 'cutover breakLink':
        return { replicationMode: 'Sync', failoverRoute: routeOf(op), cutover: true };
      case 'cleanup':
        // The link kept after the failover, so the cleanup has the link's removal to do (its ARM DELETE).
        return {
          replicationMode: 'Sync',
          failoverRoute: 'tsqlFailover',
          keepLinkAfterFailover: true,
          cleanup: 'linkAndAvailabilityGroup',
          cutover: true,
        };
    }
  }
  const inputs = (names: LinkNames, o: Record<string, unknown>) => linkInputs(sb, names, { ...TIMING, ...o });

  /** A link at the point where `op` begins, and the run of `op` (the same call converges when repeated). */
  async function prepare(op: Op, names: LinkNames) {
    const r = new InProcessResource(linkProvider);
    const declared = inputs(names, over(op));
    if (op === 'attach') return { r, run: () => r.up(declared) };
    if (op === 'sync') {
      await r.up(inputs(names, {}));
      return { r, run: () => r.up(declared) };
    }
    // Cutover: attached in sync with the route chosen; cleanup: cut over, and the first full backup taken.
    const { cutover: _cutover, ...before } = declared;
    await r.up(inputs(names, before));
    if (op !== 'cleanup') return { r, run: () => r.up(declared) };
    await r.up(declared);
    sb.link.takeFirstFullBackup(names.db);
    return { r, run: () => r.destroy() };
  }

  /** The declared state of `op` is reached (the outputs say so, and the world agrees). */
  async function declared(op: Op, r: InProcessResource, names: LinkNames): Promise<void> {
    const world = () => sb.link.snapshot().links.find((l) => l.name === names.dag);
    if (op === 'cleanup') {
      assert.equal(r.exists, false, 'the resource is gone from the state');
      assert.equal(world(), undefined, 'the link is gone');
      const ags = sb.link.snapshot().sqlServer.availabilityGroups.map((a) => a.name);
      assert.deepEqual(
        ags.filter((a) => a === names.dag || a === names.ag),
        [],
        'the DAG and the AG are dropped on SQL Server',
      );
      return;
    }
    const outs = (await r.refresh()) ?? {};
    const text = JSON.stringify(outs);
    if (op === 'attach') {
      assert.equal(outs.sqlServerReplicationMode, 'ASYNCHRONOUS_COMMIT', text);
      return;
    }
    if (op === 'sync') {
      assert.equal(outs.sqlServerReplicationMode, 'SYNCHRONOUS_COMMIT', text);
      assert.equal(outs.managedInstanceReplicationMode, 'Sync', text);
      return;
    }
    assert.equal(typeof outs.cutoverAt, 'string', text);
    assert.equal(outs.failoverRouteUsed, routeOf(op), text);
    assert.equal(outs.forcedFailover, false, text);
    assert.equal(outs.linkState, 'Removed', text);
  }

  const lastSeq = () => ({
    arm: sb.arm.requests.filter().at(-1)?.seq ?? 0,
    sql: sb.sqlEndpoints.sqlServer.applied().length,
  });
  /** This link's requests, and the requests that name no link or database (the instance, operation polls). */
  const mine = (names: LinkNames, from: number) =>
    sb.arm.requests
      .filter()
      .filter(
        (x) =>
          x.seq > from &&
          (new RegExp(`/distributedAvailabilityGroups/${names.dag}(/|$)`, 'i').test(x.path) ||
            !/\/(distributedAvailabilityGroups|databases)\//i.test(x.path)),
      );

  const sqlIndex = () => ({
    sqlServer: sb.sqlEndpoints.sqlServer.executed.length,
    managedInstance: sb.sqlEndpoints.managedInstance.executed.length,
  });
  const sqlSent = (from: Record<Side, number>) =>
    (['sqlServer', 'managedInstance'] as Side[]).flatMap((side) =>
      sb.sqlEndpoints[side].executed
        .slice(from[side])
        .map((e) => sqlShape({ side, statement: e.statement ?? `unrecognised: ${e.sql.slice(0, 40)}` })),
    );

  it('the tables list exactly the ARM requests and SQL statements each operation sends', async () => {
    const empty = () =>
      Object.fromEntries(OPS.map((op) => [op, new Set<string>()])) as Record<Op, Set<string>>;
    const arm = empty();
    const sql = empty();
    for (const op of OPS) {
      const names = freshLink();
      const { r, run } = await prepare(op, names);
      const from = lastSeq().arm;
      const fromSql = sqlIndex();
      const t = await timed(run);
      assert.equal(t.error, undefined, `${op}: ${t.error?.message}`);
      faultFreeMs[op] = t.ms;
      for (const x of mine(names, from)) arm[op].add(armShape(x));
      // One operation at a time here: every statement since the start is this operation's.
      for (const shape of sqlSent(fromSql)) sql[op].add(shape);
      await declared(op, r, names);
    }
    console.log(
      `      fault-free: ${OPS.map((op) => `${op} ${faultFreeMs[op]} ms (${[...arm[op], ...[...sql[op]].sort()].join(', ')})`).join('; ')}`,
    );
    for (const op of OPS) {
      for (const [what, sent, listed] of [
        ['ARM', arm[op], new Set(ARM_STEPS.filter((s) => s.op === op).map((s) => s.shape))],
        ['SQL', sql[op], new Set(SQL_STEPS.filter((s) => s.op === op).map(sqlShape))],
      ] as const) {
        assert.deepEqual(
          [...sent].filter((s) => !listed.has(s)),
          [],
          `${op} sends ${what} steps the table does not list`,
        );
        assert.deepEqual(
          [...listed].filter((s) => !sent.has(s)),
          [],
          `the ${what} table lists ${op} steps it no longer sends`,
        );
      }
    }
  });

  interface Injected {
    hits(): number;
    clear(): void;
  }
  interface AnyCase {
    op: Op;
    title: string;
    faultName: string;
    inject(names: LinkNames): Injected;
    /** The ARM write whose operation the service reported Failed (lroFailed), if any. */
    reportedFailed?(names: LinkNames, from: number): number | undefined;
  }

  const armCase = (c: Case): AnyCase => ({
    op: c.step.op as Op,
    title: c.title,
    faultName: c.fault.name,
    inject(names) {
      const fault: InjectedFault = sb.arm.faults.inject(c.fault.spec(c.step, names.dag, DEADLINE_MS));
      return { hits: () => fault.hits, clear: () => sb.arm.faults.clear(fault) };
    },
    reportedFailed: (names, from) =>
      c.fault.name === 'lroFailed'
        ? sb.arm.requests
            .filter({ method: c.step.method, pathPattern: c.step.path(names.dag) })
            .find((x) => x.seq > from)?.seq
        : undefined,
  });

  const sqlCase = (c: SqlCase): AnyCase => ({
    op: c.step.op,
    title: c.title,
    faultName: c.fault.name,
    inject(names) {
      const faults = sb.sqlEndpoints[c.step.side].faults;
      const fault = faults.inject(c.fault.spec(c.step, names, DEADLINE_MS));
      return {
        hits: () => fault.hits,
        clear: () => {
          fault.release(); // a stalled statement the client abandoned must not act later
          faults.clear(fault);
        },
      };
    },
  });

  /** A case, or a known failure (table.ts) that must still fail (unless its timing is not pinned: MAY_PASS). */
  async function runCase(c: AnyCase, t: MatrixTally): Promise<void> {
    const known = KNOWN_FAILURES[c.title];
    if (!known) return runOne(c, t);
    const outcome = await runOne(c, t, false).then(
      () => undefined,
      (e: Error) => e,
    );
    if (!outcome && MAY_PASS.has(c.title)) return;
    assert.ok(outcome, `known failure now passes, remove it from KNOWN_FAILURES: ${c.title}`);
    t.n.knownFailures++;
    t.n.run++;
  }

  async function runOne(c: AnyCase, t: MatrixTally, count = true): Promise<void> {
    const op = c.op;
    const names = freshLink();
    const { r, run } = await prepare(op, names);
    const from = lastSeq();
    const fault = c.inject(names);
    const faulted = await timed(run);
    if (faulted.error) errors.push(faulted.error.message);
    const hits = fault.hits();
    fault.clear();
    const where = `${c.title} (${names.dag}): ${faulted.error?.message ?? 'succeeded'}`;
    assert.ok(hits >= 1, `the fault hit nothing: ${where}`);

    // Outcome: succeeded, or a typed error with the service's code (where it sent one) and a next step.
    if (faulted.error) {
      assert.ok(faulted.error.code, `untyped error: ${where}`);
      assert.match(faulted.error.message, /^\[\w+/, where);
      assert.match(faulted.error.message, /What to do: /, `no next step: ${where}`);
      if (c.faultName === 'lroFailed') assert.ok(faulted.error.message.includes(INJECTED_LRO_CODE), where);
    }
    // Elapsed: a fault costs at most one deadline and one poll interval over the fault-free run.
    const budget = (faultFreeMs[op] ?? 0) + DEADLINE_MS;
    const over = faulted.ms - budget;
    assert.ok(over <= POLL_MS + LOAD_ALLOWANCE_MS, `took ${faulted.ms} ms (budget ${budget} ms): ${where}`);

    // Convergence: the fault cleared, the next run reaches the declared state.
    const again = await timed(run);
    if (again.error) errors.push(again.error.message);
    assert.equal(again.error, undefined, `no convergence after ${where}: ${again.error?.message}`);
    await declared(op, r, names);

    const d = destructive(sb, names, from, c.reportedFailed?.(names, from.arm));
    const most = Math.max(...Object.values(d.counts));
    assert.ok(
      most <= 1,
      `destructive calls ${JSON.stringify(d.counts)} (ARM: ${d.log.join(', ')}): ${where}`,
    );

    if (count) t.ranCase({ hits, failed: !!faulted.error, destructive: most, sent: d.sent, overMs: over });
  }

  /** Cases of one operation: skipped ones listed, own ones side by side in batches, shared ones alone. */
  function declare(
    t: MatrixTally,
    list: { c: AnyCase; skipped?: string; own: boolean; short: string }[],
  ): void {
    for (const x of list.filter((x) => x.skipped)) it.skip(`${x.c.title} (skipped by rule: ${x.skipped})`);
    before(() => void (t.n.skipped += list.filter((x) => x.skipped).length));
    const shared = list.filter((x) => !x.skipped && x.own);
    for (let k = 0; k < shared.length; k += PARALLEL) {
      const batch = shared.slice(k, k + PARALLEL);
      it(`${batch.length} cases side by side: ${batch.map((x) => x.short).join(', ')}`, async () => {
        const results = await Promise.allSettled(batch.map((x) => runCase(x.c, t)));
        const failed = results.flatMap((x) =>
          x.status === 'rejected' ? [String((x.reason as Error).message)] : [],
        );
        assert.deepEqual(failed, []);
      });
    }
    for (const x of list.filter((x) => !x.skipped && !x.own)) it(x.c.title, () => runCase(x.c, t));
  }

  // FAULT_MATRIX_ONLY=<regexp on the case title>: run only those, one at a time (to look into one case).
  const only = process.env.FAULT_MATRIX_ONLY ? new RegExp(process.env.FAULT_MATRIX_ONLY) : undefined;
  const pick = (title: string) => !only || only.test(title);
  const armAll = cases(ARM_STEPS).filter((c) => pick(c.title));
  const sqlAll = sqlCases(SQL_STEPS).filter((c) => pick(c.title));
  for (const op of OPS) {
    describe(`${op} (ARM)`, () =>
      declare(
        armTally,
        armAll
          .filter((c) => c.step.op === op)
          .map((c) => ({
            c: armCase(c),
            skipped: c.skipped,
            own: c.step.own && !only,
            short: `${c.step.method} ${c.step.shape.split('/').at(-1)} × ${c.fault.name}`,
          })),
      ));
  }
  for (const op of OPS) {
    describe(`${op} (SQL)`, () =>
      declare(
        sqlTally,
        sqlAll
          .filter((c) => c.step.op === op)
          .map((c) => ({
            c: sqlCase(c),
            skipped: c.skipped,
            own: scoped(c.step) && !only,
            short: `${c.step.statement} × ${c.fault.name}`,
          })),
      ));
  }

  describe('after the matrix', () => {
    it('no secret in any provider line or error', () => {
      assertNoSecrets(
        [
          ...capture.lines.map((value, k) => ({ name: `provider line ${k}`, value })),
          ...errors.map((value, k) => ({ name: `error ${k}`, value })),
        ],
        [sb.sqlConnection('sqlServer').password, sb.sqlConnection('managedInstance').password],
      );
    });
  });
});
