/**
 * A protocol-faithful TDS 7.4 server that plays SQL Server / Azure SQL Managed Instance for tests: the real
 * mssql/tedious client talks to it over TCP on 127.0.0.1. It knows no SQL; a caller-supplied handler answers.
 *
 * Connection life cycle (MS-TDS 3.3):
 *   [TLS first when the client speaks TDS 8 strict] → PRELOGIN → [TLS handshake inside PRELOGIN packets]
 *   → LOGIN7 (→ FEDAUTHINFO → FEDAUTH_TOKEN for Entra ID workflows) → LOGINACK … → requests.
 * Requests are answered one at a time, in order; every client message gets exactly one response message.
 * An ATTENTION (cancel) is seen the moment it arrives, also while a request is still running (MS-TDS 3.3.5.9).
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  Encrypt,
  PROC_NAMES,
  parseFedAuthToken,
  parseLogin7,
  parsePrelogin,
  parseRpc,
  parseSqlBatch,
  parseTransactionRequest,
  preloginResponse,
} from './requests';
import { createTlsEngine, handshakeFlightState, type TlsEngine } from './tls';
import * as tok from './tokens';
import { CMD_SELECT, DoneStatus } from './tokens';
import {
  ConnectionKill,
  type LoginInfo,
  type QueryContext,
  type QueryResult,
  SqlError,
  type TdsServer,
  type TdsServerOptions,
} from './types';
import {
  DEFAULT_PACKET_SIZE,
  MessageAssembler,
  PacketStatus,
  PacketType,
  ProtocolError,
  packetize,
  type TdsMessage,
} from './wire';

export * from './types';

const QUERY_LOG_CAP = 1000;
const DEFAULT_VERSION = '16.0.1000.6';
const TOKEN_PRINCIPAL = '<token-identified principal>';

/** What every connection of one server shares. */
interface Shared {
  options: TdsServerOptions;
  version: string;
  /** TDS 7.x wrapped handshake (TLS 1.2 at most) and TDS 8 strict contexts. */
  wrappedContext?: tls.SecureContext;
  strictContext?: tls.SecureContext;
  queries: QueryContext[];
  connections: Set<Connection>;
  nextSpid: number;
}

type Phase = 'prelogin' | 'login' | 'fedauth' | 'ready' | 'closed';

class Connection {
  private phase: Phase = 'prelogin';
  private readonly spid: number;
  private packetSize = DEFAULT_PACKET_SIZE;
  private tls?: TlsEngine;
  private strict = false;
  /** The TLS handshake is running inside PRELOGIN packets; its output is collected per flight. */
  private wrapping = false;
  private flight: Buffer[] = [];
  /** Bytes from the network are TLS records (strict, or after the wrapped handshake). */
  private cipherIn = false;
  private refuseUnencrypted = false;
  private sawData = false;
  private destroyed = false;
  private login?: LoginInfo;
  private pendingLogin?: { info: LoginInfo; utf8: boolean };
  private transaction?: Buffer;
  private queue: Promise<void> = Promise.resolve();
  /** The request the handler is working on (aborted by ATTENTION or when the connection ends). */
  private inFlight?: AbortController;
  private readonly raw = new MessageAssembler((m) => this.onRawMessage(m));
  private readonly clear = new MessageAssembler((m) => this.enqueue(m));

  constructor(
    private readonly socket: net.Socket,
    private readonly shared: Shared,
  ) {
    this.spid = shared.nextSpid++;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onNetworkData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  // ---- transport ------------------------------------------------------------------------------------------

  private onNetworkData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      if (!this.sawData) {
        this.sawData = true;
        if (chunk[0] === 0x16) {
          // A TLS ClientHello before any TDS: TDS 8 (`encrypt: 'strict'`).
          if (!this.shared.strictContext) throw new ProtocolError('TLS-first connection but no certificate');
          this.strict = true;
          this.startTls(this.shared.strictContext, true);
        }
      }
      if (this.cipherIn && this.tls) this.tls.wire.write(chunk);
      else this.raw.push(chunk);
    } catch {
      this.destroy();
    }
  }

  /** Packets read straight off the socket: TDS, or TLS handshake records wrapped in PRELOGIN. */
  private onRawMessage(m: TdsMessage): void {
    if (!this.wrapping) {
      this.enqueue(m);
      return;
    }
    if (m.type !== PacketType.PRELOGIN) throw new ProtocolError('expected TLS handshake in PRELOGIN');
    this.tls?.wire.write(m.data);
  }

  private startTls(context: tls.SecureContext, strict: boolean): void {
    const engine = createTlsEngine(context, strict);
    this.tls = engine;
    this.wrapping = !strict;
    this.cipherIn = strict;
    engine.secure.on('data', (d: Buffer) => {
      try {
        this.clear.push(d);
      } catch {
        this.destroy();
      }
    });
    engine.secure.on('error', () => this.destroy());
    engine.wire.on('data', (d: Buffer) => this.onCipherOut(d));
    engine.wire.on('end', () => this.socket.end());
    engine.wire.on('error', () => this.destroy());
  }

  /** TLS output: bare on the socket, or during the wrapped handshake one PRELOGIN message per flight. */
  private onCipherOut(d: Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.wrapping) {
      this.socket.write(d);
      return;
    }
    this.flight.push(d);
    const collected = Buffer.concat(this.flight);
    const state = handshakeFlightState(collected);
    if (state === 'partial') return;
    this.flight = [];
    this.socket.write(packetize(PacketType.PRELOGIN, collected, DEFAULT_PACKET_SIZE, this.spid));
    if (state === 'last') {
      // From now on TLS records travel bare; hand on anything already received.
      this.wrapping = false;
      this.cipherIn = true;
      const rest = this.raw.takeRest();
      if (rest.length > 0) this.tls?.wire.write(rest);
    }
  }

  /** Sends one response message (type 0x04), split into packets of the negotiated size. */
  private send(payload: Buffer, type: number = PacketType.TABULAR_RESULT): void {
    if (this.phase === 'closed') return;
    const bytes = packetize(type, payload, this.packetSize, this.spid);
    if (this.tls && !this.wrapping) this.tls.secure.write(bytes);
    else this.socket.write(bytes);
  }

  /** Ends the session after what was sent has been flushed (TLS close_notify first when encrypted). */
  private endGracefully(): void {
    this.phase = 'closed';
    if (this.tls && !this.wrapping) this.tls.secure.end();
    else this.socket.end();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.phase = 'closed';
    this.inFlight?.abort();
    this.tls?.secure.destroy();
    this.tls?.wire.destroy();
    this.socket.destroy();
    this.shared.connections.delete(this);
  }

  // ---- message dispatch -----------------------------------------------------------------------------------

  private enqueue(m: TdsMessage): void {
    // MS-TDS 3.3.5.9: the server keeps listening while a request executes; an attention received then MUST
    // deliver a cancel indication to the upper layer. Its acknowledgment is sent in order, after the answer.
    if (m.type === PacketType.ATTENTION) this.inFlight?.abort();
    this.queue = this.queue
      .then(() => (this.phase === 'closed' ? undefined : this.dispatch(m)))
      .catch(() => this.destroy());
  }

  private async dispatch(m: TdsMessage): Promise<void> {
    const expect = (type: number): void => {
      if (m.type !== type)
        throw new ProtocolError(`unexpected message 0x${m.type.toString(16)} in ${this.phase}`);
    };
    switch (this.phase) {
      case 'prelogin':
        expect(PacketType.PRELOGIN);
        return this.onPrelogin(m.data);
      case 'login':
        expect(PacketType.LOGIN7);
        return this.onLogin7(m.data);
      case 'fedauth': {
        expect(PacketType.FEDAUTH_TOKEN);
        const pending = this.pendingLogin;
        if (!pending) throw new ProtocolError('no login pending');
        pending.info.accessToken = parseFedAuthToken(m.data);
        pending.info.user = principalOf(pending.info.accessToken);
        return this.completeLogin(pending.info, true, pending.utf8);
      }
      case 'ready':
        return this.onRequest(m);
      default:
        throw new ProtocolError('connection closed');
    }
  }

  private onPrelogin(data: Buffer): void {
    const client = parsePrelogin(data);
    const { options, wrappedContext } = this.shared;
    let answer: number = Encrypt.NOT_SUP;
    let encrypt = false;
    if (this.strict) {
      answer = Encrypt.NOT_SUP; // already under TLS: nothing more to negotiate
    } else if (wrappedContext) {
      if (client.encryption === Encrypt.ON || client.encryption === Encrypt.REQ) {
        answer = Encrypt.ON;
        encrypt = true;
      } else if (client.encryption === Encrypt.OFF) {
        // Login-only encryption is not offered: the whole session is encrypted.
        answer = Encrypt.REQ;
        encrypt = true;
      } else if (options.requireEncryption ?? true) {
        answer = Encrypt.REQ; // the client cannot encrypt: it has to give up
        this.refuseUnencrypted = true;
      }
    }
    this.send(preloginResponse(this.shared.version, answer, client.fedAuthRequired));
    this.phase = 'login';
    if (encrypt && wrappedContext) this.startTls(wrappedContext, false);
  }

  private async onLogin7(data: Buffer): Promise<void> {
    if (this.refuseUnencrypted && !this.tls) return this.destroy();
    const l = parseLogin7(data);
    if (l.packetSize >= 512 && l.packetSize <= 32767) this.packetSize = l.packetSize;
    const info: LoginInfo = {
      user: l.user,
      password: l.fedAuth ? undefined : l.password,
      database: l.database || undefined,
      appName: l.appName || undefined,
      authKind: l.fedAuth ? 'token' : 'sql',
      encrypted: this.tls !== undefined,
      hostName: l.hostName || undefined,
      serverNameSent: l.serverName || undefined,
      strict: this.strict,
    };
    if (l.fedAuth?.library === 'securitytoken') {
      info.accessToken = l.fedAuth.token;
      info.user = principalOf(l.fedAuth.token);
    } else if (l.fedAuth?.library === 'adal') {
      // Tell the client where to get a token; it answers with a FEDAUTH_TOKEN message.
      const { stsUrl, spn } = this.shared.options.fedAuthInfo ?? {};
      this.pendingLogin = { info, utf8: l.utf8Support };
      this.phase = 'fedauth';
      this.send(
        tok.fedAuthInfo(
          stsUrl ?? 'https://login.microsoftonline.com/common',
          spn ?? 'https://database.windows.net/',
        ),
      );
      return;
    }
    return this.completeLogin(info, l.fedAuth !== undefined, l.utf8Support);
  }

  private async completeLogin(info: LoginInfo, fedAuth: boolean, utf8: boolean): Promise<void> {
    const { options, version } = this.shared;
    let failure: SqlError | undefined;
    try {
      if (!(await options.authenticate(info))) {
        failure = new SqlError(18456, `Login failed for user '${info.user}'.`, 1, 14);
      }
    } catch (err) {
      failure = toSqlError(err, new SqlError(18456, `Login failed for user '${info.user}'.`, 1, 14));
    }
    if (failure) {
      this.send(Buffer.concat([this.errorToken(failure), tok.done('done', DoneStatus.ERROR)]));
      return this.endGracefully();
    }
    const database = info.database ?? 'master';
    this.login = info;
    this.phase = 'ready';
    this.send(
      Buffer.concat([
        tok.envChangeText(1, database, 'master'),
        tok.message('info', 5701, 2, 0, `Changed database context to '${database}'.`, options.serverName),
        tok.envChangeText(2, 'us_english', ''),
        tok.message('info', 5703, 1, 0, 'Changed language setting to us_english.', options.serverName),
        tok.envChangeBytes(7, tok.DEFAULT_COLLATION, Buffer.alloc(0)),
        tok.loginAck(version),
        tok.envChangeText(4, String(this.packetSize), String(DEFAULT_PACKET_SIZE)),
        ...(fedAuth || utf8 ? [tok.featureExtAck(fedAuth, utf8)] : []),
        tok.done('done', DoneStatus.FINAL),
      ]),
    );
  }

  // ---- requests -------------------------------------------------------------------------------------------

  private async onRequest(m: TdsMessage): Promise<void> {
    if (m.type === PacketType.ATTENTION) {
      // The response to the cancelled request went out already (requests are answered in order).
      return this.send(tok.done('done', DoneStatus.ATTN));
    }
    if (m.status & PacketStatus.IGNORE) return this.send(tok.done('done', DoneStatus.FINAL));
    const reset =
      m.status & PacketStatus.RESET_CONNECTION
        ? [tok.envChangeBytes(18, Buffer.alloc(0), Buffer.alloc(0))]
        : [];
    const login = this.login as LoginInfo;
    switch (m.type) {
      case PacketType.SQL_BATCH: {
        const ctx: QueryContext = { sql: parseSqlBatch(m.data), params: {}, login, kind: 'batch' };
        return this.answer(ctx, reset);
      }
      case PacketType.RPC_REQUEST: {
        let ctx: QueryContext;
        try {
          ctx = rpcContext(parseRpc(m.data), login);
        } catch (err) {
          if (!(err instanceof SqlError)) throw err;
          return this.send(
            Buffer.concat([...reset, this.errorToken(err), tok.done('doneproc', DoneStatus.ERROR)]),
          );
        }
        return this.answer(ctx, reset);
      }
      case PacketType.TRANSACTION_MANAGER:
        return this.send(Buffer.concat([...reset, ...this.transactionRequest(m.data, login)]));
      default:
        throw new ProtocolError(`unsupported message type 0x${m.type.toString(16)}`);
    }
  }

  /** Logs the request, answers client housekeeping itself and hands everything else to the handler. */
  private async answer(ctx: QueryContext, prefix: Buffer[]): Promise<void> {
    const rpc = ctx.kind === 'rpc';
    const cancel = new AbortController();
    ctx.signal = cancel.signal;
    this.inFlight = cancel;
    this.log(ctx);
    let body: Buffer;
    try {
      let result: QueryResult;
      if (isSetOnly(ctx.sql)) result = { resultSets: [] };
      else if (/^\s*select\s+1\s*;?\s*$/i.test(ctx.sql)) {
        result = { resultSets: [{ columns: [{ name: '', type: 'int', nullable: false }], rows: [[1]] }] };
      } else result = await untilCancelled(this.shared.options.handler(ctx), cancel.signal);
      this.settled(cancel);
      try {
        body = encodeResult(result, rpc);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new SqlError(50000, `TDS stand-in cannot encode the handler's result: ${why}`);
      }
    } catch (err) {
      this.settled(cancel);
      if (err === CANCELLED) {
        // The cancelled request's own answer: a DONE without MORE before the DONE_ATTN acknowledgment, which
        // MS-TDS 2.2.1.7 (out-of-band attention example) allows; the ATTENTION message gets the ack.
        return this.send(Buffer.concat([...prefix, tok.done(rpc ? 'doneproc' : 'done', DoneStatus.FINAL)]));
      }
      if (err instanceof ConnectionKill) return this.kill(err, prefix, rpc);
      const error = toSqlError(err, undefined);
      body = Buffer.concat([this.errorToken(error), tok.done(rpc ? 'doneproc' : 'done', DoneStatus.ERROR)]);
      if (error.severity >= 20) {
        this.send(Buffer.concat([...prefix, body]));
        return this.endGracefully();
      }
    }
    this.send(Buffer.concat([...prefix, body]));
  }

  private settled(request: AbortController): void {
    if (this.inFlight === request) this.inFlight = undefined;
  }

  /** A killed session: its errors, then the end of the session; or, without errors, a TCP reset (no answer). */
  private kill(k: ConnectionKill, prefix: Buffer[], rpc: boolean): void {
    if (k.errors.length === 0) {
      this.phase = 'closed';
      this.socket.resetAndDestroy();
      return this.destroy();
    }
    const errors = k.errors.map((e) => this.errorToken(e));
    this.send(Buffer.concat([...prefix, ...errors, tok.done(rpc ? 'doneproc' : 'done', DoneStatus.ERROR)]));
    this.endGracefully();
  }

  /** BEGIN/COMMIT/ROLLBACK/SAVE TRANSACTION sent as transaction manager requests (mssql Transaction). */
  private transactionRequest(data: Buffer, login: LoginInfo): Buffer[] {
    const kind = parseTransactionRequest(data);
    const names: Record<number, string> = { 5: 'BEGIN', 7: 'COMMIT', 8: 'ROLLBACK', 9: 'SAVE' };
    this.log({ sql: `${names[kind] ?? 'UNKNOWN'} TRANSACTION`, params: {}, login, kind: 'batch' });
    const final = tok.done('done', DoneStatus.FINAL);
    const current = this.transaction ?? Buffer.alloc(8);
    if (kind === 5) {
      this.transaction = randomBytes(8);
      return [tok.envChangeBytes(8, this.transaction, Buffer.alloc(0)), final];
    }
    if (kind === 7 || kind === 8) {
      this.transaction = undefined;
      return [tok.envChangeBytes(kind === 7 ? 9 : 10, Buffer.alloc(0), current), final];
    }
    return [final];
  }

  private log(ctx: QueryContext): void {
    const { queries } = this.shared;
    queries.push(ctx);
    if (queries.length > QUERY_LOG_CAP) queries.splice(0, queries.length - QUERY_LOG_CAP);
  }

  private errorToken(e: SqlError): Buffer {
    return tok.message('error', e.number, e.state, e.severity, e.message, this.shared.options.serverName);
  }
}

// ---- helpers --------------------------------------------------------------------------------------------

/** The handler's view of an RPC: `sp_executesql` becomes statement + named params; other procs `EXEC name`. */
function rpcContext(rpc: ReturnType<typeof parseRpc>, login: LoginInfo): QueryContext {
  const name = rpc.procName ?? PROC_NAMES[rpc.procId ?? -1] ?? `proc#${rpc.procId}`;
  const executeSql = rpc.procId === 10 || /^(\[?sys\]?\.)?\[?sp_executesql\]?$/i.test(name);
  const named = (list: typeof rpc.params): Record<string, unknown> =>
    Object.fromEntries(list.map((p, i) => [p.name.replace(/^@/, '') || String(i), p.value]));
  if (executeSql) {
    const statement = rpc.params[0]?.value;
    if (typeof statement !== 'string')
      throw new SqlError(214, "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.");
    return { sql: statement, params: named(rpc.params.slice(2)), login, kind: 'rpc' };
  }
  return { sql: `EXEC ${name}`, params: named(rpc.params), login, kind: 'rpc' };
}

/**
 * Result sets → COLMETADATA, ROWs, DONE[INPROC](COUNT); rowsAffected → one more DONE[INPROC](COUNT).
 * A batch ends with a DONE without MORE; an RPC with RETURNSTATUS 0 and DONEPROC.
 */
function encodeResult(result: QueryResult, rpc: boolean): Buffer {
  const kind = rpc ? 'doneinproc' : 'done';
  const parts: Buffer[] = [];
  const dones: { count: number; cmd: number }[] = [];
  const flushDone = (last: boolean): void => {
    const d = dones.pop();
    if (d)
      parts.push(tok.done(kind, DoneStatus.COUNT | (last && !rpc ? 0 : DoneStatus.MORE), d.count, d.cmd));
  };
  for (const rs of result.resultSets) {
    flushDone(false);
    parts.push(tok.resultSet(rs));
    dones.push({ count: rs.rows.length, cmd: CMD_SELECT });
  }
  if (result.rowsAffected !== undefined) {
    flushDone(false);
    dones.push({ count: result.rowsAffected, cmd: 0 });
  }
  if (rpc) {
    flushDone(false);
    parts.push(tok.returnStatus(0), tok.done('doneproc', DoneStatus.FINAL));
  } else if (dones.length > 0) flushDone(true);
  else parts.push(tok.done('done', DoneStatus.FINAL));
  return Buffer.concat(parts);
}

/** Batches of SET statements only (tedious's session setup, pool resets) are answered with DONE alone. */
function isSetOnly(sql: string): boolean {
  const statements = sql
    .split(/[;\r\n]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('--'));
  return statements.length > 0 && statements.every((s) => /^set\s+(?!@)\w/i.test(s));
}

const CANCELLED = Symbol('cancelled');

/** The handler's answer, or CANCELLED (thrown) as soon as the client cancels; a later outcome is ignored. */
function untilCancelled(
  answer: QueryResult | Promise<QueryResult>,
  signal: AbortSignal,
): Promise<QueryResult> {
  if (!(answer instanceof Promise)) return Promise.resolve(answer);
  return new Promise<QueryResult>((resolve, reject) => {
    const onAbort = (): void => reject(CANCELLED);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function toSqlError(err: unknown, fallback: SqlError | undefined): SqlError {
  if (err instanceof SqlError) return err;
  if (fallback) return fallback;
  const message = err instanceof Error ? err.message : String(err);
  return new SqlError(50000, message, 1, 16);
}

/** A readable principal for a JWT access token (upn, unique_name, appid or oid), else SQL Server's wording. */
function principalOf(token: string): string {
  const parts = token.split('.');
  if (parts.length !== 3) return TOKEN_PRINCIPAL;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (claims && typeof claims === 'object') {
      const c = claims as Record<string, unknown>;
      for (const key of ['upn', 'unique_name', 'preferred_username', 'appid', 'oid']) {
        if (typeof c[key] === 'string') return c[key];
      }
    }
  } catch {
    // not a JWT: fall through
  }
  return TOKEN_PRINCIPAL;
}

/** Starts the stand-in; resolves once it listens (read the port from the result). */
export async function startTdsServer(options: TdsServerOptions): Promise<TdsServer> {
  const shared: Shared = {
    options,
    version: options.productVersion ?? DEFAULT_VERSION,
    queries: [],
    connections: new Set(),
    nextSpid: 51,
  };
  if (options.tls) {
    const { key, cert } = options.tls;
    shared.wrappedContext = tls.createSecureContext({ key, cert, maxVersion: 'TLSv1.2' });
    shared.strictContext = tls.createSecureContext({ key, cert });
  }
  const server = net.createServer((socket) => {
    shared.connections.add(new Connection(socket, shared));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    queries: shared.queries,
    get openConnections() {
      return shared.connections.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...shared.connections]) c.destroy();
      }),
  };
}
