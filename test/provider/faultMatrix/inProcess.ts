/**
 * The dynamic providers driven in this process, the way the provider host calls them (check, then create or
 * update with the old outputs, read, delete), with the engine's one rule that matters here: a failure that
 * carries `id` and `properties` (a partial failure) is recorded, so the next run updates and resumes. One host
 * start per case would cost ~1 s each; the matrix runs hundreds of cases. Host-driven fault cases stay in
 * armFaults.test.ts and sqlFaults.test.ts.
 */
import { distributedAvailabilityGroupLink, logReplayMigration } from '../../../provider';
import type { Sandbox } from '../../../sandbox/index';

type Props = Record<string, unknown>;
type Provider = typeof logReplayMigration | typeof distributedAvailabilityGroupLink;

export interface Failure {
  message: string;
  code?: string;
}

/** One resource's state, as an engine would keep it between runs. */
export class InProcessResource {
  id?: string;
  outs?: Props;
  private oldInputs: Props = {};

  constructor(private readonly provider: Provider) {}

  get exists(): boolean {
    return this.id !== undefined;
  }

  /** create (no state) or update (state): the outputs, or throws the provider's error. */
  async up(inputs: Props): Promise<Props> {
    const checked = await this.provider.check(this.oldInputs, inputs);
    if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
    const news = checked.inputs as Props;
    try {
      if (!this.id) {
        const r = await this.provider.create(news);
        this.id = r.id;
        this.outs = r.outs as Props;
      } else {
        const r = await this.provider.update(this.id, this.outs ?? {}, news);
        this.outs = r.outs as Props;
      }
      this.oldInputs = news;
      return this.outs;
    } catch (e) {
      const partial = e as { id?: string; properties?: Props };
      if (partial.id && partial.properties) {
        this.id = partial.id;
        this.outs = partial.properties;
        this.oldInputs = news;
      }
      throw e;
    }
  }

  async refresh(): Promise<Props | undefined> {
    if (!this.id) return undefined;
    const r = await this.provider.read(this.id, this.outs ?? {});
    this.outs = r.props as Props;
    return this.outs;
  }

  async destroy(): Promise<void> {
    if (!this.id) return;
    await this.provider.delete(this.id, this.outs ?? {});
    this.id = undefined;
    this.outs = undefined;
    this.oldInputs = {};
  }
}

export const lrsProvider = logReplayMigration;
export const linkProvider = distributedAvailabilityGroupLink;

/**
 * Points this process at the sandbox as a provider host would be (ARM endpoint, identity endpoint); the
 * sandbox already trusts its own certificate in this process. Returns the undo.
 */
export function useSandboxEnv(sb: Sandbox): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(sb.envOverrides())) {
    if (k === 'NODE_EXTRA_CA_CERTS') continue;
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Keeps the providers' lines (they start with `[Kind name] `) out of the test output, for later checks. */
export function captureProviderLines(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (/^\[(LogReplayMigration|DistributedAvailabilityGroupLink) /.test(text)) lines.push(text);
    else log(...args);
  };
  return { lines, restore: () => void (console.log = log) };
}

/** Runs `fn`, returning its failure instead of throwing, and the wall time it took. */
export async function timed(fn: () => Promise<unknown>): Promise<{ error?: Failure; ms: number }> {
  const t0 = Date.now();
  try {
    await fn();
    return { ms: Date.now() - t0 };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { error: { message: String(err?.message ?? e), code: err?.code }, ms: Date.now() - t0 };
  }
}
