/**
 * The LSN gate of a cutover: one reading = one query per side for every database of the link (issue 9), SQL
 * Server's figures from its own row (is_local = 1) and what it knows of the managed instance from the remote
 * row (a second witness), the managed instance's from its own local row. Readings come every poll interval
 * and exactly at the end of the stability window, so the gate passes at most one interval after the LSNs
 * settled.
 */
import { MigrationError } from '../errors';
import { describeSamples, LsnGate, type Lsn, type LsnSample } from '../lsn';
import type { ReadyLink } from './inputs';
import type { ManagedInstanceLsnRow, SqlCallOptions, SqlServerLsnRow } from './ports';
import type { LinkContext } from './observe';

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The lowest of the LSNs; unknown when any is unknown (NULL never counts as equal). */
function lowest(values: (Lsn | undefined)[]): Lsn | undefined {
  if (values.length === 0 || values.includes(undefined)) return undefined;
  return (values as Lsn[]).reduce((a, b) => (b < a ? b : a));
}

/** One database's sample from the two sides' rows (rows in any order, possibly of other databases). */
export function sampleOf(
  database: string,
  sqlRows: SqlServerLsnRow[],
  miRows: ManagedInstanceLsnRow[],
): LsnSample {
  const mine = sqlRows.filter((r) => same(r.database, database));
  const locals = mine.filter((r) => r.isLocal);
  const remotes = mine.filter((r) => !r.isLocal);
  // Exactly one local row is SQL Server's own database; anything else is not a reading to trust.
  const local = locals.length === 1 ? locals[0] : undefined;
  const mi = miRows.filter((r) => same(r.database, database) && r.primary !== false);
  const agree = (values: (string | undefined)[]) =>
    values.length > 0 && values.every((v) => v === values[0])
      ? values[0]
      : values.length
        ? 'MIXED'
        : undefined;
  return {
    database,
    sqlServerEndOfLog: local?.endOfLog,
    sqlServerHardened: local?.hardened,
    sqlServerState: local?.syncState,
    witnessHardened: remotes.length ? lowest(remotes.map((r) => r.hardened)) : undefined,
    witnessState: agree(remotes.map((r) => r.syncState)),
    witnessConnected: agree(remotes.map((r) => r.connectedState)),
    // More than one row means several replicas were read: the lowest is the safe one.
    managedInstanceHardened: mi.length ? lowest(mi.map((r) => r.hardened)) : undefined,
  };
}

export interface LsnReading {
  samples: LsnSample[];
  /** The managed instance's own UTC clock when it answered (undefined when it answered no row). */
  managedInstanceUtc?: string;
}

/** One reading: one query per side for every database of the link. */
export async function readLsns(
  i: ReadyLink,
  ctx: LinkContext,
  businessCritical: boolean,
  opts?: SqlCallOptions,
): Promise<LsnReading> {
  const [sqlRows, miRows] = await Promise.all([
    ctx.sql.lsns(i.linkName, opts),
    ctx.mi.lsns(businessCritical, opts),
  ]);
  return {
    samples: i.databaseNames.map((db) => sampleOf(db, sqlRows, miRows)),
    managedInstanceUtc: miRows.find((r) => r.utcNow)?.utcNow,
  };
}

export async function sampleLsns(
  i: ReadyLink,
  ctx: LinkContext,
  businessCritical: boolean,
  opts?: SqlCallOptions,
): Promise<LsnSample[]> {
  return (await readLsns(i, ctx, businessCritical, opts)).samples;
}

export interface GateResult {
  passed: boolean;
  samples: LsnSample[];
  /** The managed instance's clock at the last reading (the gate's last step before the failover call). */
  managedInstanceUtc?: string;
  error?: MigrationError;
}

export async function runGate(
  i: ReadyLink,
  ctx: LinkContext,
  businessCritical: boolean,
): Promise<GateResult> {
  const gate = new LsnGate(i.lsnStabilityWindowInMs, { requireSynchronized: true });
  let last: LsnSample[] = [];
  let managedInstanceUtc: string | undefined;
  let moves = 0;
  try {
    await ctx.wait({
      what: `the LSN gate (${i.databaseNames.join(', ')})`,
      // The gate's deadline bounds each reading: a stalled query ends the gate at its deadline, not later.
      poll: async ({ deadline }) => {
        const reading = await readLsns(i, ctx, businessCritical, { deadline });
        last = reading.samples;
        managedInstanceUtc = reading.managedInstanceUtc;
        const now = ctx.clock.now();
        const state = gate.observe(last, now);
        if (gate.restarted(now)) moves++;
        // The first reading always "moves"; after that, movement in this reading means the workload runs.
        return { samples: last, state, at: now, moving: moves > 1 && gate.restarted(now) };
      },
      judge: (s) =>
        s.state.status === 'passed'
          ? { done: true }
          : {
              done: false,
              waiting: s.moving
                ? `${s.state.reason} (LSNs still moving: is the workload stopped?)`
                : s.state.reason,
              // Downtime: read every interval (no backoff), and exactly when the stability window ends.
              dueAt: s.at + gate.nextReadingInMs(s.state, i.lsnPollIntervalInMs),
            },
      describe: (s) => describeSamples(s.samples),
      deadline: ctx.clock.now() + i.lsnDeadlineInMs,
      intervalMs: i.lsnPollIntervalInMs,
      maxIntervalMs: i.lsnPollIntervalInMs,
    });
    return { passed: true, samples: last, managedInstanceUtc };
  } catch (e) {
    if (!(e instanceof MigrationError) || e.code !== 'Timeout') throw e;
    return {
      passed: false,
      samples: last,
      managedInstanceUtc,
      error: new MigrationError(
        'LsnGateNotPassed',
        `The LSN gate did not pass within ${Math.round(i.lsnDeadlineInMs / 1000)}s: the managed instance has not provably received every transaction.`,
        {
          lastState: describeSamples(last),
          hint: 'stop the workload on SQL Server and make sure the link is connected and synchronous, then run up again; to fail over anyway and accept losing the transactions not hardened on the managed instance, set allowDataLoss: true',
        },
      ),
    };
  }
}
