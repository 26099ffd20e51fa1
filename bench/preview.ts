/**
 * Preview cost:
 * - `__provider` bytes per resource (stored in the state with every resource, sent with every call);
 * - 50 resources previewed through ONE real provider host (sandbox/engine/host.ts) vs 50 trivial dynamic
 *   resources through the same kind of host: check for new resources (the engine calls no diff for them),
 *   check + diff for existing ones, all 50 at once as the engine runs them;
 * - cold start of the preview path (load the provider, run check) vs loading every Azure/SQL adapter, and
 *   its heap: preview must not pay for the SDKs.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { type PropertyMap, ProviderHost, secret } from '../sandbox/engine/host';
import { node22 } from '../sandbox/engine/consumer';
import { type Bench, type BenchContext, fixed, median, msSince } from './common';

const MI =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi';

/** A dynamic provider that does nothing: the floor of what a dynamic resource costs through the host. */
const trivialProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: unknown, news: Record<string, unknown>) {
    return { inputs: news };
  },
  async diff() {
    return { changes: false };
  },
  async create(inputs: Record<string, unknown>) {
    return { id: 'trivial', outs: inputs };
  },
};

type Kind = 'trivial' | 'LogReplayMigration' | 'DistributedAvailabilityGroupLink';

function inputsOf(kind: Kind, k: number, text: string): PropertyMap {
  const base: PropertyMap = { __provider: text, pulumiName: `r${k}` };
  if (kind === 'trivial') return { ...base, name: `r${k}`, size: k };
  if (kind === 'LogReplayMigration') {
    return {
      ...base,
      managedInstanceId: MI,
      databaseName: `Sales${k}`,
      storageContainerUri: `https://acct.blob.core.windows.net/migration/sales${k}`,
      storageContainerSasToken: secret('sp=rl&se=2099-01-01T00:00:00Z&sv=2022-11-02&sr=c&sig=abc'),
    };
  }
  const conn = secret({ server: 'sql.example.com', userName: 'migrator', password: 'Pa55word!' });
  return {
    ...base,
    managedInstanceId: MI,
    linkName: `DAG_${k}`,
    sqlServerAvailabilityGroupName: `AG_${k}`,
    databaseNames: [`Orders${k}`],
    sqlServer: conn,
    managedInstanceSql: conn,
  };
}

async function throughHost(ctx: BenchContext, texts: Record<Kind, string>): Promise<void> {
  const rig = await ctx.sandbox();
  const n = ctx.quick ? 5 : 50;
  const rounds = ctx.quick ? 1 : 5;
  const rows: (string | number)[][] = [];
  const byKind: Partial<Record<Kind, { create: number; update: number }>> = {};
  for (const kind of ['trivial', 'LogReplayMigration', 'DistributedAvailabilityGroupLink'] as Kind[]) {
    const start = process.hrtime.bigint();
    const host = await ProviderHost.start({ cwd: rig.dir, env: rig.sandbox.env(), nodePath: node22() });
    const startMs = msSince(start);
    try {
      const create: number[] = [];
      const update: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const news = Array.from({ length: n }, (_, k) => inputsOf(kind, k, texts[kind]));
        let t = process.hrtime.bigint();
        const checked = await Promise.all(news.map((nw, k) => host.check(`r${k}`, {}, nw)));
        create.push(msSince(t));
        for (const c of checked)
          if (c.failures.length) throw new Error(`${kind}: ${JSON.stringify(c.failures)}`);
        t = process.hrtime.bigint();
        await Promise.all(
          news.map(async (nw, k) => {
            const c = await host.check(`r${k}`, checked[k].inputs, nw);
            await host.diff('id', `r${k}`, checked[k].inputs, c.inputs, checked[k].inputs);
          }),
        );
        update.push(msSince(t));
      }
      byKind[kind] = { create: median(create), update: median(update) };
      rows.push([
        kind,
        n,
        texts[kind].length,
        fixed(startMs, 0),
        fixed(median(create), 1),
        fixed(median(update), 1),
      ]);
    } finally {
      await host.close();
    }
  }
  const t = byKind.trivial!;
  for (const row of rows) {
    const k = byKind[row[0] as Kind]!;
    row.push(fixed(k.create / t.create), fixed(k.update / t.update));
  }
  ctx.say(
    `${n} resources of one kind through one provider host, all at once (as the engine runs them), median of ${rounds} rounds. "new" = check (with the create plan it prints); "existing" = check + diff. Host start is spawn → configured.`,
  );
  ctx.table(
    [
      'resource',
      'count',
      '__provider bytes',
      'host start ms',
      'preview new ms',
      'preview existing ms',
      'new ×trivial',
      'existing ×trivial',
    ],
    rows,
  );
}

const root = path.resolve(__dirname, '..', '..');

function child(script: string): { ms: number; heapMB: number } {
  const out = execFileSync(node22(), ['--expose-gc', '-e', script], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const measure = (body: string) => `
const t0 = process.hrtime.bigint();
${body}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
global.gc?.();
console.log(JSON.stringify({ ms, heapMB: process.memoryUsage().heapUsed / 1048576 }));`;

function coldStart(ctx: BenchContext): void {
  const check = `const p = require('pulumi-sqlmi-migration/provider');
p.logReplayMigration.check({}, { managedInstanceId: '${MI}', databaseName: 'd', storageContainerUri: 'https://a.blob.core.windows.net/c', storageContainerSasToken: 'sp=rl&se=2099-01-01&sig=x' });`;
  const all = `${check}
require('@azure/arm-sql'); require('@azure/identity'); require('@azure/storage-blob'); require('mssql');`;
  const runs = ctx.quick ? 1 : 5;
  const preview: { ms: number; heapMB: number }[] = [];
  const full: { ms: number; heapMB: number }[] = [];
  for (let k = 0; k < runs; k++) {
    preview.push(child(measure(check)));
    full.push(child(measure(all)));
  }
  const pm = median(preview.map((r) => r.ms));
  const fm = median(full.map((r) => r.ms));
  const ph = median(preview.map((r) => r.heapMB));
  const fh = median(full.map((r) => r.heapMB));
  ctx.say(
    `Cold process, median of ${runs}: the preview path (load the provider, run check) vs the same with every adapter loaded.`,
  );
  ctx.table(
    ['', 'preview path', 'all adapters', 'ratio (goal < 0.5 for time)'],
    [
      ['time ms', fixed(pm, 1), fixed(fm, 1), fixed(pm / fm, 3)],
      ['heap MB', fixed(ph, 1), fixed(fh, 1), fixed(ph / fh, 3)],
    ],
  );
}

export const previewBench: Bench = {
  name: 'preview',
  title: 'Preview: 50 resources vs 50 trivial dynamic resources through one provider host; __provider size',
  async run(ctx) {
    const { distributedAvailabilityGroupLinkProvider, logReplayMigrationProvider } =
      require('../sdk') as typeof import('../sdk');
    const ser = async (p: pulumi.dynamic.ResourceProvider) =>
      (await pulumi.runtime.serializeFunction(() => p, { allowSecrets: true })).text;
    const texts: Record<Kind, string> = {
      trivial: await ser(trivialProvider),
      LogReplayMigration: await ser(logReplayMigrationProvider),
      DistributedAvailabilityGroupLink: await ser(distributedAvailabilityGroupLinkProvider),
    };
    await throughHost(ctx, texts);
    coldStart(ctx);
  },
};
