/**
 * What a cutover cost, as the sandbox saw it: the downtime the tool added beyond the stability window, and
 * the ARM requests, token requests and T-SQL statements it sent. Used by the rehearsal (printed after each
 * cutover) and by bench/.
 *
 * Downtime added = failover call received − the moment the LSNs became equal and stable − the window. The
 * sandbox knows the moment: the workload stopped at `markWorkloadStop` and the managed instance hardens the
 * primary's log `lag.ms` (simulated) later (world/link.ts). Sandbox times are simulated; the provider's
 * window is in real ms, so the difference is converted back to real ms at the clock's speed.
 */
import type { Sandbox } from './index';
import type { RequestRecord } from './arm/requestLog';
import type { ExecutedStatement } from './sql/endpoint';

export interface TrafficMark {
  arm: number;
  sqlServer: number;
  managedInstance: number;
  tokens: number;
}

export interface Traffic {
  arm: RequestRecord[];
  sqlServer: ExecutedStatement[];
  managedInstance: ExecutedStatement[];
  /** Requests to the managed identity token endpoint. */
  tokens: number;
}

/** Where the request and statement logs stand now. */
export function markTraffic(sb: Sandbox): TrafficMark {
  return {
    arm: sb.arm.requests.entries.length,
    sqlServer: sb.sqlEndpoints.sqlServer.executed.length,
    managedInstance: sb.sqlEndpoints.managedInstance.executed.length,
    tokens: sb.arm.server.tokens.requestCount,
  };
}

/** What arrived since `mark`. */
export function trafficSince(sb: Sandbox, mark: TrafficMark): Traffic {
  return {
    arm: sb.arm.requests.entries.slice(mark.arm),
    sqlServer: sb.sqlEndpoints.sqlServer.executed.slice(mark.sqlServer),
    managedInstance: sb.sqlEndpoints.managedInstance.executed.slice(mark.managedInstance),
    tokens: sb.arm.server.tokens.requestCount - mark.tokens,
  };
}

/** `GET managedInstances/{mi}/databases/{db}/restoreDetails/Default`: a request without its names. */
export function armShape(r: Pick<RequestRecord, 'method' | 'path'>): string {
  const p = r.path
    .replace(/^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?\/providers\/Microsoft\.Sql\//i, '')
    .replace(/(managedInstances)\/[^/]+/i, '$1/{mi}')
    .replace(/(\/databases)\/[^/]+/i, '$1/{db}')
    .replace(/(distributedAvailabilityGroups)\/[^/]+/i, '$1/{dag}')
    .replace(/(locations)\/[^/]+/i, '$1/{loc}')
    .replace(/(Operation(?:Results)?|operations)\/[^/]+/gi, '$1/{id}');
  return `${r.method} ${p}`;
}

/** Counts by shape, most frequent first: `3× GET …, 1× PUT …`. */
export function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function describeCounts(counts: [string, number][]): string {
  return counts.map(([k, n]) => `${n}× ${k}`).join(', ');
}

/** Statement names as the SQL stand-in recognised them (the text's first words when it did not). */
export const statementName = (s: ExecutedStatement) =>
  s.statement ?? s.sql.split(/\s+/).slice(0, 3).join(' ');

export interface StopMark {
  /** Simulated time the workload stopped. */
  simMs: number;
  /** Simulated time the LSNs became equal (and stay so): the stop plus the replication delay. */
  stableSimMs: number;
  speed: number;
}

/**
 * Stops the workload of `database` and notes when its LSNs become equal and stable. A fixed LSN backlog
 * (`setLag({ lsn })`) would keep them apart for good: then there is no such moment.
 */
export function markWorkloadStop(sb: Sandbox, database: string): StopMark {
  const simMs = sb.clock.now();
  sb.link.stopWorkload({ database });
  const { lag } = sb.link.snapshot();
  if (lag.lsn !== 0n) throw new Error('with an LSN backlog the LSNs never become equal');
  return { simMs, stableSimMs: simMs + lag.ms, speed: sb.clock.speed };
}

export interface CutoverCost {
  /** How the failover reached the sandbox: `T-SQL … FAILOVER` on SQL Server, or ARM DELETE/POST of the link. */
  failoverVia?: string;
  /** Real ms the failover call came after the LSNs were equal and stable, minus the window. */
  addedDowntimeMs?: number;
  traffic: Traffic;
}

/** The cutover of link `dag` whose traffic began at `mark` and whose workload stopped at `stop`. */
export function cutoverCost(
  sb: Sandbox,
  o: { mark: TrafficMark; stop: StopMark; windowMs: number; dag: string },
): CutoverCost {
  const traffic = trafficSince(sb, o.mark);
  const candidates: { sim: number; via: string }[] = [];
  for (const s of traffic.sqlServer) {
    if (/\bFAILOVER\b/i.test(s.sql) && /^\s*ALTER\s+AVAILABILITY\s+GROUP/i.test(s.sql))
      candidates.push({ sim: s.at, via: 'T-SQL ALTER AVAILABILITY GROUP … FAILOVER' });
  }
  const dag = o.dag.toLowerCase();
  for (const r of traffic.arm) {
    const p = r.path.toLowerCase();
    if (r.method === 'DELETE' && p.endsWith(`/distributedavailabilitygroups/${dag}`))
      candidates.push({ sim: Date.parse(r.simAt), via: 'ARM DELETE of the link' });
    if (r.method === 'POST' && p.endsWith(`/distributedavailabilitygroups/${dag}/failover`))
      candidates.push({ sim: Date.parse(r.simAt), via: 'ARM POST failover' });
  }
  const first = candidates.filter((c) => c.sim >= o.stop.simMs).sort((a, b) => a.sim - b.sim)[0];
  if (!first) return { traffic };
  return {
    failoverVia: first.via,
    addedDowntimeMs: (first.sim - o.stop.stableSimMs) / o.stop.speed - o.windowMs,
    traffic,
  };
}

/** One line for a user: the downtime added and what was sent. */
export function describeCutoverCost(c: CutoverCost, o: { windowMs: number; pollMs: number }): string[] {
  const t = c.traffic;
  const lines = [
    c.addedDowntimeMs === undefined
      ? 'downtime added: no failover call seen'
      : `downtime the tool added beyond the ${o.windowMs} ms window: ${Math.round(c.addedDowntimeMs)} ms (LSN poll interval ${o.pollMs} ms; failover by ${c.failoverVia})`,
    `requests of the cutover: ${t.arm.length} ARM (${describeCounts(countBy(t.arm, armShape))}), ${t.tokens} token`,
    `T-SQL statements: SQL Server ${t.sqlServer.length} (${describeCounts(countBy(t.sqlServer, statementName))}), managed instance ${t.managedInstance.length} (${describeCounts(countBy(t.managedInstance, statementName))})`,
  ];
  return lines;
}
