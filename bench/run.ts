/**
 * Benchmarks that print figures, measured as ratios within one run (never as timed tests):
 * - `__provider` size of each resource (what every state update carries);
 * - cold start of the preview path (load the provider, run check) vs loading every Azure/SQL adapter:
 *   preview must not pay for the SDKs;
 * - memory of the preview path vs all adapters;
 * - LSN gate evaluation cost per reading of 8 databases vs building the sample objects themselves.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { LsnGate, type LsnSample } from '../provider/core/lsn';
import { distributedAvailabilityGroupLinkProvider, logReplayMigrationProvider } from '../sdk';
import { benchWaves } from './waves';

/**
 * `npm run bench`: everything, printed and written to bench/RESULTS.md with the machine it ran on.
 * `node dist/bench/run.js --quick [--out FILE]`: tiny sizes (a wave of 2), to see that the bench still runs (CI);
 * it writes RESULTS only with --out.
 */
const quick = process.argv.includes('--quick');
const outArg = process.argv.indexOf('--out');
const out: string[] = [];
const report = (line: string) => {
  console.log(line);
  out.push(line);
};

const root = path.resolve(__dirname, '..', '..');

function child(script: string): { ms: number; heapMB: number } {
  const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const measure = (body: string) => `
const t0 = process.hrtime.bigint();
${body}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
global.gc?.();
console.log(JSON.stringify({ ms, heapMB: process.memoryUsage().heapUsed / 1048576 }));`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  report(`# Benchmarks${quick ? ' (quick mode: tiny sizes, figures not meaningful)' : ''}`);
  report('');
  report(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}; ${new Date().toISOString()}`,
  );
  report('Figures are ratios within one run (the machine may be shared with other work while it runs).');
  report('');
  report('```');
  report('== __provider size (bytes, stored in the state on every update)');
  for (const [name, p] of [
    ['LogReplayMigration', logReplayMigrationProvider],
    ['DistributedAvailabilityGroupLink', distributedAvailabilityGroupLinkProvider],
  ] as const) {
    const s = await pulumi.runtime.serializeFunction(() => p, { allowSecrets: true });
    report(`${name}: ${s.text.length}`);
  }

  const check = `const p = require('pulumi-sqlmi-migration/provider');
p.logReplayMigration.check({}, { managedInstanceId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi', databaseName: 'd', storageContainerUri: 'https://a.blob.core.windows.net/c', storageContainerSasToken: 'sp=rl&se=2099-01-01&sig=x' });`;
  const all = `${check}
require('@azure/arm-sql'); require('@azure/identity'); require('@azure/storage-blob'); require('mssql');`;
  const runs = quick ? 1 : 5;
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
  report('== preview path (load provider + check) vs all adapters loaded, cold process, median of 5');
  report(
    `time: preview ${pm.toFixed(1)} ms, all adapters ${fm.toFixed(1)} ms, ratio ${(pm / fm).toFixed(3)} (goal < 0.5)`,
  );
  report(
    `heap: preview ${ph.toFixed(1)} MB, all adapters ${fh.toFixed(1)} MB, ratio ${(ph / fh).toFixed(3)}`,
  );

  report('== LSN gate: cost of one observation of 8 databases vs building the readings');
  const dbs = Array.from({ length: 8 }, (_, k) => `db${k}`);
  const base = 2n ** 60n;
  const readings = (n: number): LsnSample[] =>
    dbs.map((database, k) => ({
      database,
      sqlServerEndOfLog: base + BigInt(n + k),
      sqlServerHardened: base + BigInt(n + k),
      managedInstanceHardened: base + BigInt(n + k),
    }));
  const iterations = quick ? 200 : 20_000;
  let t = process.hrtime.bigint();
  for (let n = 0; n < iterations; n++) readings(n >> 4);
  const build = Number(process.hrtime.bigint() - t);
  const gate = new LsnGate(60_000);
  t = process.hrtime.bigint();
  for (let n = 0; n < iterations; n++) gate.observe(readings(n >> 4), n);
  const observe = Number(process.hrtime.bigint() - t) - build;
  report(
    `per observation: ${(observe / iterations / 1000).toFixed(2)} µs; gate/build ratio ${(observe / build).toFixed(2)}`,
  );
}

async function waves() {
  const n = quick ? 2 : 20;
  report(`== a ${n}-database wave (+ 2 links) through the real program path vs one database`);
  const f = await benchWaves(n, (l) => console.log(`   ${l}`));
  report(
    `up: one database ${f.oneDatabaseUpMs} ms, the wave ${f.waveUpMs} ms, ratio ${f.upRatio.toFixed(2)} (${n} databases one after the other would be ~${n})`,
  );
  report(
    `ARM requests: one database alone ${f.armRequestsOneDatabase}, per database in the wave ${f.armRequestsPerDatabase.toFixed(1)} (goal: no more)`,
  );
  report(
    `provider host: ${f.hosts} for the wave, peak RSS ${f.hostPeakRssMB.toFixed(0)} MB (goal <= 300 MB)`,
  );
  report(
    `preview (check + diff of ${n + 2} resources in the state): wave ${f.wavePreviewMs} ms, ${n + 2} trivial dynamic resources ${f.trivialPreviewMs} ms, ratio ${f.previewRatio.toFixed(2)}`,
  );
}

main()
  .then(waves)
  .then(() => {
    report('```');
    const file =
      outArg >= 0 ? process.argv[outArg + 1] : quick ? undefined : path.join(root, 'bench', 'RESULTS.md');
    if (file) writeFileSync(file, `${out.join('\n')}\n`);
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
