/**
 * The bad-input table of both resources: each case is one problem in otherwise good inputs, the field the
 * one failure must name, and what the message must say to fix it. `accepted` cases are inputs that must
 * pass check (preview values not known yet, case-insensitive choices).
 */
import { checkLinkInputs } from '../../provider/core/link/inputs';
import { checkLrsInputs } from '../../provider/core/lrs/inputs';
import { UNKNOWN } from '../../provider/core/unknown';

export type Kind = 'lrs' | 'link';
type Props = Record<string, unknown>;

export interface BadCase {
  kind: Kind;
  name: string;
  /** The inputs, from the good ones of the kind. */
  news: Props;
  /** Stored inputs of a started resource (create-only rules); {} for a new one. */
  olds?: Props;
  field: string;
  /** What the one message must say (the problem and the fix). */
  says: RegExp;
}

export interface AcceptedCase {
  kind: Kind;
  name: string;
  news: Props;
  olds?: Props;
}

export const MI =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-mig/providers/Microsoft.Sql/managedInstances/mi-one';
const SUB = '00000000-0000-0000-0000-000000000001';
const CONTAINER = 'https://acct.blob.core.windows.net/sales/db1';

/** The secrets every case carries: the scan looks for them (and their forms) on every surface. */
export const SIGNATURE = 'Q2FzZVNlY3JldFNpZ25hdHVyZTEyMzQ1Njc4OTA%3D';
export const SAS = `sv=2024-08-04&sr=c&sp=rl&se=2099-01-01T00:00:00Z&spr=https&sig=${SIGNATURE}`;
export const SQL_PASSWORD = 'Sql-P@ssw0rd-7f3a91';
export const MI_PASSWORD = 'Mi-P@ssw0rd-c0ffee42';
export const SECRETS = [SAS, SIGNATURE, SQL_PASSWORD, MI_PASSWORD];

const sas = (q: string) => `sv=2024-08-04&sr=c&${q}&sig=${SIGNATURE}`;
const DAY = 24 * 60 * 60 * 1000;
/** A SAS expiring `days` from now: valid, but inside the 30 days LRS may run (a warning). */
export const sasExpiringIn = (days: number) =>
  sas(`sp=rl&se=${new Date(Date.now() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z')}`);

export const LRS_GOOD: Props = {
  __provider: 'exports.handler = () => ({})',
  pulumiName: 'sales-db',
  managedInstanceId: MI,
  databaseName: 'Sales',
  storageContainerUri: CONTAINER,
  storageContainerSasToken: SAS,
};

const sqlConn = { server: 'sql01.corp.example', userName: 'migrator', password: SQL_PASSWORD };
const miConn = {
  server: 'mi-one.0123456789ab.database.windows.net',
  userName: 'miadmin',
  password: MI_PASSWORD,
};

export const LINK_GOOD: Props = {
  __provider: 'exports.handler = () => ({})',
  pulumiName: 'orders-link',
  managedInstanceId: MI,
  linkName: 'DAG_Orders',
  sqlServerAvailabilityGroupName: 'AG_Orders',
  databaseNames: ['Orders'],
  sqlServer: sqlConn,
  managedInstanceSql: miConn,
};

const without = (p: Props, ...keys: string[]) => {
  const out = { ...p };
  for (const k of keys) delete out[k];
  return out;
};
const lrs = (over: Props, ...drop: string[]): Props => without({ ...LRS_GOOD, ...over }, ...drop);
const link = (over: Props, ...drop: string[]): Props => without({ ...LINK_GOOD, ...over }, ...drop);
const sqlServer = (over: Props, ...drop: string[]): Props =>
  link({ sqlServer: without({ ...sqlConn, ...over }, ...drop) });
const miSql = (over: Props, ...drop: string[]): Props =>
  link({ managedInstanceSql: without({ ...miConn, ...over }, ...drop) });
const miParts = {
  subscriptionId: SUB,
  resourceGroupName: 'rg-mig',
  managedInstanceName: 'mi-one',
};

// ---- durations: every deadline and interval, each way a number of milliseconds can be wrong ----
const LRS_DURATIONS: [string, number, number][] = [
  ['pollIntervalInMs', 10, 10 * 60_000],
  ['startDeadlineInMs', 1_000, DAY],
  ['restoreDeadlineInMs', 1_000, 30 * DAY],
  ['completeDeadlineInMs', 1_000, DAY],
];
const LINK_DURATIONS: [string, number, number][] = [
  ['lsnPollIntervalInMs', 10, 10 * 60_000],
  ['lsnDeadlineInMs', 1_000, DAY],
  ['firstBackupDeadlineInMs', 1_000, 7 * DAY],
  ['operationDeadlineInMs', 1_000, DAY],
  ['pollIntervalInMs', 10, 10 * 60_000],
];

function durationCases(
  kind: Kind,
  make: (over: Props) => Props,
  fields: [string, number, number][],
): BadCase[] {
  const out: BadCase[] = [];
  for (const [field, min, max] of fields) {
    const c = (name: string, value: unknown, says: RegExp) =>
      out.push({ kind, name: `${field} ${name}`, news: make({ [field]: value }), field, says });
    c(
      'as text with a unit',
      '30s',
      /must be a number of milliseconds .*got the string '30s': write a number, e\.g\. \d+/,
    );
    c(
      'below the minimum',
      min - 1,
      /outside \d+ to \d+ .*: choose a value in that range, or leave it out for the default/,
    );
    c('above the maximum', max + 1, /outside \d+ to \d+ .*: choose a value in that range/);
    c('as a list', [60_000], /must be a number of milliseconds .*got a list: write a number/);
    c('as a boolean', true, /must be a number of milliseconds .*got true: write a number/);
  }
  return out;
}

// ---- LogReplayMigration ----
/** Stored inputs are the checked ones (normalised), as the engine keeps them. */
const stored = (kind: Kind, p: Props) =>
  kind === 'lrs' ? checkLrsInputs({}, p, Date.now()).normalized : checkLinkInputs({}, p).normalized;
const STARTED_LRS = stored('lrs', lrs({ lastBackupName: 'log_09.trn' }));

export const LRS_BAD: BadCase[] = [
  // the managed instance
  {
    kind: 'lrs',
    name: 'no managed instance at all',
    news: lrs({}, 'managedInstanceId'),
    field: 'managedInstanceId',
    says: /is required: give the managed instance as an ARM id .* or give subscriptionId, resourceGroupName and managedInstanceName/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId as a number',
    news: lrs({ managedInstanceId: 42 }),
    field: 'managedInstanceId',
    says: /must be a string, got the number 42: write it as text/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId as a list (not "object")',
    news: lrs({ managedInstanceId: [MI] }),
    field: 'managedInstanceId',
    says: /must be a string, got a list: give one text value/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId as an object',
    news: lrs({ managedInstanceId: { id: MI } }),
    field: 'managedInstanceId',
    says: /must be a string, got an object/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId is a bare name',
    news: lrs({ managedInstanceId: 'mi-one' }),
    field: 'managedInstanceId',
    says: /must be an ARM id \/subscriptions\/<guid>\/.*got 'mi-one'/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId of a SQL server, not a managed instance',
    news: lrs({ managedInstanceId: MI.replace('managedInstances', 'servers') }),
    field: 'managedInstanceId',
    says: /must be an ARM id .*Microsoft\.Sql\/managedInstances/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId with a subscription that is no GUID',
    news: lrs({ managedInstanceId: MI.replace(SUB, 'prod-subscription') }),
    field: 'managedInstanceId',
    says: /has a subscriptionId \('prod-subscription'\) that must be a subscription GUID/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId with an uppercase instance name',
    news: lrs({ managedInstanceId: MI.replace('mi-one', 'MI_One') }),
    field: 'managedInstanceId',
    says: /has a managedInstanceName \('MI_One'\) that must be 1-63 lowercase letters/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId with an escape sequence in the name',
    news: lrs({ managedInstanceId: MI.replace('mi-one', 'mi\u001b[2Kone') }),
    field: 'managedInstanceId',
    says: /managedInstanceName \('mi\\u001b\[2Kone'\)/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceId and its parts together',
    news: lrs({ resourceGroupName: 'rg-mig' }),
    field: 'managedInstanceId',
    says: /and resourceGroupName are exclusive: give managedInstanceId alone/,
  },
  {
    kind: 'lrs',
    name: 'two parts without the instance name',
    news: lrs({ subscriptionId: SUB, resourceGroupName: 'rg-mig' }, 'managedInstanceId'),
    field: 'managedInstanceName',
    says: /is required with subscriptionId and resourceGroupName: give all three parts/,
  },
  {
    kind: 'lrs',
    name: 'only the instance name',
    news: lrs({ managedInstanceName: 'mi-one' }, 'managedInstanceId'),
    field: 'subscriptionId',
    says: /and resourceGroupName are required with managedInstanceName: give all three parts/,
  },
  {
    kind: 'lrs',
    name: 'subscriptionId part is no GUID',
    news: lrs({ ...miParts, subscriptionId: 'abc' }, 'managedInstanceId'),
    field: 'subscriptionId',
    says: /must be a subscription GUID, got 'abc'/,
  },
  {
    kind: 'lrs',
    name: 'resourceGroupName part ends with a period',
    news: lrs({ ...miParts, resourceGroupName: 'rg-mig.' }, 'managedInstanceId'),
    field: 'resourceGroupName',
    says: /not ending in \., got 'rg-mig\.'/,
  },
  {
    kind: 'lrs',
    name: 'managedInstanceName part as a number',
    news: lrs({ ...miParts, managedInstanceName: 7 }, 'managedInstanceId'),
    field: 'managedInstanceName',
    says: /must be a string, got the number 7/,
  },
  // the database
  {
    kind: 'lrs',
    name: 'no databaseName',
    news: lrs({}, 'databaseName'),
    field: 'databaseName',
    says: /is required: give the name the database gets on the managed instance/,
  },
  {
    kind: 'lrs',
    name: 'databaseName empty',
    news: lrs({ databaseName: '' }),
    field: 'databaseName',
    says: /is required: give the name/,
  },
  {
    kind: 'lrs',
    name: 'databaseName as a number',
    news: lrs({ databaseName: 2024 }),
    field: 'databaseName',
    says: /must be a string, got the number 2024: write it as text, in quotes/,
  },
  {
    kind: 'lrs',
    name: 'databaseName as a list',
    news: lrs({ databaseName: ['Sales'] }),
    field: 'databaseName',
    says: /must be a string, got a list: give one text value/,
  },
  {
    kind: 'lrs',
    name: 'databaseName is a system database',
    news: lrs({ databaseName: 'master' }),
    field: 'databaseName',
    says: /'master' is a system database and cannot be migrated: name a user database/,
  },
  {
    kind: 'lrs',
    name: 'databaseName is a system database in other case',
    news: lrs({ databaseName: 'TempDB' }),
    field: 'databaseName',
    says: /'TempDB' is a system database/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a trailing newline',
    news: lrs({ databaseName: 'Sales\n' }),
    field: 'databaseName',
    says: /contains control characters: a newline \(\\n\) at position 6; remove it/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with ANSI escapes',
    news: lrs({ databaseName: '\u001b[31mSales\u001b[0m' }),
    field: 'databaseName',
    says: /an escape character .*\(\\u001b\) at position 1/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a one-character CSI (C1)',
    news: lrs({ databaseName: 'Sa\u009b2Jles' }),
    field: 'databaseName',
    says: /control sequence introducer .*\(\\u009b\)/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a right-to-left override',
    news: lrs({ databaseName: 'Sales\u202egpj' }),
    field: 'databaseName',
    says: /a bidirectional text control \(\\u202e\)/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a leading space',
    news: lrs({ databaseName: ' Sales' }),
    field: 'databaseName',
    says: /' Sales' has leading or trailing spaces: remove them/,
  },
  {
    kind: 'lrs',
    name: 'databaseName too long',
    news: lrs({ databaseName: 'S'.repeat(129) }),
    field: 'databaseName',
    says: /is 129 characters long; SQL Server names are at most 128: shorten it/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a slash',
    news: lrs({ databaseName: 'Sales/2024' }),
    field: 'databaseName',
    says: /contains \/ \\ \? # or %, which cannot be part of the ARM path .*: rename it/,
  },
  {
    kind: 'lrs',
    name: 'databaseName with a percent sign',
    news: lrs({ databaseName: 'Sales%' }),
    field: 'databaseName',
    says: /cannot be part of the ARM path/,
  },
  // the container
  {
    kind: 'lrs',
    name: 'no storageContainerUri',
    news: lrs({}, 'storageContainerUri'),
    field: 'storageContainerUri',
    says: /is required: give the URL of the blob container .*https:\/\/<account>\.blob\.core\.windows\.net/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri as a number',
    news: lrs({ storageContainerUri: 1 }),
    field: 'storageContainerUri',
    says: /must be a string, got the number 1/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri is no URL',
    news: lrs({ storageContainerUri: 'sales/db1' }),
    field: 'storageContainerUri',
    says: /is not a URL; use https:\/\/<account>/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri over http',
    news: lrs({ storageContainerUri: CONTAINER.replace('https', 'http') }),
    field: 'storageContainerUri',
    says: /must use https, not http/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with the SAS in its query',
    news: lrs({ storageContainerUri: `${CONTAINER}?${SAS}` }),
    field: 'storageContainerUri',
    says: /must not carry a query string: put the SAS token in storageContainerSasToken/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with a fragment',
    news: lrs({ storageContainerUri: `${CONTAINER}#top` }),
    field: 'storageContainerUri',
    says: /must not carry a query string/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with credentials',
    news: lrs({ storageContainerUri: `https://user:${SQL_PASSWORD}@acct.blob.core.windows.net/sales` }),
    field: 'storageContainerUri',
    says: /must not contain credentials/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri without a container',
    news: lrs({ storageContainerUri: 'https://acct.blob.core.windows.net/' }),
    field: 'storageContainerUri',
    says: /names no container/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with an invalid container name',
    news: lrs({ storageContainerUri: 'https://acct.blob.core.windows.net/Sales_DB' }),
    field: 'storageContainerUri',
    says: /invalid container name 'Sales_DB'/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with an encoded escape in the container',
    news: lrs({ storageContainerUri: 'https://acct.blob.core.windows.net/sa%1b[31mles' }),
    field: 'storageContainerUri',
    says: /invalid container name 'sa\\u001b\[31mles'/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri with the reserved word backups',
    news: lrs({ storageContainerUri: 'https://acct.blob.core.windows.net/sales/backups' }),
    field: 'storageContainerUri',
    says: /reserved word 'backup'\/'backups'/,
  },
  // the SAS token
  {
    kind: 'lrs',
    name: 'no SAS and no managed identity',
    news: lrs({}, 'storageContainerSasToken'),
    field: 'storageContainerSasToken',
    says: /is required unless useManagedIdentity is true: generate a SAS .*sp=rl/,
  },
  {
    kind: 'lrs',
    name: 'SAS empty',
    news: lrs({ storageContainerSasToken: '' }),
    field: 'storageContainerSasToken',
    says: /is required unless useManagedIdentity/,
  },
  {
    kind: 'lrs',
    name: 'SAS as a number (value never shown)',
    news: lrs({ storageContainerSasToken: 918273645546 }),
    field: 'storageContainerSasToken',
    says: /must be a string, got a number: write it as text/,
  },
  {
    kind: 'lrs',
    name: 'SAS as a list',
    news: lrs({ storageContainerSasToken: [SAS] }),
    field: 'storageContainerSasToken',
    says: /must be a string, got a list/,
  },
  {
    kind: 'lrs',
    name: 'SAS with write permission',
    news: lrs({ storageContainerSasToken: sas('sp=rwl&se=2099-01-01T00:00:00Z') }),
    field: 'storageContainerSasToken',
    says: /must grant exactly Read and List \(sp=rl\).*also grants Write \(w\); generate a new SAS/,
  },
  {
    kind: 'lrs',
    name: 'SAS without list',
    news: lrs({ storageContainerSasToken: sas('sp=r&se=2099-01-01T00:00:00Z') }),
    field: 'storageContainerSasToken',
    says: /lacks List \(l\)/,
  },
  {
    kind: 'lrs',
    name: 'SAS from a stored access policy',
    news: lrs({ storageContainerSasToken: sas('si=migration&sp=rl&se=2099-01-01T00:00:00Z') }),
    field: 'storageContainerSasToken',
    says: /stored access policy \(si=\).*generate an ad-hoc SAS/,
  },
  {
    kind: 'lrs',
    name: 'SAS expired',
    news: lrs({ storageContainerSasToken: sas('sp=rl&se=2020-01-01T00:00:00Z') }),
    field: 'storageContainerSasToken',
    says: /expired at 2020-01-01.*generate a new SAS/,
  },
  {
    kind: 'lrs',
    name: 'SAS for http only',
    news: lrs({ storageContainerSasToken: sas('sp=rl&se=2099-01-01T00:00:00Z&spr=http') }),
    field: 'storageContainerSasToken',
    says: /use spr=https/,
  },
  {
    kind: 'lrs',
    name: 'SAS without expiry',
    news: lrs({ storageContainerSasToken: sas('sp=rl') }),
    field: 'storageContainerSasToken',
    says: /has no expiry \(se=\); set an expiry/,
  },
  {
    kind: 'lrs',
    name: 'SAS with an expiry that is no date',
    news: lrs({ storageContainerSasToken: sas('sp=rl&se=someday') }),
    field: 'storageContainerSasToken',
    says: /expiry that is not a date/,
  },
  {
    kind: 'lrs',
    name: 'SAS expiry with an escape character',
    news: lrs({ storageContainerSasToken: sas('sp=rl&se=2099%1b[2J') }),
    field: 'storageContainerSasToken',
    says: /not a date \(se=2099\\u001b\[2J\)/,
  },
  {
    kind: 'lrs',
    name: 'SAS given as the whole URL',
    news: lrs({ storageContainerSasToken: `${CONTAINER}?${SAS}` }),
    field: 'storageContainerSasToken',
    says: /is a URL; give only the SAS token/,
  },
  {
    kind: 'lrs',
    name: 'SAS without signature',
    news: lrs({ storageContainerSasToken: 'sv=2024-08-04&sp=rl&se=2099-01-01' }),
    field: 'storageContainerSasToken',
    says: /is not a SAS token \(no sig=\)/,
  },
  {
    kind: 'lrs',
    name: 'SAS and managed identity together',
    news: lrs({ useManagedIdentity: true }),
    field: 'storageContainerSasToken',
    says: /and useManagedIdentity are exclusive/,
  },
  // flags
  {
    kind: 'lrs',
    name: "useManagedIdentity as the string 'true'",
    news: lrs({ useManagedIdentity: 'true' }, 'storageContainerSasToken'),
    field: 'useManagedIdentity',
    says: /must be true or false, got the string 'true': write it without quotes/,
  },
  {
    kind: 'lrs',
    name: 'useManagedIdentity as 1',
    news: lrs({ useManagedIdentity: 1 }),
    field: 'useManagedIdentity',
    says: /must be true or false, got the number 1: leave it out for the default \(false\)/,
  },
  {
    kind: 'lrs',
    name: 'useManagedIdentity as a list (not "object")',
    news: lrs({ useManagedIdentity: [true] }),
    field: 'useManagedIdentity',
    says: /got a list/,
  },
  {
    kind: 'lrs',
    name: "autoComplete as 'yes'",
    news: lrs({ autoComplete: 'yes', lastBackupName: 'log9.trn' }),
    field: 'autoComplete',
    says: /must be true or false, got the string 'yes'/,
  },
  {
    kind: 'lrs',
    name: "complete as the string 'false'",
    news: lrs({ complete: 'false' }),
    field: 'complete',
    says: /write it without quotes/,
  },
  {
    kind: 'lrs',
    name: 'complete as 0',
    news: lrs({ complete: 0 }),
    field: 'complete',
    says: /got the number 0/,
  },
  // collation
  {
    kind: 'lrs',
    name: 'collation with a space',
    news: lrs({ collation: 'Latin 1' }),
    field: 'collation',
    says: /must be a SQL collation name such as SQL_Latin1_General_CP1_CI_AS, got 'Latin 1'/,
  },
  {
    kind: 'lrs',
    name: 'collation with SQL in it',
    news: lrs({ collation: "SQL_Latin1'; DROP DATABASE x;--" }),
    field: 'collation',
    says: /must be a SQL collation name/,
  },
  {
    kind: 'lrs',
    name: 'collation as a number',
    news: lrs({ collation: 1252 }),
    field: 'collation',
    says: /must be a string, got the number 1252/,
  },
  {
    kind: 'lrs',
    name: 'collation with an escape character',
    news: lrs({ collation: 'Latin1\u001b[0m' }),
    field: 'collation',
    says: /got 'Latin1\\u001b\[0m'/,
  },
  // the last backup
  {
    kind: 'lrs',
    name: 'lastBackupName with a newline (not "non-ASCII")',
    news: lrs({ lastBackupName: 'log_09\n.trn' }),
    field: 'lastBackupName',
    says: /contains a newline .*LastBackupNameHasNewline.*: remove it/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with a carriage return',
    news: lrs({ lastBackupName: 'log_09.trn\r' }),
    field: 'lastBackupName',
    says: /contains a newline/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with a tab',
    news: lrs({ lastBackupName: 'log_09\t.trn' }),
    field: 'lastBackupName',
    says: /contains a tab \(\\t\) at position 7: remove it/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with an escape sequence',
    news: lrs({ lastBackupName: 'log\u001b]0;pwned\u0007.trn' }),
    field: 'lastBackupName',
    says: /contains an escape character .*\(\\u001b\)/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with a non-ASCII letter',
    news: lrs({ lastBackupName: 'lög_09.trn' }),
    field: 'lastBackupName',
    says: /non-ASCII character 'ö' at position 2.*LastBackupNameHasNonAsciiCharacter/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with a folder',
    news: lrs({ lastBackupName: 'db1/log_09.trn' }),
    field: 'lastBackupName',
    says: /without a path: drop the folder part/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName with a Windows path',
    news: lrs({ lastBackupName: 'C:\\backups\\log_09.trn' }),
    field: 'lastBackupName',
    says: /drop the folder part/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName as a number with autoComplete (no second "required")',
    news: lrs({ lastBackupName: 9, autoComplete: true }),
    field: 'lastBackupName',
    says: /must be a string, got the number 9/,
  },
  {
    kind: 'lrs',
    name: 'autoComplete without lastBackupName',
    news: lrs({ autoComplete: true }),
    field: 'lastBackupName',
    says: /is required with autoComplete: name the last log backup/,
  },
  {
    kind: 'lrs',
    name: 'complete without lastBackupName',
    news: lrs({ complete: true }),
    field: 'lastBackupName',
    says: /is required to complete the migration: name the last log backup/,
  },
  {
    kind: 'lrs',
    name: 'autoComplete and complete without lastBackupName (one failure)',
    news: lrs({ autoComplete: true, complete: true }),
    field: 'lastBackupName',
    says: /is required with autoComplete/,
  },
  // endpoint
  {
    kind: 'lrs',
    name: 'armEndpoint over http',
    news: lrs({ armEndpoint: 'http://management.azure.com' }),
    field: 'armEndpoint',
    says: /must be an https origin such as https:\/\/management\.azure\.com/,
  },
  {
    kind: 'lrs',
    name: 'armEndpoint with a path',
    news: lrs({ armEndpoint: 'https://management.azure.com/subscriptions' }),
    field: 'armEndpoint',
    says: /\(no path, no query\)/,
  },
  {
    kind: 'lrs',
    name: 'armEndpoint as a number',
    news: lrs({ armEndpoint: 443 }),
    field: 'armEndpoint',
    says: /must be a string/,
  },
  {
    kind: 'lrs',
    name: 'armEndpoint with an escape character',
    news: lrs({ armEndpoint: 'https://arm\u001b[8m.example' }),
    field: 'armEndpoint',
    says: /got 'https:\/\/arm\\u001b\[8m\.example'/,
  },
  // durations
  ...durationCases('lrs', lrs, LRS_DURATIONS),
  // fields that are no input
  {
    kind: 'lrs',
    name: 'a field name in the wrong case (no second "required")',
    news: lrs({ databasename: 'Sales' }, 'databaseName'),
    field: 'databasename',
    says: /databasename is not an input of LogReplayMigration: did you mean 'databaseName'\? remove it or correct its name/,
  },
  {
    kind: 'lrs',
    name: 'a mistyped deadline',
    news: lrs({ restoreDeadlineInMS: 60_000 }),
    field: 'restoreDeadlineInMS',
    says: /is not an input of LogReplayMigration: did you mean 'restoreDeadlineInMs'\? remove it or correct its name/,
  },
  {
    kind: 'lrs',
    name: 'an input of the link',
    news: lrs({ lsnStabilityWindowInMs: 60_000 }),
    field: 'lsnStabilityWindowInMs',
    says: /is not an input of LogReplayMigration/,
  },
  {
    kind: 'lrs',
    name: 'the SAS under a wrong name (value never shown)',
    news: lrs({ storageContainerSas: SAS }, 'storageContainerSasToken'),
    field: 'storageContainerSas',
    says: /did you mean 'storageContainerSasToken'\?/,
  },
  {
    kind: 'lrs',
    name: 'a field of another tool',
    news: lrs({ blobSasUri: 'x' }),
    field: 'blobSasUri',
    says: /is not an input of LogReplayMigration: remove it/,
  },
  // a started migration
  {
    kind: 'lrs',
    name: 'databaseName changes after start',
    olds: STARTED_LRS,
    news: lrs({ lastBackupName: 'log_09.trn', databaseName: 'Sales2' }),
    field: 'databaseName',
    says: /cannot change on a started Log Replay Service migration \(was 'Sales', now 'Sales2'\).*Keep the old value/,
  },
  {
    kind: 'lrs',
    name: 'storageContainerUri changes after start',
    olds: STARTED_LRS,
    news: lrs({ lastBackupName: 'log_09.trn', storageContainerUri: `${CONTAINER}x` }),
    field: 'storageContainerUri',
    says: /cannot change on a started/,
  },
  {
    kind: 'lrs',
    name: 'collation changes after start',
    olds: STARTED_LRS,
    news: lrs({ lastBackupName: 'log_09.trn', collation: 'Latin1_General_100_CI_AS' }),
    field: 'collation',
    says: /cannot change on a started/,
  },
  {
    kind: 'lrs',
    name: 'managed instance changes after start',
    olds: STARTED_LRS,
    news: lrs({ lastBackupName: 'log_09.trn', managedInstanceId: MI.replace('mi-one', 'mi-two') }),
    field: 'managedInstanceId',
    says: /cannot change on a started/,
  },
  {
    kind: 'lrs',
    name: 'complete goes back to false',
    olds: stored('lrs', lrs({ lastBackupName: 'log_09.trn', complete: true })),
    news: lrs({ lastBackupName: 'log_09.trn', complete: false }),
    field: 'complete',
    says: /complete cannot go back to false: .*cannot be undone/,
  },
  {
    kind: 'lrs',
    name: 'lastBackupName changes with autoComplete',
    olds: stored('lrs', lrs({ lastBackupName: 'log_09.trn', autoComplete: true })),
    news: lrs({ lastBackupName: 'log_10.trn', autoComplete: true }),
    field: 'lastBackupName',
    says: /cannot change with autoComplete: .*Keep the old value/,
  },
];

// ---- DistributedAvailabilityGroupLink ----
const STARTED_LINK = stored('link', link({}));

export const LINK_BAD: BadCase[] = [
  {
    kind: 'link',
    name: 'no managed instance',
    news: link({}, 'managedInstanceId'),
    field: 'managedInstanceId',
    says: /is required: give the managed instance as an ARM id/,
  },
  {
    kind: 'link',
    name: 'managedInstanceId malformed',
    news: link({ managedInstanceId: `${MI}/databases/Orders` }),
    field: 'managedInstanceId',
    says: /must be an ARM id/,
  },
  // names
  {
    kind: 'link',
    name: 'no linkName',
    news: link({}, 'linkName'),
    field: 'linkName',
    says: /is required: give the name of the link \(the distributed availability group\)/,
  },
  {
    kind: 'link',
    name: 'linkName as a number',
    news: link({ linkName: 12 }),
    field: 'linkName',
    says: /must be a string, got the number 12/,
  },
  {
    kind: 'link',
    name: 'linkName with ANSI escapes',
    news: link({ linkName: 'DAG\u001b[1m' }),
    field: 'linkName',
    says: /an escape character .*\(\\u001b\) at position 4; remove it/,
  },
  {
    kind: 'link',
    name: 'linkName with a newline',
    news: link({ linkName: 'DAG\nOrders' }),
    field: 'linkName',
    says: /a newline \(\\n\) at position 4/,
  },
  {
    kind: 'link',
    name: 'linkName too long',
    news: link({ linkName: 'D'.repeat(200) }),
    field: 'linkName',
    says: /is 200 characters long; .*shorten it/,
  },
  {
    kind: 'link',
    name: 'linkName with a trailing space',
    news: link({ linkName: 'DAG_Orders ' }),
    field: 'linkName',
    says: /has leading or trailing spaces: remove them/,
  },
  {
    kind: 'link',
    name: 'no sqlServerAvailabilityGroupName',
    news: link({}, 'sqlServerAvailabilityGroupName'),
    field: 'sqlServerAvailabilityGroupName',
    says: /is required: give the availability group on SQL Server/,
  },
  {
    kind: 'link',
    name: 'sqlServerAvailabilityGroupName as a list (not "object")',
    news: link({ sqlServerAvailabilityGroupName: ['AG'] }),
    field: 'sqlServerAvailabilityGroupName',
    says: /must be a string, got a list/,
  },
  {
    kind: 'link',
    name: 'sqlServerAvailabilityGroupName with a DEL',
    news: link({ sqlServerAvailabilityGroupName: 'AG\u007f' }),
    field: 'sqlServerAvailabilityGroupName',
    says: /a DEL character \(\\u007f\)/,
  },
  {
    kind: 'link',
    name: 'managedInstanceAvailabilityGroupName as a number',
    news: link({ managedInstanceAvailabilityGroupName: 1 }),
    field: 'managedInstanceAvailabilityGroupName',
    says: /must be a string/,
  },
  {
    kind: 'link',
    name: 'managedInstanceAvailabilityGroupName with a leading space',
    news: link({ managedInstanceAvailabilityGroupName: ' MI_AG' }),
    field: 'managedInstanceAvailabilityGroupName',
    says: /leading or trailing spaces/,
  },
  // databases
  {
    kind: 'link',
    name: 'no databaseNames',
    news: link({}, 'databaseNames'),
    field: 'databaseNames',
    says: /is required: list the databases the link replicates/,
  },
  {
    kind: 'link',
    name: 'databaseNames as one string',
    news: link({ databaseNames: 'Orders' }),
    field: 'databaseNames',
    says: /must be a list of database names, got the string 'Orders': write it as a list, e\.g\. \['Orders'\]/,
  },
  {
    kind: 'link',
    name: 'databaseNames as an object',
    news: link({ databaseNames: { Orders: true } }),
    field: 'databaseNames',
    says: /must be a list of database names, got an object/,
  },
  {
    kind: 'link',
    name: 'databaseNames empty',
    news: link({ databaseNames: [] }),
    field: 'databaseNames',
    says: /must name at least one database/,
  },
  {
    kind: 'link',
    name: 'databaseNames with a number',
    news: link({ databaseNames: ['Orders', 7] }),
    field: 'databaseNames',
    says: /entry 2 is the number 7: write every entry as text/,
  },
  {
    kind: 'link',
    name: 'databaseNames with a duplicate in other case',
    news: link({ databaseNames: ['Orders', 'ORDERS'] }),
    field: 'databaseNames',
    says: /lists 'ORDERS' twice: list each database once/,
  },
  {
    kind: 'link',
    name: 'databaseNames with a system database',
    news: link({ databaseNames: ['msdb'] }),
    field: 'databaseNames',
    says: /entry 'msdb': 'msdb' is a system database/,
  },
  {
    kind: 'link',
    name: 'databaseNames with a slash',
    news: link({ databaseNames: ['Orders/1'] }),
    field: 'databaseNames',
    says: /entry 'Orders\/1': .*cannot be part of the ARM path/,
  },
  {
    kind: 'link',
    name: 'databaseNames with an escape sequence',
    news: link({ databaseNames: ['Ord\u001b[5mers'] }),
    field: 'databaseNames',
    says: /entry 'Ord\\u001b\[5mers': contains control characters/,
  },
  // connections
  {
    kind: 'link',
    name: 'no sqlServer connection',
    news: link({}, 'sqlServer'),
    field: 'sqlServer',
    says: /is required: give how to connect to SQL Server/,
  },
  {
    kind: 'link',
    name: 'sqlServer as a connection string',
    news: link({ sqlServer: `Server=sql01;User Id=sa;Password=${SQL_PASSWORD}` }),
    field: 'sqlServer',
    says: /must be an object \{ server, port\?, authentication/,
  },
  {
    kind: 'link',
    name: 'sqlServer as a list (an array is not "object")',
    news: link({ sqlServer: [sqlConn] }),
    field: 'sqlServer',
    says: /must be an object .*got a list/,
  },
  {
    kind: 'link',
    name: 'sqlServer as a number',
    news: link({ sqlServer: 1433 }),
    field: 'sqlServer',
    says: /must be an object .*got a number$/,
  },
  {
    kind: 'link',
    name: 'sqlServer without server',
    news: sqlServer({}, 'server'),
    field: 'sqlServer.server',
    says: /sqlServer\.server is required: give the host name or address of SQL Server/,
  },
  {
    kind: 'link',
    name: 'sqlServer.server as a number',
    news: sqlServer({ server: 10 }),
    field: 'sqlServer.server',
    says: /must be a string, got the number 10/,
  },
  {
    kind: 'link',
    name: "sqlServer.port as the string '1433' (not milliseconds)",
    news: sqlServer({ port: '1433' }),
    field: 'sqlServer.port',
    says: /^sqlServer\.port must be a whole number from 1 to 65535, got the string '1433': write it without quotes$/,
  },
  {
    kind: 'link',
    name: 'sqlServer.port 0',
    news: sqlServer({ port: 0 }),
    field: 'sqlServer.port',
    says: /is 0, outside 1 to 65535: give the TCP port SQL Server listens on \(default 1433\)/,
  },
  {
    kind: 'link',
    name: 'sqlServer.port 70000',
    news: sqlServer({ port: 70_000 }),
    field: 'sqlServer.port',
    says: /is 70000, outside 1 to 65535/,
  },
  {
    kind: 'link',
    name: 'sqlServer.port 1433.5',
    news: sqlServer({ port: 1433.5 }),
    field: 'sqlServer.port',
    says: /must be a whole number .*got the number 1433\.5/,
  },
  {
    kind: 'link',
    name: 'sqlServer.port as a list',
    news: sqlServer({ port: [1433] }),
    field: 'sqlServer.port',
    says: /must be a whole number .*got a list/,
  },
  {
    kind: 'link',
    name: 'sqlServer.authentication kerberos',
    news: sqlServer({ authentication: 'kerberos' }),
    field: 'sqlServer.authentication',
    says: /must be one of 'sql', 'ntlm', 'entra', got the string 'kerberos': pick one, or leave it out for 'sql'/,
  },
  {
    kind: 'link',
    name: 'sqlServer.authentication as a number',
    news: sqlServer({ authentication: 2 }),
    field: 'sqlServer.authentication',
    says: /must be one of .*got the number 2/,
  },
  {
    kind: 'link',
    name: 'sqlServer without userName',
    news: sqlServer({}, 'userName'),
    field: 'sqlServer.userName',
    says: /is required with sql authentication: give the login/,
  },
  {
    kind: 'link',
    name: 'sqlServer.userName as a number (no second "required")',
    news: sqlServer({ userName: 5 }),
    field: 'sqlServer.userName',
    says: /must be a string, got the number 5/,
  },
  {
    kind: 'link',
    name: 'sqlServer without password',
    news: sqlServer({}, 'password'),
    field: 'sqlServer.password',
    says: /is required with sql authentication: give the login's password/,
  },
  {
    kind: 'link',
    name: 'sqlServer.password as a number (value never shown)',
    news: sqlServer({ password: 918273645 }),
    field: 'sqlServer.password',
    says: /^sqlServer\.password must be a string, got a number: write it as text, in quotes$/,
  },
  {
    kind: 'link',
    name: 'sqlServer.password as a list',
    news: sqlServer({ password: [SQL_PASSWORD] }),
    field: 'sqlServer.password',
    says: /must be a string, got a list/,
  },
  {
    kind: 'link',
    name: 'ntlm without domain',
    news: sqlServer({ authentication: 'ntlm' }),
    field: 'sqlServer.domain',
    says: /is required with ntlm authentication: give the Windows domain/,
  },
  {
    kind: 'link',
    name: "sqlServer.encrypt 'yes'",
    news: sqlServer({ encrypt: 'yes' }),
    field: 'sqlServer.encrypt',
    says: /must be true, false or 'strict', got 'yes'/,
  },
  {
    kind: 'link',
    name: "sqlServer.trustServerCertificate 'true'",
    news: sqlServer({ trustServerCertificate: 'true' }),
    field: 'sqlServer.trustServerCertificate',
    says: /write it without quotes/,
  },
  {
    kind: 'link',
    name: 'sqlServer.caCertificate not PEM',
    news: sqlServer({ caCertificate: 'MIIC...' }),
    field: 'sqlServer.caCertificate',
    says: /must be a PEM certificate .*give the CA/,
  },
  {
    kind: 'link',
    name: 'sqlServer.connectTimeoutInMs too short',
    news: sqlServer({ connectTimeoutInMs: 500 }),
    field: 'sqlServer.connectTimeoutInMs',
    says: /is 500 ms, outside 1000 to 600000/,
  },
  {
    kind: 'link',
    name: "sqlServer.connectTimeoutInMs '30s'",
    news: sqlServer({ connectTimeoutInMs: '30s' }),
    field: 'sqlServer.connectTimeoutInMs',
    says: /must be a number of milliseconds/,
  },
  {
    kind: 'link',
    name: 'sqlServer with a mistyped field',
    news: sqlServer({ user: 'migrator' }, 'userName'),
    field: 'sqlServer.user',
    says: /did you mean 'sqlServer\.userName'\?/,
  },
  {
    kind: 'link',
    name: 'sqlServer with a mistyped port field',
    news: sqlServer({ prot: 1433 }),
    field: 'sqlServer.prot',
    says: /sqlServer\.prot is not an input of DistributedAvailabilityGroupLink: did you mean 'sqlServer\.port'\?/,
  },
  {
    kind: 'link',
    name: 'sqlServer password under a wrong name (value never shown)',
    news: sqlServer({ passwort: SQL_PASSWORD }),
    field: 'sqlServer.passwort',
    says: /did you mean 'sqlServer\.password'\?/,
  },
  {
    kind: 'link',
    name: 'no managedInstanceSql connection',
    news: link({}, 'managedInstanceSql'),
    field: 'managedInstanceSql',
    says: /is required: give how to connect to the managed instance/,
  },
  {
    kind: 'link',
    name: 'managedInstanceSql unencrypted',
    news: miSql({ encrypt: false }),
    field: 'managedInstanceSql.encrypt',
    says: /must stay on: Azure SQL Managed Instance requires encrypted connections; remove encrypt: false/,
  },
  {
    kind: 'link',
    name: "managedInstanceSql.port '3342'",
    news: miSql({ port: '3342' }),
    field: 'managedInstanceSql.port',
    says: /write it without quotes/,
  },
  {
    kind: 'link',
    name: 'managedInstanceSql.port -1',
    news: miSql({ port: -1 }),
    field: 'managedInstanceSql.port',
    says: /1433 on the private endpoint, 3342 on the public one/,
  },
  {
    kind: 'link',
    name: 'managedInstanceSql.server as a number',
    news: miSql({ server: 5.5 }),
    field: 'managedInstanceSql.server',
    says: /must be a string, got the number 5\.5/,
  },
  // choices
  {
    kind: 'link',
    name: "replicationMode 'Synchronous'",
    news: link({ replicationMode: 'Synchronous' }),
    field: 'replicationMode',
    says: /must be one of 'Async', 'Sync', got the string 'Synchronous': pick one, or leave it out for 'Async'/,
  },
  {
    kind: 'link',
    name: 'replicationMode as a number',
    news: link({ replicationMode: 1 }),
    field: 'replicationMode',
    says: /got the number 1/,
  },
  {
    kind: 'link',
    name: 'cutover of an Async link without consent to switch',
    news: link({ cutover: true }),
    field: 'replicationMode',
    says: /is 'Async' but cutover needs synchronous commit: set replicationMode to 'Sync'.*or set switchToSyncForCutover: true/,
  },
  {
    kind: 'link',
    name: "cutover as the string 'true'",
    news: link({ cutover: 'true' }),
    field: 'cutover',
    says: /must be true or false, got the string 'true': write it without quotes/,
  },
  {
    kind: 'link',
    name: 'switchToSyncForCutover as 1',
    news: link({ switchToSyncForCutover: 1 }),
    field: 'switchToSyncForCutover',
    says: /got the number 1/,
  },
  {
    kind: 'link',
    name: "failoverRoute 'force'",
    news: link({ failoverRoute: 'force' }),
    field: 'failoverRoute',
    says: /must be one of 'auto', 'breakLink', 'tsqlFailover'/,
  },
  {
    kind: 'link',
    name: "allowDataLoss 'yes'",
    news: link({ allowDataLoss: 'yes' }),
    field: 'allowDataLoss',
    says: /must be true or false, got the string 'yes'/,
  },
  {
    kind: 'link',
    name: "cleanup 'everything'",
    news: link({ cleanup: 'everything' }),
    field: 'cleanup',
    says: /must be one of 'none', 'link', 'linkAndAvailabilityGroup'/,
  },
  {
    kind: 'link',
    name: "cleanupAfterCutover 'no'",
    news: link({ cleanupAfterCutover: 'no' }),
    field: 'cleanupAfterCutover',
    says: /must be true or false/,
  },
  {
    kind: 'link',
    name: "beforeCutoverDelete 'drop'",
    news: link({ beforeCutoverDelete: 'drop' }),
    field: 'beforeCutoverDelete',
    says: /must be one of 'refuse', 'forget', 'breakLink'/,
  },
  // the LSN gate and the other waits
  {
    kind: 'link',
    name: 'lsnStabilityWindowInMs negative',
    news: link({ lsnStabilityWindowInMs: -1 }),
    field: 'lsnStabilityWindowInMs',
    says: /is -1 ms, outside/,
  },
  {
    kind: 'link',
    name: "lsnStabilityWindowInMs '60s'",
    news: link({ lsnStabilityWindowInMs: '60s' }),
    field: 'lsnStabilityWindowInMs',
    says: /must be a number of milliseconds .*got the string '60s'/,
  },
  {
    kind: 'link',
    name: 'lsnStabilityWindowInMs as a list',
    news: link({ lsnStabilityWindowInMs: [60_000] }),
    field: 'lsnStabilityWindowInMs',
    says: /got a list/,
  },
  {
    kind: 'link',
    name: 'a wrong window with a short deadline (no second, wrong deadline failure)',
    news: link({ lsnStabilityWindowInMs: -5, lsnDeadlineInMs: 30_000 }),
    field: 'lsnStabilityWindowInMs',
    says: /is -5 ms, outside/,
  },
  {
    kind: 'link',
    name: 'a window as text with a short deadline (no fallback failure)',
    news: link({ lsnStabilityWindowInMs: '2m', lsnDeadlineInMs: 10_000 }),
    field: 'lsnStabilityWindowInMs',
    says: /got the string '2m'/,
  },
  {
    kind: 'link',
    name: 'the LSN deadline shorter than the window',
    news: link({ lsnStabilityWindowInMs: 120_000, lsnDeadlineInMs: 60_000 }),
    field: 'lsnDeadlineInMs',
    says: /is shorter than lsnStabilityWindowInMs \(60000 < 120000 ms\): the gate could never pass; raise lsnDeadlineInMs/,
  },
  ...durationCases('link', link, LINK_DURATIONS),
  {
    kind: 'link',
    name: 'armEndpoint ftp',
    news: link({ armEndpoint: 'ftp://management.azure.com' }),
    field: 'armEndpoint',
    says: /must be an https origin/,
  },
  // fields that are no input
  {
    kind: 'link',
    name: 'a mistyped stability window',
    news: link({ lsnStabilityWindowInMS: 300_000 }),
    field: 'lsnStabilityWindowInMS',
    says: /is not an input of DistributedAvailabilityGroupLink: did you mean 'lsnStabilityWindowInMs'\?/,
  },
  {
    kind: 'link',
    name: 'databaseName instead of databaseNames',
    news: link({ databaseName: 'Orders' }),
    field: 'databaseName',
    says: /did you mean 'databaseNames'\?/,
  },
  {
    kind: 'link',
    name: 'an input of LogReplayMigration',
    news: link({ storageContainerUri: CONTAINER }),
    field: 'storageContainerUri',
    says: /is not an input of DistributedAvailabilityGroupLink/,
  },
  // a link in the stack
  {
    kind: 'link',
    name: 'linkName changes',
    olds: STARTED_LINK,
    news: link({ linkName: 'DAG_Other' }),
    field: 'linkName',
    says: /linkName cannot change on a started link \(was 'DAG_Orders', now 'DAG_Other'\)/,
  },
  {
    kind: 'link',
    name: 'databaseNames change',
    olds: STARTED_LINK,
    news: link({ databaseNames: ['Orders', 'Billing'] }),
    field: 'databaseNames',
    says: /cannot change on a started link \(was \['Orders'\], now \['Orders', 'Billing'\]\)/,
  },
  {
    kind: 'link',
    name: 'sqlServerAvailabilityGroupName changes',
    olds: STARTED_LINK,
    news: link({ sqlServerAvailabilityGroupName: 'AG_2' }),
    field: 'sqlServerAvailabilityGroupName',
    says: /cannot change on a started link/,
  },
  {
    kind: 'link',
    name: 'cutover goes back to false',
    olds: stored('link', link({ replicationMode: 'Sync', cutover: true })),
    news: link({ replicationMode: 'Sync', cutover: false }),
    field: 'cutover',
    says: /cutover cannot go back to false: .*fail back with the link tools/,
  },
];

export const BAD_CASES: BadCase[] = [...LRS_BAD, ...LINK_BAD];

export const ACCEPTED: AcceptedCase[] = [
  { kind: 'lrs', name: 'good inputs', news: lrs({}) },
  { kind: 'lrs', name: 'the managed instance from its parts', news: lrs(miParts, 'managedInstanceId') },
  {
    kind: 'lrs',
    name: 'managed identity instead of a SAS',
    news: lrs({ useManagedIdentity: true }, 'storageContainerSasToken'),
  },
  { kind: 'lrs', name: 'managedInstanceId unknown', news: lrs({ managedInstanceId: UNKNOWN }) },
  {
    kind: 'lrs',
    name: 'one part of the instance unknown',
    news: lrs({ ...miParts, subscriptionId: UNKNOWN }, 'managedInstanceId'),
  },
  { kind: 'lrs', name: 'databaseName unknown', news: lrs({ databaseName: UNKNOWN }) },
  { kind: 'lrs', name: 'storageContainerUri unknown', news: lrs({ storageContainerUri: UNKNOWN }) },
  { kind: 'lrs', name: 'SAS unknown', news: lrs({ storageContainerSasToken: UNKNOWN }) },
  { kind: 'lrs', name: 'useManagedIdentity unknown with a SAS', news: lrs({ useManagedIdentity: UNKNOWN }) },
  {
    kind: 'lrs',
    name: 'lastBackupName unknown with complete',
    news: lrs({ lastBackupName: UNKNOWN, complete: true }),
  },
  {
    kind: 'lrs',
    name: 'lastBackupName unknown with autoComplete',
    news: lrs({ lastBackupName: UNKNOWN, autoComplete: true }),
  },
  { kind: 'lrs', name: 'complete unknown', news: lrs({ complete: UNKNOWN, lastBackupName: 'log_09.trn' }) },
  { kind: 'lrs', name: 'autoComplete unknown without lastBackupName', news: lrs({ autoComplete: UNKNOWN }) },
  { kind: 'lrs', name: 'collation unknown', news: lrs({ collation: UNKNOWN }) },
  {
    kind: 'lrs',
    name: 'every duration unknown',
    news: lrs(Object.fromEntries(LRS_DURATIONS.map(([f]) => [f, UNKNOWN]))),
  },
  { kind: 'lrs', name: 'armEndpoint unknown', news: lrs({ armEndpoint: UNKNOWN }) },
  {
    kind: 'lrs',
    name: 'a started migration with an expired SAS (warning only)',
    olds: STARTED_LRS,
    news: lrs({
      lastBackupName: 'log_09.trn',
      storageContainerSasToken: sas('sp=rl&se=2020-01-01T00:00:00Z'),
    }),
  },
  {
    kind: 'lrs',
    name: 'a database name with non-ASCII letters',
    news: lrs({ databaseName: 'Ventes_Québec' }),
  },
  { kind: 'link', name: 'good inputs', news: link({}) },
  {
    kind: 'link',
    name: 'choices in other case',
    news: link({ replicationMode: 'sync', failoverRoute: 'AUTO', cleanup: 'LINK' }),
  },
  { kind: 'link', name: 'managedInstanceId unknown', news: link({ managedInstanceId: UNKNOWN }) },
  { kind: 'link', name: 'linkName unknown', news: link({ linkName: UNKNOWN }) },
  { kind: 'link', name: 'databaseNames unknown', news: link({ databaseNames: UNKNOWN }) },
  { kind: 'link', name: 'one database name unknown', news: link({ databaseNames: [UNKNOWN, 'Orders'] }) },
  { kind: 'link', name: 'the whole sqlServer connection unknown', news: link({ sqlServer: UNKNOWN }) },
  { kind: 'link', name: 'sqlServer.password unknown', news: sqlServer({ password: UNKNOWN }) },
  {
    kind: 'link',
    name: 'sqlServer.server and port unknown',
    news: sqlServer({ server: UNKNOWN, port: UNKNOWN }),
  },
  { kind: 'link', name: 'cutover unknown', news: link({ cutover: UNKNOWN }) },
  {
    kind: 'link',
    name: 'replicationMode unknown with cutover',
    news: link({ cutover: true, replicationMode: UNKNOWN }),
  },
  {
    kind: 'link',
    name: 'window unknown with a short deadline (no fallback failure)',
    news: link({ lsnStabilityWindowInMs: UNKNOWN, lsnDeadlineInMs: 10_000 }),
  },
  {
    kind: 'link',
    name: 'deadline unknown with a long window',
    news: link({ lsnStabilityWindowInMs: 2 * 60 * 60_000, lsnDeadlineInMs: UNKNOWN }),
  },
  {
    kind: 'link',
    name: 'entra authentication without login',
    news: link({ sqlServer: { server: 'sql01', authentication: 'entra' } }),
  },
  {
    kind: 'link',
    name: 'a cutover with the switch to sync',
    news: link({ cutover: true, switchToSyncForCutover: true }),
  },
];
