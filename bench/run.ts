/**
 * `npm run bench`: every bench in BENCHES, in order; figures are printed and written to bench/RESULTS.md
 * with the machine they ran on. Figures and ratios only: nothing here asserts a time.
 *
 *   npm run bench                         full sizes
 *   npm run bench -- --quick              tiny sizes (also BENCH_QUICK=1): what CI runs to see the benches run
 *   npm run bench -- --only cutover,gate  some benches only
 *   npm run bench -- --out /tmp/r.md      write the results elsewhere
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Bench, BenchContext } from './common';
import { cutoverBench } from './cutover';
import { gateBench } from './gate';
import { lrsPollBench } from './lrsPoll';
import { previewBench } from './preview';
import { requestsBench } from './requests';
import { tokensBench } from './tokens';
import { wavesBench } from './wavesBench';

/** One line per bench: add yours here. */
const BENCHES: Bench[] = [
  cutoverBench,
  requestsBench,
  gateBench,
  lrsPollBench,
  previewBench,
  tokensBench,
  wavesBench,
];

function arg(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

function machine(quick: boolean): string {
  const cpus = os.cpus();
  return [
    `- date: ${new Date().toISOString()}`,
    `- mode: ${quick ? 'quick (tiny sizes: shows the benches run, figures are rough)' : 'full'}`,
    `- cpu: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
    `- node ${process.version}, ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  ].join('\n');
}

/** The results as prettier formats markdown (the lint checks every file), when prettier is installed. */
async function formatted(text: string, file: string): Promise<string> {
  try {
    const prettier = require('prettier') as typeof import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text;
  }
}

async function main() {
  const quick = process.argv.includes('--quick') || /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
  const only = arg('--only')?.split(',');
  const out = arg('--out') ?? path.resolve(__dirname, '..', '..', 'bench', 'RESULTS.md');
  const head = machine(quick);
  const ctx = new BenchContext(quick);
  console.log(head);
  const started = Date.now();
  try {
    for (const b of BENCHES) {
      if (only && !only.includes(b.name)) continue;
      ctx.section(b.title);
      const t0 = Date.now();
      await b.run(ctx);
      console.log(`(${b.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await ctx.close();
  }
  const text = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts). Figures of one run on the machine below: ratios and counts are',
    'what to compare between runs; absolute times depend on the machine and its load.',
    '',
    head,
    `- total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ctx.markdown(),
    '',
  ].join('\n');
  writeFileSync(out, await formatted(text, out));
  console.log(`\nwritten: ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
