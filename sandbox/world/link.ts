/**
 * The Managed Instance link in the simulated world: one SQL Server instance, one managed instance, their
 * availability groups, and distributed availability groups (DAGs, "links") between them.
 *
 * Pure (no I/O). Time comes from `SimClock`; every value that changes over time (LSNs, seeding, the managed
 * instance's first full backup) is derived from the clock when read, so tests can move time with
 * `clock.advance()` and read deterministic answers.
 *
 * LSN model, per database of a link:
 * - the primary side owns a log (`LogStream`): its end-of-log LSN as a piecewise linear function of time that
 *   a workload advances (`startWorkload`), or that a test sets (`setLsn`);
 * - the secondary side's hardened LSN follows the primary's log with a delay (`setLag({ ms })`) minus a
 *   backlog (`setLag({ lsn })`), never beyond the primary, never backwards, and stops while the network is
 *   down (`breakReplication`) or one side of the DAG is missing.
 *
 * Semantics follow /work/shared/spec/sql-server-side.md: breaking the link (ARM DELETE on the managed
 * instance) makes the managed instance database read-write and loses what it had not hardened; a T-SQL
 * FAILOVER on SQL Server 2022 CU13+ swaps roles only when both sides are synchronous and caught up; a forced
 * failover swaps roles and loses what the new primary had not hardened.
 *
 * Roles are per side, as each engine sees them: a forced failover to the managed instance (ARM
 * ForcedAllowDataLoss, or FORCE_FAILOVER_ALLOW_DATA_LOSS on the managed instance) leaves SQL Server primary and
 * writable, a split brain, until `ALTER AVAILABILITY GROUP [dag] SET (ROLE = SECONDARY)` runs on SQL Server
 * (managed-instance-link-failover-how-to.md, "Inconsistent state after forced failover"). Replication stops
 * for good after a forced failover (the two logs diverged).
 *
 * SQL Server's definition of the DAG names the managed instance's member: newer links name the managed
 * instance's AG (instanceAvailabilityGroupName), older ones the managed instance itself, as the failover
 * guide's `'<ManagedInstanceName>' WITH (…)` does (issue 7 point 12). `establishLink({ sqlServerMember })`
 * creates either kind.
 */
import type { SimClock } from './clock';
import { ServiceError } from './errors';
import {
  type AvailabilityMode,
  type BackupRow,
  type CreateLinkSpec,
  type Credentials,
  type DatabaseRow,
  type DatabaseSnapshot,
  defaultUpdateLevel,
  engineErrors,
  type LinkEvent,
  type LinkResourceView,
  type LinkRole,
  type LinkWorldOptions,
  LogStream,
  type LsnRow,
  type ReplicaRole,
  type ReplicaRow,
  type ReplicationMode,
  type ServiceTier,
  type Side,
  stableUuid,
  supportsTsqlLinkFailover,
  updatePolicyMatches,
  type WorldSnapshot,
} from './linkModel';
import { DEFAULT_START_LSN } from './lsn';

export * from './linkModel';

interface Database {
  name: string;
  id: number;
  /** database_guid (sys.database_recovery_status, msdb.dbo.backupset). */
  guid: string;
  /** Own log: read when this side is primary or the database stands alone. */
  log: LogStream;
  /** Left behind in RESTORING (a secondary whose DAG was dropped, or a link seeding into it). */
  restoring: boolean;
  /** When the managed instance takes its first full backup (set when the database becomes read-write). */
  firstFullBackupAt?: number;
  /** When the database became read-write on the managed instance (a cutover). */
  readWriteAt?: number;
  /** When the managed instance takes a full backup while the database is still a link secondary. */
  secondaryBackupAt?: number;
}

interface AvailabilityGroup {
  name: string;
  databases: string[];
}

interface Instance {
  side: Side;
  name: string;
  databases: Map<string, Database>;
  ags: Map<string, AvailabilityGroup>;
  nextDatabaseId: number;
  /** msdb.dbo.backupset rows added by hand (SQL Server log backups, an older database's history …). */
  backupHistory: BackupRow[];
}

/** The SQL Server's DAG object (CREATE AVAILABILITY GROUP … WITH (DISTRIBUTED)). */
interface SqlServerDag {
  createdAt: number;
  /** The managed instance's member as SQL Server's definition names it (its AG, or the instance itself). */
  miMember: string;
  /** SQL Server's own view of its role in the DAG (a forced failover elsewhere does not change it). */
  primary: boolean;
  /** Availability mode per member, as configured on SQL Server. */
  sqlServerAgMode: AvailabilityMode;
  miAgMode: AvailabilityMode;
}

/** The managed instance's link resource (ARM PUT …/distributedAvailabilityGroups/{dag}). */
interface ManagedInstanceLink {
  createdAt: number;
  replicationMode: ReplicationMode;
  failoverMode: 'None' | 'Manual';
  seedingMode: 'Automatic' | 'Manual';
  partnerEndpoint: string;
  linkMode?: string;
  /** GETs answer sparse until then (simulated ms). */
  sparseUntil: number;
}

interface Pair {
  database: string;
  /** Secondary's hardened LSN at `floorAt` (values are re-based at every state change). */
  floor: bigint;
  floorAt: number;
  seedStart?: number;
  seededAt?: number;
  instanceReplicaId: string;
  partnerReplicaId: string;
}

interface Link {
  name: string;
  id: string;
  sqlServerAg: string;
  miAg: string;
  databases: string[];
  /** The primary as the managed instance (and ARM) sees it. */
  primary: Side;
  /** A forced failover happened: the logs diverged and nothing replicates any more. */
  diverged: boolean;
  sqlServer?: SqlServerDag;
  managedInstance?: ManagedInstanceLink;
  pairs: Map<string, Pair>;
}

const key = (name: string) => name.toLowerCase();
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const other = (side: Side): Side => (side === 'sqlServer' ? 'managedInstance' : 'sqlServer');

export class LinkWorld {
  readonly clock: SimClock;
  readonly credentials: Credentials;
  readonly events: LinkEvent[] = [];
  private readonly listeners: Array<() => void> = [];
  private externalDatabase?: (side: Side, name: string) => DatabaseRow | undefined;
  /** The managed instance's update policy (ARM databaseFormat); default SQL Server 2022 (update-policy.md). */
  private updatePolicy: () => string = () => 'SQLServer2022';

  private readonly sql: Instance;
  private readonly mi: Instance;
  private readonly links = new Map<string, Link>();
  private version: string;
  private updateLevel: string | null;
  private readonly engineEdition: 2 | 3;
  private tier: ServiceTier;
  private secondaryReplicas: number;
  private lagMs = 0;
  private readonly witnessLagMs: number;
  private readonly secondaryFullBackupDelayMs: number;
  private readonly utcOffsetMinutes: number;
  /** Reads of the DMVs so far: row order varies from one read to the next (SQL Server guarantees none). */
  private dmvReads = 0;
  private readonly dmvRowOrder: 'reversed' | 'rotating';
  private databasesCreated = 0;
  private lagLsn = 0n;
  private network: 'up' | 'broken' = 'up';
  private readonly firstBackupDelayMs: number;
  private readonly seedingMs: number;
  private readonly armLagMs: number;
  private readonly bcSecondaryLsnOffset: bigint;
  private readonly initialLsn: bigint;

  constructor(options: LinkWorldOptions) {
    this.clock = options.clock;
    this.sql = {
      side: 'sqlServer',
      name: options.sqlServer?.name ?? 'SQLVM01',
      databases: new Map(),
      ags: new Map(),
      nextDatabaseId: 5,
      backupHistory: [],
    };
    this.mi = {
      side: 'managedInstance',
      name: options.managedInstance?.name ?? 'sqlmi-link',
      databases: new Map(),
      ags: new Map(),
      nextDatabaseId: 5,
      backupHistory: [],
    };
    this.version = options.sqlServer?.version ?? '16.0.4125.3';
    this.updateLevel =
      options.sqlServer?.updateLevel !== undefined
        ? options.sqlServer.updateLevel
        : defaultUpdateLevel(this.version);
    this.engineEdition = options.sqlServer?.engineEdition ?? 3;
    this.tier = options.managedInstance?.tier ?? 'GeneralPurpose';
    this.secondaryReplicas = options.managedInstance?.secondaryReplicas ?? 3;
    this.firstBackupDelayMs = options.firstBackupDelayMs ?? 5 * 60_000;
    this.seedingMs = options.seedingMs ?? 30_000;
    this.armLagMs = options.armLagMs ?? 10_000;
    this.bcSecondaryLsnOffset = options.bcSecondaryLsnOffset ?? 1n;
    this.witnessLagMs = options.witnessLagMs ?? 500;
    this.dmvRowOrder = options.dmvRowOrder ?? 'reversed';
    this.secondaryFullBackupDelayMs = options.secondaryFullBackupDelayMs ?? 60_000;
    this.utcOffsetMinutes = options.managedInstance?.utcOffsetMinutes ?? 0;
    this.initialLsn = options.initialLsn ?? DEFAULT_START_LSN;
    this.credentials = {
      sqlServer: options.credentials?.sqlServer ?? [{ user: 'sa', password: 'Sandbox-Passw0rd!' }],
      managedInstance: options.credentials?.managedInstance ?? [
        { user: 'miadmin', password: 'Sandbox-Passw0rd!' },
      ],
      tokens: options.credentials?.tokens ?? [],
    };
  }

  get sqlServerName(): string {
    return this.sql.name;
  }

  get managedInstanceName(): string {
    return this.mi.name;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Setup (what a DBA did before the provider runs)
  // ---------------------------------------------------------------------------------------------------------

  /** Adds a user database on one side (default SQL Server), read-write, at `lsn`. */
  addDatabase(name: string, options: { side?: Side; lsn?: bigint } = {}): void {
    const inst = this.instance(options.side ?? 'sqlServer');
    if (inst.databases.has(key(name))) throw new Error(`database ${name} already exists on ${inst.side}`);
    const t = this.clock.now();
    inst.databases.set(
      key(name),
      this.newDatabase(inst, name, new LogStream(t, options.lsn ?? this.initialLsn)),
    );
    this.notify();
  }

  /** CREATE AVAILABILITY GROUP on SQL Server holding `databases` (created when missing). */
  createAvailabilityGroup(name: string, databases: string[]): void {
    if (this.sql.ags.has(key(name)) || this.links.get(key(name))?.sqlServer) {
      throw new Error(`availability group ${name} already exists`);
    }
    for (const db of databases) if (!this.sql.databases.has(key(db))) this.addDatabase(db);
    this.sql.ags.set(key(name), { name, databases: [...databases] });
  }

  /**
   * CREATE AVAILABILITY GROUP [dag] WITH (DISTRIBUTED) on SQL Server (members: its AG, and the managed
   * instance's member `miAg`: the managed instance's AG name, or the managed instance's own name on older links).
   */
  createSqlServerDag(spec: {
    name: string;
    sqlServerAg: string;
    miAg: string;
    mode?: AvailabilityMode;
  }): void {
    const ag = this.sql.ags.get(key(spec.sqlServerAg));
    if (!ag) throw new Error(`availability group ${spec.sqlServerAg} does not exist on SQL Server`);
    if (this.sql.ags.has(key(spec.name))) {
      throw new Error(`${spec.name} already exists as an availability group`);
    }
    const t = this.clock.now();
    this.checkpoint(t);
    const link =
      this.links.get(key(spec.name)) ?? this.newLink(spec.name, spec.sqlServerAg, spec.miAg, ag.databases);
    if (link.sqlServer) {
      throw new Error(`distributed availability group ${spec.name} already exists on SQL Server`);
    }
    if (key(link.sqlServerAg) !== key(spec.sqlServerAg) || !this.memberMatches(link.miAg, spec.miAg)) {
      throw new Error(`link ${spec.name} exists on the managed instance with other members`);
    }
    const mode = spec.mode ?? 'ASYNCHRONOUS_COMMIT';
    link.sqlServer = {
      createdAt: t,
      miMember: spec.miAg,
      primary: link.primary === 'sqlServer',
      sqlServerAgMode: mode,
      miAgMode: mode,
    };
    this.onConnectivityChange(link, t);
    this.notify();
  }

  /**
   * The managed instance's side of a link: what ARM PUT …/distributedAvailabilityGroups/{dag} does. Creates the
   * databases on the managed instance (RESTORING until seeded). PUT on an existing link updates its mode.
   */
  createManagedInstanceLink(spec: CreateLinkSpec): LinkResourceView {
    const t = this.clock.now();
    const existing = this.links.get(key(spec.name));
    if (existing?.managedInstance) {
      if (spec.replicationMode) this.updateReplicationMode(spec.name, spec.replicationMode);
      return this.linkView(spec.name);
    }
    validateCreate(spec);
    if (
      existing &&
      (key(existing.sqlServerAg) !== key(spec.partnerAvailabilityGroupName) ||
        !this.memberMatches(
          spec.instanceAvailabilityGroupName,
          existing.sqlServer?.miMember ?? existing.miAg,
        ))
    ) {
      throw new ServiceError(
        'InvalidParameterValue',
        `The availability group names do not match distributed availability group '${spec.name}' on the partner.`,
      );
    }
    for (const db of spec.databases) {
      if (this.mi.databases.has(key(db)) || this.externalDatabase?.('managedInstance', db)) {
        throw new ServiceError(
          'NameAlreadyExists',
          `Database '${db}' already exists on managed instance '${this.mi.name}'. Choose a different database name.`,
        );
      }
    }
    this.checkpoint(t);
    const link =
      existing ??
      this.newLink(
        spec.name,
        spec.partnerAvailabilityGroupName,
        spec.instanceAvailabilityGroupName,
        spec.databases,
      );
    link.miAg = spec.instanceAvailabilityGroupName;
    link.managedInstance = {
      createdAt: t,
      replicationMode: spec.replicationMode ?? 'Async',
      // "Manual" even when the create omits it (link-multi-database-update seq 1 → seq 10).
      failoverMode: spec.failoverMode ?? 'Manual',
      seedingMode: spec.seedingMode ?? 'Automatic',
      partnerEndpoint: spec.partnerEndpoint ?? `tcp://${this.sql.name}:5022`,
      linkMode: spec.linkMode,
      sparseUntil: t + (spec.sparseForMs ?? 0),
    };
    this.mi.ags.set(key(link.miAg), { name: link.miAg, databases: [...link.databases] });
    for (const db of link.databases) {
      const created = this.newDatabase(this.mi, db, new LogStream(t, 0n));
      created.restoring = true;
      this.mi.databases.set(key(db), created);
    }
    this.onConnectivityChange(link, t);
    this.event(t, 'link-created', { dag: link.name, databases: link.databases });
    return this.linkView(spec.name);
  }

  /**
   * Shortcut for tests: databases, AG, both sides of the DAG, seeding already done. `sqlServerMember` is the
   * managed instance's member name in SQL Server's DAG definition (default `miAg`; an older link names the
   * managed instance itself).
   */
  establishLink(spec: {
    name: string;
    sqlServerAg: string;
    miAg: string;
    databases: string[];
    mode?: AvailabilityMode;
    sqlServerMember?: string;
  }): void {
    if (!this.sql.ags.has(key(spec.sqlServerAg))) {
      this.createAvailabilityGroup(spec.sqlServerAg, spec.databases);
    }
    this.createSqlServerDag({
      name: spec.name,
      sqlServerAg: spec.sqlServerAg,
      miAg: spec.sqlServerMember ?? spec.miAg,
      mode: spec.mode,
    });
    this.createManagedInstanceLink({
      name: spec.name,
      partnerAvailabilityGroupName: spec.sqlServerAg,
      instanceAvailabilityGroupName: spec.miAg,
      databases: spec.databases,
      replicationMode: spec.mode === 'SYNCHRONOUS_COMMIT' ? 'Sync' : 'Async',
    });
    const link = this.mustLink(spec.name);
    for (const pair of link.pairs.values()) {
      pair.seededAt = pair.seedStart;
      const db = this.mustDb('managedInstance', pair.database);
      db.restoring = false;
      if (pair.seededAt !== undefined) db.secondaryBackupAt = pair.seededAt + this.secondaryFullBackupDelayMs;
    }
    this.notify();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Control surface for tests and rehearsals
  // ---------------------------------------------------------------------------------------------------------

  /** Starts (or changes) a write workload: the database's log grows by `lsnPerSecond` per simulated second. */
  startWorkload(options: { database?: string; side?: Side; lsnPerSecond?: number } = {}): void {
    const side = options.side ?? 'sqlServer';
    const t = this.clock.now();
    for (const db of this.targets(side, options.database)) {
      if (!this.isWritable(side, db, t)) {
        if (options.database) throw new Error(`database ${db.name} is not writable on ${side}`);
        continue;
      }
      db.log.setRate(t, options.lsnPerSecond ?? 100_000);
    }
  }

  stopWorkload(options: { database?: string; side?: Side } = {}): void {
    const t = this.clock.now();
    for (const db of this.targets(options.side ?? 'sqlServer', options.database)) db.log.setRate(t, 0);
  }

  /** Replication delay (simulated ms) and/or a fixed backlog (LSN units) the secondary stays behind by. */
  setLag(lag: { ms?: number; lsn?: bigint }): void {
    this.checkpoint(this.clock.now());
    if (lag.ms !== undefined) this.lagMs = lag.ms;
    if (lag.lsn !== undefined) this.lagLsn = lag.lsn;
  }

  /** The network between the two sides goes down: secondaries stop moving, links show DISCONNECTED. */
  breakReplication(): void {
    const t = this.clock.now();
    this.checkpoint(t);
    this.network = 'broken';
    this.event(t, 'replication-broken', {});
  }

  restoreReplication(): void {
    const t = this.clock.now();
    this.checkpoint(t);
    this.network = 'up';
    for (const link of this.links.values()) this.onConnectivityChange(link, t);
    this.event(t, 'replication-restored', {});
  }

  /**
   * Sets a database's LSN on one side. On the side that owns the log (primary or standalone) it sets the
   * end of log; on a secondary it sets the hardened LSN (replication moves it on from there when connected).
   */
  setLsn(options: { database: string; lsn: bigint; side?: Side }): void {
    const side = options.side ?? 'sqlServer';
    const t = this.clock.now();
    this.checkpoint(t);
    const db = this.mustDb(side, options.database);
    const linked = this.linkOf(side, db.name);
    if (linked && this.roleOf(linked.link, side) === 'SECONDARY') {
      linked.pair.floor = options.lsn;
    } else {
      db.log.set(t, options.lsn);
      if (linked && linked.pair.floor > options.lsn) linked.pair.floor = options.lsn;
    }
    this.notify();
  }

  /** Changes the SQL Server build (e.g. '15.0.4385.2' for SQL Server 2019). */
  setVersion(version: string, updateLevel?: string | null): void {
    this.version = version;
    this.updateLevel = updateLevel !== undefined ? updateLevel : defaultUpdateLevel(version);
  }

  setTier(tier: ServiceTier, secondaryReplicas = this.secondaryReplicas): void {
    this.tier = tier;
    this.secondaryReplicas = secondaryReplicas;
  }

  /**
   * Records a backup in the instance's msdb.dbo.backupset (e.g. a log backup taken on SQL Server). Without
   * `databaseGuid` it belongs to the database of that name that exists now.
   */
  addBackup(
    side: Side,
    row: Omit<BackupRow, 'databaseGuid' | 'isCopyOnly'> & { databaseGuid?: string; isCopyOnly?: boolean },
  ): void {
    const guid = row.databaseGuid ?? this.mustDb(side, row.databaseName).guid;
    this.instance(side).backupHistory.push({ isCopyOnly: false, ...row, databaseGuid: guid });
  }

  /**
   * An older database of the same name (dropped before) left its full backups in msdb: rows with another
   * database_guid (issue 7 point 11: "an older database of the same name leaves history").
   */
  addOlderDatabaseHistory(side: Side, name: string, finishedAt: number): void {
    this.instance(side).backupHistory.push({
      databaseName: name,
      databaseGuid: stableUuid(`older:${side}:${name}:${finishedAt}`),
      type: 'D',
      isCopyOnly: false,
      backupStartDate: new Date(finishedAt - 60_000),
      backupFinishDate: new Date(finishedAt),
      firstLsn: 1n,
      lastLsn: 1n,
    });
  }

  /**
   * The managed instance takes its first full backup of a read-write database now (instead of
   * `firstBackupDelayMs` after it became read-write): tests decide the moment instead of racing it.
   */
  takeFirstFullBackup(database: string): void {
    const db = this.mustDb('managedInstance', database);
    const t = this.clock.now();
    if (db.readWriteAt === undefined)
      throw new Error(`database ${database} is not read-write on the managed instance`);
    if (db.firstFullBackupAt === undefined || db.firstFullBackupAt > t)
      db.firstFullBackupAt = Math.max(t, db.readWriteAt + 60_000);
    this.event(t, 'first-full-backup', { database: db.name });
  }

  /** A copy-only full backup someone takes now (BACKUP DATABASE … WITH COPY_ONLY). */
  takeCopyOnlyBackup(side: Side, database: string): void {
    const db = this.mustDb(side, database);
    const t = this.clock.now();
    const lsn = this.databaseSnapshot(side, db, t).endOfLogLsn;
    this.instance(side).backupHistory.push({
      databaseName: db.name,
      databaseGuid: db.guid,
      type: 'D',
      isCopyOnly: true,
      backupStartDate: new Date(t - 1_000),
      backupFinishDate: new Date(t),
      firstLsn: lsn,
      lastLsn: lsn,
    });
  }

  /** Calls `listener` after every change of state (not for time passing: see `nextChangeAt`). */
  subscribe(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The next simulated time a state derived from the clock changes (seeding ends, a first backup). */
  nextChangeAt(): number | undefined {
    const t = this.clock.now();
    const times: number[] = [];
    for (const link of this.links.values()) {
      for (const pair of link.pairs.values()) times.push(pair.seededAt ?? t);
    }
    for (const db of this.mi.databases.values()) {
      times.push(db.firstFullBackupAt ?? t, db.secondaryBackupAt ?? t);
    }
    const future = times.filter((x) => x > t);
    return future.length ? Math.min(...future) : undefined;
  }

  /** Where the managed instance's update policy is read (the ARM side holds it). */
  setUpdatePolicy(read: () => string): void {
    this.updatePolicy = read;
  }

  /** Databases the link world does not hold (e.g. restored by LRS) that sys.databases should still show. */
  setExternalDatabases(lookup: (side: Side, name: string) => DatabaseRow | undefined): void {
    this.externalDatabase = lookup;
  }

  snapshot(): WorldSnapshot {
    const t = this.clock.now();
    const dbs = (inst: Instance) =>
      [...inst.databases.values()].map((db) => this.databaseSnapshot(inst.side, db, t));
    return {
      at: t,
      sqlServer: {
        name: this.sql.name,
        version: this.version,
        updateLevel: this.updateLevel,
        supportsTsqlFailover: supportsTsqlLinkFailover(this.version),
        availabilityGroups: [...this.sql.ags.values()].map((ag) => ({
          name: ag.name,
          databases: [...ag.databases],
        })),
        databases: dbs(this.sql),
      },
      managedInstance: { name: this.mi.name, tier: this.tier, databases: dbs(this.mi) },
      links: [...this.links.values()].map((link) => ({
        name: link.name,
        sqlServerAg: link.sqlServerAg,
        miAg: link.miAg,
        databases: [...link.databases],
        onSqlServer: !!link.sqlServer,
        onManagedInstance: !!link.managedInstance,
        primary: link.primary,
        sqlServerRole: link.sqlServer ? this.roleOf(link, 'sqlServer') : null,
        sqlServerMember: link.sqlServer?.miMember ?? null,
        connected: this.connected(link),
        synchronousCommit: this.synchronousCommit(link),
        sqlServerModes: link.sqlServer
          ? { sqlServerAg: link.sqlServer.sqlServerAgMode, miAg: link.sqlServer.miAgMode }
          : null,
        replicationMode: link.managedInstance?.replicationMode ?? null,
      })),
      lag: { ms: this.lagMs, lsn: this.lagLsn },
      replication: this.network,
      events: this.events.map((e) => ({ ...e, detail: { ...e.detail } })),
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // T-SQL semantics (called by the SQL handlers; throw EngineError)
  // ---------------------------------------------------------------------------------------------------------

  serverProperties(side: Side): {
    productVersion: string;
    productUpdateLevel: string | null;
    engineEdition: number;
    serverName: string;
  } {
    if (side === 'managedInstance') {
      return {
        productVersion: '12.0.2000.8',
        productUpdateLevel: null,
        engineEdition: 8,
        serverName: this.mi.name,
      };
    }
    return {
      productVersion: this.version,
      productUpdateLevel: this.updateLevel,
      engineEdition: this.engineEdition,
      serverName: this.sql.name,
    };
  }

  /** ALTER AVAILABILITY GROUP [dag] MODIFY AVAILABILITY GROUP ON 'ag1' WITH (…), 'ag2' WITH (…). */
  alterDagModes(side: Side, dag: string, members: Array<{ name: string; mode: AvailabilityMode }>): void {
    if (side === 'managedInstance') throw engineErrors.notSupported('MODIFY AVAILABILITY GROUP');
    const link = this.links.get(key(dag));
    if (!link?.sqlServer) {
      if (this.sql.ags.has(key(dag))) throw engineErrors.notDistributed(dag);
      throw engineErrors.alterMissing(dag);
    }
    const t = this.clock.now();
    this.checkpoint(t);
    // Members are named as SQL Server's DAG definition names them (an older link: the instance's own name).
    for (const member of members) {
      if (key(member.name) === key(link.sqlServerAg)) link.sqlServer.sqlServerAgMode = member.mode;
      else if (key(member.name) === key(link.sqlServer.miMember)) link.sqlServer.miAgMode = member.mode;
      else throw engineErrors.alterMissing(member.name);
    }
    this.event(t, 'mode-changed', { side, dag: link.name, members });
  }

  /** ALTER AVAILABILITY GROUP [dag] FAILOVER, run on `side`. */
  tsqlFailover(side: Side, dag: string): void {
    const link = this.dagOn(side, dag);
    if (!link) throw engineErrors.alterMissing(dag);
    const t = this.clock.now();
    const role = this.roleOf(link, side);
    if (side === 'sqlServer' && !supportsTsqlLinkFailover(this.version)) {
      // Before SQL Server 2022 CU13 a planned failover can only be started from the secondary.
      if (role === 'PRIMARY') throw engineErrors.alreadyPrimary(dag);
    }
    if (side === 'managedInstance' && role === 'PRIMARY') throw engineErrors.alreadyPrimary(dag);
    if (!this.caughtUp(link, t)) throw engineErrors.notSynchronized(dag);
    if (!updatePolicyMatches(this.version, this.updatePolicy())) {
      throw engineErrors.updatePolicyMismatch(dag, this.updatePolicy(), this.version);
    }
    this.swapRoles(link, t, false, side === 'sqlServer' && role === 'PRIMARY' ? 'tsql-primary' : 'tsql');
  }

  /** ALTER AVAILABILITY GROUP [dag] FORCE_FAILOVER_ALLOW_DATA_LOSS, run on the secondary `side`. */
  tsqlForceFailover(side: Side, dag: string): void {
    const link = this.dagOn(side, dag);
    if (!link) throw engineErrors.alterMissing(dag);
    if (this.roleOf(link, side) === 'PRIMARY') throw engineErrors.alreadyPrimary(dag);
    this.forceTo(link, side, this.clock.now(), 'tsql');
  }

  /**
   * ALTER AVAILABILITY GROUP [dag] SET (ROLE = SECONDARY) on SQL Server: ends a split brain after a forced
   * failover (managed-instance-link-failover-how-to.md, "Inconsistent state after forced failover"). SQL Server
   * stops accepting writes. No-op when it is secondary already.
   */
  tsqlSetRoleSecondary(side: Side, dag: string): void {
    if (side === 'managedInstance') throw engineErrors.notSupported('SET (ROLE = SECONDARY)');
    const link = this.links.get(key(dag));
    if (!link?.sqlServer) throw engineErrors.alterMissing(dag);
    if (!link.sqlServer.primary) return;
    const t = this.clock.now();
    this.checkpoint(t);
    link.sqlServer.primary = false;
    for (const pair of link.pairs.values()) {
      this.instance('sqlServer').databases.get(key(pair.database))?.log.setRate(t, 0);
    }
    this.event(t, 'role-set', { side, dag: link.name, role: 'SECONDARY' });
  }

  /** DROP AVAILABILITY GROUP [name] (an AG or a DAG) on `side`. */
  dropAvailabilityGroup(side: Side, name: string): void {
    if (side === 'managedInstance') throw engineErrors.notSupported('DROP AVAILABILITY GROUP');
    const t = this.clock.now();
    this.checkpoint(t);
    const link = this.links.get(key(name));
    if (link?.sqlServer) {
      if (!link.sqlServer.primary) {
        // The SQL Server databases were secondaries: they stay behind in RESTORING at what they had hardened.
        for (const pair of link.pairs.values()) {
          const db = this.mustDb('sqlServer', pair.database);
          db.log = new LogStream(t, this.databaseSnapshot('sqlServer', db, t).endOfLogLsn);
          db.restoring = true;
        }
      }
      link.sqlServer = undefined;
      if (!link.managedInstance) this.links.delete(key(name));
      this.event(t, 'ag-dropped', { side, name: link.name, distributed: true });
      return;
    }
    const ag = this.sql.ags.get(key(name));
    if (!ag) throw engineErrors.dropMissing(name);
    const user = [...this.links.values()].find((l) => l.sqlServer && key(l.sqlServerAg) === key(name));
    if (user) throw engineErrors.referenced(ag.name, user.name);
    this.sql.ags.delete(key(name));
    this.event(t, 'ag-dropped', { side, name: ag.name, distributed: false });
  }

  /** sys.availability_groups as seen on `side`. */
  availabilityGroups(side: Side): Array<{ name: string; isDistributed: boolean; databases: string[] }> {
    const inst = this.instance(side);
    const plain = [...inst.ags.values()].map((ag) => ({
      name: ag.name,
      isDistributed: false,
      databases: ag.databases,
    }));
    const dags = [...this.links.values()]
      .filter((l) => this.onSide(l, side))
      .map((l) => ({ name: l.name, isDistributed: true, databases: l.databases }));
    return [...plain, ...dags];
  }

  /** How many DAGs on `side` have `ag` as a member (sys.availability_replicas of distributed AGs). */
  dagsUsing(side: Side, ag: string): number {
    return [...this.links.values()].filter(
      (l) =>
        this.onSide(l, side) && (key(l.sqlServerAg) === key(ag) || key(this.miMemberOn(l, side)) === key(ag)),
    ).length;
  }

  /** Replicas of DAG `dag` on `side` with their states (sys.availability_replicas ⟕ …replica_states). */
  dagReplicaRows(side: Side, dag: string): ReplicaRow[] {
    const link = this.dagOn(side, dag);
    if (!link) return [];
    const t = this.clock.now();
    const connected = this.connected(link);
    const modes = this.modesOn(link, side);
    const localRole = this.roleOf(link, side);
    const localAg = side === 'sqlServer' ? link.sqlServerAg : link.miAg;
    const health = (): string => {
      if (!this.replicating(link)) return 'NOT_HEALTHY';
      return this.synchronousCommit(link) && !this.caughtUp(link, t) ? 'PARTIALLY_HEALTHY' : 'HEALTHY';
    };
    const row = (ag: string, mode: AvailabilityMode): ReplicaRow => {
      const local = key(ag) === key(localAg);
      const role: ReplicaRole = local ? localRole : localRole === 'PRIMARY' ? 'SECONDARY' : 'PRIMARY';
      // A secondary only knows its own replica's state; the primary knows every replica's.
      const known = local || localRole === 'PRIMARY';
      return {
        agName: link.name,
        replicaServerName: ag,
        availabilityMode: mode,
        state: known
          ? {
              connected: local || connected ? 'CONNECTED' : 'DISCONNECTED',
              role,
              operational: local ? 'ONLINE' : null,
              health: role === 'PRIMARY' ? 'HEALTHY' : health(),
            }
          : null,
      };
    };
    return [row(link.sqlServerAg, modes.sqlServerAg), row(this.miMemberOn(link, side), modes.miAg)];
  }

  /**
   * sys.dm_hadr_database_replica_states on `side`, every row, in no guaranteed order (the DMV promises none;
   * the order changes from read to read here). On a primary: a row for each primary database (is_local = 1)
   * and one for the corresponding secondary database (is_local = 0), which carries what the primary knows of
   * it (sys.dm_hadr_database_replica_states docs). On a Business Critical managed instance the local
   * secondary replicas add rows (is_local = 0, is_primary_replica = 0). `dag` limits the rows to that DAG's
   * group; `db` to one database.
   */
  lsnRows(side: Side, filter: { dag?: string; db?: string } = {}): LsnRow[] {
    const t = this.clock.now();
    const rows: LsnRow[] = [];
    for (const database of this.instance(side).databases.values()) {
      if (filter.db !== undefined && key(filter.db) !== key(database.name)) continue;
      const linked = this.linkOf(side, database.name);
      if (filter.dag !== undefined) {
        if (!linked || key(linked.link.name) !== key(filter.dag)) continue;
        rows.push(...this.dagLsnRows(side, database, linked, t));
        continue;
      }
      if (side === 'managedInstance' && this.tier === 'BusinessCritical' && !database.restoring) {
        rows.push(...this.bcLsnRows(database, linked, t));
      } else if (linked) {
        const agName = side === 'sqlServer' ? linked.link.sqlServerAg : linked.link.miAg;
        rows.push(...this.dagLsnRows(side, database, linked, t, agName));
      }
    }
    return this.shuffle(rows);
  }

  /** sys.databases row. */
  databaseRow(side: Side, db: string): DatabaseRow | undefined {
    const database = this.instance(side).databases.get(key(db));
    if (!database) return this.externalDatabase?.(side, db);
    const t = this.clock.now();
    const snap = this.databaseSnapshot(side, database, t);
    return { name: database.name, state: snap.state, readOnly: snap.readOnly, userAccess: 'MULTI_USER' };
  }

  /** sys.database_recovery_status: the database_guid of the database of that name, if it exists. */
  databaseGuid(side: Side, db: string): string | undefined {
    return this.instance(side).databases.get(key(db))?.guid;
  }

  /** Minutes the instance's local time is ahead of UTC (SYSDATETIME() − SYSUTCDATETIME()). */
  utcOffsetMinutesOf(side: Side): number {
    return side === 'managedInstance' ? this.utcOffsetMinutes : 0;
  }

  /**
   * msdb.dbo.backupset rows named `db` on `side`, oldest first, with UTC dates. On the managed instance they
   * include its own backups: a full backup while the database is a link secondary, a copy-only full and the
   * first full backup after it became read-write, and rows of older databases of that name (other guid).
   */
  backups(side: Side, db: string): BackupRow[] {
    const inst = this.instance(side);
    const rows = inst.backupHistory.filter((b) => key(b.databaseName) === key(db));
    const database = inst.databases.get(key(db));
    const t = this.clock.now();
    if (database) {
      const full = (at: number, isCopyOnly: boolean): BackupRow => {
        const lsn = database.log.at(at);
        return {
          databaseName: database.name,
          databaseGuid: database.guid,
          type: 'D',
          isCopyOnly,
          backupStartDate: new Date(at - 60_000),
          backupFinishDate: new Date(at),
          firstLsn: lsn,
          lastLsn: lsn,
        };
      };
      const secondaryAt = database.secondaryBackupAt;
      if (
        secondaryAt !== undefined &&
        secondaryAt <= t &&
        (database.readWriteAt === undefined || secondaryAt < database.readWriteAt)
      ) {
        rows.push(full(secondaryAt, false));
      }
      if (database.readWriteAt !== undefined && database.firstFullBackupAt !== undefined) {
        // No source: a copy-only full taken between the cutover and the first full backup (issue 7 point 11
        // says copy-only backups exist), placed where it is hardest on the provider.
        const copyOnlyAt = Math.round((database.readWriteAt + database.firstFullBackupAt) / 2);
        if (copyOnlyAt <= t && copyOnlyAt > database.readWriteAt) rows.push(full(copyOnlyAt, true));
      }
      if (database.firstFullBackupAt !== undefined && database.firstFullBackupAt <= t) {
        rows.push(full(database.firstFullBackupAt, false));
      }
    }
    return rows.sort((a, b) => a.backupFinishDate.getTime() - b.backupFinishDate.getTime());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Control plane semantics (called by the ARM routes; throw ServiceError)
  // ---------------------------------------------------------------------------------------------------------

  /** Links that exist on the managed instance (ARM list). */
  listLinks(): LinkResourceView[] {
    return [...this.links.values()].filter((l) => l.managedInstance).map((l) => this.linkView(l.name));
  }

  hasLink(dag: string): boolean {
    return !!this.links.get(key(dag))?.managedInstance;
  }

  /** The link resource as ARM shows it. Throws 404 when the managed instance has no such link. */
  linkView(dag: string): LinkResourceView {
    const link = this.armLink(dag);
    const mi = link.managedInstance!;
    const t = this.clock.now();
    const seen = t - this.armLagMs;
    const connected = this.connected(link);
    const replicating = this.replicating(link);
    const instanceLinkRole: LinkRole = link.primary === 'managedInstance' ? 'Primary' : 'Secondary';
    return {
      name: link.name,
      id: link.id,
      partnerAvailabilityGroupName: link.sqlServerAg,
      instanceAvailabilityGroupName: link.miAg,
      partnerEndpoint: mi.partnerEndpoint,
      replicationMode: mi.replicationMode,
      failoverMode: mi.failoverMode,
      seedingMode: mi.seedingMode,
      linkMode: mi.linkMode,
      instanceLinkRole,
      partnerLinkRole: instanceLinkRole === 'Primary' ? 'Secondary' : 'Primary',
      sparse: t < mi.sparseUntil,
      databases: [...link.pairs.values()].map((pair) => {
        const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
        const primaryNow = this.primaryLsn(link, pair, t);
        const hardenedNow = this.secondaryHardened(link, pair, t);
        const hardenedSeen = this.secondaryHardened(link, pair, Math.max(seen, pair.floorAt));
        const backup = this.backups('managedInstance', pair.database)
          .filter((b) => b.type === 'D' && !b.isCopyOnly)
          .pop();
        // Recorded replica states (link-*.jsonl README): InitiatingLink while seeding, LinkSynchronizing
        // once seeded, LinkSynchronizationError when the partner is lost.
        const replicaState = !replicating
          ? 'LinkSynchronizationError'
          : seeded
            ? 'LinkSynchronizing'
            : 'InitiatingLink';
        return {
          databaseName: pair.database,
          instanceReplicaId: pair.instanceReplicaId,
          partnerReplicaId: pair.partnerReplicaId,
          replicaState,
          synchronizationHealth: !replicating ? 'NOT_HEALTHY' : seeded ? 'HEALTHY' : 'PARTIALLY_HEALTHY',
          connectedState: connected ? 'CONNECTED' : 'DISCONNECTED',
          lastHardenedLsn: hardenedSeen,
          lastHardenedTime: new Date(Math.max(seen, pair.floorAt)),
          lastReceivedLsn: hardenedSeen,
          lastCommitLsn: hardenedSeen,
          lastSentLsn: primaryNow,
          lastBackupLsn: backup?.lastLsn ?? null,
          lastBackupTime: backup?.backupFinishDate ?? null,
          // -1 is recorded (link-multi-database-update seq 19); no source says when: shown here while the
          // replica is not replicating (hardest: an unknown lag that looks smaller than any real one).
          lagSeconds: !replicating
            ? -1
            : hardenedNow === primaryNow
              ? 0
              : Math.max(1, Math.round(this.lagMs / 1000)),
        };
      }),
    };
  }

  /** PATCH replicationMode: the managed instance's side of the sync switch. */
  updateReplicationMode(dag: string, mode: ReplicationMode): LinkResourceView {
    const link = this.armLink(dag);
    const t = this.clock.now();
    this.checkpoint(t);
    link.managedInstance!.replicationMode = mode;
    this.event(t, 'mode-changed', { side: 'managedInstance', dag: link.name, replicationMode: mode });
    return this.linkView(dag);
  }

  /** ARM DELETE on the managed instance: breaks the link; a secondary managed instance database goes read-write. */
  removeManagedInstanceLink(dag: string): { lostLsns: Record<string, bigint> } {
    const link = this.armLink(dag);
    const t = this.clock.now();
    this.checkpoint(t);
    const lostLsns: Record<string, bigint> = {};
    for (const pair of link.pairs.values()) {
      const db = this.mustDb('managedInstance', pair.database);
      if (link.primary === 'sqlServer') {
        const hardened = pair.floor;
        lostLsns[pair.database] = maxBig(0n, this.primaryLsn(link, pair, t) - hardened);
        db.log = new LogStream(t, hardened);
        db.restoring = pair.seededAt === undefined || pair.seededAt > t;
        if (!db.restoring) this.becameReadWrite(db, t);
      }
    }
    // Nothing replicates any more: a SQL Server secondary keeps what it had hardened.
    link.managedInstance = undefined;
    this.mi.ags.delete(key(link.miAg));
    if (!link.sqlServer) this.links.delete(key(dag));
    this.event(t, 'link-removed', { dag: link.name, lostLsns });
    return { lostLsns };
  }

  /** POST …/failover {failoverType}. Planned only when the managed instance is primary (fails back to SQL Server). */
  armFailover(dag: string, failoverType: string): LinkResourceView {
    const link = this.armLink(dag);
    const t = this.clock.now();
    if (key(failoverType) === 'planned') {
      if (link.primary !== 'managedInstance') {
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
          'Planned failover can be executed on a link in the primary role only. Current state of the specified link is secondary.',
        );
      }
      if (!this.caughtUp(link, t)) throw this.notSynchronizedArm(link);
      this.swapRoles(link, t, false, 'arm');
    } else if (key(failoverType) === 'forcedallowdataloss') {
      if (link.primary === 'managedInstance') {
        throw new ServiceError(
          'InvalidDistributedAvailabilityGroupFailoverInstanceRole',
          'Forced failover can be executed on a link in the secondary role only. Current state of the specified link is primary.',
        );
      }
      this.forceTo(link, 'managedInstance', t, 'arm');
    } else {
      throw new ServiceError(
        'InvalidDistributedAvailabilityGroupFailoverRequest',
        'Distributed Availability Group Failover request body is empty or invalid.',
      );
    }
    return this.linkView(dag);
  }

  /** POST …/setRole {instanceRole, roleChangeType}. */
  armSetRole(dag: string, instanceRole: string, roleChangeType: string): LinkResourceView {
    const link = this.armLink(dag);
    const t = this.clock.now();
    const wanted =
      key(instanceRole) === 'primary'
        ? 'managedInstance'
        : key(instanceRole) === 'secondary'
          ? 'sqlServer'
          : null;
    const forced = key(roleChangeType) === 'forced';
    if (!wanted || (!forced && key(roleChangeType) !== 'planned')) {
      throw new ServiceError(
        'InvalidDistributedAvailabilityGroupFailoverRequest',
        'Distributed Availability Group Failover request body is empty or invalid.',
      );
    }
    if (link.primary !== wanted) {
      if (!forced && !this.caughtUp(link, t)) throw this.notSynchronizedArm(link);
      if (forced) this.forceTo(link, wanted, t, 'arm-setRole');
      else this.swapRoles(link, t, false, 'arm-setRole');
    }
    return this.linkView(dag);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------------------

  private instance(side: Side): Instance {
    return side === 'sqlServer' ? this.sql : this.mi;
  }

  private newLink(name: string, sqlServerAg: string, miAg: string, databases: string[]): Link {
    const link: Link = {
      name,
      id: stableUuid(`dag:${name}`),
      sqlServerAg,
      miAg,
      databases: [...databases],
      primary: 'sqlServer',
      diverged: false,
      pairs: new Map(),
    };
    const t = this.clock.now();
    for (const db of databases) {
      link.pairs.set(key(db), {
        database: db,
        floor: 0n,
        floorAt: t,
        instanceReplicaId: stableUuid(`replica:${name}:${this.mi.name}:${db}`),
        partnerReplicaId: stableUuid(`replica:${name}:${this.sql.name}:${db}`),
      });
    }
    this.links.set(key(name), link);
    return link;
  }

  private mustLink(dag: string): Link {
    const link = this.links.get(key(dag));
    if (!link) throw new Error(`no link ${dag}`);
    return link;
  }

  private armLink(dag: string): Link {
    const link = this.links.get(key(dag));
    if (!link?.managedInstance) {
      throw new ServiceError(
        'ResourceNotFound',
        `The requested resource of type 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups' with name '${dag}' was not found.`,
        404,
      );
    }
    return link;
  }

  private notSynchronizedArm(link: Link): ServiceError {
    return new ServiceError(
      'DistributedAvailabilityGroupNotSynchronized',
      `Planned failover of distributed availability group '${link.name}' requires synchronous replication and ` +
        'all databases synchronized. Switch both sides to synchronous commit and wait until the replicas catch up.',
    );
  }

  private mustDb(side: Side, name: string): Database {
    const db = this.instance(side).databases.get(key(name));
    if (!db) throw new Error(`database ${name} does not exist on ${side}`);
    return db;
  }

  private targets(side: Side, database?: string): Database[] {
    return database ? [this.mustDb(side, database)] : [...this.instance(side).databases.values()];
  }

  private onSide(link: Link, side: Side): boolean {
    return side === 'sqlServer' ? !!link.sqlServer : !!link.managedInstance;
  }

  private dagOn(side: Side, dag: string): Link | undefined {
    const link = this.links.get(key(dag));
    return link && this.onSide(link, side) ? link : undefined;
  }

  /** The link (with the DAG present on `side`) that `db` on `side` belongs to. */
  private linkOf(side: Side, db: string): { link: Link; pair: Pair } | undefined {
    for (const link of this.links.values()) {
      const pair = link.pairs.get(key(db));
      if (pair && this.onSide(link, side)) return { link, pair };
    }
    return undefined;
  }

  private connected(link: Link): boolean {
    return !!link.sqlServer && !!link.managedInstance && this.network === 'up';
  }

  /** Connected and not diverged by a forced failover: log flows from the primary to the secondary. */
  private replicating(link: Link): boolean {
    return this.connected(link) && !link.diverged;
  }

  /** The role `side` itself reports for the link (SQL Server keeps its own view after a forced failover). */
  private roleOf(link: Link, side: Side): ReplicaRole {
    if (side === 'sqlServer') {
      const primary = link.sqlServer ? link.sqlServer.primary : link.primary === 'sqlServer';
      return primary ? 'PRIMARY' : 'SECONDARY';
    }
    return link.primary === 'managedInstance' ? 'PRIMARY' : 'SECONDARY';
  }

  /** The managed instance's member name as `side` knows it (SQL Server: its DAG definition). */
  private miMemberOn(link: Link, side: Side): string {
    return side === 'sqlServer' && link.sqlServer ? link.sqlServer.miMember : link.miAg;
  }

  /** A member name SQL Server may use for the managed instance: its AG name, or (older links) the instance. */
  private memberMatches(miAg: string, member: string): boolean {
    return key(member) === key(miAg) || key(member) === key(this.mi.name);
  }

  private newDatabase(inst: Instance, name: string, log: LogStream): Database {
    return {
      name,
      id: inst.nextDatabaseId++,
      guid: stableUuid(`database:${inst.side}:${name}:${this.databasesCreated++}`),
      log,
      restoring: false,
    };
  }

  private modesOn(link: Link, side: Side): { sqlServerAg: AvailabilityMode; miAg: AvailabilityMode } {
    if (side === 'sqlServer' && link.sqlServer) {
      return { sqlServerAg: link.sqlServer.sqlServerAgMode, miAg: link.sqlServer.miAgMode };
    }
    const mode: AvailabilityMode =
      link.managedInstance?.replicationMode === 'Sync' ? 'SYNCHRONOUS_COMMIT' : 'ASYNCHRONOUS_COMMIT';
    return { sqlServerAg: mode, miAg: mode };
  }

  /** Data movement is synchronous only when both sides configure both members synchronous. */
  private synchronousCommit(link: Link): boolean {
    return (
      !!link.sqlServer &&
      !!link.managedInstance &&
      link.sqlServer.sqlServerAgMode === 'SYNCHRONOUS_COMMIT' &&
      link.sqlServer.miAgMode === 'SYNCHRONOUS_COMMIT' &&
      link.managedInstance.replicationMode === 'Sync'
    );
  }

  /** Connected, synchronous, seeded, and every secondary hardened up to the primary's end of log. */
  private caughtUp(link: Link, t: number): boolean {
    if (!this.replicating(link) || !this.synchronousCommit(link)) return false;
    return [...link.pairs.values()].every(
      (pair) =>
        pair.seededAt !== undefined &&
        pair.seededAt <= t &&
        this.secondaryHardened(link, pair, t) === this.primaryLsn(link, pair, t),
    );
  }

  /** The primary's end of log at `t`; a database missing on the primary side (never seeded) reads its floor. */
  private primaryLsn(link: Link, pair: Pair, t: number): bigint {
    const db = this.instance(link.primary).databases.get(key(pair.database));
    return db ? db.log.at(t) : pair.floor;
  }

  /** The secondary's hardened LSN at `t` (t ≥ pair.floorAt). */
  private secondaryHardened(link: Link, pair: Pair, t: number): bigint {
    if (!this.replicating(link) || pair.seededAt === undefined || pair.seededAt > t) return pair.floor;
    const target = this.primaryLsn(link, pair, t - this.lagMs) - this.lagLsn;
    return minBig(maxBig(target, pair.floor), this.primaryLsn(link, pair, t));
  }

  /** Freezes every secondary at its current value before a state change (so nothing jumps or goes back). */
  private checkpoint(t: number): void {
    for (const link of this.links.values()) {
      for (const pair of link.pairs.values()) {
        pair.floor = this.secondaryHardened(link, pair, t);
        pair.floorAt = t;
      }
    }
  }

  /** When both sides first meet, seeding starts from the primary's current LSN. */
  private onConnectivityChange(link: Link, t: number): void {
    if (!this.connected(link)) return;
    for (const pair of link.pairs.values()) {
      // Seeding needs the database on both sides (a name SQL Server does not have never seeds).
      if (pair.seedStart !== undefined || !this.sql.databases.has(key(pair.database))) continue;
      pair.seedStart = t;
      pair.seededAt = t + this.seedingMs;
      pair.floor = this.primaryLsn(link, pair, t);
      pair.floorAt = t;
      const db = this.mi.databases.get(key(pair.database));
      if (db) db.secondaryBackupAt = pair.seededAt + this.secondaryFullBackupDelayMs;
    }
  }

  /** A planned failover: both sides agree on the new roles; the old primary stops taking writes. */
  private swapRoles(link: Link, t: number, forced: boolean, via: string): void {
    this.checkpoint(t);
    const from = link.primary;
    const to = other(from);
    const lostLsns: Record<string, bigint> = {};
    for (const pair of link.pairs.values()) {
      const oldPrimary = this.instance(from).databases.get(key(pair.database));
      const newPrimary = this.instance(to).databases.get(key(pair.database));
      if (!oldPrimary || !newPrimary) continue;
      const oldEnd = oldPrimary.log.at(t);
      const hardened = pair.floor;
      lostLsns[pair.database] = maxBig(0n, oldEnd - hardened);
      oldPrimary.log.setRate(t, 0); // writes stop: the old primary is read-only now
      newPrimary.log = new LogStream(t, hardened);
      newPrimary.restoring = false;
      pair.floor = hardened;
      pair.floorAt = t;
      if (to === 'managedInstance') this.becameReadWrite(newPrimary, t);
    }
    link.primary = to;
    if (link.sqlServer) link.sqlServer.primary = to === 'sqlServer';
    this.event(t, forced ? 'forced-failover' : 'failover', { dag: link.name, from, to, via, lostLsns });
  }

  /**
   * A forced failover to `to`, executed on `to` (ARM runs on the managed instance): the new primary starts
   * from what it had hardened; the other side keeps its own view. SQL Server stays primary and writable
   * after a forced failover to the managed instance, until SET (ROLE = SECONDARY) (failover guide,
   * "Inconsistent state after forced failover"). Replication stops: the logs diverged.
   */
  private forceTo(link: Link, to: Side, t: number, via: string): void {
    this.checkpoint(t);
    const from = other(to);
    const lostLsns: Record<string, bigint> = {};
    for (const pair of link.pairs.values()) {
      const oldPrimary = this.instance(from).databases.get(key(pair.database));
      const newPrimary = this.instance(to).databases.get(key(pair.database));
      if (!oldPrimary || !newPrimary) continue;
      const hardened = this.databaseSnapshot(to, newPrimary, t).endOfLogLsn;
      lostLsns[pair.database] = maxBig(0n, oldPrimary.log.at(t) - hardened);
      newPrimary.log = new LogStream(t, hardened);
      newPrimary.restoring = false;
      if (to === 'managedInstance') this.becameReadWrite(newPrimary, t);
    }
    if (to === 'managedInstance') link.primary = 'managedInstance';
    else if (link.sqlServer) link.sqlServer.primary = true;
    if (via.startsWith('arm') && to === 'sqlServer') link.primary = 'sqlServer';
    link.diverged = true;
    this.event(t, 'forced-failover', { dag: link.name, from, to, via, lostLsns });
  }

  private becameReadWrite(db: Database, t: number): void {
    db.readWriteAt ??= t;
    if (db.firstFullBackupAt === undefined) {
      db.firstFullBackupAt = t + this.firstBackupDelayMs;
      this.event(db.firstFullBackupAt, 'first-full-backup', { database: db.name, scheduled: true });
    }
  }

  private isWritable(side: Side, db: Database, t: number): boolean {
    return !this.databaseSnapshot(side, db, t).readOnly && !db.restoring;
  }

  /** The synchronization state of a secondary database of `link`, as a DMV row reports it. */
  private secondaryState(link: Link, pair: Pair, t: number): string {
    const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
    if (!this.replicating(link)) return 'NOT SYNCHRONIZING';
    if (!seeded) return 'INITIALIZING';
    if (!this.synchronousCommit(link)) return 'SYNCHRONIZING';
    return this.secondaryHardened(link, pair, t) === this.primaryLsn(link, pair, t)
      ? 'SYNCHRONIZED'
      : 'SYNCHRONIZING';
  }

  /**
   * Rows of one database in the DAG's group on `side`: the local row, and on the primary the row of the
   * remote (secondary) replica. Semantics from the sys.dm_hadr_database_replica_states docs: a primary's own
   * row shows SYNCHRONIZED in place of SYNCHRONIZING and its last_hardened_lsn is NULL on an asynchronous
   * primary, else the minimum hardened LSN of the secondaries as the primary knows it; the remote row holds
   * what the primary knows of the secondary (fed by progress messages: `witnessLagMs` behind).
   */
  private dagLsnRows(
    side: Side,
    db: Database,
    linked: { link: Link; pair: Pair },
    t: number,
    agName = linked.link.name,
  ): LsnRow[] {
    const { link, pair } = linked;
    const role = this.roleOf(link, side);
    const snap = this.databaseSnapshot(side, db, t);
    const local: LsnRow = {
      agName,
      databaseName: db.name,
      isLocal: true,
      isPrimaryReplica: side === 'managedInstance' || role === 'PRIMARY',
      synchronizationState: role === 'PRIMARY' ? 'SYNCHRONIZED' : this.secondaryState(link, pair, t),
      connectedState: 'CONNECTED',
      endOfLogLsn: snap.endOfLogLsn,
      lastHardenedLsn: snap.lastHardenedLsn,
    };
    if (role !== 'PRIMARY') return [local];
    const witnessAt = Math.max(t - this.witnessLagMs, pair.floorAt);
    const witness = this.replicating(link) ? this.secondaryHardened(link, pair, witnessAt) : pair.floor;
    const primaryOfLink = link.primary === side;
    local.lastHardenedLsn =
      this.synchronousCommit(link) && this.replicating(link) && primaryOfLink ? witness : null;
    const remote: LsnRow = {
      agName,
      databaseName: db.name,
      isLocal: false,
      isPrimaryReplica: false,
      synchronizationState: primaryOfLink ? this.secondaryState(link, pair, t) : 'NOT SYNCHRONIZING',
      connectedState: this.connected(link) ? 'CONNECTED' : 'DISCONNECTED',
      endOfLogLsn: witness,
      lastHardenedLsn: witness,
    };
    return [local, remote];
  }

  /** Business Critical managed instance: its primary replica's rows, then one row per local secondary replica. */
  private bcLsnRows(db: Database, linked: { link: Link; pair: Pair } | undefined, t: number): LsnRow[] {
    const snap = this.databaseSnapshot('managedInstance', db, t);
    const primary: LsnRow = linked
      ? this.dagLsnRows('managedInstance', db, linked, t, linked.link.miAg)[0]
      : {
          agName: this.mi.name,
          databaseName: db.name,
          isLocal: true,
          isPrimaryReplica: true,
          synchronizationState: 'SYNCHRONIZED',
          connectedState: 'CONNECTED',
          endOfLogLsn: snap.endOfLogLsn,
          lastHardenedLsn: snap.lastHardenedLsn,
        };
    const rows = [primary];
    for (let i = 1; i <= this.secondaryReplicas; i++) {
      const behind = this.bcSecondaryLsnOffset * BigInt(i);
      const lsn = (v: bigint | null) => (v === null ? null : maxBig(0n, v - behind));
      rows.push({
        ...primary,
        isLocal: false,
        isPrimaryReplica: false,
        synchronizationState: 'SYNCHRONIZED',
        endOfLogLsn: lsn(primary.endOfLogLsn),
        lastHardenedLsn: lsn(primary.lastHardenedLsn),
      });
    }
    return rows;
  }

  /**
   * The DMV promises no order (sys.dm_hadr_database_replica_states docs give none). No source says which
   * order a server returns: 'reversed' (default) puts every remote row before its local row and the last
   * database first, the hardest for a reader that takes the first row; 'rotating' changes the order on every
   * read, the hardest for one that assumes a stable order.
   */
  private shuffle<T>(rows: T[]): T[] {
    const n = this.dmvReads++;
    const out = [...rows].reverse();
    if (this.dmvRowOrder === 'reversed' || out.length < 2) return out;
    const k = n % out.length;
    return [...out.slice(k), ...out.slice(0, k)];
  }

  private databaseSnapshot(side: Side, db: Database, t: number): DatabaseSnapshot {
    const linked = this.linkOf(side, db.name);
    let lsn: bigint;
    let role: ReplicaRole | null = null;
    let readOnly = false;
    let restoring = db.restoring;
    if (linked) {
      const { link, pair } = linked;
      role = this.roleOf(link, side);
      lsn = role === 'PRIMARY' ? db.log.at(t) : this.secondaryHardened(link, pair, t);
      const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
      if (side === 'managedInstance' && role === 'SECONDARY') restoring = !seeded;
      readOnly = role === 'SECONDARY' && !restoring;
    } else {
      lsn = db.log.at(t);
    }
    return {
      name: db.name,
      id: db.id,
      state: restoring ? 'RESTORING' : 'ONLINE',
      readOnly,
      role,
      endOfLogLsn: lsn,
      lastHardenedLsn: lsn,
      workloadLsnPerSecond: role === 'SECONDARY' ? 0 : db.log.rate,
      firstFullBackupAt: db.firstFullBackupAt ?? null,
    };
  }

  private event(at: number, kind: LinkEvent['kind'], detail: Record<string, unknown>): void {
    this.events.push({ at, kind, detail });
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * The create validations the service answers with a 400 at once, in the recorded order
 * (link-errors.jsonl seq 0, 1, 2, 4).
 */
function validateCreate(spec: CreateLinkSpec): void {
  if (!spec.databases.length) {
    throw new ServiceError(
      'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestDatabases',
      'Distributed Availability Group Create or Update request body has empty or Invalid Databases.',
    );
  }
  if (!spec.instanceAvailabilityGroupName) {
    throw new ServiceError(
      'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestInstanceAvailabilityGroupName',
      'Distributed Availability Group Create or Update request body has empty or Invalid Instance Availability Group Name.',
    );
  }
  if (!spec.partnerAvailabilityGroupName) {
    throw new ServiceError(
      'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestPartnerAvailabilityGroupName',
      'Distributed Availability Group Create or Update request body has empty or Invalid Partner Availability Group Name.',
    );
  }
  if (spec.partnerEndpoint !== undefined && !/^tcp:\/\/[^\s:/]+:\d{1,5}$/i.test(spec.partnerEndpoint)) {
    throw new ServiceError(
      'InvalidParameterValue',
      'Invalid value given for parameter SourceEndpoint. Specify a valid parameter value.',
    );
  }
}
