/**
 * Server-side TLS for the TDS stand-in. The TLS engine runs over an in-memory duplex pair so that its
 * ciphertext can either be wrapped in TDS PRELOGIN packets (TDS 7.x: the handshake travels inside PRELOGIN
 * messages, afterwards TLS records flow bare on the socket) or go straight to the socket (TDS 8 strict).
 */
import { type Duplex, duplexPair } from 'node:stream';
import * as tls from 'node:tls';

export interface TlsEngine {
  /** Cleartext side: TDS packets are written to and read from here. */
  secure: tls.TLSSocket;
  /** Ciphertext side: write what the network delivered, read what must go to the network. */
  wire: Duplex;
}

export function createTlsEngine(context: tls.SecureContext, strict: boolean): TlsEngine {
  const [inner, wire] = duplexPair();
  const secure = new tls.TLSSocket(inner, {
    isServer: true,
    secureContext: context,
    ...(strict ? { ALPNProtocols: ['tds/8.0'] } : {}),
  });
  return { secure, wire };
}

/**
 * Where the server's handshake output collected so far stands, for wrapping it into one PRELOGIN message per
 * flight (the client answers each of its PRELOGIN messages with exactly one read). TLS 1.2 only (the wrapped
 * handshake is capped at 1.2, as tedious does on its side):
 * - 'flight': ServerHello … ServerHelloDone is complete;
 * - 'last': ChangeCipherSpec + (encrypted) Finished, or an alert, is complete: the handshake is over;
 * - 'partial': more output is still to come.
 */
export function handshakeFlightState(buf: Buffer): 'partial' | 'flight' | 'last' {
  let at = 0;
  let sawChangeCipherSpec = false;
  let lastType = -1;
  const plainHandshake: Buffer[] = [];
  while (at + 5 <= buf.length) {
    const type = buf[at];
    const length = buf.readUInt16BE(at + 3);
    if (at + 5 + length > buf.length) return 'partial';
    if (type === 20) sawChangeCipherSpec = true;
    else if (type === 22 && !sawChangeCipherSpec) plainHandshake.push(buf.subarray(at + 5, at + 5 + length));
    lastType = type;
    at += 5 + length;
  }
  if (at !== buf.length || lastType < 0) return 'partial';
  if (lastType === 21 || (sawChangeCipherSpec && lastType === 22)) return 'last';
  const messages = Buffer.concat(plainHandshake);
  let m = 0;
  let lastMessage = -1;
  while (m + 4 <= messages.length) {
    const length = messages.readUIntBE(m + 1, 3);
    if (m + 4 + length > messages.length) return 'partial';
    lastMessage = messages[m];
    m += 4 + length;
  }
  return m === messages.length && lastMessage === 14 /* ServerHelloDone */ ? 'flight' : 'partial';
}
