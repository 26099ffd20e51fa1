/**
 * Client → server messages (MS-TDS 2.2.6): PRELOGIN, LOGIN7 (with FEATUREEXT), FEDAUTH_TOKEN, SQL batch,
 * RPC request (with typed parameter values), transaction manager request. Layouts as tedious writes them
 * (tedious/lib/prelogin-payload.js, login7-payload.js, rpcrequest-payload.js, data-types/*).
 */
import { SqlError } from './types';
import { ByteReader, ByteWriter, ProtocolError } from './wire';

// ---------------------------------------------------------------------------------------------------------
// PRELOGIN

export const Encrypt = { OFF: 0x00, ON: 0x01, NOT_SUP: 0x02, REQ: 0x03 } as const;

export interface Prelogin {
  encryption: number;
  /** The client sent FEDAUTHREQUIRED (it can do Entra ID authentication). */
  fedAuthRequired: boolean;
}

export function parsePrelogin(data: Buffer): Prelogin {
  const result: Prelogin = { encryption: Encrypt.NOT_SUP, fedAuthRequired: false };
  let at = 0;
  while (at < data.length && data[at] !== 0xff) {
    if (at + 5 > data.length) throw new ProtocolError('truncated PRELOGIN option table');
    const option = data[at];
    const offset = data.readUInt16BE(at + 1);
    const length = data.readUInt16BE(at + 3);
    if (offset + length > data.length) throw new ProtocolError('PRELOGIN option out of range');
    if (option === 0x01 && length >= 1) result.encryption = data[offset];
    if (option === 0x06 && length >= 1) result.fedAuthRequired = data[offset] === 0x01;
    at += 5;
  }
  return result;
}

/** PRELOGIN response: VERSION, ENCRYPTION, INSTOPT, THREADID, MARS (+ FEDAUTHREQUIRED when asked). */
export function preloginResponse(productVersion: string, encryption: number, fedAuth: boolean): Buffer {
  const [major = 16, minor = 0, build = 0, sub = 0] = productVersion
    .split('.')
    .map((p) => Number.parseInt(p, 10) || 0);
  const version = Buffer.alloc(6);
  version.writeUInt8(major & 0xff, 0);
  version.writeUInt8(minor & 0xff, 1);
  version.writeUInt16BE(build & 0xffff, 2);
  version.writeUInt16BE(sub & 0xffff, 4);
  const options: [number, Buffer][] = [
    [0x00, version],
    [0x01, Buffer.from([encryption])],
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(0)],
    [0x04, Buffer.from([0x00])],
  ];
  if (fedAuth) options.push([0x06, Buffer.from([0x01])]);
  const table = new ByteWriter();
  const values = new ByteWriter();
  let offset = options.length * 5 + 1;
  for (const [token, value] of options) {
    table.u8(token).u16be(offset).u16be(value.length);
    values.bytes(value);
    offset += value.length;
  }
  table.u8(0xff);
  return Buffer.concat([table.toBuffer(), values.toBuffer()]);
}

// ---------------------------------------------------------------------------------------------------------
// LOGIN7

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  hostName: string;
  user: string;
  password: string;
  appName: string;
  serverName: string;
  database: string;
  /** FEDAUTH feature: a ready token (SECURITYTOKEN library) or an Entra ID workflow (ADAL library). */
  fedAuth?: { library: 'securitytoken'; token: string } | { library: 'adal'; workflow: number };
  utf8Support: boolean;
}

/** Undoes the LOGIN7 password obfuscation: XOR 0xA5, then swap the nibbles of every byte. */
export function unscramblePassword(bytes: Buffer): string {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ^ 0xa5;
    out[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return out.toString('ucs2');
}

export function parseLogin7(data: Buffer): Login7 {
  if (data.length < 94) throw new ProtocolError('LOGIN7 too short');
  const text = (at: number): string => {
    const offset = data.readUInt16LE(at);
    const chars = data.readUInt16LE(at + 2);
    if (offset + chars * 2 > data.length) throw new ProtocolError('LOGIN7 field out of range');
    return data.toString('ucs2', offset, offset + chars * 2);
  };
  const passwordOffset = data.readUInt16LE(44);
  const passwordChars = data.readUInt16LE(46);
  const login: Login7 = {
    tdsVersion: data.readUInt32LE(4),
    packetSize: data.readUInt32LE(8),
    hostName: text(36),
    user: text(40),
    password: unscramblePassword(data.subarray(passwordOffset, passwordOffset + passwordChars * 2)),
    appName: text(48),
    serverName: text(52),
    database: text(68),
    utf8Support: false,
  };
  const flags3 = data[27];
  const extensionUsed = (flags3 & 0x10) !== 0;
  if (extensionUsed && data.readUInt16LE(58) >= 4) {
    const featureExtOffset = data.readUInt32LE(data.readUInt16LE(56));
    parseFeatureExt(new ByteReader(data, featureExtOffset), login);
  }
  return login;
}

function parseFeatureExt(r: ByteReader, login: Login7): void {
  for (;;) {
    const id = r.u8();
    if (id === 0xff) return;
    const body = new ByteReader(r.bytes(r.u32()));
    if (id === 0x02) {
      const options = body.u8();
      const library = options >> 1;
      if (library === 0x01)
        login.fedAuth = { library: 'securitytoken', token: body.bytes(body.u32()).toString('ucs2') };
      else if (library === 0x02)
        login.fedAuth = { library: 'adal', workflow: body.remaining ? body.u8() : 0 };
      else throw new ProtocolError(`unknown FEDAUTH library ${library}`);
    } else if (id === 0x0a) {
      login.utf8Support = body.remaining > 0 && (body.u8() & 0x01) === 1;
    }
  }
}

/** FEDAUTH_TOKEN message: DataLen, TokenLen, token (UCS-2), optional nonce. */
export function parseFedAuthToken(data: Buffer): string {
  const r = new ByteReader(data);
  r.u32();
  return r.bytes(r.u32()).toString('ucs2');
}

// ---------------------------------------------------------------------------------------------------------
// SQL batch, RPC, transaction manager

/** Skips ALL_HEADERS (TDS 7.2+): its first DWORD is its own total length. */
function skipAllHeaders(data: Buffer): number {
  if (data.length < 4) return 0;
  const total = data.readUInt32LE(0);
  return total >= 4 && total <= data.length ? total : 0;
}

export function parseSqlBatch(data: Buffer): string {
  return data.toString('ucs2', skipAllHeaders(data));
}

/** Transaction manager request type: 5 begin, 7 commit, 8 rollback, 9 save. */
export function parseTransactionRequest(data: Buffer): number {
  return new ByteReader(data, skipAllHeaders(data)).u16();
}

export interface RpcParam {
  name: string;
  output: boolean;
  value: unknown;
}

export interface RpcRequest {
  procName?: string;
  procId?: number;
  params: RpcParam[];
}

/** Well-known procedure ids (ProcIDSwitch). */
export const PROC_NAMES: Record<number, string> = {
  1: 'sp_cursor',
  2: 'sp_cursoropen',
  3: 'sp_cursorprepare',
  4: 'sp_cursorexecute',
  5: 'sp_cursorprepexec',
  6: 'sp_cursorunprepare',
  7: 'sp_cursorfetch',
  8: 'sp_cursoroption',
  9: 'sp_cursorclose',
  10: 'sp_executesql',
  11: 'sp_prepare',
  12: 'sp_execute',
  13: 'sp_prepexec',
  14: 'sp_prepexecrpc',
  15: 'sp_unprepare',
};

/** Parses one RPC call (tedious sends one per message; a batch separator ends it). */
export function parseRpc(data: Buffer): RpcRequest {
  const r = new ByteReader(data, skipAllHeaders(data));
  const nameLength = r.u16();
  const request: RpcRequest = { params: [] };
  if (nameLength === 0xffff) request.procId = r.u16();
  else request.procName = r.ucs2(nameLength);
  r.u16(); // option flags
  while (r.remaining > 0) {
    const next = r.buf[r.pos];
    if (next === 0xff || next === 0x80) break; // batch separator
    const name = r.bVarChar();
    const status = r.u8();
    request.params.push({ name, output: (status & 0x01) !== 0, value: readTypedValue(r) });
  }
  return request;
}

const unsupported = (what: string): SqlError =>
  new SqlError(
    8009,
    `The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. ${what}`,
  );

/** Fixed-length types: NULL, TINYINT, BIT, SMALLINT, INT, BIGINT, REAL, FLOAT. */
const FIXED_SIZES = new Map([
  [0x1f, 0],
  [0x30, 1],
  [0x32, 1],
  [0x34, 2],
  [0x38, 4],
  [0x7f, 8],
  [0x3b, 4],
  [0x3e, 8],
]);

/** Reads TYPE_INFO followed by the value (MS-TDS 2.2.5.4 / 2.2.5.5). */
export function readTypedValue(r: ByteReader): unknown {
  const type = r.u8();
  const size = FIXED_SIZES.get(type);
  if (size !== undefined) return fixedValue(type, r.bytes(size));
  switch (type) {
    case 0x26: // INTN
    case 0x68: // BITN
    case 0x6d: // FLTN
    case 0x6e: // MONEYN
    case 0x6f: {
      // DATETIMN
      r.u8();
      const len = r.u8();
      if (len === 0) return null;
      const b = r.bytes(len);
      if (type === 0x26) return fixedValue(len === 1 ? 0x30 : len === 2 ? 0x34 : len === 4 ? 0x38 : 0x7f, b);
      if (type === 0x68) return b[0] !== 0;
      if (type === 0x6d) return len === 4 ? b.readFloatLE(0) : b.readDoubleLE(0);
      if (type === 0x6e) return len === 4 ? b.readInt32LE(0) / 10000 : Number(moneyOf(b)) / 10000;
      return len === 4
        ? new Date(Date.UTC(1900, 0, 1 + b.readUInt16LE(0), 0, b.readUInt16LE(2)))
        : new Date(Date.UTC(1900, 0, 1 + b.readInt32LE(0)) + Math.round((b.readUInt32LE(4) * 10) / 3));
    }
    case 0x6a: // DECIMALN
    case 0x6c: {
      // NUMERICN
      r.u8();
      r.u8(); // precision
      const scale = r.u8();
      const len = r.u8();
      if (len === 0) return null;
      const b = r.bytes(len);
      let magnitude = 0n;
      for (let i = len - 1; i >= 1; i--) magnitude = (magnitude << 8n) | BigInt(b[i]);
      return decimalString(b[0] === 1 ? magnitude : -magnitude, scale);
    }
    case 0x24: {
      // GUID
      r.u8();
      const len = r.u8();
      return len === 0 ? null : guidString(r.bytes(len));
    }
    case 0x28: {
      // DATEN
      const len = r.u8();
      return len === 0 ? null : new Date(dateMs(r.uintLE(3)));
    }
    case 0x29: // TIMEN
    case 0x2a: // DATETIME2N
    case 0x2b: {
      // DATETIMEOFFSETN
      const scale = r.u8();
      const len = r.u8();
      if (len === 0) return null;
      const tb = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
      const units = r.uintLE(tb);
      const ms = scale >= 3 ? Math.floor(units / 10 ** (scale - 3)) : units * 10 ** (3 - scale);
      if (type === 0x29) return new Date(ms);
      const days = r.uintLE(3);
      if (type === 0x2b) r.u16(); // offset in minutes (the date and time are UTC)
      return new Date(dateMs(days) + ms);
    }
    case 0xe7: // NVARCHAR
    case 0xef: // NCHAR
    case 0xa7: // BIGVARCHAR
    case 0xaf: // BIGCHAR
    case 0xa5: // BIGVARBINARY
    case 0xad: {
      // BIGBINARY
      const maxLength = r.u16();
      const textual = type !== 0xa5 && type !== 0xad;
      const collation = textual ? r.bytes(5) : undefined;
      const bytes = maxLength === 0xffff ? readPlp(r) : readUsBytes(r);
      if (bytes === null) return null;
      if (!textual) return Buffer.from(bytes);
      if (type === 0xe7 || type === 0xef) return bytes.toString('ucs2');
      const utf8 = collation !== undefined && (collation[3] & 0x04) !== 0; // UTF8 collation flag
      return bytes.toString(utf8 ? 'utf8' : 'latin1');
    }
    case 0xf1: {
      // XML
      if (r.u8() === 1) {
        r.bVarChar();
        r.bVarChar();
        r.ucs2(r.u16());
      }
      const bytes = readPlp(r);
      return bytes === null ? null : bytes.toString('ucs2');
    }
    default:
      throw unsupported(`Parameter type 0x${type.toString(16)} is not supported by the stand-in.`);
  }
}

function fixedValue(type: number, b: Buffer): unknown {
  switch (type) {
    case 0x1f:
      return null;
    case 0x30:
      return b.readUInt8(0);
    case 0x32:
      return b[0] !== 0;
    case 0x34:
      return b.readInt16LE(0);
    case 0x38:
      return b.readInt32LE(0);
    case 0x7f:
      return b.readBigInt64LE(0);
    case 0x3b:
      return b.readFloatLE(0);
    default:
      return b.readDoubleLE(0);
  }
}

function moneyOf(b: Buffer): bigint {
  return (BigInt(b.readInt32LE(0)) << 32n) | BigInt(b.readUInt32LE(4));
}

/** Days since 0001-01-01 → epoch milliseconds (UTC). */
function dateMs(days: number): number {
  return Date.UTC(2000, 0, 1) + (days - 730_119) * 86_400_000;
}

function readUsBytes(r: ByteReader): Buffer | null {
  const len = r.u16();
  return len === 0xffff ? null : r.bytes(len);
}

/** PLP: ULONGLONG total (all ones = NULL), then chunks (ULONG length) up to a zero-length terminator. */
function readPlp(r: ByteReader): Buffer | null {
  if (r.u64() === 0xffffffffffffffffn) return null;
  const chunks: Buffer[] = [];
  for (let len = r.u32(); len !== 0; len = r.u32()) chunks.push(r.bytes(len));
  return Buffer.concat(chunks);
}

export function decimalString(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${text}` : text;
}

function guidString(b: Buffer): string {
  const hex = Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8, 16),
  ])
    .toString('hex')
    .toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
