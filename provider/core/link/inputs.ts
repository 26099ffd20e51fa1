import {
  createOnlyFailures,
  type Failure,
  InputReader,
  type Warning,
  normalizeManagedInstance,
  readManagedInstance,
} from '../inputs';
import { checkDatabaseName, checkSqlName } from '../names';
import { shown } from '../shown';
import { isUnknown } from '../unknown';

const KIND = 'DistributedAvailabilityGroupLink';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
/** The stability window must span at least this many LSN readings unless allowShortStabilityWindow. */
export const SHORT_WINDOW_READINGS = 3;

export type ReplicationMode = 'Async' | 'Sync';
export type FailoverRoute = 'auto' | 'breakLink' | 'tsqlFailover';
export type Cleanup = 'none' | 'link' | 'linkAndAvailabilityGroup';
export type BeforeCutoverDelete = 'refuse' | 'forget' | 'breakLink';
/** What a forced failover to the managed instance does to SQL Server, which stays primary and writable. */
export type AfterForcedFailover = 'setSqlServerSecondary' | 'leaveSqlServerPrimary';
export type SqlAuthentication = 'sql' | 'ntlm' | 'entra';

export interface SqlConnection {
  server: string;
  port?: number;
  authentication: SqlAuthentication;
  userName?: string;
  password?: string;
  domain?: string;
  encrypt: boolean | 'strict';
  trustServerCertificate: boolean;
  /** PEM of a CA to trust for this server (private CA). */
  caCertificate?: string;
  connectTimeoutInMs: number;
}

export interface LinkInputs {
  managedInstanceId?: string;
  linkName?: string;
  sqlServerAvailabilityGroupName?: string;
  managedInstanceAvailabilityGroupName?: string;
  databaseNames?: string[];
  sqlServer?: SqlConnection;
  managedInstanceSql?: SqlConnection;
  replicationMode?: ReplicationMode;
  cutover?: boolean;
  switchToSyncForCutover?: boolean;
  lsnStabilityWindowInMs: number;
  lsnPollIntervalInMs: number;
  lsnDeadlineInMs: number;
  failoverRoute?: FailoverRoute;
  allowDataLoss?: boolean;
  /** Required with allowDataLoss unless failoverRoute is 'breakLink': how the split brain ends. */
  afterForcedFailover?: AfterForcedFailover;
  /** Keep the link after the failover (for failback); by default the cutover removes it. */
  keepLinkAfterFailover?: boolean;
  /** Accept a stability window shorter than three LSN poll intervals (a weaker "workload stopped" proof). */
  allowShortStabilityWindow?: boolean;
  cleanup?: Cleanup;
  /** Run the cleanup during up right after the cutover (otherwise destroy runs it). */
  cleanupAfterCutover?: boolean;
  firstBackupDeadlineInMs: number;
  beforeCutoverDelete?: BeforeCutoverDelete;
  operationDeadlineInMs: number;
  pollIntervalInMs: number;
  armEndpoint?: string;
}

export type ReadyLink = LinkInputs & {
  managedInstanceId: string;
  linkName: string;
  sqlServerAvailabilityGroupName: string;
  databaseNames: string[];
  sqlServer: SqlConnection;
  managedInstanceSql: SqlConnection;
};

export const LINK_CREATE_ONLY = [
  'managedInstanceId',
  'linkName',
  'sqlServerAvailabilityGroupName',
  'databaseNames',
];
export const SECRET_INPUTS = ['sqlServer', 'managedInstanceSql'];

export interface CheckedLink {
  inputs: LinkInputs;
  normalized: Record<string, unknown>;
  failures: Failure[];
  /** Fields that are no input of this resource (typos): check reports them, stored outputs are not checked. */
  unexpected: Failure[];
  warnings: Warning[];
}

export function checkLinkInputs(olds: Record<string, unknown>, news: Record<string, unknown>): CheckedLink {
  // The connections are secrets as a whole: a failure says what kind of value came, never the value.
  const r = new InputReader(news, { secrets: SECRET_INPUTS });
  const managedInstanceId = readManagedInstance(r);
  const name = (field: string, required?: string) => {
    const v = r.string(field, required ? { required } : {});
    if (v) for (const e of checkSqlName(v)) r.fail(field, e);
    return v;
  };
  const linkName = name('linkName', 'give the name of the link (the distributed availability group)');
  const sqlServerAvailabilityGroupName = name(
    'sqlServerAvailabilityGroupName',
    'give the availability group on SQL Server that the link replicates',
  );
  const managedInstanceAvailabilityGroupName = name('managedInstanceAvailabilityGroupName');
  const databaseNames = r.stringArray('databaseNames', {
    required: 'list the databases the link replicates',
    what: 'database names',
  });
  if (databaseNames) {
    if (databaseNames.length === 0)
      r.fail('databaseNames', 'must name at least one database: list the databases the link replicates');
    const seen = new Set<string>();
    for (const d of databaseNames) {
      if (isUnknown(d)) continue;
      for (const e of checkDatabaseName(d)) r.fail('databaseNames', `entry ${shown(d)}: ${e}`);
      if (seen.has(d.toLowerCase()))
        r.fail('databaseNames', `lists ${shown(d)} twice: list each database once`);
      seen.add(d.toLowerCase());
    }
    if (databaseNames.length > 8) {
      r.warn(
        'databaseNames',
        `${databaseNames.length} databases in one link: Microsoft recommends at most 8 per wave`,
      );
    }
  }
  const sqlServer = readConnection(r, news, 'sqlServer', false);
  const managedInstanceSql = readConnection(r, news, 'managedInstanceSql', true);
  const replicationMode = r.oneOf('replicationMode', ['Async', 'Sync'] as const, 'Async');
  const cutover = r.boolean('cutover', false);
  const switchToSyncForCutover = r.boolean('switchToSyncForCutover', false);
  const failoverRoute = r.oneOf('failoverRoute', ['auto', 'breakLink', 'tsqlFailover'] as const, 'auto');
  const allowDataLoss = r.boolean('allowDataLoss', false);
  const afterForcedFailover = r.has('afterForcedFailover')
    ? r.oneOf(
        'afterForcedFailover',
        ['setSqlServerSecondary', 'leaveSqlServerPrimary'] as const,
        'setSqlServerSecondary',
      )
    : undefined;
  const keepLinkAfterFailover = r.boolean('keepLinkAfterFailover', false);
  const allowShortStabilityWindow = r.boolean('allowShortStabilityWindow', false);
  if (
    allowDataLoss &&
    failoverRoute &&
    failoverRoute !== 'breakLink' &&
    !afterForcedFailover &&
    !r.unknown('afterForcedFailover')
  ) {
    r.fail(
      'afterForcedFailover',
      "is required with allowDataLoss: a forced failover (ARM ForcedAllowDataLoss) leaves SQL Server primary and still accepting writes (a split brain, failover guide); set 'setSqlServerSecondary' (run ALTER AVAILABILITY GROUP [<link>] SET (ROLE = SECONDARY) on SQL Server right after it) or 'leaveSqlServerPrimary' (you end it yourself), or set failoverRoute 'breakLink'",
    );
  }
  if (keepLinkAfterFailover && failoverRoute === 'breakLink') {
    r.fail(
      'keepLinkAfterFailover',
      "cannot be true with failoverRoute 'breakLink': breaking the link removes it; use failoverRoute 'auto' or 'tsqlFailover' (SQL Server 2022 CU13+/2025 with a matching update policy)",
    );
  }
  const cleanup = r.oneOf('cleanup', ['none', 'link', 'linkAndAvailabilityGroup'] as const, 'link');
  const cleanupAfterCutover = r.boolean('cleanupAfterCutover', false);
  const beforeCutoverDelete = r.oneOf(
    'beforeCutoverDelete',
    ['refuse', 'forget', 'breakLink'] as const,
    'refuse',
  );
  if (cutover && replicationMode === 'Async' && switchToSyncForCutover === false) {
    r.fail(
      'replicationMode',
      "is 'Async' but cutover needs synchronous commit: set replicationMode to 'Sync' (switch first, the runbook order), or set switchToSyncForCutover: true to switch as part of the cutover",
    );
  }
  if (allowDataLoss) {
    r.warn(
      'allowDataLoss',
      'true: if the LSN gate does not pass before its deadline, the cutover is FORCED and transactions not yet hardened on the managed instance are LOST',
    );
  }
  const lsnStabilityWindowInMs = r.duration('lsnStabilityWindowInMs', 60_000, 0, DAY);
  const lsnPollIntervalInMs = r.duration('lsnPollIntervalInMs', 5_000, 10, 10 * MIN);
  const lsnDeadlineInMs = r.duration('lsnDeadlineInMs', 30 * MIN, 1_000, DAY);
  // Rules that combine fields use only values that were read fine: a wrong window (replaced by its default
  // for planning) must not cause a second, wrong failure on the deadline.
  const lsnTimesUsable = r.usable('lsnStabilityWindowInMs', 'lsnPollIntervalInMs');
  if (lsnTimesUsable && lsnStabilityWindowInMs < SHORT_WINDOW_READINGS * lsnPollIntervalInMs) {
    const span = `${SHORT_WINDOW_READINGS} LSN poll intervals (${SHORT_WINDOW_READINGS * lsnPollIntervalInMs} ms)`;
    if (allowShortStabilityWindow) {
      r.warn(
        'lsnStabilityWindowInMs',
        `is shorter than ${span} and allowShortStabilityWindow is true: the gate may pass before it could see a running workload`,
      );
    } else if (allowShortStabilityWindow === false) {
      r.fail(
        'lsnStabilityWindowInMs',
        `is shorter than ${span}: the gate could pass before it saw whether the workload stopped; raise it (or lower lsnPollIntervalInMs), or set allowShortStabilityWindow: true to accept the weaker gate`,
      );
    }
  }
  if (r.usable('lsnStabilityWindowInMs', 'lsnDeadlineInMs') && lsnDeadlineInMs < lsnStabilityWindowInMs) {
    r.fail(
      'lsnDeadlineInMs',
      `is shorter than lsnStabilityWindowInMs (${lsnDeadlineInMs} < ${lsnStabilityWindowInMs} ms): the gate could never pass; raise lsnDeadlineInMs`,
    );
  }
  const firstBackupDeadlineInMs = r.duration('firstBackupDeadlineInMs', 60 * MIN, 1_000, 7 * DAY);
  const operationDeadlineInMs = r.duration('operationDeadlineInMs', 15 * MIN, 1_000, DAY);
  const pollIntervalInMs = r.duration('pollIntervalInMs', 5_000, 10, 10 * MIN);
  const armEndpoint = r.armEndpoint();
  const inputs: LinkInputs = {
    managedInstanceId,
    linkName,
    sqlServerAvailabilityGroupName,
    managedInstanceAvailabilityGroupName,
    databaseNames,
    sqlServer,
    managedInstanceSql,
    replicationMode,
    cutover,
    switchToSyncForCutover,
    lsnStabilityWindowInMs,
    lsnPollIntervalInMs,
    lsnDeadlineInMs,
    failoverRoute,
    allowDataLoss,
    afterForcedFailover,
    keepLinkAfterFailover,
    allowShortStabilityWindow,
    cleanup,
    cleanupAfterCutover,
    firstBackupDeadlineInMs,
    beforeCutoverDelete,
    operationDeadlineInMs,
    pollIntervalInMs,
    armEndpoint,
  };
  const normalized: Record<string, unknown> = { ...news };
  normalizeManagedInstance(news, normalized, managedInstanceId);
  for (const k of [
    'replicationMode',
    'failoverRoute',
    'cleanup',
    'beforeCutoverDelete',
    'afterForcedFailover',
  ] as const) {
    if (inputs[k] !== undefined && !isUnknown(news[k])) normalized[k] = inputs[k];
  }
  const failures = [...r.failures, ...createOnlyFailures(olds, normalized, LINK_CREATE_ONLY, 'link')];
  if (olds.cutover === true && normalized.cutover === false) {
    failures.push({
      property: 'cutover',
      reason:
        'cutover cannot go back to false: the managed instance took over the databases; fail back with the link tools of SQL Server 2022 outside this resource',
    });
  }
  return { inputs, normalized, failures, unexpected: r.unexpected(KIND), warnings: r.warnings };
}

const CONNECTION_FIELDS = [
  'server',
  'port',
  'authentication',
  'userName',
  'password',
  'domain',
  'encrypt',
  'trustServerCertificate',
  'caCertificate',
  'connectTimeoutInMs',
];

function readConnection(
  r: InputReader,
  _news: Record<string, unknown>,
  field: 'sqlServer' | 'managedInstanceSql',
  managedInstance: boolean,
): SqlConnection | undefined {
  const side = managedInstance ? 'the managed instance' : 'SQL Server';
  const c = r.object(field, {
    required: `give how to connect to ${side}: { server, port?, authentication, userName, password, … }`,
    shape: '{ server, port?, authentication, userName?, password?, … }',
    secrets: ['password'],
  });
  if (!c) return undefined;
  c.declare(...CONNECTION_FIELDS);
  const server = c.string('server', {
    required: `give the host name or address of ${side}${managedInstance ? ' (its private or public endpoint)' : ''}`,
  });
  const authentication = c.oneOf('authentication', ['sql', 'ntlm', 'entra'] as const, 'sql');
  const userName = c.string('userName');
  const password = c.string('password');
  const domain = c.string('domain');
  const port = c.integer(
    'port',
    1,
    65535,
    `give the TCP port ${side} listens on (${managedInstance ? '1433 on the private endpoint, 3342 on the public one' : 'default 1433'}), or leave it out`,
  );
  const encryptRaw = c.value('encrypt');
  const encrypt: boolean | 'strict' =
    encryptRaw === 'strict'
      ? 'strict'
      : encryptRaw === undefined || encryptRaw === null || isUnknown(encryptRaw)
        ? true
        : encryptRaw === true;
  if (
    encryptRaw !== undefined &&
    encryptRaw !== null &&
    encryptRaw !== 'strict' &&
    typeof encryptRaw !== 'boolean' &&
    !isUnknown(encryptRaw)
  ) {
    c.fail('encrypt', `must be true, false or 'strict', got ${shown(encryptRaw)}: leave it out for true`);
  }
  if (managedInstance && encrypt === false)
    c.fail(
      'encrypt',
      'must stay on: Azure SQL Managed Instance requires encrypted connections; remove encrypt: false',
    );
  const trustServerCertificate = c.boolean('trustServerCertificate', false) ?? false;
  const caCertificate = c.string('caCertificate');
  if (caCertificate && !caCertificate.includes('BEGIN CERTIFICATE'))
    c.fail(
      'caCertificate',
      'must be a PEM certificate (-----BEGIN CERTIFICATE----- …): give the CA that issued the server certificate',
    );
  if (authentication === 'sql' || authentication === 'ntlm') {
    if (c.missing('userName'))
      c.fail('userName', `is required with ${authentication} authentication: give the login`);
    if (c.missing('password'))
      c.fail('password', `is required with ${authentication} authentication: give the login's password`);
  }
  if (authentication === 'ntlm' && c.missing('domain'))
    c.fail('domain', 'is required with ntlm authentication: give the Windows domain of the login');
  const connectTimeoutInMs = c.duration('connectTimeoutInMs', 30_000, 1_000, 10 * MIN);
  if (!server || !authentication) return undefined;
  return {
    server,
    port,
    authentication,
    userName,
    password,
    domain,
    encrypt,
    trustServerCertificate,
    caCertificate,
    connectTimeoutInMs,
  };
}
