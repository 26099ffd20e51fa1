/**
 * The fault matrix of issue 8, as two tables and the rule that crosses them:
 * - STEPS: every ARM request shape (and, for the link, SQL statement shape) an operation really sends, as read
 *   from the stand-ins' logs of a fault-free run (bench/requests.ts lists the same per operation). The suites
 *   fail when an operation sends a shape its table does not list, or stops sending one it lists.
 * - FAULTS: the seven kinds of the issue (429 with Retry-After, a 500 and a 503 burst, slow past the deadline,
 *   stalled, dropped before acting, lost answer after acting, LRO Failed), as the sandbox's fault kinds.
 * A case is one step × one fault; cases that cannot happen are skipped by rule (named here) and counted.
 */
import type { FaultSpec } from '../../../sandbox/arm/faults';
import { Tally } from '../../support/tally';

export type ArmFaultName =
  '429' | '500 burst' | '503 burst' | 'slow' | 'stall' | 'drop' | 'lost' | 'lroFailed';

export interface ArmStep {
  /** The operation that sends it (a key of the suite's operations). */
  op: string;
  /** As sandbox/cutoverReport.ts armShape() writes it. */
  shape: string;
  method: string;
  /** The path this case's fault matches: db-specific where the path names the database. */
  path: (db: string) => RegExp;
  /** False when the path does not name the database: the case runs alone (its fault would hit other cases). */
  own: boolean;
  /** A write that starts an operation (lroFailed applies). */
  startsOperation?: boolean;
}

/** The poll interval of every matrix case (both resources). */
export const POLL_MS = 100;
/**
 * Every deadline input of a matrix case (LRS start/restore/complete; the link's ARM operations, LSN gate and
 * first full backup): one value, so a slow or stalled answer outlasts each.
 */
export const DEADLINE_MS = 4_000;

/** The error code an injected failed operation ends with: no provider knows it, so seeing it proves it is carried. */
export const INJECTED_LRO_CODE = 'MatrixInjectedOperationFailure';

export interface ArmFault {
  name: ArmFaultName;
  /** The spec for a step; `deadlineMs` is the operation's deadline (slow and stall outlast it). */
  spec(step: ArmStep, db: string, deadlineMs: number): FaultSpec;
}

export const ARM_FAULTS: readonly ArmFault[] = [
  // One throttled answer asking for 1 s (arm/faults.ts: 429 carries Retry-After).
  {
    name: '429',
    spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: '429', retryAfterSeconds: 1 }),
  },
  // A burst: three answers in a row, more than one retry has to ride out.
  {
    name: '500 burst',
    spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: '500', times: 3 }),
  },
  {
    name: '503 burst',
    spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: '503', times: 3 }),
  },
  // Slow: answered (and acted on) only after the operation's deadline has passed.
  {
    name: 'slow',
    spec: (s, db, deadlineMs) => ({
      method: s.method,
      pathPattern: s.path(db),
      kind: 'slow',
      delayMs: deadlineMs + 1_000,
    }),
  },
  { name: 'stall', spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: 'stall' }) },
  { name: 'drop', spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: 'drop' }) },
  { name: 'lost', spec: (s, db) => ({ method: s.method, pathPattern: s.path(db), kind: 'lost' }) },
  {
    name: 'lroFailed',
    spec: (s, db) => ({
      method: s.method,
      pathPattern: s.path(db),
      kind: 'lroFailed',
      errorCode: INJECTED_LRO_CODE,
    }),
  },
];

/** Why a case is skipped, or undefined when it runs. The only rules: each names what cannot happen. */
export function skipRule(step: ArmStep, fault: ArmFault): string | undefined {
  if (fault.name === 'lroFailed' && !step.startsOperation)
    return 'LRO Failed needs a write that starts an operation';
  return undefined;
}

export interface Case {
  step: ArmStep;
  fault: ArmFault;
  /** Set when skipped by rule. */
  skipped?: string;
  title: string;
}

export function cases(steps: readonly ArmStep[], faults: readonly ArmFault[] = ARM_FAULTS): Case[] {
  return steps.flatMap((step) =>
    faults.map((fault) => ({
      step,
      fault,
      skipped: skipRule(step, fault),
      title: `${step.op}: ${step.shape} × ${fault.name}`,
    })),
  );
}

/**
 * Cases that fail for a known reason, in this one place (case title → why). They still run: a known failure
 * that passes fails the suite, so the entry is removed when the provider changes.
 */
export const KNOWN_FAILURES: Record<string, string> = {
  // LogReplayMigration: none at present. The last one (a restoreDetails 500 burst during a stop kept and forgot
  // the database) was fixed: the stop reads its start operation and, while it is InProgress, reads the details again.
  // The link (link.test.ts): none at present. The last four (the removal in progress not visible: a lost or Failed
  // DELETE, a slow FAILOVER leaving the DELETE no time) converge since a DELETE whose answer was lost watches the link
  // for its removal (azure/dag.ts) and a failed cutover records the calls it sent in its partial-failure outputs, so
  // the next run follows them before any gate or call (core/link/cutover.ts sentCallEnded).
};

/**
 * Known failures whose outcome depends on a timing the suites do not pin (said in their reason): whether the
 * next run's first reading comes before or after the link's removal ends (15 s simulated, 150 ms at speed 100).
 * A pass is accepted too; each still runs.
 */
export const MAY_PASS = new Set<string>([]);

const MATRIX_COUNTERS = [
  'run',
  'skipped',
  'succeeded',
  'typedErrors',
  'finalFailures',
  'knownFailures',
  'destructiveMax',
  'destructiveSentMax',
  'faultsHit',
  'worstOverDeadlineMs',
] as const;

/**
 * What the suite prints at the end. finalFailures: cases whose operation the service reported Failed (the next run
 * repeats the typed error); destructiveSentMax: destructive requests sent per case, refused repeats included.
 */
export class MatrixTally extends Tally<(typeof MATRIX_COUNTERS)[number]> {
  constructor() {
    super(MATRIX_COUNTERS, { worstOverDeadlineMs: -Infinity });
  }

  /** Counts one case that ran: its faults hit, its outcome, its destructive calls (acted, sent), its lateness. */
  ranCase(c: { hits: number; failed: boolean; destructive: number; sent: number; overMs: number }): void {
    this.n.run++;
    this.n.faultsHit += c.hits;
    if (c.failed) this.n.typedErrors++;
    else this.n.succeeded++;
    this.max('destructiveMax', c.destructive);
    this.max('destructiveSentMax', c.sent);
    this.max('worstOverDeadlineMs', c.overMs);
  }

  line(name: string): string {
    const n = this.n;
    return (
      `fault matrix ${name}: ${n.run} cases run, ${n.skipped} skipped by rule, ` +
      `${n.succeeded} succeeded after retry, ${n.typedErrors} typed errors, ${n.faultsHit} faults hit, ` +
      `${n.finalFailures} of them final (service reported Failed), ${n.knownFailures} known failures, ` +
      `destructive calls max ${n.destructiveMax} per case (${n.destructiveSentMax} sent, refused repeats included), ` +
      `worst elapsed ${Math.round(n.worstOverDeadlineMs)} ms past the deadline`
    );
  }
}

/**
 * Machine load allowance on elapsed-time bounds: CI is a busy 2-core machine shared by several suites, and
 * one case's requests queue behind the others' (the matrix runs cases side by side).
 */
export const LOAD_ALLOWANCE_MS = 4_000;
