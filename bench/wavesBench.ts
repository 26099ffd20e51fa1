/** The waves bench as a BENCHES entry: a wave of databases (+ 2 links) through the real program path. */
import type { Bench, BenchContext } from './common';
import { benchWaves } from './waves';

export const wavesBench: Bench = {
  name: 'waves',
  title: 'A wave of databases (+ 2 links) through the real program path vs one database',
  async run(ctx: BenchContext) {
    const n = ctx.quick ? 2 : 20;
    const f = await benchWaves(n, (l) => console.log(`   ${l}`));
    ctx.say(
      "ARM requests attributed by URL path: a database's are its own (databases/…, the database operations), a link's its DAG paths; the instance read (GET managedInstances/{mi}), which both kinds make, is counted apart.",
    );
    ctx.table(
      ['figure', 'value', 'goal'],
      [
        [`up: one database (ms)`, f.oneDatabaseUpMs, ''],
        [`up: the ${n}-database wave (ms)`, f.waveUpMs, ''],
        ['up: wave / one database', f.upRatio.toFixed(2), `well under ${n} (one after the other)`],
        ['ARM requests on its own paths: one database alone', f.armRequestsOneDatabase, ''],
        [
          'ARM requests on its own paths per database in the wave',
          f.armRequestsPerDatabase.toFixed(1),
          'no more than alone',
        ],
        ['instance reads (GET managedInstances/{mi}): one database alone', f.instanceReadsOneDatabase, ''],
        [
          `instance reads in the wave (${n} databases + ${f.links} links)`,
          f.instanceReadsWave,
          `${n + f.links} (one per resource)`,
        ],
        [`the ${f.links} links' own ARM requests in the wave (their DAG paths)`, f.linkRequestsWave, ''],
        ['provider hosts for the wave', f.hosts, '1'],
        ['peak RSS of the provider host (MB)', f.hostPeakRssMB.toFixed(0), '<= 300'],
        [`preview of the wave: ${n + 2} resources (ms)`, f.wavePreviewMs, ''],
        [`preview of ${n + 2} trivial dynamic resources (ms)`, f.trivialPreviewMs, ''],
        ['preview ratio (wave / trivial)', f.previewRatio.toFixed(2), ''],
      ],
    );
  },
};
