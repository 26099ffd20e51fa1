/**
 * Log sequence numbers. SQL Server exposes them as numeric(25,0); here they are BigInt in memory and decimal
 * strings on the wire and in backup headers, so values above 2^53 keep every digit.
 */
export type Lsn = bigint;

/** A realistic first LSN (VLF 34), already above 2^53 so every consumer must keep full precision. */
export const DEFAULT_START_LSN: Lsn = 34000000021600001n;

/** Parses a decimal LSN (string, bigint, or a safe integer number). Throws on anything else. */
export function parseLsn(value: unknown): Lsn {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,25}$/.test(value)) return BigInt(value);
  throw new TypeError(`not an LSN: ${String(value)}`);
}

export function formatLsn(lsn: Lsn): string {
  return lsn.toString(10);
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
