/**
 * A sample of the bad-input table through the real Pulumi provider host (gRPC), in one preview, with every
 * endpoint the inputs name (ARM, the storage container, both SQL servers) pointing at a trap that counts
 * connections: each case is refused in check with its one message, the accepted ones pass, and nothing
 * connects anywhere. Then the secret scan over everything the host printed and returned, and `__provider`.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import * as path from 'node:path';
import { hasUnsafeCharacters } from '../../provider/core/shown';
import { consumerProject, node22 } from '../../sandbox/engine/consumer';
import { type DeclaredResource, MiniEngine } from '../../sandbox/engine/engine';
import { assertNoSecrets, type Surface } from '../support/secretScan';
import { ACCEPTED, BAD_CASES, LINK_GOOD, LRS_GOOD, SECRETS } from '../unit/badInputCases';
import { providerTexts } from './rig';

const KINDS = { lrs: 'LogReplayMigration', link: 'DistributedAvailabilityGroupLink' };
const SECRET_INPUTS = { lrs: ['storageContainerSasToken'], link: ['sqlServer', 'managedInstanceSql'] };

describe('bad input through the provider host: refused in check, nothing called', function () {
  this.timeout(120_000);
  let trap: net.Server;
  let port = 0;
  let connections = 0;
  let dir: string;

  before(async () => {
    trap = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    port = (trap.address() as net.AddressInfo).port;
    dir = consumerProject();
  });
  after(async () => {
    await new Promise((resolve) => trap?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The case's inputs with every good endpoint replaced by the trap (a call anywhere would hit it). */
  function toTrap(news: Record<string, unknown>, name: string): Record<string, unknown> {
    const out: Record<string, unknown> = { ...news, pulumiName: name };
    delete out.__provider;
    if (out.storageContainerUri === LRS_GOOD.storageContainerUri)
      out.storageContainerUri = `https://127.0.0.1:${port}/devstoreaccount1/sales/db1`;
    if (!('armEndpoint' in news)) out.armEndpoint = `https://127.0.0.1:${port}`;
    for (const side of ['sqlServer', 'managedInstanceSql'] as const) {
      const good = LINK_GOOD[side] as Record<string, unknown>;
      const c = out[side];
      if (
        c &&
        typeof c === 'object' &&
        !Array.isArray(c) &&
        (c as Record<string, unknown>).server === good.server
      )
        out[side] = {
          ...c,
          server: '127.0.0.1',
          port: 'port' in c ? (c as Record<string, unknown>).port : port,
        };
    }
    return out;
  }

  it('a sample of the table in one preview: one failure each, accepted ones pass, no connection', async () => {
    const texts = await providerTexts();
    const bad = BAD_CASES.filter((c) => !c.olds).filter((_, n) => n % 7 === 0);
    const good = ACCEPTED.filter((c) => !c.olds).filter((_, n) => n % 3 === 0);
    const declared: DeclaredResource[] = [
      ...bad.map((c, n) => ({
        name: `bad-${n}`,
        providerText: texts[c.kind],
        inputs: toTrap(c.news, `bad-${n}`),
        secretInputs: SECRET_INPUTS[c.kind],
      })),
      ...good.map((c, n) => ({
        name: `ok-${n}`,
        providerText: texts[c.kind],
        inputs: toTrap(c.news, `ok-${n}`),
        secretInputs: SECRET_INPUTS[c.kind],
      })),
    ];
    const logs: string[] = [];
    const engine = new MiniEngine({
      stateFile: path.join(dir, 'bad-input.json'),
      cwd: dir,
      env: { ...process.env, SQLMI_ARM_ENDPOINT: `https://127.0.0.1:${port}` },
      nodePath: node22(),
      project: 'sqlmi-test',
      stack: 'bad-input',
      onLog: (line) => logs.push(line),
    });
    const steps = await engine.preview(declared);
    console.log(`      host sample: ${bad.length} rejected and ${good.length} accepted cases in one preview`);

    bad.forEach((c, n) => {
      const step = steps.find((s) => s.name === `bad-${n}`);
      const text = JSON.stringify(step?.failures);
      assert.equal(step?.failures.length, 1, `${c.name}: ${text}`);
      assert.equal(step.failures[0].property, c.field, `${c.name}: ${text}`);
      assert.match(step.failures[0].reason, c.says, c.name);
      assert.ok(!hasUnsafeCharacters(step.failures[0].reason), c.name);
    });
    good.forEach((c, n) => {
      const step = steps.find((s) => s.name === `ok-${n}`);
      assert.deepEqual(step?.failures, [], c.name);
    });
    assert.equal(connections, 0, 'check connected to an endpoint');

    const ours = logs.filter((l) => /^\[(LogReplayMigration|DistributedAvailabilityGroupLink) /.test(l));
    assert.ok(ours.length > 0, logs.join('\n'));
    for (const l of ours) {
      const m = /^\[(\w+) ([^\]]+)\] /.exec(l);
      const d = declared.find((r) => r.name === m?.[2]);
      assert.ok(d, `line names no declared resource: ${l}`);
      assert.equal(KINDS[d.providerText === texts.lrs ? 'lrs' : 'link'], m?.[1], l);
    }
    for (const l of logs) assert.ok(!hasUnsafeCharacters(l), `raw control character: ${JSON.stringify(l)}`);

    const surfaces: Surface[] = [
      ...logs.map((l, n) => ({ name: `host line ${n + 1}`, value: l })),
      ...steps.map((s) => ({ name: `failures of ${s.name}`, value: s.failures })),
      { name: '__provider (LogReplayMigration)', value: texts.lrs },
      { name: '__provider (link)', value: texts.link },
    ];
    assertNoSecrets(surfaces, SECRETS);
  });
});
