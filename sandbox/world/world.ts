import { SimClock } from './clock';
import {
  type DatabaseCreateParameters,
  InstanceRegistry,
  type ManagedDatabase,
  type ManagedInstance,
  type ManagedInstanceInit,
} from './instances';
import {
  LogReplayService,
  type LrsHost,
  type LrsOptions,
  type LrsStartParameters,
  type StorageAccess,
} from './lrs';
import { formatLsn } from './lsn';

/**
 * The simulated Azure world the stand-ins share: one clock, the managed instances and their databases,
 * the Log Replay Service, and timed changes (a database coming online, a drop finishing).
 *
 * Each concern lives in its own module (instances.ts, lrs.ts, backups.ts); further simulations (the Managed
 * Instance link) add their own module and hang their state off the database (`ManagedDatabase.link`).
 * Nothing runs in the background: state moves forward when something looks at it (`touch`, `tick`), computed
 * from the simulated time, so tests control the world completely through the clock.
 */

/** How long (simulated ms) the control-plane operations take. */
export interface WorldTimings {
  /** createMode Default: Online after this (lrs-ps-stop-foreign-database w3 PUT 16:39:34, w1 Online 16:39:50). */
  createDatabaseMs: number;
  /** DELETE until GET answers 404: at most 8 s (lrs-ps-stop x8 → x1: 8 s; lrs-cancel u6 → u10: 15 s). */
  dropDatabaseMs: number;
  /**
   * DELETE until its operation ends, long after the database is gone: 24 min 44 s to 24 min 59 s in lrs-cancel
   * (u6 → u-tail/u-last), 25 min 5 s to 25 min 20 s in lrs-ps-stop (x8 → y0/y1).
   */
  dropOperationMs: number;
  /**
   * How long restore details say Initializing (LrsOptions.initializingMs unless `lrs` overrides it): more than
   * 21 s (lrs-ps-complete 11, PUT 13:37:54 → 13:38:15) and at most 22 s (lrs-ps-stop x5 and lrs-ps-autocomplete 33,
   * Restoring 22 s after the PUT).
   */
  lrsStartMs: number;
  /**
   * RestoreExternalBackup PUT until the database exists (creationDate minus the PUT's time: lrs-continuous
   * t2/t23 4 s, lrs-ps-complete 9/8 4 s, lrs-ps-autocomplete 31/30 4 s); GET answers 404 before that.
   */
  lrsDatabaseAppearMs: number;
  /**
   * The completeRestore operation ends this long after the database is Online: more than 10.7 s in lrs-ps-complete
   * (the database's creationDate in 36 moves to 13:40:37.307, the recovery's end: start op InProgress 23 13:40:26,
   * Succeeded 24 13:40:41; complete op InProgress 34 13:40:48, Succeeded 35 13:41:04) and less than 26 s in
   * lrs-continuous (start op InProgress t20 13:32:36, complete op Succeeded t24 13:33:02). 15 s is chosen inside.
   */
  completeOperationLingerMs: number;
}

export const DEFAULT_WORLD_TIMINGS: WorldTimings = {
  createDatabaseMs: 15_000,
  dropDatabaseMs: 7_000,
  dropOperationMs: 25 * 60_000,
  lrsStartMs: 21_500,
  lrsDatabaseAppearMs: 4_000,
  completeOperationLingerMs: 15_000,
};

export interface WorldOptions {
  clock?: SimClock;
  /** Speed of a clock created for the world (ignored when `clock` is given). */
  speed?: number;
  timings?: Partial<WorldTimings>;
  lrs?: Partial<LrsOptions>;
  storage?: StorageAccess;
}

interface Timer {
  at: number;
  seq: number;
  action: () => void;
}

export class World implements LrsHost {
  readonly clock: SimClock;
  readonly instances = new InstanceRegistry();
  readonly lrs: LogReplayService;
  readonly timings: WorldTimings;
  /** How the managed instances reach the storage account with their managed identity. */
  storage?: StorageAccess;
  private readonly timers: Timer[] = [];
  private readonly tickListeners: Array<() => void> = [];
  private timerSeq = 0;

  constructor(options: WorldOptions = {}) {
    this.clock = options.clock ?? new SimClock({ speed: options.speed });
    this.timings = { ...DEFAULT_WORLD_TIMINGS, ...options.timings };
    this.lrs = new LogReplayService(this, { initializingMs: this.timings.lrsStartMs, ...options.lrs });
    this.storage = options.storage;
  }

  addManagedInstance(init: ManagedInstanceInit): ManagedInstance {
    return this.instances.add(init);
  }

  /** Finds a managed instance (case-insensitive, as ARM). */
  instance(subscriptionId: string, resourceGroup: string, name: string): ManagedInstance | undefined {
    return this.instances.get(subscriptionId, resourceGroup, name);
  }

  /** Creates an empty database (createMode Default): Creating, then Online after `createDatabaseMs`. */
  createDatabase(
    mi: ManagedInstance,
    name: string,
    init: { collation: string; tags?: Record<string, string> },
  ): ManagedDatabase {
    const db = this.addDatabase(
      mi,
      name,
      'Creating',
      { createMode: 'Default', collation: init.collation },
      init.tags,
    );
    this.schedule(this.clock.now() + this.timings.createDatabaseMs, () => {
      if (db.status === 'Creating') {
        db.status = 'Online';
        db.readOnly = false;
      }
    });
    return db;
  }

  /** Creates a database in Restoring state and starts an LRS restore into it (createMode RestoreExternalBackup). */
  startLogReplay(
    mi: ManagedInstance,
    name: string,
    init: {
      collation: string;
      tags?: Record<string, string>;
      params: LrsStartParameters;
      createParameters: DatabaseCreateParameters;
    },
  ): ManagedDatabase {
    const db = this.addDatabase(mi, name, 'Restoring', init.createParameters, init.tags);
    db.readOnly = true;
    db.visibleAt = this.clock.now() + this.timings.lrsDatabaseAppearMs;
    db.creationDate = new Date(db.visibleAt);
    this.lrs.start(db, init.params);
    return db;
  }

  /** Starts dropping a database: an active restore stops now, the database disappears after `dropDatabaseMs`. */
  dropDatabase(mi: ManagedInstance, db: ManagedDatabase): void {
    db.lrs?.stop();
    if (db.dropScheduledAt !== undefined) return;
    db.dropScheduledAt = this.clock.now() + this.timings.dropDatabaseMs;
    this.schedule(db.dropScheduledAt, () => {
      if (mi.databases.get(db.name) === db) mi.databases.delete(db.name);
    });
  }

  /** Runs `action` once simulated time reaches `at` (on the next `touch`/`tick`). */
  schedule(at: number, action: () => void): void {
    this.timers.push({ at, seq: this.timerSeq++, action });
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Applies every timed change that is due. */
  runDue(): void {
    const now = this.clock.now();
    while (this.timers.length > 0 && this.timers[0].at <= now) this.timers.shift()?.action();
  }

  /** Brings one database up to date (what an ARM request touching it does). */
  async touch(db?: ManagedDatabase): Promise<void> {
    this.runDue();
    if (db) await this.lrs.sync(db);
  }

  /** Brings the whole world up to date: timed changes and every active restore (scans storage). */
  async tick(): Promise<void> {
    this.runDue();
    await this.lrs.tick();
    this.runDue();
    for (const listener of this.tickListeners) listener();
  }

  /** Runs `listener` at the end of every tick (the ARM stand-in settles its operations there). */
  onTick(listener: () => void): void {
    this.tickListeners.push(listener);
  }

  /** A JSON view of the world (for tests, logs and GET /_sandbox/world). */
  snapshot(): Record<string, unknown> {
    return {
      now: this.clock.date().toISOString(),
      speed: this.clock.speed,
      instances: this.instances.list().map((mi) => ({
        subscriptionId: mi.subscriptionId,
        resourceGroup: mi.resourceGroup,
        name: mi.name,
        location: mi.location,
        tier: mi.tier,
        databases: [...mi.databases.values()].map((db) => ({
          name: db.name,
          status: db.status,
          collation: db.collation,
          createMode: db.createMode,
          readOnly: db.readOnly,
          creationDate: db.creationDate.toISOString(),
          lsn: db.lsn === undefined ? undefined : formatLsn(db.lsn),
          dropScheduledAt:
            db.dropScheduledAt === undefined ? undefined : new Date(db.dropScheduledAt).toISOString(),
          lrs: db.lrs?.toJSON(),
        })),
      })),
    };
  }

  private addDatabase(
    mi: ManagedInstance,
    name: string,
    status: ManagedDatabase['status'],
    createParameters: DatabaseCreateParameters,
    tags: Record<string, string> = {},
  ): ManagedDatabase {
    const db: ManagedDatabase = {
      name,
      status,
      collation: createParameters.collation,
      createMode: createParameters.createMode,
      tags: { ...tags },
      creationDate: this.clock.date(),
      readOnly: status !== 'Online',
      createParameters,
    };
    mi.databases.set(name, db);
    return db;
  }
}
