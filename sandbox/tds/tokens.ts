/**
 * Server → client token stream (MS-TDS 2.2.7): login tokens, DONE family, ERROR/INFO, and result sets
 * (COLMETADATA + ROW) with the value encodings tedious reads (tedious/lib/metadata-parser.js, value-parser.js).
 */
import type { Column, ResultSet } from './types';
import { ByteWriter } from './wire';

export const Token = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  INFO: 0xab,
  LOGINACK: 0xad,
  FEATUREEXTACK: 0xae,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  FEDAUTHINFO: 0xee,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;

export const DoneStatus = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;

/** curCmd of a DONE that ends a SELECT. */
export const CMD_SELECT = 0xc1;

/** SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, IgnoreCase|IgnoreKana|IgnoreWidth, sort id 52 (code page 1252). */
export const DEFAULT_COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

/** TDS 7.4 as sent in LOGINACK (big-endian on the wire). */
export const TDS_74 = 0x74000004;

export function done(
  kind: 'done' | 'doneproc' | 'doneinproc',
  status: number,
  rowCount = 0,
  curCmd = 0,
): Buffer {
  const id = kind === 'done' ? Token.DONE : kind === 'doneproc' ? Token.DONEPROC : Token.DONEINPROC;
  return new ByteWriter().u8(id).u16(status).u16(curCmd).u64(rowCount).toBuffer();
}

export function returnStatus(value: number): Buffer {
  return new ByteWriter().u8(Token.RETURNSTATUS).i32(value).toBuffer();
}

/** ERROR (severity > 10) or INFO token. */
export function message(
  kind: 'error' | 'info',
  number: number,
  state: number,
  severity: number,
  text: string,
  serverName: string,
): Buffer {
  const body = new ByteWriter()
    .u32(number)
    .u8(state)
    .u8(severity)
    .usVarChar(text)
    .bVarChar(serverName.slice(0, 255))
    .bVarChar('') // procedure name
    .u32(1) // line number
    .toBuffer();
  return new ByteWriter()
    .u8(kind === 'error' ? Token.ERROR : Token.INFO)
    .u16(body.length)
    .bytes(body)
    .toBuffer();
}

/** ENVCHANGE with B_VARCHAR values (database, language, packet size). */
export function envChangeText(type: 1 | 2 | 4, newValue: string, oldValue: string): Buffer {
  const body = new ByteWriter().u8(type).bVarChar(newValue).bVarChar(oldValue).toBuffer();
  return new ByteWriter().u8(Token.ENVCHANGE).u16(body.length).bytes(body).toBuffer();
}

/** ENVCHANGE with B_VARBYTE values (collation 7, begin/commit/rollback transaction 8/9/10, reset 18). */
export function envChangeBytes(type: 7 | 8 | 9 | 10 | 18, newValue: Buffer, oldValue: Buffer): Buffer {
  const body = new ByteWriter()
    .u8(type)
    .u8(newValue.length)
    .bytes(newValue)
    .u8(oldValue.length)
    .bytes(oldValue)
    .toBuffer();
  return new ByteWriter().u8(Token.ENVCHANGE).u16(body.length).bytes(body).toBuffer();
}

/** LOGINACK: interface SQL_TSQL, TDS 7.4, program name and the product version bytes. */
export function loginAck(productVersion: string): Buffer {
  const [major = 16, minor = 0, build = 0] = productVersion
    .split('.')
    .map((p) => Number.parseInt(p, 10) || 0);
  const body = new ByteWriter()
    .u8(1)
    .u32be(TDS_74)
    .bVarChar('Microsoft SQL Server')
    .u8(major)
    .u8(minor)
    .u8((build >> 8) & 0xff)
    .u8(build & 0xff)
    .toBuffer();
  return new ByteWriter().u8(Token.LOGINACK).u16(body.length).bytes(body).toBuffer();
}

/** FEATUREEXTACK: FEDAUTH with no data (no nonce was sent), UTF8_SUPPORT when the client asked for it. */
export function featureExtAck(fedAuth: boolean, utf8: boolean): Buffer {
  const w = new ByteWriter().u8(Token.FEATUREEXTACK);
  if (fedAuth) w.u8(0x02).u32(0);
  if (utf8) w.u8(0x0a).u32(1).u8(0);
  return w.u8(0xff).toBuffer();
}

/** FEDAUTHINFO: where a client with an Entra ID workflow gets its token (STS URL) and for what (SPN). */
export function fedAuthInfo(stsUrl: string, spn: string): Buffer {
  const sts = Buffer.from(stsUrl, 'ucs2');
  const spnBytes = Buffer.from(spn, 'ucs2');
  const headerSize = 4 + 2 * 9;
  const data = new ByteWriter()
    .u32(2)
    .u8(0x01)
    .u32(sts.length)
    .u32(headerSize)
    .u8(0x02)
    .u32(spnBytes.length)
    .u32(headerSize + sts.length)
    .bytes(sts)
    .bytes(spnBytes)
    .toBuffer();
  return new ByteWriter().u8(Token.FEDAUTHINFO).u32(data.length).bytes(data).toBuffer();
}

// ---------------------------------------------------------------------------------------------------------
// Result sets

const TypeId = {
  INT4: 0x38,
  INT8: 0x7f,
  BIT: 0x32,
  INTN: 0x26,
  BITN: 0x68,
  NUMERICN: 0x6c,
  DATETIME2N: 0x2a,
  GUID: 0x24,
  NVARCHAR: 0xe7,
  VARCHAR: 0xa7,
} as const;

const NULL_U16 = 0xffff;
const PLP_NULL = 0xffffffffffffffffn;

/** A column with its defaults resolved. */
export interface ColumnSpec {
  col: Column;
  nullable: boolean;
  /** n/varchar: declared length in characters, or 'max'. */
  length: number | 'max';
  precision: number;
  scale: number;
}

function resolveColumn(col: Column): ColumnSpec {
  const nullable = col.nullable ?? true;
  let length: number | 'max' = 0;
  if (col.type === 'nvarchar' || col.type === 'varchar') {
    const limit = col.type === 'nvarchar' ? 4000 : 8000;
    const declared = col.length ?? limit;
    length = declared < 0 || declared > limit ? 'max' : Math.max(1, declared);
  }
  const precision = col.precision ?? 18;
  const scale = col.scale ?? (col.type === 'datetime2' ? 7 : 0);
  if (col.type === 'numeric' && (precision < 1 || precision > 38 || scale < 0 || scale > precision)) {
    throw new Error(`column ${col.name}: bad numeric(${precision},${scale})`);
  }
  if (col.type === 'datetime2' && (scale < 0 || scale > 7)) throw new Error(`column ${col.name}: bad scale`);
  return { col, nullable, length, precision, scale };
}

/** Magnitude bytes of a numeric value at `precision` (MS-TDS 2.2.5.5.1.6). */
function numericBytes(precision: number): number {
  return precision <= 9 ? 4 : precision <= 19 ? 8 : precision <= 28 ? 12 : 16;
}

function timeBytes(scale: number): number {
  return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

function writeTypeInfo(w: ByteWriter, s: ColumnSpec): void {
  switch (s.col.type) {
    case 'int':
      if (s.nullable) w.u8(TypeId.INTN).u8(4);
      else w.u8(TypeId.INT4);
      return;
    case 'bigint':
      if (s.nullable) w.u8(TypeId.INTN).u8(8);
      else w.u8(TypeId.INT8);
      return;
    case 'bit':
      if (s.nullable) w.u8(TypeId.BITN).u8(1);
      else w.u8(TypeId.BIT);
      return;
    case 'numeric':
      w.u8(TypeId.NUMERICN)
        .u8(numericBytes(s.precision) + 1)
        .u8(s.precision)
        .u8(s.scale);
      return;
    case 'datetime2':
      w.u8(TypeId.DATETIME2N).u8(s.scale);
      return;
    case 'uniqueidentifier':
      w.u8(TypeId.GUID).u8(16);
      return;
    case 'nvarchar':
    case 'varchar': {
      const unit = s.col.type === 'nvarchar' ? 2 : 1;
      w.u8(s.col.type === 'nvarchar' ? TypeId.NVARCHAR : TypeId.VARCHAR);
      w.u16(s.length === 'max' ? NULL_U16 : (s.length as number) * unit).bytes(DEFAULT_COLLATION);
      return;
    }
  }
}

export function colMetadata(columns: Column[]): { token: Buffer; specs: ColumnSpec[] } {
  const specs = columns.map(resolveColumn);
  const w = new ByteWriter().u8(Token.COLMETADATA).u16(columns.length);
  for (const s of specs) {
    w.u32(0); // user type
    w.u16(s.nullable ? 0x0001 : 0x0000);
    writeTypeInfo(w, s);
    w.bVarChar(s.col.name);
  }
  return { token: w.toBuffer(), specs };
}

export function row(specs: ColumnSpec[], values: unknown[]): Buffer {
  if (values.length !== specs.length) {
    throw new Error(`row has ${values.length} values for ${specs.length} columns`);
  }
  const w = new ByteWriter().u8(Token.ROW);
  for (let i = 0; i < specs.length; i++) writeValue(w, specs[i], values[i]);
  return w.toBuffer();
}

/** Encodes one result set: COLMETADATA followed by its ROW tokens. */
export function resultSet(rs: ResultSet): Buffer {
  const { token, specs } = colMetadata(rs.columns);
  return Buffer.concat([token, ...rs.rows.map((r) => row(specs, r))]);
}

function writeValue(w: ByteWriter, s: ColumnSpec, v: unknown): void {
  const { col } = s;
  if (v === null || v === undefined) {
    if (!s.nullable) throw new Error(`column ${col.name} is not nullable`);
    switch (col.type) {
      case 'nvarchar':
      case 'varchar':
        if (s.length === 'max') w.u64(PLP_NULL);
        else w.u16(NULL_U16);
        return;
      default:
        w.u8(0);
        return;
    }
  }
  switch (col.type) {
    case 'int': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) throw new Error(`bad int ${String(v)}`);
      if (s.nullable) w.u8(4);
      w.i32(n);
      return;
    }
    case 'bigint': {
      const n = toBigInt(v);
      if (s.nullable) w.u8(8);
      w.i64(BigInt.asIntN(64, n));
      return;
    }
    case 'bit':
      if (s.nullable) w.u8(1);
      w.u8(v === true || v === 1 || v === '1' || v === 1n || v === 'true' ? 1 : 0);
      return;
    case 'numeric': {
      const { negative, magnitude } = scaledDecimal(v, s.scale);
      const size = numericBytes(s.precision);
      if (magnitude >= 10n ** BigInt(s.precision))
        throw new Error(`${String(v)} overflows numeric(${s.precision})`);
      const mag = Buffer.alloc(size);
      let m = magnitude;
      for (let i = 0; i < size; i++) {
        mag[i] = Number(m & 0xffn);
        m >>= 8n;
      }
      w.u8(size + 1)
        .u8(negative ? 0 : 1)
        .bytes(mag);
      return;
    }
    case 'datetime2': {
      const d = v instanceof Date ? v : new Date(v as string | number);
      const ms = d.getTime();
      if (Number.isNaN(ms)) throw new Error(`bad datetime2 ${String(v)}`);
      const day = 86_400_000;
      const msOfDay = ((ms % day) + day) % day;
      const days = 730_119 + Math.floor((ms - Date.UTC(2000, 0, 1)) / day);
      const time = s.scale >= 3 ? msOfDay * 10 ** (s.scale - 3) : Math.floor(msOfDay / 10 ** (3 - s.scale));
      const tb = timeBytes(s.scale);
      const buf = Buffer.alloc(tb + 3);
      buf.writeUIntLE(time, 0, tb);
      buf.writeUIntLE(days, tb, 3);
      w.u8(buf.length).bytes(buf);
      return;
    }
    case 'uniqueidentifier': {
      const hex = String(v).replace(/[{}-]/g, '');
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`bad uniqueidentifier ${String(v)}`);
      const b = Buffer.from(hex, 'hex');
      const wire = Buffer.concat([
        b.subarray(0, 4).reverse(),
        b.subarray(4, 6).reverse(),
        b.subarray(6, 8).reverse(),
        b.subarray(8),
      ]);
      w.u8(16).bytes(wire);
      return;
    }
    case 'nvarchar':
    case 'varchar': {
      const text = v instanceof Date ? v.toISOString() : String(v);
      // varchar columns carry code page 1252 text; latin1 is its close stand-in (non-Latin-1 become '?').
      const bytes =
        col.type === 'nvarchar'
          ? Buffer.from(text, 'ucs2')
          : Buffer.from(text.replace(/[\u{100}-\u{10ffff}]/gu, '?'), 'latin1');
      if (s.length === 'max') {
        w.u64(bytes.length);
        if (bytes.length > 0) w.u32(bytes.length).bytes(bytes);
        w.u32(0);
      } else {
        if (bytes.length > 0xfffe) throw new Error(`value too long for column ${col.name}`);
        w.u16(bytes.length).bytes(bytes);
      }
      return;
    }
  }
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return BigInt(v.trim());
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new Error(`bad bigint ${String(v)}`);
}

/** A decimal value as sign + magnitude scaled by 10^scale (rounded half away from zero), exactly. */
export function scaledDecimal(v: unknown, scale: number): { negative: boolean; magnitude: bigint } {
  let text: string;
  if (typeof v === 'bigint') text = v.toString();
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`bad numeric ${v}`);
    text = Math.abs(v) < 1e21 ? v.toFixed(Math.min(scale + 1, 100)) : BigInt(v).toString();
  } else if (typeof v === 'string') text = v.trim();
  else if (typeof v === 'boolean') text = v ? '1' : '0';
  else throw new Error(`bad numeric ${String(v)}`);
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`bad numeric ${text}`);
  const intPart = m[2] || '0';
  const frac = m[3] ?? '';
  let magnitude = BigInt(intPart + frac.slice(0, scale).padEnd(scale, '0'));
  if (frac.length > scale && frac.charCodeAt(scale) >= 0x35 /* '5' */) magnitude += 1n;
  return { negative: m[1] === '-' && magnitude !== 0n, magnitude };
}
