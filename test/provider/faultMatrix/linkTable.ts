/**
 * The link's side of the fault matrix (link.test.ts): its operations, its ARM steps (the ARM faults are table.ts's),
 * its SQL steps by statement shape with the SQL faults that play the issue's kinds on a TDS session, and what
 * counts as a destructive call. The shapes are read from a fault-free run; the suite fails when an operation
 * sends a shape this table does not list, or stops sending one it lists.
 */
import type { RequestRecord } from '../../../sandbox/arm/requestLog';
import type { Sandbox } from '../../../sandbox/index';
import { SQL_ERRORS, type SqlFaultSpec } from '../../../sandbox/sql/faults';
import type { LinkNames } from '../rig';
import type { ArmStep } from './table';

export type Op = 'attach' | 'sync' | 'cutover tsqlFailover' | 'cutover breakLink' | 'cleanup';
export const OPS: Op[] = ['attach', 'sync', 'cutover tsqlFailover', 'cutover breakLink', 'cleanup'];

const MI = String.raw`managedInstances\/[^/]+`;
export const DAG = (dag: string) => String.raw`${MI}\/distributedAvailabilityGroups\/${dag}`;
/** The status URLs of the link's operations (sandbox/arm/lro.ts): they name no link, so a fault on them runs alone. */
const OPERATION = String.raw`locations\/[^/]+\/distributedAvailabilityGroups(AzureAsyncOperation|OperationResults)\/`;

function step(
  op: Op,
  method: string,
  shape: string,
  path: (dag: string) => string,
  own: boolean,
  writes = false,
): ArmStep {
  return {
    op,
    method,
    shape,
    path: (dag: string) => new RegExp(path(dag), 'i'),
    own,
    startsOperation: writes,
  };
}

const DAG_SHAPE = 'managedInstances/{mi}/distributedAvailabilityGroups/{dag}';
const getMi = (op: Op) => step(op, 'GET', 'GET managedInstances/{mi}', () => `${MI}$`, false);
const getDag = (op: Op) => step(op, 'GET', `GET ${DAG_SHAPE}`, (d) => `${DAG(d)}$`, true);
const patchDag = (op: Op) => step(op, 'PATCH', `PATCH ${DAG_SHAPE}`, (d) => `${DAG(d)}$`, true, true);
const deleteDag = (op: Op) => step(op, 'DELETE', `DELETE ${DAG_SHAPE}`, (d) => `${DAG(d)}$`, true, true);
const pollOperation = (op: Op) =>
  step(
    op,
    'GET',
    'GET locations/{loc}/distributedAvailabilityGroupsAzureAsyncOperation/{id}',
    () => OPERATION,
    false,
  );

/** Every ARM request each operation sends (a fault-free run, read from the ARM stand-in's log). */
export const ARM_STEPS: ArmStep[] = [
  getMi('attach'),
  getDag('attach'),
  getMi('sync'),
  getDag('sync'),
  patchDag('sync'),
  pollOperation('sync'),
  getMi('cutover tsqlFailover'),
  getDag('cutover tsqlFailover'),
  deleteDag('cutover tsqlFailover'),
  pollOperation('cutover tsqlFailover'),
  getMi('cutover breakLink'),
  getDag('cutover breakLink'),
  deleteDag('cutover breakLink'),
  pollOperation('cutover breakLink'),
  // The cleanup reads no instance: its waits read SQL, its removal the link.
  getDag('cleanup'),
  deleteDag('cleanup'),
  pollOperation('cleanup'),
];

export type Side = 'sqlServer' | 'managedInstance';

export interface SqlStep {
  op: Op;
  side: Side;
  /** The SQL stand-in's name for the statement (sandbox/sql/catalog.ts). */
  statement: string;
  /** It changes the world (catalog.ts `changes`). */
  changes: boolean;
  /**
   * The statement's text names the link's objects ([dag] or [ag]): its fault can be scoped to one case's link,
   * so those cases run side by side. Reads take the names as parameters: their cases run alone.
   */
  own?: (names: LinkNames) => RegExp;
  /** The parameters that name one case's link, for reads (sandbox/sql/faults.ts `params`): side by side too. */
  params?: (names: LinkNames) => Record<string, string>;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Statements that change state, each scoped to one link by its text. */
const OWN: Record<string, (names: LinkNames) => RegExp> = {
  alterDagMode: (n) =>
    new RegExp(`^ALTER AVAILABILITY GROUP \\[${escape(n.dag)}\\][\\s\\S]*AVAILABILITY_MODE`, 'i'),
  failoverDag: (n) => new RegExp(`\\[${escape(n.dag)}\\] FAILOVER`, 'i'),
  dropAvailabilityGroup: (n) =>
    new RegExp(`^DROP AVAILABILITY GROUP \\[(${escape(n.dag)}|${escape(n.ag)})\\]`, 'i'),
};

/** Reads whose parameters name the link's objects (catalog.ts): dagReplicas and sqlServerLsns @dag, … */
const PARAMS: Record<string, (names: LinkNames) => Record<string, string>> = {
  dagReplicas: (n) => ({ dag: n.dag }),
  sqlServerLsns: (n) => ({ dag: n.dag }),
  databaseState: (n) => ({ db: n.db }),
  firstFullBackupOnMi: (n) => ({ db: n.db }),
  // The cleanup looks up the DAG, then the AG: the fault hits the DAG's lookup.
  availabilityGroupByName: (n) => ({ name: n.dag }),
  availabilityGroupUsage: (n) => ({ ag: n.ag }),
};

/** Its cases can run side by side: its fault is scoped to one case's link. */
export const scoped = (s: SqlStep) => s.own !== undefined || s.params !== undefined;

export const sqlShape = (s: Pick<SqlStep, 'side' | 'statement'>) => `${s.side} ${s.statement}`;

/** A SQL fault kind, as the issue's kinds play on a TDS session (sandbox/sql/faults.ts). */
export interface SqlFault {
  name: string;
  spec(step: SqlStep, names: LinkNames, deadlineMs: number): SqlFaultSpec;
}

const on = (s: SqlStep, names: LinkNames): Pick<SqlFaultSpec, 'statement' | 'params'> => ({
  statement: s.own ? s.own(names) : s.statement,
  params: s.params?.(names),
});

export const SQL_FAULTS: readonly SqlFault[] = [
  // The transient answer that asks to rerun (the SQL side of a 429): the deadlock victim, once.
  { name: 'deadlock', spec: (s, n) => ({ kind: 'error', ...on(s, n), error: SQL_ERRORS.deadlock }) },
  // A burst: three lock timeouts (1222, transient) in a row.
  {
    name: '1222 burst',
    spec: (s, n) => ({ kind: 'error', ...on(s, n), error: SQL_ERRORS.lockTimeout, times: 3 }),
  },
  // A severity-20 session kill before the statement acts (Msg 596, then Msg 0 level 20: the session ends).
  { name: 'kill', spec: (s, n) => ({ kind: 'kill', ...on(s, n) }) },
  // Slow: answered (and acted on) only after the operation's deadline has passed.
  {
    name: 'slow',
    spec: (s, n, deadlineMs) => ({ kind: 'slow', ...on(s, n), delayMs: deadlineMs + 1_000 }),
  },
  { name: 'stall', spec: (s, n) => ({ kind: 'stall', ...on(s, n) }) },
  // Dropped before acting: the connection reset without an answer (10054).
  { name: 'drop', spec: (s, n) => ({ kind: 'drop', ...on(s, n) }) },
  // Lost answer after acting: the statement ran, then the connection was reset.
  { name: 'lost', spec: (s, n) => ({ kind: 'drop', when: 'after', ...on(s, n) }) },
];

/** Why a SQL case is skipped, or undefined when it runs. */
export function sqlSkipRule(step: SqlStep, fault: SqlFault): string | undefined {
  if (fault.name === 'lost' && !step.changes)
    return 'a lost answer after acting differs from a drop only for a statement that changes state';
  return undefined;
}

export interface SqlCase {
  step: SqlStep;
  fault: SqlFault;
  skipped?: string;
  title: string;
}

export function sqlCases(steps: readonly SqlStep[]): SqlCase[] {
  return steps.flatMap((step) =>
    SQL_FAULTS.map((fault) => ({
      step,
      fault,
      skipped: sqlSkipRule(step, fault),
      title: `${step.op}: SQL ${sqlShape(step)} × ${fault.name}`,
    })),
  );
}

const sql = (op: Op, side: Side, statement: string, changes = false): SqlStep => ({
  op,
  side,
  statement,
  changes,
  own: OWN[statement],
  params: PARAMS[statement],
});

/** Every SQL statement each operation sends, by the SQL stand-in's name for it (a fault-free run). */
export const SQL_STEPS: SqlStep[] = [
  // attach: the link on SQL Server, and the LSNs of both sides for the outputs.
  sql('attach', 'sqlServer', 'dagReplicas'),
  sql('attach', 'sqlServer', 'sqlServerLsns'),
  sql('attach', 'managedInstance', 'managedInstanceLsns'),
  // sync switch: the ALTER on SQL Server, verified by DMV.
  sql('sync', 'sqlServer', 'dagReplicas'),
  sql('sync', 'sqlServer', 'alterDagMode', true),
  sql('sync', 'sqlServer', 'sqlServerLsns'),
  sql('sync', 'managedInstance', 'managedInstanceLsns'),
  // cutover: the version (route), the LSN gate (its MI reading carries the instance's clock), the FAILOVER (T-SQL route), read-write.
  ...(['cutover tsqlFailover', 'cutover breakLink'] as const).flatMap((op) => [
    sql(op, 'sqlServer', 'serverInfo'),
    sql(op, 'sqlServer', 'dagReplicas'),
    sql(op, 'sqlServer', 'sqlServerLsns'),
    sql(op, 'managedInstance', 'managedInstanceLsns'),
    sql(op, 'managedInstance', 'databaseState'),
  ]),
  sql('cutover tsqlFailover', 'sqlServer', 'failoverDag', true),
  // cleanup: the first full backup on the instance, then the DAG and the AG on SQL Server (one usage query).
  sql('cleanup', 'managedInstance', 'firstFullBackupOnMi'),
  sql('cleanup', 'sqlServer', 'availabilityGroupByName'),
  sql('cleanup', 'sqlServer', 'availabilityGroupUsage'),
  sql('cleanup', 'sqlServer', 'dropAvailabilityGroup', true),
];

/** The link's destructive or irreversible calls since `from`, each to be acted on at most once per case. */
export function destructive(
  sb: Sandbox,
  names: LinkNames,
  from: { arm: number; sql: number },
  reportedFailed?: number,
) {
  const arm = sb.arm.requests.filter().filter((r) => r.seq > from.arm);
  // Accepted, or may have acted (a lost or slow answer). Not the write whose operation the service reported
  // Failed (fault lroFailed): the service's word is that it did not act, and a repeat is what it asks for
  // ("Please retry the operation", arm/routes/dag.ts).
  const acted = (r: RequestRecord) =>
    r.seq !== reportedFailed &&
    (r.fault === 'lost' ||
      r.fault === 'slow' ||
      (r.fault === undefined && r.status >= 200 && r.status < 300));
  const dag = new RegExp(`${DAG(names.dag)}$`, 'i');
  const failover = new RegExp(`${DAG(names.dag)}/failover$`, 'i');
  const sql = sb.sqlEndpoints.sqlServer.applied().slice(from.sql);
  const sent = {
    'ARM DELETE link': arm.filter((r) => r.method === 'DELETE' && dag.test(r.path)),
    'ARM POST failover': arm.filter((r) => r.method === 'POST' && failover.test(r.path)),
  };
  return {
    counts: {
      'ARM DELETE link': sent['ARM DELETE link'].filter(acted).length,
      'ARM POST failover': sent['ARM POST failover'].filter(acted).length,
      'T-SQL FAILOVER': sql.filter((e) => e.sql.includes(`[${names.dag}] FAILOVER`)).length,
      'DROP DAG': sql.filter((e) => e.sql.startsWith(`DROP AVAILABILITY GROUP [${names.dag}]`)).length,
      'DROP AG': sql.filter((e) => e.sql.startsWith(`DROP AVAILABILITY GROUP [${names.ag}]`)).length,
    },
    sent: sent['ARM DELETE link'].length + sent['ARM POST failover'].length,
    /** The ARM ones as the stand-in logged them, for the failure message. */
    log: [...sent['ARM DELETE link'], ...sent['ARM POST failover']].map(
      (r) =>
        `${r.method} ${r.status}${r.fault ? ` ${r.fault}` : ''}${r.unsentStatus ? ` (unsent ${r.unsentStatus})` : ''}`,
    ),
  };
}
