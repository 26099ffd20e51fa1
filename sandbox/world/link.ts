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
  type WorldSnapshot,
} from './linkModel';
import { DEFAULT_START_LSN } from './lsn';

export * from './linkModel';

interface Database {
  name: string;
  id: number;
  /** Own log: read when this side is primary or the database stands alone. */
  log: LogStream;
  /** Left behind in RESTORING (a secondary whose DAG was dropped, or a link seeding into it). */
  restoring: boolean;
  /** When the managed instance takes its first full backup (set when the database becomes read-write). */
  firstFullBackupAt?: number;
  backups: BackupRow[];
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
}

/** The SQL Server's DAG object (CREATE AVAILABILITY GROUP … WITH (DISTRIBUTED)). */
interface SqlServerDag {
  createdAt: number;
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
  primary: Side;
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

  private readonly sql: Instance;
  private readonly mi: Instance;
  private readonly links = new Map<string, Link>();
  private version: string;
  private updateLevel: string | null;
  private readonly engineEdition: 2 | 3;
  private tier: ServiceTier;
  private secondaryReplicas: number;
  private lagMs = 0;
  private lagLsn = 0n;
  private network: 'up' | 'broken' = 'up';
  private readonly firstBackupDelayMs: number;
  private readonly seedingMs: number;
  private readonly armLagMs: number;
  private readonly bcSecondaryLsnOffset: bigint;
  private readonly nullHardenedOnAsyncPrimary: boolean;
  private readonly initialLsn: bigint;

  constructor(options: LinkWorldOptions) {
    this.clock = options.clock;
    this.sql = {
      side: 'sqlServer',
      name: options.sqlServer?.name ?? 'SQLVM01',
      databases: new Map(),
      ags: new Map(),
      nextDatabaseId: 5,
    };
    this.mi = {
      side: 'managedInstance',
      name: options.managedInstance?.name ?? 'sqlmi-link',
      databases: new Map(),
      ags: new Map(),
      nextDatabaseId: 5,
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
    this.nullHardenedOnAsyncPrimary = options.nullHardenedOnAsyncPrimary ?? false;
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
    inst.databases.set(key(name), {
      name,
      id: inst.nextDatabaseId++,
      log: new LogStream(t, options.lsn ?? this.initialLsn),
      restoring: false,
      backups: [],
    });
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

  /** CREATE AVAILABILITY GROUP [dag] WITH (DISTRIBUTED) on SQL Server (members: its AG, the MI's AG). */
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
    if (key(link.sqlServerAg) !== key(spec.sqlServerAg) || key(link.miAg) !== key(spec.miAg)) {
      throw new Error(`link ${spec.name} exists on the managed instance with other members`);
    }
    const mode = spec.mode ?? 'ASYNCHRONOUS_COMMIT';
    link.sqlServer = { createdAt: t, sqlServerAgMode: mode, miAgMode: mode };
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
    if (!spec.databases.length || !spec.partnerAvailabilityGroupName || !spec.instanceAvailabilityGroupName) {
      throw new ServiceError(
        'InvalidParameterValue',
        'databases, partnerAvailabilityGroupName and instanceAvailabilityGroupName are required.',
      );
    }
    if (
      existing &&
      (key(existing.sqlServerAg) !== key(spec.partnerAvailabilityGroupName) ||
        key(existing.miAg) !== key(spec.instanceAvailabilityGroupName))
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
    link.managedInstance = {
      createdAt: t,
      replicationMode: spec.replicationMode ?? 'Async',
      failoverMode: spec.failoverMode ?? 'None',
      seedingMode: spec.seedingMode ?? 'Automatic',
      partnerEndpoint: spec.partnerEndpoint ?? `TCP://${this.sql.name}:5022`,
    };
    this.mi.ags.set(key(link.miAg), { name: link.miAg, databases: [...link.databases] });
    for (const db of link.databases) {
      this.mi.databases.set(key(db), {
        name: db,
        id: this.mi.nextDatabaseId++,
        log: new LogStream(t, 0n),
        restoring: true,
        backups: [],
      });
    }
    this.onConnectivityChange(link, t);
    this.event(t, 'link-created', { dag: link.name, databases: link.databases });
    return this.linkView(spec.name);
  }

  /** Shortcut for tests: databases, AG, both sides of the DAG, seeding already done. */
  establishLink(spec: {
    name: string;
    sqlServerAg: string;
    miAg: string;
    databases: string[];
    mode?: AvailabilityMode;
  }): void {
    if (!this.sql.ags.has(key(spec.sqlServerAg))) {
      this.createAvailabilityGroup(spec.sqlServerAg, spec.databases);
    }
    this.createSqlServerDag({
      name: spec.name,
      sqlServerAg: spec.sqlServerAg,
      miAg: spec.miAg,
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
      this.mustDb('managedInstance', pair.database).restoring = false;
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
    if (linked && linked.link.primary !== side) {
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

  /** Records a backup in the instance's msdb.dbo.backupset (e.g. a log backup taken on SQL Server). */
  addBackup(side: Side, row: BackupRow): void {
    this.mustDb(side, row.databaseName).backups.push(row);
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
    for (const db of this.mi.databases.values()) times.push(db.firstFullBackupAt ?? t);
    const future = times.filter((x) => x > t);
    return future.length ? Math.min(...future) : undefined;
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
    for (const member of members) {
      if (key(member.name) === key(link.sqlServerAg)) link.sqlServer.sqlServerAgMode = member.mode;
      else if (key(member.name) === key(link.miAg)) link.sqlServer.miAgMode = member.mode;
      else throw engineErrors.alterMissing(member.name);
    }
    this.event(t, 'mode-changed', { side, dag: link.name, members });
  }

  /** ALTER AVAILABILITY GROUP [dag] FAILOVER, run on `side`. */
  tsqlFailover(side: Side, dag: string): void {
    const link = this.dagOn(side, dag);
    if (!link) throw engineErrors.alterMissing(dag);
    const t = this.clock.now();
    if (side === 'sqlServer' && !supportsTsqlLinkFailover(this.version)) {
      // Before SQL Server 2022 CU13 a planned failover can only be started from the secondary.
      if (link.primary === side) throw engineErrors.alreadyPrimary(dag);
    }
    if (side === 'managedInstance' && link.primary === side) throw engineErrors.alreadyPrimary(dag);
    if (!this.caughtUp(link, t)) throw engineErrors.notSynchronized(dag);
    this.swapRoles(link, t, false, side === 'sqlServer' && link.primary === side ? 'tsql-primary' : 'tsql');
  }

  /** ALTER AVAILABILITY GROUP [dag] FORCE_FAILOVER_ALLOW_DATA_LOSS, run on the secondary `side`. */
  tsqlForceFailover(side: Side, dag: string): void {
    const link = this.dagOn(side, dag);
    if (!link) throw engineErrors.alterMissing(dag);
    if (link.primary === side) throw engineErrors.alreadyPrimary(dag);
    this.swapRoles(link, this.clock.now(), true, 'tsql');
  }

  /** DROP AVAILABILITY GROUP [name] (an AG or a DAG) on `side`. */
  dropAvailabilityGroup(side: Side, name: string): void {
    if (side === 'managedInstance') throw engineErrors.notSupported('DROP AVAILABILITY GROUP');
    const t = this.clock.now();
    this.checkpoint(t);
    const link = this.links.get(key(name));
    if (link?.sqlServer) {
      link.sqlServer = undefined;
      if (link.primary === 'managedInstance') {
        // The SQL Server databases were secondaries: they stay behind in RESTORING at what they had hardened.
        for (const pair of link.pairs.values()) {
          const db = this.mustDb('sqlServer', pair.database);
          db.log = new LogStream(t, pair.floor);
          db.restoring = true;
        }
      }
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
      (l) => this.onSide(l, side) && (key(l.sqlServerAg) === key(ag) || key(l.miAg) === key(ag)),
    ).length;
  }

  /** Replicas of DAG `dag` on `side` with their states (sys.availability_replicas ⟕ …replica_states). */
  dagReplicaRows(side: Side, dag: string): ReplicaRow[] {
    const link = this.dagOn(side, dag);
    if (!link) return [];
    const t = this.clock.now();
    const connected = this.connected(link);
    const modes = this.modesOn(link, side);
    const localAg = side === 'sqlServer' ? link.sqlServerAg : link.miAg;
    const health = (): string => {
      if (!connected) return 'NOT_HEALTHY';
      return this.synchronousCommit(link) && !this.caughtUp(link, t) ? 'PARTIALLY_HEALTHY' : 'HEALTHY';
    };
    const row = (ag: string, mode: AvailabilityMode): ReplicaRow => {
      const local = key(ag) === key(localAg);
      const role: ReplicaRole = (link.primary === side) === local ? 'PRIMARY' : 'SECONDARY';
      // A secondary only knows its own replica's state; the primary knows every replica's.
      const known = local || link.primary === side;
      return {
        agName: link.name,
        replicaServerName: ag,
        availabilityMode: mode,
        state: known
          ? {
              connected: role === 'PRIMARY' || connected ? 'CONNECTED' : 'DISCONNECTED',
              role,
              operational: local ? 'ONLINE' : null,
              health: role === 'PRIMARY' ? 'HEALTHY' : health(),
            }
          : null,
      };
    };
    return [row(link.sqlServerAg, modes.sqlServerAg), row(link.miAg, modes.miAg)];
  }

  /**
   * sys.dm_hadr_database_replica_states rows for database `db` on `side`. With `dag`, only the rows of that
   * DAG's group (the local replica). Without, every local replica: on Business Critical the managed instance
   * also returns its local secondary replicas (listed first).
   */
  lsnRows(side: Side, db: string, dag?: string): LsnRow[] {
    const t = this.clock.now();
    const database = this.instance(side).databases.get(key(db));
    if (!database) return [];
    const linked = this.linkOf(side, database.name);
    if (dag !== undefined) {
      if (!linked || key(linked.link.name) !== key(dag)) return [];
      return [this.lsnRow(side, database, linked, t, linked.link.name)];
    }
    const rows: LsnRow[] = [];
    const agName = linked ? (side === 'sqlServer' ? linked.link.sqlServerAg : linked.link.miAg) : null;
    if (side === 'managedInstance' && this.tier === 'BusinessCritical' && !database.restoring) {
      const primary = this.lsnRow(side, database, linked, t, agName ?? this.mi.name);
      for (let i = 1; i <= this.secondaryReplicas; i++) {
        const behind = this.bcSecondaryLsnOffset * BigInt(i);
        const lsn = (v: bigint | null) => (v === null ? null : maxBig(0n, v - behind));
        rows.push({
          ...primary,
          isPrimaryReplica: false,
          synchronizationState: 'SYNCHRONIZED',
          endOfLogLsn: lsn(primary.endOfLogLsn),
          lastHardenedLsn: lsn(primary.lastHardenedLsn),
        });
      }
      rows.push(primary);
      return rows;
    }
    if (!linked) return rows;
    rows.push(this.lsnRow(side, database, linked, t, agName ?? linked.link.name));
    return rows;
  }

  /** sys.databases row. */
  databaseRow(side: Side, db: string): DatabaseRow | undefined {
    const database = this.instance(side).databases.get(key(db));
    if (!database) return this.externalDatabase?.(side, db);
    const t = this.clock.now();
    const snap = this.databaseSnapshot(side, database, t);
    return { name: database.name, state: snap.state, readOnly: snap.readOnly, userAccess: 'MULTI_USER' };
  }

  /** msdb.dbo.backupset rows of `db` on `side` (the managed instance's automatic first full backup included). */
  backups(side: Side, db: string): BackupRow[] {
    const database = this.instance(side).databases.get(key(db));
    if (!database) return [];
    const t = this.clock.now();
    const rows = [...database.backups];
    if (database.firstFullBackupAt !== undefined && database.firstFullBackupAt <= t) {
      const lsn = database.log.at(database.firstFullBackupAt);
      rows.push({
        databaseName: database.name,
        type: 'D',
        backupStartDate: new Date(database.firstFullBackupAt - 60_000),
        backupFinishDate: new Date(database.firstFullBackupAt),
        firstLsn: lsn,
        lastLsn: lsn,
      });
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
      instanceLinkRole,
      partnerLinkRole: instanceLinkRole === 'Primary' ? 'Secondary' : 'Primary',
      databases: [...link.pairs.values()].map((pair) => {
        const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
        const primaryNow = this.primaryLsn(link, pair, t);
        const hardenedNow = this.secondaryHardened(link, pair, t);
        const hardenedSeen = this.secondaryHardened(link, pair, Math.max(seen, pair.floorAt));
        const backup = this.backups('managedInstance', pair.database)
          .filter((b) => b.type === 'D')
          .pop();
        return {
          databaseName: pair.database,
          instanceReplicaId: pair.instanceReplicaId,
          partnerReplicaId: pair.partnerReplicaId,
          replicaState: seeded ? 'Catchup' : 'Seeding',
          seedingProgress: seeded ? '100' : this.seedingProgress(pair, t),
          synchronizationHealth: !connected ? 'NOT_HEALTHY' : seeded ? 'HEALTHY' : 'PARTIALLY_HEALTHY',
          connectedState: connected ? 'CONNECTED' : 'DISCONNECTED',
          lastHardenedLsn: hardenedSeen,
          lastHardenedTime: new Date(Math.max(seen, pair.floorAt)),
          lastReceivedLsn: hardenedSeen,
          lastCommitLsn: hardenedSeen,
          lastSentLsn: primaryNow,
          lastBackupLsn: backup?.lastLsn ?? null,
          lastBackupTime: backup?.backupFinishDate ?? null,
          lagSeconds: hardenedNow === primaryNow ? 0 : Math.max(1, Math.round(this.lagMs / 1000)),
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
      this.swapRoles(link, t, true, 'arm');
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
      this.swapRoles(link, t, forced, 'arm-setRole');
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
    if (!this.connected(link) || !this.synchronousCommit(link)) return false;
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
    if (!this.connected(link) || pair.seededAt === undefined || pair.seededAt > t) return pair.floor;
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
    }
  }

  private seedingProgress(pair: Pair, t: number): string {
    if (pair.seedStart === undefined || pair.seededAt === undefined) return '0';
    const span = Math.max(1, pair.seededAt - pair.seedStart);
    return String(Math.min(99, Math.floor(((t - pair.seedStart) / span) * 100)));
  }

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
    this.event(t, forced ? 'forced-failover' : 'failover', { dag: link.name, from, to, via, lostLsns });
  }

  private becameReadWrite(db: Database, t: number): void {
    if (db.firstFullBackupAt === undefined) {
      db.firstFullBackupAt = t + this.firstBackupDelayMs;
      this.event(db.firstFullBackupAt, 'first-full-backup', { database: db.name, scheduled: true });
    }
  }

  private isWritable(side: Side, db: Database, t: number): boolean {
    return !this.databaseSnapshot(side, db, t).readOnly && !db.restoring;
  }

  private lsnRow(
    side: Side,
    db: Database,
    linked: { link: Link; pair: Pair } | undefined,
    t: number,
    agName: string,
  ): LsnRow {
    const snap = this.databaseSnapshot(side, db, t);
    let state = 'SYNCHRONIZED';
    if (linked) {
      const { link, pair } = linked;
      const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
      if (!this.connected(link)) state = 'NOT SYNCHRONIZING';
      else if (!seeded) state = 'INITIALIZING';
      else if (!this.synchronousCommit(link)) state = 'SYNCHRONIZING';
      else
        state =
          this.secondaryHardened(link, pair, t) === this.primaryLsn(link, pair, t)
            ? 'SYNCHRONIZED'
            : 'SYNCHRONIZING';
    }
    const asyncPrimary = linked && linked.link.primary === side && !this.synchronousCommit(linked.link);
    return {
      agName,
      databaseName: db.name,
      synchronizationState: state,
      isPrimaryReplica: true,
      endOfLogLsn: snap.endOfLogLsn,
      lastHardenedLsn: asyncPrimary && this.nullHardenedOnAsyncPrimary ? null : snap.lastHardenedLsn,
    };
  }

  private databaseSnapshot(side: Side, db: Database, t: number): DatabaseSnapshot {
    const linked = this.linkOf(side, db.name);
    let lsn: bigint;
    let role: ReplicaRole | null = null;
    let readOnly = false;
    let restoring = db.restoring;
    if (linked) {
      const { link, pair } = linked;
      role = link.primary === side ? 'PRIMARY' : 'SECONDARY';
      lsn = role === 'PRIMARY' ? db.log.at(t) : this.secondaryHardened(link, pair, t);
      const seeded = pair.seededAt !== undefined && pair.seededAt <= t;
      if (side === 'managedInstance') restoring = !seeded;
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
