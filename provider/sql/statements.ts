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

/**
 * LSN gate, SQL Server side (the primary): every database of the link in one query (issue 9). Each database
 * has its own row (is_local = 1: SQL Server's LSNs) and, on the primary, a row for the managed instance's
 * replica (is_local = 0: what SQL Server knows of it), in no guaranteed order (sys.dm_hadr_database_replica_states
 * docs): rows are picked by is_local, never by position. Params: @dag. LSNs as varchar: numeric(25,0) loses
 * digits in JS.
 */
export const sqlServerLsns = `SELECT ag.name AS ag_name, db.name AS database_name, drs.is_local, drs.is_primary_replica,
  drs.synchronization_state_desc, ars.connected_state_desc,
  CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
  CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.databases db ON db.database_id = drs.database_id
JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = drs.replica_id
WHERE ag.is_distributed = 1 AND ag.name = @dag`;

/**
 * LSN gate, managed instance side: the local row of every replicated database in one query. Business
 * Critical: only the primary replica's row counts (the failover guide's `is_primary_replica = 1`). Each row
 * also carries the instance's own UTC clock (as `utcNow` gives it): the cutover's time on the instance is its
 * last gate reading's, with no query of its own (issue 9).
 */
export function managedInstanceLsns(businessCritical: boolean): string {
  return `SELECT db.name AS database_name, drs.is_local, drs.is_primary_replica, drs.synchronization_state_desc,
  CONVERT(varchar(25), drs.end_of_log_lsn) AS end_of_log_lsn,
  CONVERT(varchar(25), drs.last_hardened_lsn) AS last_hardened_lsn,
  CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS utc_now
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.databases db ON db.database_id = drs.database_id
WHERE drs.is_local = 1${businessCritical ? ' AND drs.is_primary_replica = 1' : ''}`;
}

/** Planned failover of the link from SQL Server (SQL Server 2022 CU13+ only), run on the primary. */
export function failoverDag(dag: string): string {
  return `ALTER AVAILABILITY GROUP ${quoteIdentifier(dag)} FAILOVER;`;
}

/**
 * Ends the split brain after a forced failover to the managed instance: SQL Server takes the secondary role
 * and stops accepting writes (failover guide, "Inconsistent state after forced failover").
 */
export function setDagRoleSecondary(dag: string): string {
  return `ALTER AVAILABILITY GROUP ${quoteIdentifier(dag)} SET (ROLE = SECONDARY);`;
}

/** Database state on either side. Params: @db. */
export const databaseState = `SELECT name, state_desc, is_read_only, user_access_desc
FROM sys.databases WHERE name = @db`;

/** Does an AG exist, and is it distributed? Params: @name. */
export const availabilityGroupByName = `SELECT name, is_distributed FROM sys.availability_groups WHERE name = @name`;

/**
 * Whether an AG exists and what else uses it, in one query (issue 9): no row, no such AG; else a row per
 * database of the AG (one row with database_name NULL when it has none), each with the number of DAGs that
 * have the AG as a member (a DAG's replica_server_name is its member AG's name). Params: @ag.
 */
export const availabilityGroupUsage = `SELECT ag.name AS ag_name, ag.is_distributed, adc.database_name,
  (SELECT COUNT(*) FROM sys.availability_replicas ar
     JOIN sys.availability_groups dag ON dag.group_id = ar.group_id
     WHERE dag.is_distributed = 1 AND ar.replica_server_name = @ag) AS dag_count
FROM sys.availability_groups ag
LEFT JOIN sys.availability_databases_cluster adc ON adc.group_id = ag.group_id
WHERE ag.name = @ag`;

export function dropAvailabilityGroup(name: string): string {
  return `DROP AVAILABILITY GROUP ${quoteIdentifier(name)};`;
}

/** The managed instance's own UTC clock, in the form @since takes (yyyy-mm-ddThh:mi:ss.fffffff). */
export const utcNow = `SELECT CONVERT(varchar(27), SYSUTCDATETIME(), 126) AS utc_now`;

/**
 * The managed instance's first full backup of this database after the cutover: not copy-only, of the
 * database that exists now (its database_guid: an older database of the same name leaves history), started at
 * or after @since. msdb dates are the instance's local time (its time zone), so @since (UTC,
 * yyyy-mm-ddThh:mi:ss.fff) is shifted by the instance's own offset. Params: @db, @since.
 */
export const firstFullBackupOnMi = `SELECT TOP (1) bs.backup_start_date, bs.backup_finish_date
FROM msdb.dbo.backupset bs
WHERE bs.database_name = @db AND bs.type = 'D' AND bs.is_copy_only = 0
  AND bs.database_guid = (SELECT rs.database_guid FROM sys.database_recovery_status rs
                           WHERE rs.database_id = DB_ID(@db))
  AND bs.backup_start_date >= DATEADD(minute, DATEDIFF(minute, SYSUTCDATETIME(), SYSDATETIME()),
                                      CONVERT(datetime2, @since, 126))
ORDER BY bs.backup_finish_date ASC`;
