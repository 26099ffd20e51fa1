/**
 * The published package's two commands, from a fresh consumer install: `npm pack`, then a plain `npm install`
 * of the tarball into an empty project (no lockfile: npm resolves every dependency from the registry, as for a
 * user), then `npx sqlmi-rehearse <program dir> …` on a small program of the user's, the scripted story
 * (`npx sqlmi-rehearse lrs`), and `npx sqlmi-sandbox` until Ctrl-C.
 *
 * Pins: the registry copy here lacks some newest versions (the latest mssql needs a @tediousjs/connection-string
 * that is missing), so the consumer pins what this package's lockfile resolved for mssql/tedious, and for
 * @pulumi/pulumi and typescript (which a Pulumi TypeScript project declares itself).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../sandbox/engine/consumer';

const run = promisify(execFile);

function locked(name: string): string {
  const lock = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  return lock.packages[`node_modules/${name}`].version;
}

/** npm/npx with this Node 22 first on PATH (the package needs Node 22; system npm may run on Node 20). */
function nodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

const PROGRAM = `import * as pulumi from '@pulumi/pulumi';
import { LogReplayMigration } from 'pulumi-sqlmi-migration';

const config = new pulumi.Config();
const sales = new LogReplayMigration('sales', {
  managedInstanceId: config.require('managedInstanceId'),
  databaseName: 'Sales',
  storageContainerUri: config.require('folder'),
  storageContainerSasToken: config.requireSecret('sas'),
  pollIntervalInMs: 250,
});
export const phase = sales.phase;
`;

const STACK = `config:
  my-migration:managedInstanceId: '\${sandbox:managedInstanceId}'
  my-migration:folder: '\${sandbox:containerUrl}/sales'
  my-migration:sas:
    secure: '\${sandbox:sas}'
  sqlmi-sandbox:world:
    lrs:
      - database: Sales
        folder: sales
`;

describe('the published commands from a fresh npm install', function () {
  this.timeout(900_000);
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: PACKAGE_ROOT,
      env: nodeEnv(),
    });
    const [info] = JSON.parse(stdout) as { filename: string }[];
    const pkg = {
      name: 'consumer',
      private: true,
      dependencies: {
        'pulumi-sqlmi-migration': `file:./${info.filename}`,
        '@pulumi/pulumi': locked('@pulumi/pulumi'),
        mssql: locked('mssql'),
        tedious: locked('tedious'),
      },
      devDependencies: { typescript: locked('typescript'), '@types/node': locked('@types/node') },
    };
    writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: nodeEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    const program = path.join(dir, 'program');
    mkdirSync(program);
    writeFileSync(
      path.join(program, 'Pulumi.yaml'),
      'name: my-migration\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n',
    );
    writeFileSync(path.join(program, 'Pulumi.sandbox.yaml'), STACK);
    writeFileSync(path.join(program, 'index.ts'), PROGRAM);
    writeFileSync(path.join(program, 'package.json'), '{ "name": "my-migration", "main": "index.ts" }\n');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sqlmi-rehearse <program dir> preview up destroy: the user program runs against the sandbox', async () => {
    const { stdout } = await run(
      'npx',
      ['--no-install', 'sqlmi-rehearse', 'program', 'preview', 'up', 'destroy'],
      {
        cwd: dir,
        env: nodeEnv({ PULUMI_NODEJS_TRANSPILE_ONLY: 'true' }),
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.match(stdout, /\$ pulumi up --stack sandbox/);
    assert.match(stdout, /created LogReplayMigration sales/);
    assert.match(stdout, /deleted LogReplayMigration sales/);
    assert.match(stdout, /Rehearsal passed/);
  });

  it('sqlmi-rehearse lrs: the scripted story starts and passes', async () => {
    const { stdout } = await run('npx', ['--no-install', 'sqlmi-rehearse', 'lrs'], {
      cwd: dir,
      env: nodeEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.match(stdout, /Rehearsal passed/);
  });

  it('sqlmi-sandbox prints the environment for the Pulumi CLI, serves ARM, and stops cleanly on Ctrl-C', async () => {
    // The installed bin itself (npx would stand between the signal and it).
    const child: ChildProcess = spawn(path.join(dir, 'node_modules', '.bin', 'sqlmi-sandbox'), [], {
      cwd: dir,
      env: nodeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        readline.createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          if (line.includes('Ctrl-C stops the sandbox')) resolve();
        });
        child.once('close', () => reject(new Error(`sqlmi-sandbox exited early:\n${lines.join('\n')}`)));
      });
      const env = Object.fromEntries(
        lines
          .map((l) => /^export (\w+)='(.*)'$/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => [m[1], m[2]]),
      );
      assert.match(env.SQLMI_ARM_ENDPOINT ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER && env.NODE_EXTRA_CA_CERTS, lines.join('\n'));
      assert.ok(lines.some((l) => l.includes('pulumi login --local')));
      const id = lines.find((l) => l.trim().startsWith('managedInstanceId:'))?.split(': ')[1];
      assert.ok(id?.endsWith('/managedInstances/sqlmi-sandbox'), lines.join('\n'));
      // The ARM stand-in answers (a request without a token is refused with 401, as ARM does).
      const ca = readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8');
      const status = await new Promise<number>((resolve, reject) => {
        const https = require('node:https') as typeof import('node:https');
        https
          .get(`${env.SQLMI_ARM_ENDPOINT}${id}?api-version=2023-08-01`, { ca }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      assert.equal(status, 401);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, lines.join('\n'));
    assert.ok(
      lines.some((l) => l.includes('sandbox stopped')),
      lines.join('\n'),
    );
  });
});
