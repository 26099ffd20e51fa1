/**
 * The failover route of a cutover, decided once, in the first step of `up`, before the sync switch and the
 * LSN gate (so a refusal costs no downtime):
 * - 'tsqlFailover': ALTER AVAILABILITY GROUP [dag] FAILOVER on SQL Server, possible from SQL Server 2022 CU13
 *   (KB5036432, failover guide), and a failover that keeps the link also needs the managed instance's update
 *   policy to match SQL Server: the SQL Server 2022 policy for SQL Server 2022, the SQL Server 2025 policy for
 *   SQL Server 2025, never Always-up-to-date (update-policy.md, "Managed Instance link").
 * - 'breakLink': ARM DELETE of the link (the only route for SQL Server 2019 and earlier; always possible).
 */
import { MigrationError } from '../errors';
import type { FailoverRoute } from './inputs';
import type { ServerInfo } from './ports';

export type Route = 'breakLink' | 'tsqlFailover';

export interface RouteDecision {
  route: Route;
  /** Why, as the log and the outputs say it. */
  reason: string;
}

/** How preview states the rule of failoverRoute 'auto'. */
export const ROUTE_RULE =
  "T-SQL FAILOVER when SQL Server is 2022 CU13+ (16.0.4125+) and the managed instance's update policy is SQL Server 2022, or SQL Server 2025 (17.x) with the SQL Server 2025 policy; otherwise (SQL Server 2019 or earlier, Always-up-to-date, a policy ARM does not report, another version) break the link (ARM DELETE); decided from the server version and ARM databaseFormat before the sync switch";

const CU13_BUILD = 4125;

function versionParts(info: ServerInfo): { major: number; build: number } {
  const [major = 0, , build = 0] = info.productVersion.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return { major, build };
}

/** SQL Server 2022 CU13 (16.0.4125) and later 2022 builds, and SQL Server 2025 (17.x), fail over with T-SQL. */
export function supportsTsqlFailover(info: ServerInfo): boolean {
  const { major, build } = versionParts(info);
  return (major === 16 && build >= CU13_BUILD) || major === 17;
}

/** The update policy (ARM databaseFormat) a failover that keeps the link needs for this SQL Server. */
export function requiredUpdatePolicy(info: ServerInfo): 'SQLServer2022' | 'SQLServer2025' | undefined {
  const { major } = versionParts(info);
  return major === 16 ? 'SQLServer2022' : major === 17 ? 'SQLServer2025' : undefined;
}

const versionText = (info: ServerInfo) =>
  `${info.productVersion}${info.productUpdateLevel ? ` ${info.productUpdateLevel}` : ''}`;

export function chooseRoute(
  requested: FailoverRoute,
  info: ServerInfo,
  databaseFormat: string | undefined,
): RouteDecision {
  if (requested === 'breakLink') return { route: 'breakLink', reason: "failoverRoute is 'breakLink'" };
  const capable = supportsTsqlFailover(info);
  const needed = requiredUpdatePolicy(info);
  const policyOk = needed !== undefined && databaseFormat?.toLowerCase() === needed.toLowerCase();
  const policyText = databaseFormat ? `'${databaseFormat}'` : 'not reported by ARM';
  if (requested === 'tsqlFailover') {
    if (!capable) {
      throw new MigrationError(
        'FailoverRouteUnsupported',
        `failoverRoute 'tsqlFailover' needs SQL Server 2022 CU13 (16.0.4125) or later, or SQL Server 2025; this SQL Server is ${versionText(info)}.`,
        { hint: "set failoverRoute to 'breakLink' (or 'auto'), or update SQL Server" },
      );
    }
    if (!policyOk) {
      throw new MigrationError(
        'FailoverRouteUnsupported',
        `failoverRoute 'tsqlFailover' keeps the link and needs the managed instance's update policy ${needed} (databaseFormat) for SQL Server ${versionText(info)}; the instance's update policy is ${policyText}.`,
        {
          hint: "set failoverRoute to 'breakLink' (or 'auto', which then breaks the link); an instance on Always-up-to-date cannot go back to a SQL Server policy",
        },
      );
    }
    return {
      route: 'tsqlFailover',
      reason: `SQL Server ${versionText(info)} with update policy ${databaseFormat}`,
    };
  }
  if (!capable) {
    return {
      route: 'breakLink',
      reason: `SQL Server ${versionText(info)} cannot fail the link over with T-SQL`,
    };
  }
  if (!policyOk) {
    return {
      route: 'breakLink',
      reason: `the managed instance's update policy is ${policyText}; a failover that keeps the link needs ${needed} for SQL Server ${versionText(info)}`,
    };
  }
  return {
    route: 'tsqlFailover',
    reason: `SQL Server ${versionText(info)} with the matching update policy ${databaseFormat}`,
  };
}
