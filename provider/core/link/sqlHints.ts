/** What to do next for SQL Server error numbers the link runbook meets (node-mssql RequestError.number). */
const HINTS: Record<number, string> = {
  18456:
    'login failed: check userName/password (or the Windows/Entra identity) and that the login exists on that server',
  15151:
    'the availability group does not exist or the login lacks permission: check the name and grant ALTER AVAILABILITY GROUP / CONTROL ON AVAILABILITY GROUP',
  15247: 'the login lacks permission: grant ALTER ANY AVAILABILITY GROUP (or sysadmin) to it',
  41104:
    'the availability group is not in a state that allows this operation: check its health in sys.dm_hadr_availability_replica_states',
  41105:
    'the availability group does not exist on this server: check the name and that you are connected to the primary replica',
  41106: 'the availability replica does not exist in this group: check the replica (AG) names of the link',
  41122: 'the operation must run on the primary replica: point the sqlServer connection at the primary',
  41142:
    'the replica cannot become primary now: the link must be synchronous and synchronized; run up again after the LSN gate passes',
  47104:
    'this SQL Server version cannot fail the link over with T-SQL: use failoverRoute breakLink, or update to SQL Server 2022 CU13+',
  2812: 'the statement is not supported by this server version',
  208: 'an object the provider reads is missing: is the server SQL Server 2016+ with Always On enabled?',
  102: 'the server did not understand a statement: report this as a bug with the SQL Server version',
  229: 'the login lacks VIEW SERVER STATE / SELECT permission on the DMVs: grant VIEW SERVER STATE',
  300: 'the login lacks VIEW SERVER STATE: grant it to the login',
};

export function sqlHint(errorNumber: number | undefined): string | undefined {
  return errorNumber === undefined ? undefined : HINTS[errorNumber];
}
