/**
 * Token requests when many resources run at once in one provider host (as the engine runs a wave): N
 * LogReplayMigration creates issued concurrently through one real host, counting the requests that reached
 * the sandbox's managed identity token endpoint. Goal: one token request per credential at a time.
 */
import { ProviderHost, secret } from '../sandbox/engine/host';
import { node22 } from '../sandbox/engine/consumer';
import { markTraffic, trafficSince } from '../sandbox/cutoverReport';
import { managedInstanceId } from '../sandbox/world/instances';
import { type Bench, type BenchContext, fixed, msSince } from './common';

let waves = 0;

async function concurrentCreates(ctx: BenchContext): Promise<void> {
  const rig = await ctx.sandbox();
  const sb = rig.sandbox;
  const n = ctx.quick ? 3 : 20;
  waves++;
  const sas = sb.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  const names = Array.from({ length: n }, (_, k) => `Tok${waves}_${k}`);
  for (const db of names) {
    sb.sqlServer.addDatabase(db, { folder: db.toLowerCase(), sizeMB: 1 });
    sb.sqlServer.startWorkload(db, 100);
    await sb.sqlServer.backupFull(db, { sizeMB: 1 });
  }
  const host = await ProviderHost.start({ cwd: rig.dir, env: sb.env(), nodePath: node22() });
  try {
    const checked = await Promise.all(
      names.map((db) =>
        host.check(
          db,
          {},
          {
            __provider: rig.texts.lrs,
            pulumiName: db,
            managedInstanceId: managedInstanceId(sb.instance),
            databaseName: db,
            storageContainerUri: sb.storage.containerUrl(db.toLowerCase()),
            storageContainerSasToken: secret(sas),
            pollIntervalInMs: 200,
            startDeadlineInMs: 120_000,
          },
        ),
      ),
    );
    const mark = markTraffic(sb);
    const t0 = process.hrtime.bigint();
    await Promise.all(names.map((db, k) => host.create(db, checked[k].inputs)));
    const ms = msSince(t0);
    const t = trafficSince(sb, mark);
    ctx.say(
      `${n} LogReplayMigration creates at once in one provider host (${fixed(ms / 1000, 1)} s): ${t.tokens} token request(s) to the managed identity endpoint (goal: 1 per credential at a time), ${t.arm.length} ARM requests (${fixed(t.arm.length / n, 1)} per resource).`,
    );
    ctx.table(
      ['resources', 'token requests', 'token requests per resource', 'ARM requests', 'ARM per resource'],
      [[n, t.tokens, fixed(t.tokens / n), t.arm.length, fixed(t.arm.length / n, 1)]],
    );
  } finally {
    await host.close();
  }
}

export const tokensBench: Bench = {
  name: 'tokens',
  title: 'Token requests of 20 resources running at once in one provider host',
  run: concurrentCreates,
};
