/**
 * The simulated world's clock. Simulated time runs at `speed` times real time (0 = frozen) and can be
 * moved forward by hand with `advance`. Everything in the sandbox (restores, workloads, replication,
 * long-running operations) reads time from here, so tests and rehearsals choose how fast the world moves.
 */
export class SimClock {
  private baseSim: number;
  private baseReal: number;
  private rate: number;

  constructor(options: { startMs?: number; speed?: number } = {}) {
    this.baseSim = options.startMs ?? Date.UTC(2026, 0, 5, 9, 0, 0);
    this.baseReal = Date.now();
    this.rate = options.speed ?? 1;
  }

  /** Current simulated time in ms since the epoch. */
  now(): number {
    return this.baseSim + (Date.now() - this.baseReal) * this.rate;
  }

  date(): Date {
    return new Date(this.now());
  }

  /** How many simulated ms pass per real ms. */
  get speed(): number {
    return this.rate;
  }

  set speed(value: number) {
    if (!(value >= 0)) throw new RangeError('speed must be >= 0');
    this.rebase();
    this.rate = value;
  }

  /** Moves simulated time forward by `ms`. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('advance takes a non-negative number of ms');
    this.rebase();
    this.baseSim += ms;
  }

  private rebase(): void {
    const now = this.now();
    this.baseReal = Date.now();
    this.baseSim = now;
  }
}
