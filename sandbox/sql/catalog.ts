/**
 * The T-SQL statements the stand-ins understand, written out independently of the provider (a provider
 * statement that drifts from these shapes fails loudly), and how each is answered from the link world with
 * the column names and types SQL Server returns.
 */
import { type Column, type QueryResult, SqlError } from '../tds/types';
import type { AvailabilityMode, LinkWorld, LsnRow, Side } from '../world/link';
import { compilePattern, type Match, type Pattern, SqlSyntaxError } from './normalize';

export interface StatementContext {
  world: LinkWorld;
  side: Side;
  match: Match;
  /** Parameter values by name without '@' (strings; the catalog declares which it needs). */
  params: Record<string, string | null>;
}

export interface Statement {
  name: string;
  pattern: Pattern;
  /** Parameters the text references; a missing one is error 137, as in SQL Server. */
  params: string[];
  /** true for statements that change the world (DDL/ALTER). */
  changes: boolean;
  run(ctx: StatementContext): QueryResult;
}

const col = {
  sysname: (name: string): Column => ({ name, type: 'nvarchar', length: 128 }),
  desc: (name: string): Column => ({ name, type: 'nvarchar', length: 60 }),
  nvarchar: (name: string, length: number): Column => ({ name, type: 'nvarchar', length }),
  lsn: (name: string): Column => ({ name, type: 'varchar', length: 25 }),
  bit: (name: string): Column => ({ name, type: 'bit', nullable: false }),
  int: (name: string): Column => ({ name, type: 'int' }),
  datetime: (name: string): Column => ({ name, type: 'datetime2', scale: 3 }),
};

const lsnText = (lsn: bigint | null) => (lsn === null ? null : lsn.toString(10));
const eq = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();
const done = (): QueryResult => ({ resultSets: [] });

function availabilityMode(value: string | undefined): AvailabilityMode | undefined {
  return value === 'SYNCHRONOUS_COMMIT' || value === 'ASYNCHRONOUS_COMMIT' ? value : undefined;
}

const LSN_FROM_DRS = `FROM sys.dm_hadr_database_replica_states drs
  JOIN sys.databases db ON db.database_id = drs.database_id`;

function statement(
  name: string,
  text: string,
  params: string[],
  run: (ctx: StatementContext) => QueryResult,
  changes = false,
): Statement {
  return { name, pattern: compilePattern(text), params, changes, run };
}

/** CONVERT(varchar(27), SYSUTCDATETIME(), 126): style 126 of a datetime2(7), yyyy-mm-ddThh:mi:ss.fffffff, no zone. */
const utcNowColumn: Column = { name: 'utc_now', type: 'varchar', length: 27 };
const utcNowText = (world: LinkWorld) => `${new Date(world.clock.now()).toISOString().replace(/Z$/, '')}0000`;

const lsnColumns = [col.lsn('end_of_log_lsn'), col.lsn('last_hardened_lsn')];
const lsns = (r: LsnRow) => [lsnText(r.endOfLogLsn), lsnText(r.lastHardenedLsn)];

/**
 * The managed instance's gate reading, every linked database in one query (issue 9): the local rows only
 * (is_local = 1); Business Critical adds the failover guide's `is_primary_replica = 1`. Rows come in no
 * guaranteed order (the world permutes them from read to read).
 */
function managedInstanceLsns(name: string, primaryOnly: boolean): Statement {
  return statement(
    name,
    `SELECT db.name AS database_name, drs.is_local, drs.is_primary_replica, drs.synchronization_state_desc,
       CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
       CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn,
       CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS utc_now
     ${LSN_FROM_DRS}
     WHERE drs.is_local = 1${primaryOnly ? ' AND drs.is_primary_replica = 1' : ''}`,
    [],
    ({ world, side }) => ({
      resultSets: [
        {
          columns: [
            col.sysname('database_name'),
            col.bit('is_local'),
            col.bit('is_primary_replica'),
            col.desc('synchronization_state_desc'),
            ...lsnColumns,
            utcNowColumn,
          ],
          rows: world
            .lsnRows(side)
            .filter((r) => r.isLocal && (!primaryOnly || r.isPrimaryReplica))
            .map((r) => [
              r.databaseName,
              r.isLocal,
              r.isPrimaryReplica,
              r.synchronizationState,
              ...lsns(r),
              utcNowText(world),
            ]),
        },
      ],
    }),
  );
}

/**
 * The failover guide's per-database queries, as a person runs them (the runbook). They return every row of
 * the database, local and remote, in no guaranteed order (managed-instance-link-failover-how-to.md, "Check
 * LSN values"; sys.dm_hadr_database_replica_states docs).
 */
function runbookManagedInstanceLsns(name: string, primaryOnly: boolean): Statement {
  return statement(
    name,
    `SELECT db.name AS database_name, drs.synchronization_state_desc, drs.is_primary_replica,
       CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
       CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
     ${LSN_FROM_DRS}
     WHERE db.name = @db${primaryOnly ? ' AND drs.is_primary_replica = 1' : ''}`,
    ['db'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [
            col.sysname('database_name'),
            col.desc('synchronization_state_desc'),
            col.bit('is_primary_replica'),
            ...lsnColumns,
          ],
          rows: (params.db === null ? [] : world.lsnRows(side, { db: params.db }))
            .filter((r) => !primaryOnly || r.isPrimaryReplica)
            .map((r) => [r.databaseName, r.synchronizationState, r.isPrimaryReplica, ...lsns(r)]),
        },
      ],
    }),
  );
}

/** CONVERT(datetime2, @x, 126): yyyy-mm-ddThh:mi:ss[.fff…], else error 241 as SQL Server raises it. */
function datetime126(value: string | null): number {
  const m =
    value === null ? null : /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,7})?$/.exec(value);
  if (!m)
    throw new SqlError(241, 'Conversion failed when converting date and/or time from character string.');
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], Math.floor(Number(m[7] ?? 0) * 1000));
}

/** Every statement shape, in the order they are tried. */
export const STATEMENTS: Statement[] = [
  statement(
    'serverInfo',
    `SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS product_version,
       CONVERT(nvarchar(128), SERVERPROPERTY('ProductUpdateLevel')) AS product_update_level,
       CONVERT(int, SERVERPROPERTY('EngineEdition')) AS engine_edition,
       CONVERT(nvarchar(128), SERVERPROPERTY('ServerName')) AS server_name`,
    [],
    ({ world, side }) => {
      const p = world.serverProperties(side);
      return {
        resultSets: [
          {
            columns: [
              col.sysname('product_version'),
              col.sysname('product_update_level'),
              col.int('engine_edition'),
              col.sysname('server_name'),
            ],
            rows: [[p.productVersion, p.productUpdateLevel, p.engineEdition, p.serverName]],
          },
        ],
      };
    },
  ),
  statement(
    'dagReplicas',
    `SELECT ag.name AS ag_name, ar.replica_server_name, ar.availability_mode_desc,
       ars.connected_state_desc, ars.role_desc, ars.operational_state_desc, ars.synchronization_health_desc
     FROM sys.availability_groups ag
     JOIN sys.availability_replicas ar ON ag.group_id = ar.group_id
     LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = ar.replica_id
     WHERE ag.is_distributed = 1 AND ag.name = @dag`,
    ['dag'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [
            col.sysname('ag_name'),
            col.nvarchar('replica_server_name', 256),
            col.desc('availability_mode_desc'),
            col.desc('connected_state_desc'),
            col.desc('role_desc'),
            col.desc('operational_state_desc'),
            col.desc('synchronization_health_desc'),
          ],
          rows: (params.dag === null ? [] : world.dagReplicaRows(side, params.dag)).map((r) => [
            r.agName,
            r.replicaServerName,
            r.availabilityMode,
            r.state?.connected ?? null,
            r.state?.role ?? null,
            r.state?.operational ?? null,
            r.state?.health ?? null,
          ]),
        },
      ],
    }),
  ),
  statement(
    'alterDagMode',
    `ALTER AVAILABILITY GROUP []
     MODIFY AVAILABILITY GROUP ON
       N'' WITH (AVAILABILITY_MODE = {mode1}),
       N'' WITH (AVAILABILITY_MODE = {mode2})`,
    [],
    ({ world, side, match }) => {
      const [dag, first, second] = match.values;
      const members = [
        { name: first, mode: availabilityMode(match.slots.mode1) },
        { name: second, mode: availabilityMode(match.slots.mode2) },
      ];
      for (const [i, m] of members.entries()) {
        if (!m.mode) throw new SqlSyntaxError(match.slots[`mode${i + 1}`]);
      }
      world.alterDagModes(
        side,
        dag,
        members.map((m) => ({ name: m.name, mode: m.mode as AvailabilityMode })),
      );
      return done();
    },
    true,
  ),
  statement(
    'sqlServerLsns',
    `SELECT ag.name AS ag_name, db.name AS database_name, drs.is_local, drs.is_primary_replica,
       drs.synchronization_state_desc, ars.connected_state_desc,
       CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
       CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
     ${LSN_FROM_DRS}
     JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
     LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = drs.replica_id
     WHERE ag.is_distributed = 1 AND ag.name = @dag`,
    ['dag'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [
            col.sysname('ag_name'),
            col.sysname('database_name'),
            col.bit('is_local'),
            col.bit('is_primary_replica'),
            col.desc('synchronization_state_desc'),
            col.desc('connected_state_desc'),
            ...lsnColumns,
          ],
          rows: (params.dag === null ? [] : world.lsnRows(side, { dag: params.dag })).map((r) => [
            r.agName,
            r.databaseName,
            r.isLocal,
            r.isPrimaryReplica,
            r.synchronizationState,
            r.connectedState,
            ...lsns(r),
          ]),
        },
      ],
    }),
  ),
  statement(
    'runbookSqlServerLsns',
    `SELECT ag.name AS ag_name, db.name AS database_name, drs.synchronization_state_desc,
       CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
       CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
     ${LSN_FROM_DRS}
     JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
     WHERE ag.is_distributed = 1 AND ag.name = @dag AND db.name = @db`,
    ['dag', 'db'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [
            col.sysname('ag_name'),
            col.sysname('database_name'),
            col.desc('synchronization_state_desc'),
            ...lsnColumns,
          ],
          rows: (params.db === null || params.dag === null
            ? []
            : world.lsnRows(side, { dag: params.dag, db: params.db })
          ).map((r) => [r.agName, r.databaseName, r.synchronizationState, ...lsns(r)]),
        },
      ],
    }),
  ),
  managedInstanceLsns('managedInstanceLsns', false),
  managedInstanceLsns('managedInstanceLsnsBusinessCritical', true),
  runbookManagedInstanceLsns('runbookManagedInstanceLsns', false),
  runbookManagedInstanceLsns('runbookManagedInstanceLsnsBusinessCritical', true),
  statement(
    'failoverDag',
    'ALTER AVAILABILITY GROUP [] FAILOVER',
    [],
    ({ world, side, match }) => {
      world.tsqlFailover(side, match.values[0]);
      return done();
    },
    true,
  ),
  statement(
    'forceFailoverDag',
    'ALTER AVAILABILITY GROUP [] FORCE_FAILOVER_ALLOW_DATA_LOSS',
    [],
    ({ world, side, match }) => {
      world.tsqlForceFailover(side, match.values[0]);
      return done();
    },
    true,
  ),
  // Ends a split brain after a forced failover (failover guide, "Inconsistent state after forced failover").
  statement(
    'setDagRoleSecondary',
    'ALTER AVAILABILITY GROUP [] SET (ROLE = SECONDARY)',
    [],
    ({ world, side, match }) => {
      world.tsqlSetRoleSecondary(side, match.values[0]);
      return done();
    },
    true,
  ),
  statement(
    'databaseState',
    'SELECT name, state_desc, is_read_only, user_access_desc FROM sys.databases WHERE name = @db',
    ['db'],
    ({ world, side, params }) => {
      const row = params.db === null ? undefined : world.databaseRow(side, params.db);
      return {
        resultSets: [
          {
            columns: [
              col.sysname('name'),
              col.desc('state_desc'),
              col.bit('is_read_only'),
              col.desc('user_access_desc'),
            ],
            rows: row ? [[row.name, row.state, row.readOnly, row.userAccess]] : [],
          },
        ],
      };
    },
  ),
  statement(
    'availabilityGroupByName',
    'SELECT name, is_distributed FROM sys.availability_groups WHERE name = @name',
    ['name'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [col.sysname('name'), col.bit('is_distributed')],
          rows: world
            .availabilityGroups(side)
            .filter((ag) => eq(params.name, ag.name))
            .map((ag) => [ag.name, ag.isDistributed]),
        },
      ],
    }),
  ),
  // Whether an AG exists and what uses it, in one query: a row per database of the AG (LEFT JOIN: one row with
  // NULL database_name when it has none; no row when there is no such AG), each with the number of DAGs whose
  // replicas name the AG (sys.availability_replicas: a DAG's replica_server_name is its member AG's name).
  statement(
    'availabilityGroupUsage',
    `SELECT ag.name AS ag_name, ag.is_distributed, adc.database_name,
       (SELECT COUNT(*) FROM sys.availability_replicas ar
          JOIN sys.availability_groups dag ON dag.group_id = ar.group_id
          WHERE dag.is_distributed = 1 AND ar.replica_server_name = @ag) AS dag_count
     FROM sys.availability_groups ag
     LEFT JOIN sys.availability_databases_cluster adc ON adc.group_id = ag.group_id
     WHERE ag.name = @ag`,
    ['ag'],
    ({ world, side, params }) => {
      const ag = params.ag;
      const dags = ag === null ? 0 : world.dagsUsing(side, ag);
      return {
        resultSets: [
          {
            columns: [
              col.sysname('ag_name'),
              col.bit('is_distributed'),
              col.sysname('database_name'),
              col.int('dag_count'),
            ],
            rows: world
              .availabilityGroups(side)
              .filter((g) => eq(ag, g.name))
              .flatMap((g) =>
                (g.databases.length ? g.databases : [null]).map((d) => [g.name, g.isDistributed, d, dags]),
              ),
          },
        ],
      };
    },
  ),
  statement(
    'dropAvailabilityGroup',
    'DROP AVAILABILITY GROUP []',
    [],
    ({ world, side, match }) => {
      world.dropAvailabilityGroup(side, match.values[0]);
      return done();
    },
    true,
  ),
  statement(
    'firstFullBackupOnMi',
    `SELECT TOP (1) bs.backup_start_date, bs.backup_finish_date
     FROM msdb.dbo.backupset bs
     WHERE bs.database_name = @db AND bs.type = 'D' AND bs.is_copy_only = 0
       AND bs.database_guid = (SELECT rs.database_guid FROM sys.database_recovery_status rs
                                WHERE rs.database_id = DB_ID(@db))
       AND bs.backup_start_date >= DATEADD(minute, DATEDIFF(minute, SYSUTCDATETIME(), SYSDATETIME()),
                                           CONVERT(datetime2, @since, 126))
     ORDER BY bs.backup_finish_date ASC`,
    ['db', 'since'],
    ({ world, side, params }) => {
      // msdb dates are the instance's local time (its time zone); the statement shifts @since (UTC) likewise.
      const offset = world.utcOffsetMinutesOf(side) * 60_000;
      const since = datetime126(params.since) + offset;
      const guid = params.db === null ? undefined : world.databaseGuid(side, params.db);
      const local = (d: Date) => new Date(d.getTime() + offset);
      return {
        resultSets: [
          {
            columns: [col.datetime('backup_start_date'), col.datetime('backup_finish_date')],
            rows: (params.db === null ? [] : world.backups(side, params.db))
              .filter(
                (b) =>
                  b.type === 'D' &&
                  !b.isCopyOnly &&
                  guid !== undefined &&
                  b.databaseGuid === guid &&
                  local(b.backupStartDate).getTime() >= since,
              )
              .slice(0, 1)
              .map((b) => [local(b.backupStartDate), local(b.backupFinishDate)]),
          },
        ],
      };
    },
  ),
  statement('utcNow', 'SELECT CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS utc_now', [], ({ world }) => ({
    resultSets: [{ columns: [utcNowColumn], rows: [[utcNowText(world)]] }],
  })),
  // A plain msdb query (any full backup of that name, oldest first): what a person might run.
  statement(
    'plainFirstFullBackup',
    `SELECT TOP (1) backup_finish_date
     FROM msdb.dbo.backupset
     WHERE database_name = @db AND type = 'D'
     ORDER BY backup_finish_date ASC`,
    ['db'],
    ({ world, side, params }) => {
      const offset = world.utcOffsetMinutesOf(side) * 60_000;
      return {
        resultSets: [
          {
            columns: [col.datetime('backup_finish_date')],
            rows: (params.db === null ? [] : world.backups(side, params.db))
              .filter((b) => b.type === 'D')
              .slice(0, 1)
              .map((b) => [new Date(b.backupFinishDate.getTime() + offset)]),
          },
        ],
      };
    },
  ),
];

/** Objects the statements read; any other object in FROM/JOIN is error 208. */
export const KNOWN_OBJECTS = new Set([
  'sys.availability_groups',
  'sys.availability_replicas',
  'sys.dm_hadr_availability_replica_states',
  'sys.dm_hadr_database_replica_states',
  'sys.databases',
  'sys.availability_databases_cluster',
  'msdb.dbo.backupset',
  'sys.database_recovery_status',
]);
