/**
 * What every bench gets: quick or full sizes, a report (printed as it goes and written to RESULTS.md), and
 * one shared sandbox with a consumer project where the package is installed (started on first use).
 * Benches print figures and ratios; nothing here asserts a time.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { consumerProject, node22 } from '../sandbox/engine/consumer';
import { MiniEngine } from '../sandbox/engine/engine';
import { type Sandbox, startSandbox } from '../sandbox/index';
import { distributedAvailabilityGroupLinkProvider, logReplayMigrationProvider } from '../sdk';

export interface Bench {
  /** Short name (`--only name`). */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<void>;
}

export interface BenchRig {
  sandbox: Sandbox;
  /** The consumer project directory the provider host runs in. */
  dir: string;
  texts: { lrs: string; link: string };
  /** A MiniEngine on its own state file; its host lines go to `logs` (and to `onLog` if given). */
  engine(stack: string, onLog?: (line: string) => void): MiniEngine;
}

export class BenchContext {
  private readonly lines: string[] = [];
  private rig?: Promise<BenchRig>;
  private cleanup: (() => Promise<void>)[] = [];

  constructor(readonly quick: boolean) {}

  /** A heading of this bench's section. */
  section(title: string): void {
    console.log(`\n== ${title}`);
    this.lines.push('', `## ${title}`, '');
  }

  /** A line of prose (printed and kept). */
  say(text: string): void {
    console.log(text);
    this.lines.push(text, '');
  }

  /** A table: printed aligned, kept as markdown. */
  table(head: string[], rows: (string | number)[][]): void {
    const cells = rows.map((r) => r.map(String));
    const widths = head.map((h, k) => Math.max(h.length, ...cells.map((r) => (r[k] ?? '').length)));
    const line = (r: string[]) => r.map((c, k) => c.padEnd(widths[k])).join('  ');
    console.log(line(head));
    for (const r of cells) console.log(line(r));
    this.lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of cells) this.lines.push(`| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
    this.lines.push('');
  }

  markdown(): string {
    return this.lines.join('\n');
  }

  /** The shared sandbox (speed 100 unless a bench changes `sandbox.clock.speed`; set it back after). */
  sandbox(): Promise<BenchRig> {
    this.rig ??= (async () => {
      const sandbox = await startSandbox({ speed: 100, link: { firstBackupDelayMs: 60_000 } });
      const dir = consumerProject();
      this.cleanup.push(async () => {
        await sandbox.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      const ser = (p: pulumi.dynamic.ResourceProvider) =>
        pulumi.runtime.serializeFunction(() => p, { allowSecrets: true }).then((s) => s.text);
      const texts = {
        lrs: await ser(logReplayMigrationProvider),
        link: await ser(distributedAvailabilityGroupLinkProvider),
      };
      return {
        sandbox,
        dir,
        texts,
        engine: (stack, onLog) =>
          new MiniEngine({
            stateFile: path.join(dir, `${stack}.json`),
            cwd: dir,
            env: sandbox.env(),
            nodePath: node22(),
            project: 'bench',
            stack,
            onLog,
          }),
      };
    })();
    return this.rig;
  }

  async close(): Promise<void> {
    for (const c of this.cleanup.reverse()) await c();
    this.cleanup = [];
  }
}

export function median(xs: number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function worst(xs: number[]): number {
  return xs.length ? Math.max(...xs) : Number.NaN;
}

/** Milliseconds since `t0` (a process.hrtime.bigint()). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** Waits for a condition with a deadline (never a bare sleep as synchronisation). */
export async function until(what: string, cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A deterministic pseudo-random sequence (runs are repeatable). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
