/**
 * One LSN gate reading for 1, 8 and 32 databases: the real `sampleLsns` through the real SQL adapters
 * (mssql/tedious over TLS) against the sandbox's TDS stand-ins, in this process. Goal: one round trip per
 * side per reading, not one per database. Also the in-memory cost of the gate's judgement (LsnGate.observe).
 */
import { systemClock } from '../provider/core/clock';
import { checkLinkInputs, type ReadyLink } from '../provider/core/link/inputs';
import type { LinkArmPort } from '../provider/core/link/ports';
import { sampleLsns } from '../provider/core/link/gate';
import type { LinkContext } from '../provider/core/link/workflow';
import { LsnGate, type LsnSample } from '../provider/core/lsn';
import { waitFor } from '../provider/runtime/waiter';
import { managedInstanceSqlPort, SqlSession, sqlServerPort } from '../provider/sql/client';
import { managedInstanceId } from '../sandbox/world/instances';
import { type Bench, type BenchContext, fixed, median, msSince } from './common';

const noArm = new Proxy({} as LinkArmPort, {
  get: () => () => Promise.reject(new Error('the gate reading makes no ARM call')),
});

async function readings(ctx: BenchContext): Promise<void> {
  const rig = await ctx.sandbox();
  const sb = rig.sandbox;
  const sizes = ctx.quick ? [1, 8] : [1, 8, 32];
  const count = ctx.quick ? 3 : 20;
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const dag = `DAG_G${n}`;
    const ag = `AG_G${n}`;
    const databases = Array.from({ length: n }, (_, k) => `Gate${n}_${k}`);
    sb.link.establishLink({ name: dag, sqlServerAg: ag, miAg: `MI_${ag}`, databases });
    const c = checkLinkInputs(
      {},
      {
        managedInstanceId: managedInstanceId(sb.instance),
        linkName: dag,
        sqlServerAvailabilityGroupName: ag,
        databaseNames: databases,
        sqlServer: sb.sqlConnection('sqlServer'),
        managedInstanceSql: sb.sqlConnection('managedInstance'),
      },
    );
    if (c.failures.length) throw new Error(c.failures.map((f) => f.reason).join('; '));
    const i = c.inputs as ReadyLink;
    const sqlSession = await SqlSession.open(i.sqlServer, 'SQL Server');
    const miSession = await SqlSession.open(i.managedInstanceSql, 'the managed instance');
    const lc: LinkContext = {
      arm: noArm,
      sql: sqlServerPort(sqlSession),
      mi: managedInstanceSqlPort(miSession),
      clock: systemClock,
      log: () => undefined,
      wait: (o) => waitFor({ ...o, clock: systemClock }),
    };
    try {
      for (let k = 0; k < 3; k++) await sampleLsns(i, lc, false); // connections and statements warm
      const before = {
        sql: sb.sqlEndpoints.sqlServer.executed.length,
        mi: sb.sqlEndpoints.managedInstance.executed.length,
      };
      const times: number[] = [];
      let samples: LsnSample[] = [];
      for (let k = 0; k < count; k++) {
        const t0 = process.hrtime.bigint();
        samples = await sampleLsns(i, lc, false);
        times.push(msSince(t0));
      }
      if (samples.length !== n) throw new Error(`a reading of ${n} databases gave ${samples.length} samples`);
      const sqlStatements = (sb.sqlEndpoints.sqlServer.executed.length - before.sql) / count;
      const miStatements = (sb.sqlEndpoints.managedInstance.executed.length - before.mi) / count;
      rows.push([
        n,
        count,
        fixed(median(times), 1),
        fixed(Math.max(...times), 1),
        fixed(sqlStatements, 1),
        fixed(miStatements, 1),
        fixed((sqlStatements + miStatements) / 2, 1),
      ]);
    } finally {
      await Promise.all([sqlSession.close(), miSession.close()]);
    }
  }
  ctx.say(
    'A reading = `sampleLsns` (both sides) through mssql/tedious over TLS to the in-process TDS stand-ins (their time is included). Goal: 1 statement per side per reading, whatever the number of databases.',
  );
  ctx.table(
    [
      'databases',
      'readings',
      'median ms',
      'worst ms',
      'SQL Server statements/reading',
      'MI statements/reading',
      'round trips per side (goal 1)',
    ],
    rows,
  );
}

function judgement(ctx: BenchContext): void {
  const dbs = Array.from({ length: 8 }, (_, k) => `db${k}`);
  const base = 2n ** 60n;
  const make = (n: number): LsnSample[] =>
    dbs.map((database, k) => ({
      database,
      sqlServerEndOfLog: base + BigInt(n + k),
      sqlServerHardened: base + BigInt(n + k),
      managedInstanceHardened: base + BigInt(n + k),
    }));
  const iterations = ctx.quick ? 2_000 : 20_000;
  let t = process.hrtime.bigint();
  for (let n = 0; n < iterations; n++) make(n >> 4);
  const build = Number(process.hrtime.bigint() - t);
  const gate = new LsnGate(60_000);
  t = process.hrtime.bigint();
  for (let n = 0; n < iterations; n++) gate.observe(make(n >> 4), n);
  const observe = Number(process.hrtime.bigint() - t) - build;
  ctx.say(
    `Judging one reading of 8 databases (LsnGate.observe, in memory): ${fixed(observe / iterations / 1000)} µs; gate/building-the-readings ratio ${fixed(observe / build)}.`,
  );
}

export const gateBench: Bench = {
  name: 'gate',
  title: 'LSN gate: one reading for 1, 8 and 32 databases',
  async run(ctx) {
    await readings(ctx);
    judgement(ctx);
  },
};
