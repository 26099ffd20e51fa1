/**
 * Public types of the TDS 7.4 server stand-in (`startTdsServer` in ./server.ts).
 *
 * The server speaks the wire protocol only; what a query means is the business of the
 * `QueryHandler` the caller supplies.
 */

export type SqlType =
  'int' | 'bigint' | 'bit' | 'nvarchar' | 'varchar' | 'numeric' | 'datetime2' | 'uniqueidentifier';

/**
 * One result column.
 * - `length`: characters for nvarchar/varchar (defaults 4000/8000); -1 or anything above 4000/8000 means `max`.
 * - `precision`/`scale`: numeric (defaults 18, 0); `scale` is also the datetime2 fraction digits (default 7).
 * - `nullable`: defaults to true (then the nullable wire types INTN/BITN are used, as SQL Server does).
 */
export interface Column {
  name: string;
  type: SqlType;
  precision?: number;
  scale?: number;
  nullable?: boolean;
  length?: number;
}

/** Row values: number | bigint | string | boolean | Date | null. numeric accepts bigint or a decimal string. */
export interface ResultSet {
  columns: Column[];
  rows: unknown[][];
}

export interface LoginInfo {
  user: string;
  password?: string;
  database?: string;
  appName?: string;
  authKind: 'sql' | 'token';
  accessToken?: string;
  encrypted: boolean;
  /** Host name the client reported in LOGIN7. */
  hostName?: string;
  /** Server name the client reported in LOGIN7 (what it connected to). */
  serverNameSent?: string;
  /** TLS was started before PRELOGIN (TDS 8, `encrypt: 'strict'`). */
  strict?: boolean;
}

/**
 * One request as the handler sees it. For RPC `sp_executesql`, `sql` is the statement and `params` holds the
 * typed parameter values keyed by name without '@' (int → number, bigint → bigint, numeric/decimal → decimal
 * string, bit → boolean, n/varchar → string, date types → Date, uniqueidentifier → upper-case string,
 * varbinary → Buffer, NULL → null). Other procedures arrive as `sql: 'EXEC <name>'`.
 */
export interface QueryContext {
  sql: string;
  params: Record<string, unknown>;
  login: LoginInfo;
  kind: 'batch' | 'rpc';
  /**
   * Aborted when the client cancels the request (ATTENTION, MS-TDS 3.3.5.9: the server "MUST deliver a cancel
   * indication to the upper layer") or the connection ends. The server then answers the cancel at once and
   * ignores what the handler returns later; a handler that acts after a delay must check it.
   */
  signal?: AbortSignal;
}

/**
 * What the server answers. Each result set becomes COLMETADATA + ROWs + DONE/DONEINPROC (with its row count);
 * `rowsAffected` (e.g. for DDL/DML without result set) becomes one more DONE/DONEINPROC carrying that count.
 */
export interface QueryResult {
  resultSets: ResultSet[];
  rowsAffected?: number;
}

/** Thrown by a handler (or by `authenticate`) to answer with a SQL Server ERROR token. */
export class SqlError extends Error {
  constructor(
    public readonly number: number,
    message: string,
    public readonly state = 1,
    public readonly severity = 16,
  ) {
    super(message);
    this.name = 'SqlError';
  }
}

/**
 * Thrown by a handler to end the session the way a broken one ends.
 * - With `errors`: they are sent as ERROR tokens and the session is closed, as SQL Server does with a killed
 *   session (596 severity 21 + 0 severity 20, see sandbox/sql/faults.ts) or any severity 20+ error.
 * - Without: the TCP connection is reset with no answer at all; the client sees ECONNRESET (Windows: 10054
 *   "An existing connection was forcibly closed by the remote host").
 */
export class ConnectionKill extends Error {
  constructor(readonly errors: SqlError[] = []) {
    super(errors.length ? errors.map((e) => e.message).join(' ') : 'connection reset');
    this.name = 'ConnectionKill';
  }
}

export type QueryHandler = (ctx: QueryContext) => QueryResult | Promise<QueryResult>;

export interface TdsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral); read the real one from `TdsServer.port`. */
  port?: number;
  /**
   * When set, encryption is offered (ENCRYPT_ON in PRELOGIN) and TDS 8 strict (TLS first, ALPN tds/8.0) is
   * accepted too. Without it the server answers ENCRYPT_NOT_SUP.
   */
  tls?: { key: string; cert: string };
  /**
   * With `tls`: refuse clients that do not want encryption (answer ENCRYPT_REQ, as Managed Instance does).
   * Default true. When false such clients get an unencrypted session.
   */
  requireEncryption?: boolean;
  /** Reported in LOGINACK-era tokens (ERROR/INFO server name) and meant as @@SERVERNAME. */
  serverName: string;
  /** e.g. '16.0.4125.3' (goes in PRELOGIN VERSION and LOGINACK version bytes). Default '16.0.1000.6'. */
  productVersion?: string;
  /**
   * Accept or refuse a login. false → error 18456 "Login failed for user '<user>'." then close.
   * Throwing a SqlError answers with that error instead (e.g. 4060 cannot open database).
   */
  authenticate(login: LoginInfo): boolean | Promise<boolean>;
  handler: QueryHandler;
  /**
   * FEDAUTHINFO sent to clients that use an Entra ID (ADAL/MSAL) workflow rather than a ready token
   * (tedious `azure-active-directory-default`, `token-credential`, …). The client asks its credential for
   * `<spn>/.default` and sends the token back. Defaults: the public Azure SQL values.
   */
  fedAuthInfo?: { stsUrl?: string; spn?: string };
}

export interface TdsServer {
  port: number;
  close(): Promise<void>;
  readonly openConnections: number;
  /** Log of everything received, newest last, capped at 1000. */
  readonly queries: QueryContext[];
}
