/** Names that end up in T-SQL or ARM paths. Checked before any call; quoting happens in the SQL adapter. */
const SYSTEM_DATABASES = new Set(['master', 'model', 'msdb', 'tempdb']);

export function checkSqlName(value: string, what: string): string[] {
  const errors: string[] = [];
  if (value.length === 0) errors.push(`${what} must not be empty`);
  if (value.length > 128)
    errors.push(`${what} is ${value.length} characters; SQL Server names are at most 128`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) errors.push(`${what} contains control characters`);
  if (value !== value.trim()) errors.push(`${what} has leading or trailing spaces`);
  return errors;
}

export function checkDatabaseName(value: string): string[] {
  const errors = checkSqlName(value, 'database name');
  if (SYSTEM_DATABASES.has(value.toLowerCase()))
    errors.push(`'${value}' is a system database and cannot be migrated`);
  if (/[/\\?#%]/.test(value))
    errors.push('database name must not contain / \\ ? # or % (it is part of the ARM path)');
  return errors;
}

export function checkBackupFileName(value: string): string[] {
  const errors: string[] = [];
  if (value.length === 0) errors.push('must not be empty');
  if (/[\r\n]/.test(value)) errors.push('must not contain a newline (LastBackupNameHasNewline)');
  if (/[^\u0020-\u007e]/.test(value)) errors.push('must be ASCII only (LastBackupNameHasNonAsciiCharacter)');
  if (value.includes('/') || value.includes('\\')) {
    errors.push('is a file name inside the storage folder, without a path: drop the folder part');
  }
  return errors;
}

export function checkCollation(value: string): string[] {
  return /^[A-Za-z0-9_]{1,128}$/.test(value)
    ? []
    : ['must be a SQL collation name such as SQL_Latin1_General_CP1_CI_AS'];
}
