/**
 * Scheduling helpers of the engine: a bounded worker pool (`--parallel`) and the delete order.
 *
 * Delete order (deployment_executor.go performPostSteps / ScheduleDeletes): a resource is deleted only after
 * every resource that depends on it; the deletes are run as "antichains", sets of resources that do not depend
 * on each other, each antichain in parallel and each one after the previous one completes.
 */
import type { StateResource } from '../engine/state';

/** At most `limit` tasks at once, started in submission order. */
export class Pool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Highest number of tasks that ran at once. */
  peak = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('parallel must be at least 1');
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** The URN a state entry is known by (MiniEngine entries have only a name: a default dynamic resource). */
export function entryUrn(r: StateResource, stack: string, project: string): string {
  return r.urn ?? `urn:pulumi:${stack}::${project}::pulumi-nodejs:dynamic:Resource::${r.name}`;
}

/**
 * Antichains of `toDelete` in delete order: dependents before their dependencies. Dependencies on resources
 * outside `toDelete` do not hold anything back. Entries without recorded dependencies (MiniEngine states) are
 * deleted in reverse state order, one at a time, as MiniEngine does.
 */
export function deleteAntichains(
  toDelete: StateResource[],
  urnOf: (r: StateResource) => string,
): StateResource[][] {
  if (toDelete.every((r) => r.dependencies === undefined)) return [...toDelete].reverse().map((r) => [r]);
  const urns = new Set(toDelete.map(urnOf));
  const remaining = new Set(toDelete);
  const chains: StateResource[][] = [];
  while (remaining.size > 0) {
    const dependedOn = new Set<string>();
    for (const r of remaining) {
      for (const d of r.dependencies ?? []) if (urns.has(d)) dependedOn.add(d);
      if (r.parent && urns.has(r.parent)) dependedOn.add(r.parent);
    }
    const chain = [...remaining].filter((r) => !dependedOn.has(urnOf(r)));
    if (chain.length === 0) throw new Error('dependency cycle in the state: cannot order the deletes');
    for (const r of chain) {
      remaining.delete(r);
      urns.delete(urnOf(r));
    }
    chains.push(chain);
  }
  return chains;
}
