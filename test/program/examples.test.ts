/**
 * Every program under examples/ runs through the program runner against the sandbox, with its committed
 * `Pulumi.sandbox.yaml` (placeholders filled from the sandbox, world seeded from `sqlmi-sandbox:world`),
 * exactly as `sqlmi-rehearse <dir> --stack sandbox` runs it, each as a user's project: copied, with this package
 * and @pulumi/* installed (linked) beside it.
 *
 * Assertions are about the engine path (the program ran, the resources went through their steps, one host);
 * resource outputs are checked loosely, since the resources' own behaviour is tested elsewhere.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT, programProject } from '../../sandbox/engine/consumer';
import { type Sandbox, startSandbox } from '../../sandbox/index';
import { azureNativeInvokes, sandboxSubstitutions, seedWorld } from '../../sandbox/program/bindings';
import type { ConfigValue } from '../../sandbox/program/config';
import { explain, ops, type TestRunner, testRunner } from './helpers';

const EXAMPLES = path.join(PACKAGE_ROOT, 'examples');

interface Rehearsal {
  sb: Sandbox;
  dir: string;
  runner(config?: Record<string, ConfigValue>): TestRunner;
  stop(): Promise<void>;
}

async function rehearsal(dir: string, only?: string[]): Promise<Rehearsal> {
  const sb = await startSandbox({ speed: 60, link: { firstBackupDelayMs: 60_000 } });
  const project = programProject(dir, PACKAGE_ROOT, only);
  const runners: TestRunner[] = [];
  let stateFile: string | undefined;
  const make = (config: Record<string, ConfigValue> = {}) => {
    const r = testRunner(project, {
      stack: 'sandbox',
      env: sb.env(),
      substitutions: sandboxSubstitutions(sb),
      invoke: azureNativeInvokes(sb),
      config,
      ...(stateFile ? { stateFile } : {}),
    });
    stateFile ??= r.stateFile;
    runners.push(r);
    return r;
  };
  await seedWorld(sb, make().config());
  return {
    sb,
    dir: project,
    runner: make,
    async stop() {
      await sb.stop();
      for (const r of runners) r.cleanup();
      rmSync(project, { recursive: true, force: true });
    },
  };
}

describe('examples run through the program runner against the sandbox', function () {
  this.timeout(240_000);

  it('lrs-azure-native: preview, up (azure-native lookups answered by the stand-ins), destroy', async () => {
    const r = await rehearsal(path.join(EXAMPLES, 'lrs-azure-native'));
    try {
      const runner = r.runner();
      const preview = await runner.preview();
      assert.ok(preview.ok, explain(preview, runner));
      assert.deepEqual(ops(preview), { Sales: 'create' });

      const up = await runner.up();
      assert.ok(up.ok, explain(up, runner));
      assert.equal(up.hostPids.length, 1);
      assert.ok(r.sb.instance.databases.get('Sales'), 'LRS started the database on the managed instance');
      assert.equal(typeof up.outputs.phase, 'string');

      const destroy = await r.runner().destroy();
      assert.ok(destroy.ok, explain(destroy, runner));
      assert.deepEqual(r.runner().state().resources, []);
    } finally {
      await r.stop();
    }
  });

  it('link: preview, up (Async), sync switch and cutover by stack config, destroy (cleanup)', async () => {
    const r = await rehearsal(path.join(EXAMPLES, 'link'));
    try {
      const runner = r.runner();
      const preview = await runner.preview();
      assert.ok(preview.ok, explain(preview, runner));
      assert.deepEqual(ops(preview), { 'sales-link': 'create' });
      const up = await runner.up();
      assert.ok(up.ok, explain(up, runner));

      const cut = r.runner({ replicationMode: 'Sync', cutover: true });
      const cutover = await cut.up();
      assert.ok(cutover.ok, explain(cutover, cut));
      assert.deepEqual(ops(cutover), { 'sales-link': 'update' });
      assert.equal(typeof cutover.outputs.cutoverAt, 'string', 'the cutover happened');

      const destroy = await r.runner({ replicationMode: 'Sync', cutover: true }).destroy();
      assert.ok(destroy.ok, explain(destroy));
    } finally {
      await r.stop();
    }
  });

  it('wave: two waves, the second starts only when every resource of the first is done; destroy', async () => {
    const r = await rehearsal(path.join(EXAMPLES, 'wave'));
    try {
      const runner = r.runner();
      const preview = await runner.preview();
      assert.ok(preview.ok, explain(preview, runner));
      assert.deepEqual(ops(preview), {
        'wave1-DAG_Orders': 'create',
        'wave1-Sales': 'create',
        'wave1-Stock': 'create',
        'wave2-Billing': 'create',
        'wave2-Payroll': 'create',
      });
      const up = await runner.up();
      assert.ok(up.ok, explain(up, runner));
      const wave1 = up.steps.filter((s) => s.name.startsWith('wave1-'));
      const wave2 = up.steps.filter((s) => s.name.startsWith('wave2-'));
      const lastOfWave1 = Math.max(...wave1.map((s) => s.endedAt ?? Infinity));
      for (const s of wave2)
        assert.ok((s.startedAt ?? 0) > lastOfWave1, `${s.name} started before wave1 was done`);
      const destroy = await r.runner().destroy();
      assert.ok(destroy.ok, explain(destroy));
    } finally {
      await r.stop();
    }
  });

  it('migration (the top-level project): config-driven LRS list and link, preview, up, destroy', async () => {
    // As a user's project: the provider host loads the package by name, which a program inside this repository
    // could not do (Node resolves a package's own name only from modules inside it, not from __provider).
    const r = await rehearsal(PACKAGE_ROOT, ['Pulumi.yaml', 'Pulumi.sandbox.yaml', 'examples/migration']);
    try {
      const runner = r.runner();
      const preview = await runner.preview();
      assert.ok(preview.ok, explain(preview, runner));
      assert.deepEqual(ops(preview), {
        'link-DAG_Sales': 'create',
        'lrs-Invoices': 'create',
        'lrs-Orders': 'create',
      });
      const up = await runner.up();
      assert.ok(up.ok, explain(up, runner));
      assert.equal(up.hostPids.length, 1, 'LRS and link resources share one provider host');
      const destroy = await r.runner().destroy();
      assert.ok(destroy.ok, explain(destroy));
    } finally {
      await r.stop();
    }
  });
});
