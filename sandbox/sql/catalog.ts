/**
 * The T-SQL statements the stand-ins understand, written out independently of the provider (a provider
 * statement that drifts from these shapes fails loudly), and how each is answered from the link world with
 * the column names and types SQL Server returns.
 */
import type { Column, QueryResult } from '../tds/types';
import type { AvailabilityMode, LinkWorld, Side } from '../world/link';
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

function managedInstanceLsns(name: string, primaryOnly: boolean): Statement {
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
            col.lsn('end_of_log_lsn'),
            col.lsn('last_hardened_lsn'),
          ],
          rows: (params.db === null ? [] : world.lsnRows(side, params.db))
            .filter((r) => !primaryOnly || r.isPrimaryReplica)
            .map((r) => [
              r.databaseName,
              r.synchronizationState,
              r.isPrimaryReplica,
              lsnText(r.endOfLogLsn),
              lsnText(r.lastHardenedLsn),
            ]),
        },
      ],
    }),
  );
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
            col.lsn('end_of_log_lsn'),
            col.lsn('last_hardened_lsn'),
          ],
          rows: (params.db === null || params.dag === null
            ? []
            : world.lsnRows(side, params.db, params.dag)
          ).map((r) => [
            r.agName,
            r.databaseName,
            r.synchronizationState,
            lsnText(r.endOfLogLsn),
            lsnText(r.lastHardenedLsn),
          ]),
        },
      ],
    }),
  ),
  managedInstanceLsns('managedInstanceLsns', false),
  managedInstanceLsns('managedInstanceLsnsBusinessCritical', true),
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
  statement(
    'availabilityGroupUsage',
    `SELECT
       (SELECT COUNT(*) FROM sys.availability_databases_cluster adc
          JOIN sys.availability_groups ag ON ag.group_id = adc.group_id WHERE ag.name = @ag) AS database_count,
       (SELECT COUNT(*) FROM sys.availability_replicas ar
          JOIN sys.availability_groups dag ON dag.group_id = ar.group_id
          WHERE dag.is_distributed = 1 AND ar.replica_server_name = @ag) AS dag_count`,
    ['ag'],
    ({ world, side, params }) => {
      const ag = params.ag;
      const databases = world
        .availabilityGroups(side)
        .filter((g) => eq(ag, g.name))
        .reduce((n, g) => n + g.databases.length, 0);
      return {
        resultSets: [
          {
            columns: [col.int('database_count'), col.int('dag_count')],
            rows: [[databases, ag === null ? 0 : world.dagsUsing(side, ag)]],
          },
        ],
      };
    },
  ),
  statement(
    'availabilityGroupDatabases',
    `SELECT adc.database_name
     FROM sys.availability_databases_cluster adc
     JOIN sys.availability_groups ag ON ag.group_id = adc.group_id
     WHERE ag.name = @ag`,
    ['ag'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [col.sysname('database_name')],
          rows: world
            .availabilityGroups(side)
            .filter((g) => eq(params.ag, g.name))
            .flatMap((g) => g.databases.map((d) => [d])),
        },
      ],
    }),
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
    `SELECT TOP (1) backup_finish_date
     FROM msdb.dbo.backupset
     WHERE database_name = @db AND type = 'D'
     ORDER BY backup_finish_date ASC`,
    ['db'],
    ({ world, side, params }) => ({
      resultSets: [
        {
          columns: [col.datetime('backup_finish_date')],
          rows: (params.db === null ? [] : world.backups(side, params.db))
            .filter((b) => b.type === 'D')
            .slice(0, 1)
            .map((b) => [b.backupFinishDate]),
        },
      ],
    }),
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
]);
