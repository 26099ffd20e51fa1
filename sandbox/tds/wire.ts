/**
 * TDS framing: packet types, the 8-byte packet header, message reassembly and splitting, and small
 * little-endian byte writer/reader helpers used by the token encoder and the request decoders.
 */

export const PacketType = {
  SQL_BATCH: 0x01,
  RPC_REQUEST: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  BULK_LOAD: 0x07,
  FEDAUTH_TOKEN: 0x08,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;

export const PacketStatus = { EOM: 0x01, IGNORE: 0x02, RESET_CONNECTION: 0x08 } as const;

export const HEADER_LENGTH = 8;
export const DEFAULT_PACKET_SIZE = 4096;

/** A malformed or unexpected client message: the connection is dropped. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A complete client message: the payloads of its packets joined, and the status bits of its last packet. */
export interface TdsMessage {
  type: number;
  status: number;
  data: Buffer;
}

/** Reassembles packets (possibly split or coalesced across reads) into messages. */
export class MessageAssembler {
  private pending: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];

  constructor(private readonly onMessage: (message: TdsMessage) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= HEADER_LENGTH) {
      const length = this.pending.readUInt16BE(2);
      if (length < HEADER_LENGTH) throw new ProtocolError(`bad packet length ${length}`);
      if (this.pending.length < length) return;
      const packet = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      this.parts.push(packet.subarray(HEADER_LENGTH));
      const status = packet[1];
      if (status & PacketStatus.EOM) {
        const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
        this.parts = [];
        this.onMessage({ type: packet[0], status, data });
      }
    }
  }

  /** Bytes received but not yet part of a packet (handed on when the transport changes under us). */
  takeRest(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

/** Splits a message into packets of at most `packetSize` bytes (header included). */
export function packetize(type: number, payload: Buffer, packetSize: number, spid: number): Buffer {
  const room = packetSize - HEADER_LENGTH;
  const count = Math.max(1, Math.ceil(payload.length / room));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = payload.subarray(i * room, (i + 1) * room);
    const header = Buffer.alloc(HEADER_LENGTH);
    header[0] = type;
    header[1] = i === count - 1 ? PacketStatus.EOM : 0;
    header.writeUInt16BE(HEADER_LENGTH + body.length, 2);
    header.writeUInt16BE(spid & 0xffff, 4);
    header[6] = (i + 1) % 256;
    header[7] = 0;
    out.push(header, body);
  }
  return Buffer.concat(out);
}

/** Append-only little-endian buffer builder. */
export class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;

  bytes(buf: Buffer): this {
    this.chunks.push(buf);
    this.length += buf.length;
    return this;
  }
  private fixed(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    return this.bytes(b);
  }
  u8(v: number): this {
    return this.fixed(1, (b) => b.writeUInt8(v & 0xff));
  }
  u16(v: number): this {
    return this.fixed(2, (b) => b.writeUInt16LE(v));
  }
  u16be(v: number): this {
    return this.fixed(2, (b) => b.writeUInt16BE(v));
  }
  u32(v: number): this {
    return this.fixed(4, (b) => b.writeUInt32LE(v));
  }
  u32be(v: number): this {
    return this.fixed(4, (b) => b.writeUInt32BE(v));
  }
  i32(v: number): this {
    return this.fixed(4, (b) => b.writeInt32LE(v));
  }
  u64(v: bigint | number): this {
    return this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  i64(v: bigint): this {
    return this.fixed(8, (b) => b.writeBigInt64LE(v));
  }
  ucs2(s: string): this {
    return this.bytes(Buffer.from(s, 'ucs2'));
  }
  /** B_VARCHAR: length in characters (1 byte), UCS-2 text. */
  bVarChar(s: string): this {
    return this.u8(s.length).ucs2(s);
  }
  /** US_VARCHAR: length in characters (2 bytes), UCS-2 text. */
  usVarChar(s: string): this {
    return this.u16(s.length).ucs2(s);
  }
  toBuffer(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
  }
}

/** Bounds-checked little-endian reader; running past the end is a ProtocolError. */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) throw new ProtocolError('message too short');
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  uintLE(size: number): number {
    return size === 0 ? 0 : this.buf.readUIntLE(this.need(size), size);
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  ucs2(chars: number): string {
    return this.bytes(chars * 2).toString('ucs2');
  }
  bVarChar(): string {
    return this.ucs2(this.u8());
  }
}
