import { type Observation, sameFile } from './phase';
import {
  isUnavailable,
  type ManagedDatabaseView,
  type OperationView,
  type RestoreDetailsReading,
} from './ports';
import { type LrsContext, type LrsRecord, OWNER_TAG, type Target } from './record';

/** Reads an operation no faster than its Retry-After (or the poll interval) asks, and never again once it ended. */
class OperationWitness {
  private view?: OperationView;
  private nextAt = 0;

  constructor(
    private readonly url: string | undefined,
    private readonly minIntervalMs: number,
  ) {}

  async read(ctx: LrsContext): Promise<OperationView | undefined> {
    if (!this.url) return undefined;
    const ended = this.view?.status !== undefined && !/^InProgress$/i.test(this.view.status);
    const now = ctx.clock.now();
    if (ended || now < this.nextAt) return this.view;
    this.view = await ctx.arm.getOperation(this.url);
    this.nextAt = now + Math.max(this.minIntervalMs, this.view.retryAfterMs ?? 0);
    return this.view;
  }

  /** The last answer, without reading. */
  get last(): OperationView | undefined {
    return this.view;
  }
}

/** Restore details statuses of a restore going on, during which the database stays Restoring (recordings README). */
const STEADY = /^(Initializing|Restoring)$/i;

/**
 * Reads of one run: the database, its restore details, and the operations this resource started, each only
 * where its answer is not already known (issue 9: one request per poll while a restore runs).
 *
 * - The database is read at the first reading of the run (owner tag, status), and again only when the restore
 *   details leave the steady Initializing/Restoring states: the database is `Restoring` while they say so and
 *   turns `Online` in the poll in which they say Completed (recordings README, lrs-ps-autocomplete,
 *   lrs-continuous), so a steady reading carries the database read earlier in this run.
 * - Restore details are read only for a database this resource owns.
 * - The start and completion operations are read only when the database and its details cannot tell: the
 *   database is absent, or its restore details are unavailable (a failed restore answers 500 and only its start
 *   operation carries the error code, lrs-ps-failed-start v3–v4) or show a status no source shows.
 */
export class Observer {
  private start: OperationWitness;
  private completion: OperationWitness;
  /** The owned database as read earlier in this run, while its restore is steady. */
  private known?: ManagedDatabaseView;

  constructor(
    private readonly i: Target,
    private readonly ctx: LrsContext,
    private readonly record: LrsRecord,
  ) {
    this.start = new OperationWitness(record.startOperationUrl, i.pollIntervalInMs);
    this.completion = new OperationWitness(record.completeOperationUrl, i.pollIntervalInMs);
  }

  /** A new start or completion operation to follow. */
  follow(): void {
    this.start = new OperationWitness(this.record.startOperationUrl, this.i.pollIntervalInMs);
    this.completion = new OperationWitness(this.record.completeOperationUrl, this.i.pollIntervalInMs);
  }

  /** The completion operation, read now (at its own pace): for a wait that ends without the database online. */
  async completionOperation(): Promise<OperationView | undefined> {
    return this.completion.read(this.ctx);
  }

  /** The restore details read last in this run. */
  private lastDetails?: RestoreDetailsReading;

  /**
   * One reading. `database` given: already read (e.g. in a listing); null: known to be absent. `online`: the wait
   * for a completion, whose end is the database Online (the order in which the database and the details show it
   * is not a contract): the database is read each poll, the details only once it is online (for the outputs).
   */
  async observe(
    options: { database?: ManagedDatabaseView | null; online?: boolean } = {},
  ): Promise<Observation> {
    if (options.online) return this.observeOnline();
    const carried = options.database === undefined ? this.known : undefined;
    let database: ManagedDatabaseView | undefined =
      options.database === undefined
        ? (carried ?? (await this.ctx.arm.getDatabase()))
        : (options.database ?? undefined);
    let details: RestoreDetailsReading | undefined;
    const owned = () => database?.tags?.[OWNER_TAG] === this.record.owner;
    if (database && owned()) {
      details = await this.ctx.arm.getRestoreDetails();
      const status = isUnavailable(details) ? undefined : details.status;
      if (carried && !STEADY.test(status ?? '')) {
        // Completed (the database turns Online in this poll), unavailable (failed, or gone) or not recorded.
        database = await this.ctx.arm.getDatabase();
        if (!database || !owned()) details = undefined;
      }
    }
    this.lastDetails = details;
    const status = details && !isUnavailable(details) ? details.status : undefined;
    const steady = database !== undefined && owned() && STEADY.test(status ?? '');
    this.known = steady && /^Restoring$/i.test(database?.status ?? '') ? database : undefined;
    const operations = !database || (owned() && !steady && !/^Completed$/i.test(status ?? ''));
    const start = operations ? await this.start.read(this.ctx) : this.start.last;
    const completion = operations ? await this.completion.read(this.ctx) : this.completion.last;
    return { database, details, start, completion, completionRequested: this.completionRequested(details) };
  }

  private async observeOnline(): Promise<Observation> {
    this.known = undefined;
    const database = await this.ctx.arm.getDatabase();
    const owned = database?.tags?.[OWNER_TAG] === this.record.owner;
    if (database && owned && /^Online$/i.test(database.status ?? ''))
      this.lastDetails = await this.ctx.arm.getRestoreDetails();
    const details = database && owned ? this.lastDetails : undefined;
    const start = database ? this.start.last : await this.start.read(this.ctx);
    const completion = database ? this.completion.last : await this.completion.read(this.ctx);
    return { database, details, start, completion, completionRequested: this.completionRequested(details) };
  }

  private completionRequested(details: RestoreDetailsReading | undefined): boolean {
    const last = details && !isUnavailable(details) ? details.lastRestoredFileName : undefined;
    return (
      this.record.completionRequestedAt !== undefined ||
      (this.i.autoComplete === true && sameFile(last, this.i.lastBackupName))
    );
  }
}

/** Reads what is there now (outputs of read, partial failures). */
export function observe(i: Target, ctx: LrsContext, record: LrsRecord): Promise<Observation> {
  return new Observer(i, ctx, record).observe();
}

/** A poll that answers `first` once, then reads (the state just read is not read again). */
export function seeded(first: Observation, poll: () => Promise<Observation>): () => Promise<Observation> {
  let pending: Observation | undefined = first;
  return () => {
    const o = pending;
    pending = undefined;
    return o ? Promise.resolve(o) : poll();
  };
}
