/** Time as the core sees it: injectable so every wait is testable with a fake clock. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock that only moves when told to; `sleep` resolves once time is advanced past its wake-up. */
export class FakeClock implements Clock {
  private current: number;
  private sleepers: { wake: number; resolve: () => void }[] = [];

  constructor(startMs = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ wake: this.current + Math.max(0, ms), resolve });
    });
  }

  /** Number of pending sleeps (lets tests wait until the code under test is parked). */
  get pending(): number {
    return this.sleepers.length;
  }

  /** When the earliest pending sleep wakes (undefined when nothing sleeps): lets a driver jump exactly there. */
  get nextWake(): number | undefined {
    return this.sleepers.length ? Math.min(...this.sleepers.map((s) => s.wake)) : undefined;
  }

  advance(ms: number): void {
    this.current += ms;
    const due = this.sleepers.filter((s) => s.wake <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.wake > this.current);
    for (const s of due) s.resolve();
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}
