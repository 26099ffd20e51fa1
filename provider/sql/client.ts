/**
 * The only code that talks T-SQL (mssql/tedious). Connections are encrypted by default; secrets stay in
 * the config object and never reach a message. Every error keeps its SQL error number and gets a hint.
 */
import type * as Mssql from 'mssql';
import { MigrationError } from '../core/errors';
import type { SqlConnection } from '../core/link/inputs';
import type {
  AvailabilityMode,
  ManagedInstanceSqlPort,
  ReplicaRow,
  ServerInfo,
  SqlServerPort,
} from '../core/link/ports';
import { sqlHint } from '../core/link/sqlHints';
import { parseLsn } from '../core/lsn';
import * as S from './statements';

type Row = Record<string, unknown>;

export class SqlSession {
  private constructor(
    private readonly pool: Mssql.ConnectionPool,
    private readonly mssql: typeof Mssql,
    readonly label: string,
  ) {}

  static async open(conn: SqlConnection, label: string): Promise<SqlSession> {
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
      const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
      config.authentication = {
        type: 'token-credential',
        options: { credential: new DefaultAzureCredential() },
      } as unknown as Mssql.config['authentication'];
    }
    const pool = new mssql.ConnectionPool(config);
    try {
      await pool.connect();
    } catch (e) {
      throw fromSqlError(e, `connecting to ${label} (${conn.server}${conn.port ? `:${conn.port}` : ''})`);
    }
    return new SqlSession(pool, mssql, label);
  }

  async query(
    statement: string,
    params: Record<string, string> = {},
    doing = 'running a query',
  ): Promise<Row[]> {
    const request = this.pool.request();
    for (const [k, v] of Object.entries(params)) request.input(k, this.mssql.NVarChar(128), v);
    try {
      const result = await request.query(statement);
      return (result.recordset ?? []) as Row[];
    } catch (e) {
      throw fromSqlError(e, `${doing} on ${this.label}`);
    }
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
  return {
    async info(): Promise<ServerInfo> {
      const [r] = await session.query(S.serverInfo, {}, 'reading the server version');
      return {
        productVersion: str(r?.product_version) ?? '0.0.0.0',
        productUpdateLevel: str(r?.product_update_level),
        engineEdition: r?.engine_edition === undefined ? undefined : Number(r.engine_edition),
      };
    },
    async dagReplicas(dag): Promise<ReplicaRow[]> {
      const rows = await session.query(S.dagReplicas, { dag }, 'reading the link replicas');
      return rows.map((r) => ({
        agName: String(r.ag_name),
        replicaServerName: String(r.replica_server_name),
        availabilityMode: String(r.availability_mode_desc),
        role: str(r.role_desc),
        connectedState: str(r.connected_state_desc),
        synchronizationHealth: str(r.synchronization_health_desc),
      }));
    },
    async setDagMode(dag, sqlServerAg, managedInstanceAg, mode: AvailabilityMode) {
      await session.query(
        S.alterDagMode(dag, sqlServerAg, managedInstanceAg, mode),
        {},
        `switching ${dag} to ${mode}`,
      );
    },
    async lsns(dag) {
      const rows = await session.query(S.sqlServerLsns, { dag }, `reading the LSNs of ${dag}`);
      return rows.map((r) => ({
        database: String(r.database_name),
        isLocal: bit(r.is_local) === true,
        syncState: str(r.synchronization_state_desc),
        connectedState: str(r.connected_state_desc),
        endOfLog: parseLsn(r.end_of_log_lsn),
        hardened: parseLsn(r.last_hardened_lsn),
      }));
    },
    async failover(dag) {
      await session.query(S.failoverDag(dag), {}, `failing over ${dag}`);
    },
    async setDagRoleSecondary(dag) {
      await session.query(S.setDagRoleSecondary(dag), {}, `setting SQL Server secondary in ${dag}`);
    },
    async availabilityGroup(name) {
      const [r] = await session.query(
        S.availabilityGroupByName,
        { name },
        `looking up availability group ${name}`,
      );
      return r ? { distributed: r.is_distributed === true || r.is_distributed === 1 } : undefined;
    },
    async availabilityGroupUsage(ag) {
      const dbs = await session.query(S.availabilityGroupDatabases, { ag }, `reading the databases of ${ag}`);
      const [u] = await session.query(S.availabilityGroupUsage, { ag }, `reading what uses ${ag}`);
      return { databases: dbs.map((r) => String(r.database_name)), dagCount: Number(u?.dag_count ?? 0) };
    },
    async dropAvailabilityGroup(name) {
      await session.query(S.dropAvailabilityGroup(name), {}, `dropping availability group ${name}`);
    },
    close: () => session.close(),
  };
}

export function managedInstanceSqlPort(session: SqlSession): ManagedInstanceSqlPort {
  return {
    async lsns(businessCritical) {
      const rows = await session.query(
        S.managedInstanceLsns(businessCritical),
        {},
        'reading the LSNs of the replicated databases',
      );
      return rows.map((r) => ({
        database: String(r.database_name),
        primary: bit(r.is_primary_replica),
        syncState: str(r.synchronization_state_desc),
        hardened: parseLsn(r.last_hardened_lsn),
        endOfLog: parseLsn(r.end_of_log_lsn),
      }));
    },
    async databaseState(database) {
      const [r] = await session.query(S.databaseState, { db: database }, `reading the state of ${database}`);
      return r
        ? { state: String(r.state_desc), readOnly: r.is_read_only === true || r.is_read_only === 1 }
        : undefined;
    },
    async utcNow() {
      const [r] = await session.query(S.utcNow, {}, 'reading the clock of the managed instance');
      return String(r?.utc_now ?? '');
    },
    async firstFullBackup(database, sinceUtc) {
      // CONVERT(datetime2, @since, 126) takes yyyy-mm-ddThh:mi:ss.fff… without a zone designator.
      const since = sinceUtc.replace(/Z$/, '');
      const [r] = await session.query(
        S.firstFullBackupOnMi,
        { db: database, since },
        `reading the backups of ${database}`,
      );
      if (!r?.backup_finish_date) return undefined;
      const d = r.backup_finish_date;
      return d instanceof Date ? d.toISOString() : String(d);
    },
    close: () => session.close(),
  };
}
