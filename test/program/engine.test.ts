/**
 * The program runner as an engine: a real Pulumi program (test/program/fixtures/basic) in the real Node
 * runtime, trivial dynamic resources in the real provider host. Engine-level properties only: one host per
 * operation, dependency order, the --parallel limit, failures, config and secrets, stack outputs, deletes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isSecret, UNKNOWN } from '../../sandbox/engine/host';
import { until } from '../provider/rig';
import { explain, FIXTURES, lineIndex, ops, stepsByName, type TestRunner, testRunner } from './helpers';

const BASIC = path.join(FIXTURES, 'basic');

function maxInflight(lines: string[]): number {
  return Math.max(0, ...lines.map((l) => Number(/create-start \S+ inflight=(\d+)/.exec(l)?.[1] ?? 0)));
}

describe('program runner: a real program against the sandbox engine', function () {
  this.timeout(120_000);
  let runner: TestRunner;

  afterEach(() => runner?.cleanup());

  it('preview plans every resource without a create; up creates them in dependency order in ONE host', async () => {
    runner = testRunner(BASIC);
    const preview = await runner.preview();
    assert.ok(preview.ok, explain(preview, runner));
    assert.deepEqual(ops(preview), { first: 'create', second: 'create', third: 'create', vault: 'create' });
    assert.equal(lineIndex(runner.hostLines, /create-start/), -1, 'preview never calls Create');
    assert.equal(preview.outputs.firstEcho, UNKNOWN, 'an output not known in preview is unknown');

    const up = await runner.up();
    assert.ok(up.ok, explain(up, runner));
    assert.equal(up.hostPids.length, 1, 'one provider host for the whole operation');
    assert.deepEqual(ops(up), { first: 'create', second: 'create', third: 'create', vault: 'create' });
    const lines = runner.hostLines;
    // second takes first's output as an input; third dependsOn second (no data).
    assert.ok(
      lineIndex(lines, /create-end first/) < lineIndex(lines, /create-start second/),
      lines.join('\n'),
    );
    assert.ok(
      lineIndex(lines, /create-end second/) < lineIndex(lines, /create-start third/),
      lines.join('\n'),
    );
    assert.equal(up.outputs.firstEcho, 'first:hello');
    assert.equal(up.outputs.secondEcho, 'second:first:hello', 'outputs flow back into inputs');
    assert.equal(up.outputs.thirdId, 'id-third');
    assert.deepEqual(runner.outputs(), up.outputs, 'stack outputs are stored');
  });

  it('secret config is secret everywhere: the program, the outputs, the state file (ciphertext)', async () => {
    runner = testRunner(BASIC);
    const up = await runner.up();
    assert.ok(up.ok, explain(up, runner));
    assert.ok(isSecret(up.outputs.password), 'config.requireSecret exports a secret');
    assert.equal((up.outputs.password as { value: unknown }).value, 's3cr3t-config-value');
    const vault = runner.state().resources.find((r) => r.name === 'vault');
    assert.ok(vault, 'vault is in the state');
    const file = readFileSync(runner.stateFile, 'utf8');
    assert.ok(!file.includes('s3cr3t-config-value'), 'no secret in plain text in the state file');
    assert.match(JSON.stringify(vault.inputs.secretValue), /ciphertext/);
    assert.ok(!runner.programLines.some((l) => l.includes('s3cr3t-config-value')), 'no secret in the output');
  });

  it('a second up is all same; a changed input updates only that resource; an undeclared one is deleted', async () => {
    runner = testRunner(BASIC, { config: { settings: { wide: 2 } } });
    assert.ok((await runner.up()).ok);
    const again = await runner.up();
    assert.ok(again.ok, explain(again, runner));
    assert.ok(
      again.steps.every((s) => s.op === 'same'),
      JSON.stringify(ops(again)),
    );

    const changed = testRunner(BASIC, { stateFile: runner.stateFile, config: { settings: { value: 'v2' } } });
    const up = await changed.up();
    assert.ok(up.ok, explain(up, changed));
    assert.deepEqual(ops(up), {
      first: 'same',
      second: 'same',
      third: 'update',
      vault: 'same',
      w0: 'delete',
      w1: 'delete',
    });
    assert.ok(changed.hostLines.includes('update third'));
    assert.deepEqual(
      runner
        .state()
        .resources.map((r) => r.name)
        .sort(),
      ['first', 'second', 'third', 'vault'],
    );
  });

  it('a program that fails deletes nothing: what it did not declare stays in the state', async () => {
    runner = testRunner(BASIC);
    assert.ok((await runner.up()).ok);
    const crashed = testRunner(BASIC, { stateFile: runner.stateFile, config: { settings: { crash: true } } });
    const up = await crashed.up();
    assert.equal(up.ok, false);
    assert.notEqual(up.programExitCode, 0);
    assert.ok(
      crashed.programLines.some((l) => l.includes('the program crashed as asked')),
      crashed.programLines.join('\n'),
    );
    assert.ok(!up.steps.some((s) => s.op === 'delete'), 'no delete after a failed program');
    assert.equal(runner.state().resources.length, 4);
    assert.equal(lineIndex(crashed.hostLines, /^delete/), -1);
  });

  it('runs steps in parallel up to --parallel, never more', async () => {
    // Every create is held until the test writes the release file: once the engine has planned all six, exactly
    // three (the limit) must be running, and never more over the whole operation.
    const hold = path.join(mkdtempSync(path.join(tmpdir(), 'sqlmi-hold-')), 'release');
    const running = new Set<string>();
    const planned = new Set<string>();
    let peak = 0;
    runner = testRunner(BASIC, {
      parallel: 3,
      config: { settings: { wide: 6, hold } },
      onEvent: (e) => {
        if (e.kind !== 'step' || !e.step.name.startsWith('w')) return;
        planned.add(e.step.name);
        if (e.step.status === 'running') running.add(e.step.name);
        else running.delete(e.step.name);
        peak = Math.max(peak, running.size);
      },
    });
    try {
      const up = runner.up();
      await until(
        'six planned creates, three running',
        () => planned.size === 6 && running.size === 3,
        60_000,
      );
      writeFileSync(hold, '');
      const result = await up;
      assert.ok(result.ok, explain(result, runner));
      assert.equal(peak, 3, 'never more steps at once than --parallel');
      assert.equal(maxInflight(runner.hostLines), 3, runner.hostLines.join('\n'));
      assert.equal(result.steps.filter((s) => s.name.startsWith('w') && s.status === 'done').length, 6);
    } finally {
      rmSync(path.dirname(hold), { recursive: true, force: true });
    }
  });

  it('a failed step: the others already running complete and are saved; the next up retries only it', async () => {
    // All three creates start before w1 fails (each waits until 3 are in flight).
    runner = testRunner(BASIC, { parallel: 8, config: { settings: { wide: 3, barrier: 3, fail: ['w1'] } } });
    const up = await runner.up();
    assert.equal(up.ok, false);
    assert.ok(
      up.errors.some((e) => e.includes('w1') && e.includes('failed as asked')),
      up.errors.join('\n'),
    );
    const steps = stepsByName(up);
    assert.equal(steps.w1.status, 'failed');
    assert.equal(steps.w0.status, 'done');
    assert.equal(steps.w2.status, 'done');
    const names = runner.state().resources.map((r) => r.name);
    assert.ok(names.includes('w0') && names.includes('w2') && !names.includes('w1'), names.join(','));

    const retry = testRunner(BASIC, { stateFile: runner.stateFile, config: { settings: { wide: 3 } } });
    const again = await retry.up();
    assert.ok(again.ok, explain(again, retry));
    const changed = again.steps.filter((s) => s.op !== 'same').map((s) => `${s.name}:${s.op}`);
    // Resources the failed run never reached are created now too; the ones that completed are not touched.
    assert.ok(changed.includes('w1:create'), changed.join(','));
    assert.equal(stepsByName(again).w0.op, 'same');
    assert.equal(stepsByName(again).w2.op, 'same');
  });

  it('continue-on-error: a failed step does not stop the others', async () => {
    runner = testRunner(BASIC, {
      parallel: 1,
      continueOnError: true,
      config: { settings: { wide: 4, fail: ['w0'] } },
    });
    const up = await runner.up();
    assert.equal(up.ok, false);
    const steps = stepsByName(up);
    assert.equal(steps.w0.status, 'failed');
    for (const name of ['w1', 'w2', 'w3', 'first', 'second', 'third', 'vault']) {
      assert.equal(steps[name]?.status, 'done', `${name}: ${JSON.stringify(steps[name])}`);
    }
  });

  it('check failures stop the deployment and name the resource and the property', async () => {
    runner = testRunner(BASIC, { config: { settings: { invalid: true } } });
    const preview = await runner.preview();
    assert.equal(preview.ok, false);
    const diag = preview.diagnostics.find((d) => d.severity === 'error' && d.urn.endsWith('::bad'));
    assert.ok(diag, JSON.stringify(preview.diagnostics.filter((d) => d.severity === 'error')));
    assert.match(diag.message, /label: label must not be "invalid"/);
  });

  it('refresh reads every resource; destroy deletes dependents first', async () => {
    runner = testRunner(BASIC);
    assert.ok((await runner.up()).ok);
    const refresh = await runner.refresh();
    assert.ok(refresh.ok, explain(refresh, runner));
    assert.equal(refresh.steps.length, 4);
    assert.ok(runner.hostLines.includes('read first'));

    const destroy = await runner.destroy();
    assert.ok(destroy.ok, explain(destroy, runner));
    const lines = runner.hostLines;
    assert.ok(lineIndex(lines, /^delete third/) < lineIndex(lines, /^delete second/), lines.join('\n'));
    assert.ok(lineIndex(lines, /^delete second/) < lineIndex(lines, /^delete first/), lines.join('\n'));
    assert.deepEqual(runner.state().resources, []);
    assert.deepEqual(runner.outputs(), {});
  });
});
