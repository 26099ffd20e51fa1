import type { ManagedDatabaseView } from './ports';

/**
 * "LRS supports 100 simultaneous database restores to a single instance, and 150 simultaneous database restores
 * for all instances in a single subscription" (MicrosoftDocs/sql-docs log-replay-service-migrate.md, Limitations).
 * The provider counts the instance's restoring databases before it starts one (any database in status Restoring
 * counts: that may overcount other kinds of restores, never undercount LRS ones). The subscription-wide limit is
 * not checked (it would need every instance of the subscription).
 */
export const MAX_RESTORES_PER_INSTANCE = 100;

/**
 * Starts this provider process has sent and whose database a listing may not show yet (it appears seconds after
 * the PUT), and one start at a time per instance, so resources of one wave in one host do not all see a free slot.
 * The only state shared between resources; it holds names, nothing secret.
 */
export class RestoreSlots {
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly declared = new Map<string, Set<string>>();

  /**
   * Preview: the restores this deployment would start on instance `mi` (new resources checked in this provider
   * process, one per stack), counting `db` in. Restores already running on the instance are not known without a
   * call, so the figure is a lower bound.
   */
  declare(mi: string, db: string): number {
    const key = mi.toLowerCase();
    if (!this.declared.has(key)) this.declared.set(key, new Set());
    const set = this.declared.get(key)!;
    set.add(db.toLowerCase());
    return set.size;
  }
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Runs `fn` alone among the starts on instance `mi` in this process. */
  exclusive<T>(mi: string, fn: () => Promise<T>): Promise<T> {
    const key = mi.toLowerCase();
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn, fn);
    this.queues.set(
      key,
      run.catch(() => undefined),
    );
    return run;
  }

  add(mi: string, db: string): void {
    const key = mi.toLowerCase();
    if (!this.inFlight.has(key)) this.inFlight.set(key, new Set());
    this.inFlight.get(key)!.add(db.toLowerCase());
  }

  remove(mi: string, db: string): void {
    this.inFlight.get(mi.toLowerCase())?.delete(db.toLowerCase());
  }

  /** Restores running on the instance: restoring databases listed, plus starts in flight not listed yet. */
  running(mi: string, listed: ManagedDatabaseView[]): number {
    const restoring = new Set(
      listed.filter((d) => /^restoring$/i.test(d.status ?? '')).map((d) => (d.name ?? d.id).toLowerCase()),
    );
    for (const name of this.inFlight.get(mi.toLowerCase()) ?? []) restoring.add(name);
    return restoring.size;
  }
}
