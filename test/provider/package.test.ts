/**
 * The package as users get it: `npm pack`, unpacked into a Pulumi program's node_modules (its dependencies
 * beside it), and the serialized providers loaded from there by the real provider host.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { node22, PACKAGE_ROOT } from '../../sandbox/engine/consumer';
import { ProviderHost } from '../../sandbox/engine/host';
import { providerTexts } from './rig';

const run = promisify(execFile);

describe('the packed package in a consumer project', function () {
  this.timeout(120_000);
  let dir: string;
  let files: string[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-packed-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE_ROOT });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = info.files.map((f) => f.path);
    const target = path.join(dir, 'node_modules', 'pulumi-sqlmi-migration');
    mkdirSync(target, { recursive: true });
    await run('tar', ['-xzf', path.join(dir, info.filename), '-C', target, '--strip-components=1']);
    // Its dependencies, as npm would have installed them beside it.
    const modules = path.join(PACKAGE_ROOT, 'node_modules');
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.') || entry === 'pulumi-sqlmi-migration') continue;
      if (entry.startsWith('@')) {
        mkdirSync(path.join(dir, 'node_modules', entry), { recursive: true });
        for (const sub of readdirSync(path.join(modules, entry))) {
          symlinkSync(path.join(modules, entry, sub), path.join(dir, 'node_modules', entry, sub), 'dir');
        }
      } else {
        symlinkSync(path.join(modules, entry), path.join(dir, 'node_modules', entry), 'dir');
      }
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the sdk, the provider and the sandbox, and no tests', () => {
    for (const f of [
      'dist/sdk/index.js',
      'dist/sdk/index.d.ts',
      'dist/provider/index.js',
      'dist/sandbox/index.js',
    ]) {
      assert.ok(files.includes(f), `${f} is packed`);
    }
    assert.ok(!files.some((f) => f.startsWith('dist/test/')), 'no tests in the package');
  });

  it('the provider host loads both providers from the installed package and checks inputs', async () => {
    const texts = await providerTexts();
    const host = await ProviderHost.start({ cwd: dir, nodePath: node22() });
    try {
      const lrs = await host.check(
        'lrs',
        {},
        {
          __provider: texts.lrs,
          managedInstanceName: 'mi-one',
          subscriptionId: '00000000-0000-0000-0000-000000000001',
          resourceGroupName: 'rg',
          databaseName: 'Sales',
          storageContainerUri: 'https://acct.blob.core.windows.net/sales/db1',
          storageContainerSasToken: 'sv=2024-08-04&sr=c&sp=rl&se=2099-01-01T00:00:00Z&sig=x',
        },
      );
      assert.deepEqual(lrs.failures, []);
      assert.match(String(lrs.inputs.managedInstanceId), /\/managedInstances\/mi-one$/);
      const link = await host.check('link', {}, { __provider: texts.link, linkName: 'DAG' });
      assert.ok(link.failures.some((f) => f.property === 'databaseNames'));
      assert.ok(host.logs.some((l) => l.includes('create plan')));
    } finally {
      await host.close();
    }
  });
});
