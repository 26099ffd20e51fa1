/**
 * A suite's counts, printed at its end (`line`, which each suite words): named counters, each starting at 0 (or
 * at the start value given, such as -Infinity for a maximum that may be negative), that add up or keep a maximum.
 */
export abstract class Tally<C extends string> {
  readonly n: Record<C, number>;

  constructor(counters: readonly C[], start: Partial<Record<C, number>> = {}) {
    this.n = Object.fromEntries(counters.map((c) => [c, start[c] ?? 0])) as Record<C, number>;
  }

  /** Keeps the larger of the counter and `value`. */
  max(counter: C, value: number): void {
    this.n[counter] = Math.max(this.n[counter], value);
  }

  abstract line(suite: string): string;
}
