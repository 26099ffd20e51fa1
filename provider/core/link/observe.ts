/** The link workflow's context and its observation of the link on both sides (ARM and SQL Server's DAG). */
import type { Clock } from '../clock';
import { MigrationError } from '../errors';
import type { Waiter } from '../../runtime/waiter';
import { type Watch, watchFor, watchWindowMs } from '../watch';
import type { ReadyLink, ReplicationMode } from './inputs';
import type {
  AvailabilityMode,
  InstanceView,
  LinkArmPort,
  LinkView,
  ManagedInstanceSqlPort,
  ReplicaRow,
  SqlServerPort,
} from './ports';

export interface LinkContext {
  arm: LinkArmPort;
  sql: SqlServerPort;
  mi: ManagedInstanceSqlPort;
  clock: Clock;
  log: (line: string) => void;
  wait: Waiter;
}

export const SYNC: AvailabilityMode = 'SYNCHRONOUS_COMMIT';
export const ASYNC: AvailabilityMode = 'ASYNCHRONOUS_COMMIT';
export const modeOf = (m: ReplicationMode): AvailabilityMode => (m === 'Sync' ? SYNC : ASYNC);
export const eq = (a: string | undefined, b: string) =>
  a !== undefined && a.toLowerCase() === b.toLowerCase();

export const isBusinessCritical = (instance: InstanceView) => /business ?critical/i.test(instance.tier ?? '');

export interface LinkObservation {
  link?: LinkView;
  replicas: ReplicaRow[];
  /** The managed instance's member of the DAG, as SQL Server's definition names it. */
  managedInstanceAg?: string;
  /** SQL Server's own role in the DAG (its replica row), when SQL Server has the DAG. */
  sqlServerRole?: string;
  sqlServerMode?: string;
  managedInstanceMode?: string;
}

export async function observeLink(i: ReadyLink, ctx: LinkContext): Promise<LinkObservation> {
  const [link, replicas] = await Promise.all([ctx.arm.getLink(), ctx.sql.dagReplicas(i.linkName)]);
  return observationOf(i, link, replicas);
}

/**
 * The observation after a cutover or cleanup: the link as its last reading showed it (undefined: its removal
 * verified by a GET answering 404; issue 9: not read again), SQL Server's replicas read now (the failover
 * changed SQL Server's role, which no earlier reading shows).
 */
export async function observeAfter(
  i: ReadyLink,
  ctx: LinkContext,
  link: LinkView | undefined,
): Promise<LinkObservation> {
  return observationOf(i, link, await ctx.sql.dagReplicas(i.linkName));
}

function observationOf(i: ReadyLink, link: LinkView | undefined, replicas: ReplicaRow[]): LinkObservation {
  const own = replicas.find((r) => eq(r.replicaServerName, i.sqlServerAvailabilityGroupName));
  const other = replicas.find((r) => !eq(r.replicaServerName, i.sqlServerAvailabilityGroupName));
  // SQL Server's definition names the member the ALTER must use: older links name the managed instance itself,
  // newer ones its AG (issue 7 point 12); the input and ARM are fallbacks when SQL Server has no DAG.
  const managedInstanceAg =
    other?.replicaServerName ?? i.managedInstanceAvailabilityGroupName ?? link?.instanceAvailabilityGroupName;
  const modes = [...new Set(replicas.map((r) => r.availabilityMode))];
  return {
    link,
    replicas,
    managedInstanceAg,
    sqlServerRole: own?.role,
    sqlServerMode: modes.length === 1 ? modes[0] : modes.length ? modes.join('/') : undefined,
    managedInstanceMode: link?.replicationMode,
  };
}

export const isReadWrite = (s: { state: string; readOnly: boolean } | undefined) =>
  s !== undefined && eq(s.state, 'ONLINE') && !s.readOnly;

export const cutOver = (o: LinkObservation) => !o.link || eq(o.link.instanceLinkRole, 'Primary');

export function linkMissing(i: ReadyLink, o: LinkObservation): MigrationError | undefined {
  if (!o.link) {
    return new MigrationError(
      'LinkNotFound',
      `The link ${i.linkName} does not exist on the managed instance.`,
      {
        hint: 'create the link first (SSMS wizard, PowerShell New-AzSqlInstanceLink or az sql mi link create); this resource attaches to an existing link',
      },
    );
  }
  if (o.replicas.length === 0) {
    return new MigrationError(
      'LinkNotFoundOnSqlServer',
      `SQL Server has no distributed availability group named ${i.linkName}.`,
      {
        hint: 'check linkName and the sqlServer connection (it must point at the primary replica)',
      },
    );
  }
  return undefined;
}

export async function allReadWrite(i: ReadyLink, ctx: LinkContext): Promise<boolean> {
  const states = await Promise.all(i.databaseNames.map((d) => ctx.mi.databaseState(d)));
  return states.every(isReadWrite);
}

/**
 * Watches the link for a call that may be in flight (core/watch.ts: the window and its sources) until `ended`
 * holds (true) or the window is over (false: the link looks as before).
 */
export function watchLink(
  i: ReadyLink,
  ctx: LinkContext,
  what: string,
  ended: (l: LinkView | undefined) => boolean,
  options: Pick<Watch<LinkView | undefined>, 'first' | 'cadence'> = {},
): Promise<boolean> {
  return watchFor(ctx.wait, {
    ...options,
    what,
    poll: () => ctx.arm.getLink(),
    ended,
    describe: (l) => (l ? `link ${l.instanceLinkRole ?? 'present'}` : 'link removed'),
    waiting: 'the link looks as before',
    until: ctx.clock.now() + watchWindowMs(i.operationDeadlineInMs),
    intervalMs: i.pollIntervalInMs,
    clock: ctx.clock,
  });
}
