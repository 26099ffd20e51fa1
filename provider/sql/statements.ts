/**
 * Every T-SQL statement the link provider sends, in one place. Identifiers that T-SQL cannot take as
 * parameters (availability group names) are quoted with `quoteIdentifier`; names used as string literals
 * with `quoteLiteral`; database names always travel as parameters (`@db`).
 */

/** QUOTENAME semantics: `[` + name with `]` doubled + `]`. Names are validated in check before this runs. */
export function quoteIdentifier(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/** N'…' literal with `'` doubled. */
export function quoteLiteral(value: string): string {
  return `N'${value.replace(/'/g, "''")}'`;
}

export type AvailabilityMode = 'SYNCHRONOUS_COMMIT' | 'ASYNCHRONOUS_COMMIT';

export const serverInfo = `SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS product_version,
  CONVERT(nvarchar(128), SERVERPROPERTY('ProductUpdateLevel')) AS product_update_level,
  CONVERT(int, SERVERPROPERTY('EngineEdition')) AS engine_edition,
  CONVERT(nvarchar(128), SERVERPROPERTY('ServerName')) AS server_name`;

/** Replicas of one distributed AG (the link) and their modes/roles. Params: @dag. */
export const dagReplicas = `SELECT ag.name AS ag_name, ar.replica_server_name, ar.availability_mode_desc,
  ars.connected_state_desc, ars.role_desc, ars.operational_state_desc, ars.synchronization_health_desc
FROM sys.availability_groups ag
JOIN sys.availability_replicas ar ON ag.group_id = ar.group_id
LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = ar.replica_id
WHERE ag.is_distributed = 1 AND ag.name = @dag`;

/** Sync switch on SQL Server: both members of the DAG. */
export function alterDagMode(dag: string, sqlServerAg: string, miAg: string, mode: AvailabilityMode): string {
  return `ALTER AVAILABILITY GROUP ${quoteIdentifier(dag)}
MODIFY AVAILABILITY GROUP ON
  ${quoteLiteral(sqlServerAg)} WITH (AVAILABILITY_MODE = ${mode}),
  ${quoteLiteral(miAg)} WITH (AVAILABILITY_MODE = ${mode});`;
}

/** LSN gate, SQL Server side (the primary). Params: @db, @dag. LSNs as varchar: numeric(25,0) loses digits in JS. */
export const sqlServerLsns = `SELECT ag.name AS ag_name, db.name AS database_name, drs.synchronization_state_desc,
  CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
  CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.databases db ON db.database_id = drs.database_id
JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND ag.name = @dag AND db.name = @db`;

/** LSN gate, managed instance side. Business Critical: only the primary replica's row counts. Params: @db. */
export function managedInstanceLsns(businessCritical: boolean): string {
  return `SELECT db.name AS database_name, drs.synchronization_state_desc, drs.is_primary_replica,
  CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
  CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.databases db ON db.database_id = drs.database_id
WHERE db.name = @db${businessCritical ? ' AND drs.is_primary_replica = 1' : ''}`;
}

/** Planned failover of the link from SQL Server (SQL Server 2022 CU13+ only), run on the primary. */
export function failoverDag(dag: string): string {
  return `ALTER AVAILABILITY GROUP ${quoteIdentifier(dag)} FAILOVER;`;
}

/** Database state on either side. Params: @db. */
export const databaseState = `SELECT name, state_desc, is_read_only, user_access_desc
FROM sys.databases WHERE name = @db`;

/** Does an AG exist, and is it distributed? Params: @name. */
export const availabilityGroupByName = `SELECT name, is_distributed FROM sys.availability_groups WHERE name = @name`;

/** What else uses an AG: its databases and the DAGs it belongs to. Params: @ag. */
export const availabilityGroupUsage = `SELECT
  (SELECT COUNT(*) FROM sys.availability_databases_cluster adc
     JOIN sys.availability_groups ag ON ag.group_id = adc.group_id WHERE ag.name = @ag) AS database_count,
  (SELECT COUNT(*) FROM sys.availability_replicas ar
     JOIN sys.availability_groups dag ON dag.group_id = ar.group_id
     WHERE dag.is_distributed = 1 AND ar.replica_server_name = @ag) AS dag_count`;

/** Databases of an AG. Params: @ag. */
export const availabilityGroupDatabases = `SELECT adc.database_name
FROM sys.availability_databases_cluster adc
JOIN sys.availability_groups ag ON ag.group_id = adc.group_id
WHERE ag.name = @ag`;

export function dropAvailabilityGroup(name: string): string {
  return `DROP AVAILABILITY GROUP ${quoteIdentifier(name)};`;
}

/** First full backup of the database taken by the managed instance. Params: @db. */
export const firstFullBackupOnMi = `SELECT TOP (1) backup_finish_date
FROM msdb.dbo.backupset
WHERE database_name = @db AND type = 'D'
ORDER BY backup_finish_date ASC`;
