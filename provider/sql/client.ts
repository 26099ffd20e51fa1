/**
 * The only code that talks T-SQL (mssql/tedious). Connections are encrypted by default; secrets stay in
 * the config object and never reach a message. Every error keeps its SQL error number and gets a hint.
 * Every request is bounded by a deadline (the caller's, else the operation's budget) and runs through
 * execute.ts: reads are retried on transient errors, changes are verified before they are ever repeated.
 */
import type * as Mssql from 'mssql';
import { type Clock, systemClock } from '../core/clock';
import { MigrationError } from '../core/errors';
import type { SqlConnection } from '../core/link/inputs';
import type {
  AvailabilityMode,
  ManagedInstanceSqlPort,
  ReplicaRow,
  ServerInfo,
  SqlCallOptions,
  SqlServerPort,
} from '../core/link/ports';
import { sqlHint } from '../core/link/sqlHints';
import { parseLsn } from '../core/lsn';
import { credential } from '../runtime/credential';
import { executeChange, executeRead } from './execute';
import * as S from './statements';

type Row = Record<string, unknown>;

export interface SessionOptions {
  /** The operation's clock (deadlines are on it). Default: the system clock. */
  clock?: Clock;
  /** Deadline of a request that brings none: this long from when it starts (default 60 s). */
  budgetMs?: number;
}

export class SqlSession {
  private readonly clock: Clock;
  private readonly budgetMs: number;

  private constructor(
    private readonly pool: Mssql.ConnectionPool,
    private readonly mssql: typeof Mssql,
    readonly label: string,
    options: SessionOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.budgetMs = options.budgetMs ?? 60_000;
  }

  static async open(conn: SqlConnection, label: string, options: SessionOptions = {}): Promise<SqlSession> {
    const mssql = require('mssql') as typeof Mssql;
    const config: Mssql.config = {
      server: conn.server,
      port: conn.port,
      database: 'master',
      connectionTimeout: conn.connectTimeoutInMs,
      requestTimeout: Math.max(conn.connectTimeoutInMs, 60_000),
      pool: { max: 2, min: 0 },
      options: {
        encrypt: conn.encrypt as boolean,
        trustServerCertificate: conn.trustServerCertificate,
        appName: 'pulumi-sqlmi-migration',
        ...(conn.caCertificate ? { cryptoCredentialsDetails: { ca: conn.caCertificate } } : {}),
      },
    };
    if (conn.authentication === 'sql') {
      config.user = conn.userName;
      config.password = conn.password;
    } else if (conn.authentication === 'ntlm') {
      config.authentication = {
        type: 'ntlm',
        options: { userName: conn.userName!, password: conn.password!, domain: conn.domain! },
      };
    } else {
      // The process's one credential (shared with ARM): sessions opened at once ask for one token.
      config.authentication = {
        type: 'token-credential',
        options: { credential: credential() },
      } as unknown as Mssql.config['authentication'];
    }
    const pool = new mssql.ConnectionPool(config);
    // A connection that breaks between requests is reported here; the next request gets a new one. Without a
    // listener an 'error' event would end the provider process.
    pool.on('error', () => undefined);
    try {
      await pool.connect();
    } catch (e) {
      throw fromSqlError(e, `connecting to ${label} (${conn.server}${conn.port ? `:${conn.port}` : ''})`);
    }
    return new SqlSession(pool, mssql, label, options);
  }

  /** A read (SELECT): retried on transient errors until it answers or the deadline passes. */
  async query(
    statement: string,
    params: Record<string, string> = {},
    doing = 'running a query',
    opts: SqlCallOptions = {},
  ): Promise<Row[]> {
    const what = `${doing} on ${this.label}`;
    return executeRead(
      (timeoutMs) => this.attempt(statement, params, timeoutMs),
      this.execution(what, opts),
    ).then((r) => (r.recordset ?? []) as Row[]);
  }

  /**
   * A statement that changes state (ALTER/DROP). `inPlace` reads whether the change is there; after a failure
   * that may hide a success it is asked before the statement is ever sent again.
   */
  async change(
    statement: string,
    doing: string,
    inPlace: (opts: SqlCallOptions) => Promise<boolean>,
    opts: SqlCallOptions = {},
  ): Promise<void> {
    const what = `${doing} on ${this.label}`;
    await executeChange(
      (timeoutMs) => this.attempt(statement, {}, timeoutMs),
      (deadline) => inPlace({ deadline }),
      this.execution(what, opts),
    );
  }

  private execution(what: string, opts: SqlCallOptions) {
    return {
      clock: this.clock,
      deadline: opts.deadline ?? this.clock.now() + this.budgetMs,
      doing: what,
      toError: (e: unknown) => fromSqlError(e, what),
    };
  }

  /** One request with its own timeout (mssql's per-request override; tedious cancels it by ATTENTION). */
  private attempt(statement: string, params: Record<string, string>, timeoutMs: number) {
    const make = this.pool.request as unknown as (o: { requestTimeout: number }) => Mssql.Request;
    const request = make.call(this.pool, { requestTimeout: timeoutMs });
    for (const [k, v] of Object.entries(params)) request.input(k, this.mssql.NVarChar(128), v);
    return { result: request.query(statement), cancel: () => void request.cancel() };
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }
}

export function fromSqlError(e: unknown, doing: string): MigrationError {
  if (e instanceof MigrationError) return e;
  const err = e as { number?: number; code?: string; message?: string; originalError?: { message?: string } };
  const number = typeof err.number === 'number' ? err.number : undefined;
  const message = err.message ?? String(e);
  if (number !== undefined) {
    return new MigrationError('SqlError', `SQL error ${number} while ${doing}: ${message}`, {
      cause: e,
      causeCode: number,
      hint: sqlHint(number),
    });
  }
  const hint =
    err.code === 'ELOGIN'
      ? sqlHint(18456)
      : err.code === 'ETIMEOUT' || err.code === 'ESOCKET'
        ? 'the server is not reachable: check server, port, firewall/NSG rules and that encryption settings match the server'
        : err.code === 'EENCRYPT' || /certificate/i.test(message)
          ? 'the TLS certificate is not trusted: give caCertificate (PEM of the issuing CA), or trustServerCertificate: true only for a test server'
          : undefined;
  return new MigrationError('SqlConnection', `Failed ${doing}: ${message}`, {
    cause: e,
    causeCode: err.code,
    hint,
  });
}

const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const bit = (v: unknown) => (v === null || v === undefined ? undefined : v === true || v === 1);

export function sqlServerPort(session: SqlSession): SqlServerPort {
  const port: SqlServerPort = {
    async info(opts?: SqlCallOptions): Promise<ServerInfo> {
      const [r] = await session.query(S.serverInfo, {}, 'reading the server version', opts);
      return {
        productVersion: str(r?.product_version) ?? '0.0.0.0',
        productUpdateLevel: str(r?.product_update_level),
        engineEdition: r?.engine_edition === undefined ? undefined : Number(r.engine_edition),
      };
    },
    async dagReplicas(dag, opts): Promise<ReplicaRow[]> {
      const rows = await session.query(S.dagReplicas, { dag }, 'reading the link replicas', opts);
      return rows.map((r) => ({
        agName: String(r.ag_name),
        replicaServerName: String(r.replica_server_name),
        availabilityMode: String(r.availability_mode_desc),
        role: str(r.role_desc),
        connectedState: str(r.connected_state_desc),
        synchronizationHealth: str(r.synchronization_health_desc),
      }));
    },
    async setDagMode(dag, sqlServerAg, managedInstanceAg, mode: AvailabilityMode, opts) {
      await session.change(
        S.alterDagMode(dag, sqlServerAg, managedInstanceAg, mode),
        `switching ${dag} to ${mode}`,
        async (o) => {
          const rows = await port.dagReplicas(dag, o);
          return rows.length > 0 && rows.every((r) => r.availabilityMode.toUpperCase() === mode);
        },
        opts,
      );
    },
    async lsns(dag, opts) {
      const rows = await session.query(S.sqlServerLsns, { dag }, `reading the LSNs of ${dag}`, opts);
      return rows.map((r) => ({
        database: String(r.database_name),
        isLocal: bit(r.is_local) === true,
        syncState: str(r.synchronization_state_desc),
        connectedState: str(r.connected_state_desc),
        endOfLog: parseLsn(r.end_of_log_lsn),
        hardened: parseLsn(r.last_hardened_lsn),
      }));
    },
    async failover(dag, opts) {
      // In place once SQL Server is no longer primary of the link (its replica SECONDARY or RESOLVING).
      await session.change(
        S.failoverDag(dag),
        `failing over ${dag}`,
        async (o) => {
          const rows = await port.dagReplicas(dag, o);
          return rows.length > 0 && !rows.some((r) => r.role?.toUpperCase() === 'PRIMARY');
        },
        opts,
      );
    },
    async setDagRoleSecondary(dag, opts) {
      // In place once SQL Server no longer reports itself primary of the link.
      await session.change(
        S.setDagRoleSecondary(dag),
        `setting SQL Server secondary in ${dag}`,
        async (o) => {
          const rows = await port.dagReplicas(dag, o);
          return rows.length > 0 && !rows.some((r) => r.role?.toUpperCase() === 'PRIMARY');
        },
        opts,
      );
    },
    async availabilityGroup(name, opts) {
      const [r] = await session.query(
        S.availabilityGroupByName,
        { name },
        `looking up availability group ${name}`,
        opts,
      );
      return r ? { distributed: r.is_distributed === true || r.is_distributed === 1 } : undefined;
    },
    async availabilityGroupUsage(ag, opts) {
      const rows = await session.query(S.availabilityGroupUsage, { ag }, `reading what uses ${ag}`, opts);
      if (rows.length === 0) return undefined;
      return {
        databases: rows.flatMap((r) => str(r.database_name) ?? []),
        // Every row carries the count; the highest is the safe one to act on.
        dagCount: Math.max(...rows.map((r) => Number(r.dag_count ?? 0))),
      };
    },
    async dropAvailabilityGroup(name, opts) {
      await session.change(
        S.dropAvailabilityGroup(name),
        `dropping availability group ${name}`,
        async (o) => (await port.availabilityGroup(name, o)) === undefined,
        opts,
      );
    },
    close: () => session.close(),
  };
  return port;
}

export function managedInstanceSqlPort(session: SqlSession): ManagedInstanceSqlPort {
  return {
    async lsns(businessCritical, opts) {
      const rows = await session.query(
        S.managedInstanceLsns(businessCritical),
        {},
        'reading the LSNs of the replicated databases',
        opts,
      );
      return rows.map((r) => ({
        database: String(r.database_name),
        primary: bit(r.is_primary_replica),
        syncState: str(r.synchronization_state_desc),
        hardened: parseLsn(r.last_hardened_lsn),
        endOfLog: parseLsn(r.end_of_log_lsn),
        utcNow: str(r.utc_now),
      }));
    },
    async databaseState(database, opts) {
      const [r] = await session.query(
        S.databaseState,
        { db: database },
        `reading the state of ${database}`,
        opts,
      );
      return r
        ? { state: String(r.state_desc), readOnly: r.is_read_only === true || r.is_read_only === 1 }
        : undefined;
    },
    async utcNow(opts) {
      const [r] = await session.query(S.utcNow, {}, 'reading the clock of the managed instance', opts);
      return String(r?.utc_now ?? '');
    },
    async firstFullBackup(database, sinceUtc, opts) {
      // CONVERT(datetime2, @since, 126) takes yyyy-mm-ddThh:mi:ss.fff… without a zone designator.
      const since = sinceUtc.replace(/Z$/, '');
      const [r] = await session.query(
        S.firstFullBackupOnMi,
        { db: database, since },
        `reading the backups of ${database}`,
        opts,
      );
      if (!r?.backup_finish_date) return undefined;
      const d = r.backup_finish_date;
      return d instanceof Date ? d.toISOString() : String(d);
    },
    close: () => session.close(),
  };
}
