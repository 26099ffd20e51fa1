import * as assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { CheckFailedError, type DeclaredResource, MiniEngine } from '../../sandbox/engine/engine';
import {
  isSecret,
  type PropertyMap,
  ProviderError,
  ProviderHost,
  revealSecrets,
  SECRET_SIG,
  SIG_KEY,
  secret,
  UNKNOWN,
} from '../../sandbox/engine/host';

const ROOT = path.resolve(__dirname, '../../..');
/** @pulumi/pulumi 3.270 needs Node 22: the project's own. */
const NODE = path.join(ROOT, 'node_modules/.bin/node');

type Props = Record<string, unknown>;

/**
 * Outputs of the test provider. Captured by the provider's serialization (a local function goes by value).
 * Values must not be undefined: the host's Struct conversion throws on them ("Unexpected struct type"), and inside
 * a partial failure that throw leaves the RPC unanswered.
 */
function outputsOf(inputs: Props, status: string, region: string | undefined): Props {
  const outs: Props = {
    label: inputs.label,
    size: inputs.size,
    zone: inputs.zone ?? 'z1',
    dir: inputs.dir,
    status,
  };
  if (inputs.password !== undefined) outs.password = inputs.password;
  outs.region = region ?? null;
  return outs;
}

/**
 * A tiny dynamic provider whose "cloud" is a directory (inputs.dir) of JSON files, one per resource id. It requires
 * only builtins (the host resolves requires from its cwd) and prints progress with console.log.
 * - `label` + `zone` make the id (a zone change needs a replacement); `size` must be a number (or unknown).
 * - `failFirstCreate`: create leaves the resource "initializing" and reports a partial failure; update finishes.
 * - `holdUrl`: create waits for an HTTP answer from the test before writing (to kill the host mid-create).
 */
const worldProvider = {
  region: undefined as string | undefined,
  async configure(req: { config: { get(key: string): string | undefined } }) {
    this.region = req.config.get('region');
  },
  async check(_olds: Props, news: Props) {
    const failures: { property: string; reason: string }[] = [];
    const unknown = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
    if (typeof news.size !== 'number' && news.size !== unknown) {
      failures.push({ property: 'size', reason: 'size must be a number' });
    }
    return { inputs: news, failures };
  },
  async diff(_id: string, olds: Props, news: Props) {
    const key = (p: Props) => ({ label: p.label, size: p.size, password: p.password, zone: p.zone ?? 'z1' });
    const [before, after] = [key(olds), key(news)];
    const changed = (Object.keys(after) as (keyof typeof after)[]).filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
    );
    return { changes: changed.length > 0, replaces: changed.filter((k) => k === 'zone' || k === 'label') };
  },
  async create(inputs: Props) {
    const fs = require('node:fs') as typeof import('node:fs');
    const id = `${inputs.label}-${inputs.zone ?? 'z1'}`;
    console.log(`create ${id}: starting`);
    if (typeof inputs.holdUrl === 'string') {
      const url = inputs.holdUrl;
      await new Promise((resolve, reject) => {
        const http = require('node:http') as typeof import('node:http');
        http.get(url, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
    }
    const status = inputs.failFirstCreate ? 'initializing' : 'ready';
    const outs = outputsOf(inputs, status, this.region);
    fs.writeFileSync(`${inputs.dir}/${id}.json`, JSON.stringify(outs));
    console.log(`create ${id}: ${status}`);
    if (status !== 'ready') {
      throw Object.assign(new Error(`${id} is still initializing`), {
        id,
        properties: outs,
        reasons: ['still initializing'],
      });
    }
    return { id, outs };
  },
  async read(id: string, props: Props) {
    const fs = require('node:fs') as typeof import('node:fs');
    const file = `${props.dir}/${id}.json`;
    if (!fs.existsSync(file)) return { id: '', props: {} };
    return { id, props: { ...props, ...JSON.parse(fs.readFileSync(file, 'utf8')) } };
  },
  async update(id: string, _olds: Props, news: Props) {
    const fs = require('node:fs') as typeof import('node:fs');
    const outs = outputsOf(news, 'ready', this.region);
    fs.writeFileSync(`${news.dir}/${id}.json`, JSON.stringify(outs));
    console.log(`update ${id}: ready`);
    return { outs };
  },
  async delete(id: string, props: Props) {
    const fs = require('node:fs') as typeof import('node:fs');
    fs.rmSync(`${props.dir}/${id}.json`, { force: true });
    console.log(`delete ${id}: done`);
  },
};

/** What `pulumi.dynamic.Resource` stores as `__provider`. */
async function serializeProvider(provider: object): Promise<string> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return serialized.text;
}

const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function worldFiles(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Resolves when `emitter` emits `event`, or rejects after the deadline. */
async function eventWithin(emitter: EventEmitter, event: string, ms: number): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    await once(emitter, event, { signal: ac.signal });
  } catch (err) {
    throw ac.signal.aborted ? new Error(`no '${event}' within ${ms} ms`) : err;
  } finally {
    clearTimeout(timer);
  }
}

let providerText = '';

before(async () => {
  providerText = await serializeProvider(worldProvider);
});

describe('ProviderHost (real dynamic provider host over gRPC)', () => {
  let host: ProviderHost;
  let world: string;
  const logged = new EventEmitter();

  before(async () => {
    host = await ProviderHost.start({
      cwd: ROOT,
      nodePath: NODE,
      project: 'proj',
      stack: 'dev',
      config: { region: 'westeurope' },
      onLog: (line) => logged.emit('line', line),
    });
    console.log(
      `      host start: port after ${host.timings.portMs} ms, configured after ${host.timings.readyMs} ms`,
    );
  });
  after(async () => {
    await host?.close();
  });
  beforeEach(() => {
    world = tempDir('engine-world-');
  });

  const inputs = (extra: Props = {}): PropertyMap => ({
    label: 'db',
    size: 1,
    dir: world,
    ...extra,
    __provider: providerText,
  });

  it('announces what the engine keys its behaviour on', () => {
    assert.equal(host.acceptSecrets, false);
    assert.equal(host.supportsPreview, false);
    assert.match(host.version, /^\d+\.\d+\.\d+/);
    assert.equal(host.urn('x'), 'urn:pulumi:dev::proj::pulumi-nodejs:dynamic:Resource::x');
  });

  it('returns check failures with property and reason', async () => {
    const { failures, inputs: checked } = await host.check('db', {}, inputs({ size: 'big' }));
    assert.deepEqual(failures, [{ property: 'size', reason: 'size must be a number' }]);
    assert.equal(checked.__provider, providerText);
  });

  it('passes the unknown sentinel through check and diff in preview', async () => {
    const { failures, inputs: checked } = await host.check('db', {}, inputs({ size: UNKNOWN }));
    assert.deepEqual(failures, []);
    assert.equal(checked.size, UNKNOWN);
    const diff = await host.diff('db-z1', 'db', inputs(), checked, inputs());
    assert.equal(diff.changes, 'some');
  });

  it('round-trips create, diff, read, update and delete', async () => {
    const created = await host.create('db', inputs());
    assert.equal(created.id, 'db-z1');
    assert.equal(created.properties.status, 'ready');
    assert.equal(created.properties.region, 'westeurope', 'configure got <project>:region');
    assert.equal(created.properties.__provider, providerText, 'the host adds __provider to outputs');

    assert.equal((await host.diff(created.id, 'db', created.properties, inputs(), inputs())).changes, 'none');
    const diff = await host.diff(created.id, 'db', created.properties, inputs({ size: 2 }), inputs());
    assert.deepEqual(diff, { changes: 'some', replaces: [], deleteBeforeReplace: false });
    const replace = await host.diff(created.id, 'db', created.properties, inputs({ zone: 'z2' }), inputs());
    assert.deepEqual(replace.replaces, ['zone']);

    fs.writeFileSync(path.join(world, 'db-z1.json'), JSON.stringify({ size: 7, status: 'ready' }));
    const read = await host.read(created.id, 'db', created.properties, inputs());
    assert.equal(read.id, 'db-z1');
    assert.equal(read.properties.size, 7);
    assert.equal(read.inputs, undefined);

    const updated = await host.update(created.id, 'db', read.properties, inputs({ size: 3 }), inputs());
    assert.equal(updated.properties.size, 3);
    assert.equal(JSON.parse(fs.readFileSync(path.join(world, 'db-z1.json'), 'utf8')).size, 3);

    await host.delete(created.id, 'db', updated.properties, inputs({ size: 3 }));
    assert.deepEqual(worldFiles(world), []);
    const gone = await host.read(created.id, 'db', updated.properties, inputs());
    assert.equal(gone.id, '');
  });

  it('makes no create/update RPC in preview, as the engine with this host', async () => {
    const preview = await host.create('db', inputs({ size: UNKNOWN }), { preview: true });
    assert.deepEqual(preview, { id: '', properties: inputs({ size: UNKNOWN }) });
    const update = await host.update('db-z1', 'db', inputs(), inputs({ size: 5 }), inputs(), {
      preview: true,
    });
    assert.equal(update.properties.size, 5);
    assert.deepEqual(worldFiles(world), []);
  });

  it('decodes a partial failure with its id, properties and reasons', async () => {
    const err = await host.create('db', inputs({ failFirstCreate: true })).then(
      () => assert.fail('create should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderError);
    assert.equal(err.grpcCode, 2);
    assert.equal(err.details, 'db-z1 is still initializing');
    assert.equal(err.partial?.id, 'db-z1');
    assert.equal(err.partial?.properties.status, 'initializing');
    assert.deepEqual(err.partial?.reasons, ['still initializing']);
    assert.equal(err.partial?.properties.__provider, undefined, 'partial properties carry no __provider');
  });

  it('cannot delete or read a partial failure whose properties lack __provider (engine finding)', async () => {
    const props = { label: 'db', dir: world, status: 'initializing' };
    await assert.rejects(host.delete('db-z1', 'db', props, inputs()), /code must be a string/);
    await assert.rejects(host.read('db-z1', 'db', props, inputs()), /code must be a string/);
  });

  it('sends secrets as plain values and marks same-named results secret, like the engine', async () => {
    const created = await host.create('db', inputs({ password: secret('hunter2-xyz') }));
    const file = fs.readFileSync(path.join(world, 'db-z1.json'), 'utf8');
    assert.equal(JSON.parse(file).password, 'hunter2-xyz', 'the provider received the plain value');
    assert.ok(isSecret(created.properties.password));
    assert.equal(revealSecrets(created.properties).password, 'hunter2-xyz');
    assert.ok(!isSecret(created.properties.size));

    const checked = await host.check('db', {}, inputs({ password: secret('hunter2-xyz') }));
    assert.deepEqual(checked.inputs.password, { [SIG_KEY]: SECRET_SIG, value: 'hunter2-xyz' });
  });

  it('captures what the provider prints', async () => {
    const seen = new Promise<void>((resolve) => {
      const onLine = (line: string) => {
        if (line === 'create db-z1: ready') {
          logged.off('line', onLine);
          resolve();
        }
      };
      logged.on('line', onLine);
    });
    await host.create('db', inputs());
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('log line not seen')), 5_000),
    );
    await Promise.race([seen, timeout]);
    assert.ok(host.logs.includes('create db-z1: starting'));
  });

  it('reports a start failure with stderr', async () => {
    const bad = tempDir('engine-bad-');
    fs.mkdirSync(path.join(bad, 'node_modules/@pulumi/pulumi/cmd/dynamic-provider'), { recursive: true });
    fs.writeFileSync(
      path.join(bad, 'node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js'),
      'console.error("boom: cannot start"); process.exit(3);',
    );
    await assert.rejects(
      ProviderHost.start({ cwd: bad, nodePath: NODE, startTimeoutMs: 10_000 }),
      /exited \(code 3[\s\S]*boom: cannot start/,
    );
  });
});

describe('MiniEngine (engine lifecycle on the real host)', () => {
  let world: string;
  let stateFile: string;
  let engine: MiniEngine;

  beforeEach(() => {
    world = tempDir('engine-world-');
    stateFile = path.join(tempDir('engine-state-'), 'stack.json');
    engine = new MiniEngine({ stateFile, cwd: ROOT, nodePath: NODE, project: 'proj', stack: 'dev' });
  });

  const declare = (name: string, extra: Props = {}, secretInputs?: string[]): DeclaredResource => ({
    name,
    providerText,
    inputs: { label: name, size: 1, dir: world, ...extra },
    secretInputs,
  });

  it('previews without touching anything, reporting check failures', async () => {
    const results = await engine.preview([
      declare('a'),
      declare('b', { size: 'x' }),
      declare('c', { size: UNKNOWN }),
    ]);
    assert.deepEqual(
      results.map((r) => [r.name, r.op, r.failures.length]),
      [
        ['a', 'create', 0],
        ['b', 'create', 1],
        ['c', 'create', 0],
      ],
    );
    assert.equal(results[2].inputs.size, UNKNOWN);
    assert.deepEqual(worldFiles(world), []);
    assert.deepEqual(engine.state(), { resources: [] });
    await assert.rejects(engine.up([declare('c', { size: UNKNOWN })]), /unknown/);
    await assert.rejects(engine.up([declare('b', { size: 'x' })]), CheckFailedError);
  });

  it('creates, leaves unchanged, updates, replaces and deletes undeclared resources', async () => {
    const up1 = await engine.up([declare('a'), declare('b')]);
    assert.deepEqual(
      up1.map((r) => r.op),
      ['create', 'create'],
    );
    assert.deepEqual(worldFiles(world), ['a-z1.json', 'b-z1.json']);
    const stored = engine.state().resources;
    assert.deepEqual(
      stored.map((r) => [r.name, r.id]),
      [
        ['a', 'a-z1'],
        ['b', 'b-z1'],
      ],
    );
    assert.equal(
      stored[0].inputs.__provider,
      providerText,
      'inputs carry __provider as the engine stores them',
    );
    assert.equal(stored[0].outputs.__provider, providerText);

    const same = await engine.preview([declare('a'), declare('b')]);
    assert.deepEqual(
      same.map((r) => [r.op, r.diffChanges]),
      [
        ['same', 'none'],
        ['same', 'none'],
      ],
    );

    const changed = [declare('a', { size: 2 }), declare('b', { zone: 'z2' })];
    assert.deepEqual(
      (await engine.preview(changed)).map((r) => [r.op, r.diffChanges]),
      [
        ['update', 'some'],
        ['replace', 'some'],
      ],
    );
    const up2 = await engine.up(changed);
    assert.deepEqual(
      up2.map((r) => [r.op, r.id]),
      [
        ['update', 'a-z1'],
        ['replace', 'b-z2'],
      ],
    );
    assert.deepEqual(worldFiles(world), ['a-z1.json', 'b-z2.json']);
    assert.deepEqual(
      engine.state().resources.map((r) => [r.id, r.outputs.size]),
      [
        ['a-z1', 2],
        ['b-z2', 1],
      ],
    );

    assert.deepEqual(
      (await engine.preview([declare('a', { size: 2 })])).map((r) => [r.name, r.op]),
      [
        ['a', 'same'],
        ['b', 'delete'],
      ],
    );
    await engine.up([declare('a', { size: 2 })]);
    assert.deepEqual(worldFiles(world), ['a-z1.json']);
    assert.deepEqual(
      engine.state().resources.map((r) => r.name),
      ['a'],
    );
  });

  it('refreshes from the provider and destroys in reverse order', async () => {
    await engine.up([declare('a'), declare('b'), declare('c')]);
    fs.writeFileSync(path.join(world, 'a-z1.json'), JSON.stringify({ size: 9, status: 'degraded' }));
    fs.rmSync(path.join(world, 'c-z1.json'));

    const refreshed = await engine.refresh();
    assert.deepEqual(
      refreshed.map((r) => [r.name, r.outputs.status]),
      [
        ['a', 'degraded'],
        ['b', 'ready'],
      ],
    );
    assert.equal(engine.state().resources[0].outputs.size, 9);

    await engine.destroy();
    assert.deepEqual(
      engine.lastLogs.filter((l) => l.startsWith('delete')),
      ['delete b-z1: done', 'delete a-z1: done'],
    );
    assert.deepEqual(worldFiles(world), []);
    assert.deepEqual(engine.state(), { resources: [] });
  });

  it('stores a partial failure and updates it on the next up', async () => {
    const err = await engine.up([declare('a', { failFirstCreate: true })]).then(
      () => assert.fail('up should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderError && err.partial);
    const [stored] = engine.state().resources;
    assert.equal(stored.id, 'a-z1');
    assert.equal(stored.outputs.status, 'initializing');
    assert.deepEqual(stored.initErrors, ['still initializing']);

    const preview = await engine.preview([declare('a', { failFirstCreate: true })]);
    assert.deepEqual([preview[0].op, preview[0].diffChanges], ['update', 'none']);

    const up = await engine.up([declare('a', { failFirstCreate: true })]);
    assert.equal(up[0].op, 'update');
    assert.ok(engine.lastLogs.includes('update a-z1: ready'));
    const [healed] = engine.state().resources;
    assert.equal(healed.outputs.status, 'ready');
    assert.equal(healed.initErrors, undefined);
    assert.equal((await engine.preview([declare('a', { failFirstCreate: true })]))[0].op, 'same');
  });

  it('captures provider progress lines of the last operation', async () => {
    const lines: string[] = [];
    const logging = new MiniEngine({ stateFile, cwd: ROOT, nodePath: NODE, onLog: (l) => lines.push(l) });
    await logging.up([declare('a')]);
    assert.deepEqual(logging.lastLogs, ['create a-z1: starting', 'create a-z1: ready']);
    assert.deepEqual(lines, logging.lastLogs);
    assert.ok(logging.lastStartupMs > 0);
  });

  it('surfaces a host killed mid-create and converges on the next up', async () => {
    const arrived = new EventEmitter();
    const held: http.ServerResponse[] = [];
    let hold = true;
    const server = http.createServer((_req, res) => {
      if (hold) {
        held.push(res);
        arrived.emit('request');
      } else {
        res.end('ok');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const holdUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const requested = eventWithin(arrived, 'request', 20_000);
      const up = engine.up([declare('a', { holdUrl })]);
      up.catch(() => undefined);
      await requested;
      await engine.kill();
      const err = await up.then(
        () => assert.fail('up should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProviderError, String(err));
      assert.equal(err.grpcCode, 14);
      assert.match(err.message, /provider host exited: code null, signal SIGKILL/);
      assert.equal(err.partial, undefined);
      assert.ok(engine.lastLogs.includes('create a-z1: starting'));
      assert.deepEqual(engine.state(), { resources: [] }, 'the engine has nothing for a crashed create');

      hold = false;
      for (const res of held) res.destroy();
      const results = await engine.up([declare('a', { holdUrl })]);
      assert.deepEqual([results[0].op, results[0].id], ['create', 'a-z1']);
      assert.deepEqual(worldFiles(world), ['a-z1.json']);
      assert.equal((await engine.preview([declare('a', { holdUrl })]))[0].op, 'same');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('never writes a secret input in plain text to the state file', async () => {
    const password = 'pa55-w0rd-do-not-leak';
    const db = declare('db', { password }, ['password']);
    const results = await engine.up([db]);
    assert.ok(isSecret(results[0].inputs.password));
    assert.ok(isSecret(results[0].outputs?.password), 'an output named like a secret input is secret');

    const text = fs.readFileSync(stateFile, 'utf8');
    assert.ok(!text.includes(password), 'plain secret in the state file');
    const [stored] = engine.state().resources;
    for (const value of [stored.inputs.password, stored.outputs.password]) {
      assert.equal((value as Props)[SIG_KEY], SECRET_SIG);
      assert.equal(typeof (value as Props).ciphertext, 'string');
    }
    assert.equal(JSON.parse(fs.readFileSync(path.join(world, 'db-z1.json'), 'utf8')).password, password);

    assert.equal((await engine.preview([db]))[0].op, 'same', 'the stored secret compares equal');
    await engine.refresh();
    await engine.up([declare('db', { password, size: 2 }, ['password'])]);
    assert.ok(!fs.readFileSync(stateFile, 'utf8').includes(password), 'plain secret after refresh/update');
  });
});
