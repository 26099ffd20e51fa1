/**
 * Crash-resume at every step boundary (issue 8). An operation runs once fault-free on a fresh resource and its
 * world-changing steps are recorded as the stand-ins saw them: ARM writes accepted (sandbox.arm.requests) and SQL
 * changes applied (sandbox.sqlEndpoints[side].executed). Every step k gives two boundaries: before it (the reads
 * that precede it done, the write itself held unacted by a `stall`) and after it (the write acted, its answer held
 * by a `stall` with when: 'after'). A case runs the same operation on another fresh resource, kills the provider
 * host while the stand-in holds the request of its boundary, and resumes either at once (the world's clock frozen
 * from the kill until the resumed host's first request, so the operation the write started is still running) or
 * after the world settled. The boundaries come from the recording, so the suite follows the provider's steps.
 */
import assert from 'node:assert/strict';
import type { StepResult } from '../../../sandbox/engine/engine';
import type { SecretScan } from '../../support/secretScan';
import { Tally } from '../../support/tally';
import { until, type Rig } from '../rig';
import {
  type Boundary,
  boundaries,
  describeStep,
  escape,
  fill,
  key,
  knownFailure,
  mark,
  modes,
  type Names,
  SIDES,
  type Step,
  stepsSince,
} from './steps';

export * from './steps';

export const settle = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'finished',
    (e: Error) => e.message,
  );

export interface Crash {
  /** The killed run's outcome (its error message). */
  outcome: string;
  /** World-changing steps the killed run made, templated. */
  steps: Step[];
}

/**
 * Runs `operation` (the first host run after `from`), holds the request of boundary `b` in the stand-in, kills the
 * host while it is held, and returns what the killed run did. `freeze`: the world's clock stops at the kill.
 */
export async function crashAt(
  rig: Rig,
  engine: { kill(): Promise<void> },
  operation: () => Promise<unknown>,
  b: Boundary,
  names: Names,
  freeze: boolean,
): Promise<Crash> {
  const from = mark(rig);
  const at = b.at;
  let held: () => boolean;
  let release: () => void | Promise<void>;
  if (at.channel === 'arm') {
    const path = fill(at.path, names);
    const fault = rig.sandbox.arm.faults.inject({
      kind: 'stall',
      when: b.when,
      method: at.method,
      pathPattern: new RegExp(`^${escape(path)}$`),
      skip: b.nth,
    });
    held = () =>
      rig.sandbox.arm.requests.entries
        .slice(from.arm)
        .some((r) => r.fault === 'stall' && r.method === at.method && r.path === path);
    release = () => rig.sandbox.arm.faults.clear(fault);
  } else {
    const endpoint = rig.sandbox.sqlEndpoints[at.side];
    const fault = endpoint.faults.inject({
      kind: 'stall',
      when: b.when,
      statement: new RegExp(`^${escape(fill(at.sql, names))}$`),
      skip: b.nth,
    });
    held = () => fault.held > 0;
    release = async () => {
      // The killed client's connection ends the hold (the stand-in cancels it); only then is the fault cleared,
      // so a held statement never acts after the crash.
      await until(
        'the held statement to be cancelled by the dead connection',
        () => fault.held === 0,
        10_000,
      );
      endpoint.faults.clear(fault);
    };
  }
  const run = settle(operation());
  let ended = false;
  void run.then(() => (ended = true));
  await until(
    `boundary ${b.when} step ${b.step + 1} (${describeStep(at)}) to be held`,
    () => held() || ended,
  );
  if (ended) assert.fail(`the run ended before boundary ${b.when} ${describeStep(at)}: ${await run}`);
  if (freeze) rig.sandbox.clock.speed = 0;
  await engine.kill();

  const outcome = await run;
  assert.notEqual(outcome, 'finished', 'the killed run did not finish');
  await release();
  return { outcome, steps: stepsSince(rig, from, names) };
}

/**
 * Resumes with `operation`. `inFlight`: the clock (frozen at the kill) starts again at the resumed host's first
 * request, so that request sees the world as the crash left it; reports whether an ARM operation was running then.
 */
export async function resume(
  rig: Rig,
  operation: () => Promise<StepResult[]>,
  inFlight: boolean,
): Promise<{ result: StepResult[] | Error; operationRunning: boolean }> {
  let operationRunning = false;
  const from = mark(rig);
  const asked = () => {
    const now = mark(rig);
    return now.arm > from.arm || SIDES.some((s) => now.sql[s] > from.sql[s]);
  };
  const run = operation().then(
    (r) => r,
    (e: Error) => e,
  );
  if (inFlight) {
    let ended = false;
    void run.then(() => (ended = true));
    await until('the resumed host to ask the stand-ins', () => asked() || ended);
    operationRunning = rig.sandbox.arm.server.lro.inProgress().length > 0;
    rig.sandbox.clock.speed = 100;
  }
  return { result: await run, operationRunning };
}

/** Lets the world carry out what the killed run started: `ms` of simulated time, in ticks. */
export async function settleWorld(rig: Rig, ms: number): Promise<void> {
  const stepMs = 5_000;
  for (let t = 0; t < ms; t += stepMs) {
    rig.sandbox.clock.advance(stepMs);
    await rig.sandbox.world.tick();
  }
}

const CRASH_COUNTERS = [
  'cases',
  'converged',
  'refused',
  'inFlightSeen',
  'destructiveMax',
  'faults',
  'singleMode',
] as const;

/** The suite's counts, printed at the end. singleMode: boundaries resumed in one mode only (see modes()). */
export class CrashTally extends Tally<(typeof CRASH_COUNTERS)[number]> {
  readonly boundaries = new Map<string, number>();
  readonly knownFailures: string[] = [];

  constructor() {
    super(CRASH_COUNTERS);
  }

  line(suite: string): string {
    const n = this.n;
    const total = [...this.boundaries.values()].reduce((a, b) => a + b, 0);
    const ops = [...this.boundaries.entries()].map(([op, k]) => `${op} ${k}`).join(', ');
    return (
      `${suite} crash-resume: ${this.boundaries.size} operations, ${total} boundaries (${ops}), ` +
      `${n.cases} cases (${n.faults} stalls; ${n.singleMode} boundaries resumed at once only), ${n.converged} converged, ${n.refused} refused as designed, ` +
      `${n.inFlightSeen} resumed with the ARM operation still running, destructive calls max ${n.destructiveMax}, ` +
      `${this.knownFailures.length} known failures`
    );
  }
}

/** One fresh resource, set up to the point where the operation under test starts. */
export interface Subject {
  names: Names;
  engine: { kill(): Promise<void> };
  /** The operation under test (and, by default, its resume: the same command again). */
  run(): Promise<StepResult[]>;
  /** What the outcome must equal after the resume: key outputs, state, world facts. */
  summary(result: StepResult[]): Promise<Record<string, unknown>>;
  /** Destructive or irreversible calls made on this resource so far, by name (each must stay at most 1). */
  destructive(): Record<string, number>;
  /** Texts a secret could leak into beyond the rig's state files and logs. */
  surfaces?: () => unknown[];
}

export interface Operation {
  name: string;
  fresh(tag: string): Promise<Subject>;
  /** Output fields that are secret inputs handed back (the engine keeps them secret): left out of the scan. */
  secretOutputs?: string[];
  /** Simulated ms the world needs to carry out what any step started (resume mode 'settled'). */
  settleMs: number;
  /**
   * Boundaries where the resumed run refuses by design instead of converging, with the check of that refusal
   * (the one place such cases are marked); undefined: it must converge.
   */
  refusal?(b: Boundary, steps: Step[]): ((subject: Subject, error: Error) => Promise<void>) | undefined;
}

export interface Report {
  steps: Step[];
  boundaries: Boundary[];
  failures: string[];
}

/**
 * Records `op` fault-free, then runs every boundary (or those `pick` keeps) in both resume modes, each on a fresh
 * resource. Failures are collected (one line each) so one run shows them all.
 */
export async function crashEveryBoundary(
  rig: Rig,
  op: Operation,
  tally: CrashTally,
  scan: { add(name: string, value: unknown, secretFields?: string[]): unknown },
  pick: (b: Boundary, steps: Step[]) => boolean = () => true,
): Promise<Report> {
  const recording = await op.fresh('rec');
  const from = mark(rig);
  const recorded = await recording.run();
  const steps = stepsSince(rig, from, recording.names);
  const expected = await recording.summary(recorded);
  assert.ok(steps.length > 0, `${op.name}: the fault-free run changed nothing`);
  const all = boundaries(steps);
  const chosen = all.filter((b) => pick(b, steps));
  tally.boundaries.set(op.name, all.length);
  const failures: string[] = [];
  for (const b of chosen) {
    if (modes(b).length === 1) tally.n.singleMode++;
    for (const inFlight of modes(b)) {
      const label = `${op.name} ${b.when} step ${b.step + 1}/${steps.length} (${describeStep(b.at)}), resumed ${inFlight ? 'at once' : 'after the world settled'}`;
      tally.n.cases++;
      if (process.env.CRASH_TRACE) console.log(`        ${new Date().toISOString()} ${label}`);
      tally.n.faults++;
      let s: Subject | undefined;
      const known = knownFailure(op.name, b, inFlight);
      try {
        s = await op.fresh(`${b.step}${b.when[0]}${inFlight ? 'a' : 'b'}`);
        const subject = s;
        const crash = await crashAt(rig, s.engine, () => subject.run(), b, s.names, inFlight);
        scan.add(`${label}: killed run`, crash.outcome);
        // The crash came exactly at the boundary: the killed run made the recorded steps up to it, no more.
        const made = b.step + (b.when === 'after' ? 1 : 0);
        assert.deepEqual(crash.steps.map(key), steps.slice(0, made).map(key), 'steps before the kill');
        if (!inFlight) await settleWorld(rig, op.settleMs);
        const resumed = await resume(rig, () => subject.run(), inFlight);
        if (resumed.operationRunning) tally.n.inFlightSeen++;
        // Errors and outputs; the secret inputs the outputs carry back (as the engine's secrets, stored encrypted)
        // belong there by design (op.secretOutputs), as do the checked inputs of a step.
        if (resumed.result instanceof Error) scan.add(`${label}: resumed`, resumed.result);
        else
          for (const r of resumed.result) scan.add(`${label}: outputs`, r.outputs ?? null, op.secretOutputs);
        const refusal = op.refusal?.(b, steps);
        if (resumed.result instanceof Error) {
          if (!refusal) throw new Error(`did not converge: ${resumed.result.message}`);
          await refusal(s, resumed.result);
        } else {
          assert.ok(!refusal, 'expected the designed refusal, the resumed run went on');
          const got = await s.summary(resumed.result);
          const differ = Object.keys({ ...expected, ...got }).filter(
            (k) => JSON.stringify(got[k]) !== JSON.stringify(expected[k]),
          );
          assert.deepEqual(
            differ.map((k) => `${k}: ${JSON.stringify(got[k])}`),
            differ.map((k) => `${k}: ${JSON.stringify(expected[k])}`),
            `outcome after the resume differs: ${differ.map((k) => `${k} ${JSON.stringify(got[k])} (fault-free: ${JSON.stringify(expected[k])})`).join(', ')}`,
          );
        }
        for (const [call, count] of Object.entries(s.destructive())) {
          tally.max('destructiveMax', count);
          assert.ok(count <= 1, `${call} made ${count} times`);
        }
        for (const [k, v] of (s.surfaces?.() ?? []).entries()) scan.add(`${label}: surface ${k}`, v);
        if (resumed.result instanceof Error) tally.n.refused++;
        else tally.n.converged++;
        if (known && !known.mayPass) {
          failures.push(
            `${label}: marked as a known failure (${known.reason}) but it passed: remove the mark`,
          );
        }
      } catch (err) {
        const message = `${label}: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 400)}`;
        if (known) {
          tally.knownFailures.push(`${message} [known: ${known.reason}]`);
          console.log(`      known failure: ${message}`);
        } else {
          failures.push(message);
          if (process.env.CRASH_TRACE) {
            // The provider's last lines and the ARM requests the stand-in saw last: what the case did.
            const requests = rig.sandbox.arm.requests.entries
              .slice(-20)
              .map((r) => `${r.simAt} ${r.method} ${r.path} ${r.status}${r.fault ? ` (${r.fault})` : ''}`);
            console.log(`        FAILED ${message}\n${[...rig.logs.slice(-12), ...requests].join('\n')}`);
          }
        }
      } finally {
        // A case that failed early may leave its host running: no run may overlap the next case.
        await s?.engine.kill();
        rig.sandbox.clock.speed = 100;
        rig.sandbox.arm.faults.clear();
        rig.sandbox.sqlEndpoints.sqlServer.faults.clear();
        rig.sandbox.sqlEndpoints.managedInstance.faults.clear();
      }
    }
  }
  return { steps, boundaries: chosen, failures };
}

/**
 * The suite's tests, called inside its describe: one per operation (every boundary converges, or with
 * `orRefuses` refuses as designed), then the secret scan over every case and the rig's state files and logs.
 * `rig` is read when the tests run (the rig starts in a before hook).
 */
export function itEveryBoundary(
  rig: () => Rig,
  ops: Operation[],
  tally: CrashTally,
  scan: SecretScan,
  orRefuses = false,
): void {
  for (const op of ops) {
    it(`${op.name}: every boundary converges, resumed at once and (irreversible steps) after the world settled${orRefuses ? ' (or refuses as designed)' : ''}`, async () => {
      const report = await crashEveryBoundary(rig(), op, tally, scan);
      console.log(
        `      ${op.name}: ${report.steps.length} steps (${report.steps.map(describeStep).join('; ')}), ${report.boundaries.length} boundaries`,
      );
      assert.deepEqual(report.failures, []);
    });
  }

  it('no secret in the state files, logs, errors or outputs of any case', () => {
    scan.add('state files and logs', rig().leakSurface());
    scan.assertClean();
  });
}
