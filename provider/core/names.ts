/**
 * Names that end up in T-SQL or ARM paths. Checked before any call; quoting happens in the SQL adapter.
 * Each check returns problems as predicates that follow the field name ("databaseName" + " is 130 …"),
 * one per problem, each with the fix. The value is shown escaped (see shown.ts), never raw.
 */
import { firstUnsafeCharacter, shown } from './shown';

const SYSTEM_DATABASES = new Set(['master', 'model', 'msdb', 'tempdb']);

/** A character that is never part of a name (controls, invisible marks), named for what it is. */
function controlProblem(value: string): string | undefined {
  const c = firstUnsafeCharacter(value);
  return c ? `contains control characters: ${c.description} at position ${c.position}; remove it` : undefined;
}

/** SQL Server identifier rules (sysname): 1-128 characters, no control characters, no outer spaces. */
export function checkSqlName(value: string, _what?: string): string[] {
  const errors: string[] = [];
  if (value.length === 0) errors.push('must not be empty');
  if (value.length > 128)
    errors.push(`is ${value.length} characters long; SQL Server names are at most 128: shorten it`);
  const control = controlProblem(value);
  if (control) errors.push(control);
  // Spaces only: a newline or tab at an end is a control character, reported above.
  if (/^[ \u00a0]|[ \u00a0]$/.test(value))
    errors.push(`${shown(value)} has leading or trailing spaces: remove them`);
  return errors;
}

export function checkDatabaseName(value: string): string[] {
  const errors = checkSqlName(value);
  if (SYSTEM_DATABASES.has(value.toLowerCase()))
    errors.push(`${shown(value)} is a system database and cannot be migrated: name a user database`);
  if (/[/\\?#%]/.test(value))
    errors.push(
      `${shown(value)} contains / \\ ? # or %, which cannot be part of the ARM path of a database: rename it`,
    );
  return errors;
}

export function checkBackupFileName(value: string): string[] {
  const errors: string[] = [];
  if (value.length === 0) errors.push('must not be empty');
  if (/[\r\n]/.test(value)) {
    // Log Replay Service refuses it too: LastBackupNameHasNewline.
    errors.push(
      'contains a newline (\\n or \\r), which Log Replay Service refuses (LastBackupNameHasNewline): remove it',
    );
  } else {
    const control = firstUnsafeCharacter(value);
    if (control) errors.push(`contains ${control.description} at position ${control.position}: remove it`);
  }
  // Non-ASCII: a printable character beyond U+007F (control characters are reported above, not here).
  const nonAscii = [...value].findIndex((ch) => ch.charCodeAt(0) > 0x7f && !firstUnsafeCharacter(ch));
  if (nonAscii >= 0)
    errors.push(
      `contains the non-ASCII character ${shown([...value][nonAscii])} at position ${nonAscii + 1}, which Log Replay Service refuses (LastBackupNameHasNonAsciiCharacter): rename the backup file with ASCII characters only`,
    );
  if (value.includes('/') || value.includes('\\')) {
    errors.push(
      'is a file name inside the storage folder, without a path: drop the folder part (the folder belongs in storageContainerUri)',
    );
  }
  return errors;
}

export function checkCollation(value: string): string[] {
  return /^[A-Za-z0-9_]{1,128}$/.test(value)
    ? []
    : [`must be a SQL collation name such as SQL_Latin1_General_CP1_CI_AS, got ${shown(value)}`];
}
