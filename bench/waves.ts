/**
 * Waves through the real program path (examples/wave in the program runner, the real Node runtime, ONE real
 * provider host, the sandbox), measured as ratios within one run:
 * - `up` of a wave of N databases (+ 2 links) vs a wave of 1 database: wall time ratio (goal: far below N);
 * - ARM requests per database in the wave vs for the one database (goal: no more), attributed by URL path:
 *   a database's are its own paths (databases/…, the database operations), a link's its DAG paths, and the
 *   instance read (GET managedInstances/{mi}, made by both kinds) is counted apart (goal: one per resource);
 * - peak RSS of the provider host during the wave's `up` (VmHWM; goal ≤ 300 MB);
 * - `preview` of the wave (check + diff of every resource, all in the state) vs `preview` of as many trivial
 *   dynamic resources (bench/fixtures/trivial): wall time ratio.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT, programProject } from '../sandbox/engine/consumer';
import { type Sandbox, startSandbox } from '../sandbox/index';
import { sandboxSubstitutions } from '../sandbox/program/bindings';
import type { ConfigValue } from '../sandbox/program/config';
import { ProgramRunner } from '../sandbox/program/runner';
import type { OperationResult } from '../sandbox/program/types';
import { managedInstanceId } from '../sandbox/world/instances';

export interface WaveFigures {
  databases: number;
  links: number;
  oneDatabaseUpMs: number;
  waveUpMs: number;
  upRatio: number;
  armRequestsOneDatabase: number;
  armRequestsPerDatabase: number;
  /** GET managedInstances/{mi}: one database alone, and the wave (databases and links). */
  instanceReadsOneDatabase: number;
  instanceReadsWave: number;
  /** The links' own requests (their DAG paths and operations) in the wave. */
  linkRequestsWave: number;
  hostPeakRssMB: number;
  wavePreviewMs: number;
  trivialPreviewMs: number;
  previewRatio: number;
  hosts: number;
}

/** Peak RSS (VmHWM) of a process, MB; 0 where /proc is not there. */
function peakRssMB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export type Owner = 'database' | 'link' | 'instance';

/** Whose request it is, by its path (issue 9): the links' and the databases' never count against each other. */
export function ownerOf(path: string): Owner {
  if (/distributedAvailabilityGroups/i.test(path)) return 'link';
  if (/\/managedInstances\/[^/]+$/i.test(path)) return 'instance';
  return 'database';
}

function byOwner(entries: { path: string }[]): Record<Owner, number> {
  const counts: Record<Owner, number> = { database: 0, link: 0, instance: 0 };
  for (const e of entries) counts[ownerOf(e.path)]++;
  return counts;
}

function must(result: OperationResult, what: string): OperationResult {
  if (!result.ok) throw new Error(`${what} failed: ${result.errors.join(' | ')}`);
  return result;
}

export async function benchWaves(databases: number, say: (line: string) => void): Promise<WaveFigures> {
  const links = 2;
  const sb: Sandbox = await startSandbox({ speed: 200, link: { firstBackupDelayMs: 60_000 } });
  const dir = programProject(path.join(PACKAGE_ROOT, 'examples', 'wave'));
  const trivial = programProject(path.join(PACKAGE_ROOT, 'bench', 'fixtures', 'trivial'));
  const v = sandboxSubstitutions(sb);
  const env = { ...sb.env(), PULUMI_NODEJS_TRANSPILE_ONLY: 'true' };
  const cleanup: string[] = [dir, trivial];
  try {
    const seed = async (name: string) => {
      sb.sqlServer.addDatabase(name, { folder: name, sizeMB: 20 });
      await sb.sqlServer.backupFull(name);
      await sb.sqlServer.backupLog(name);
    };
    const conn = (port: string, user: string, password: string) => ({
      server: '127.0.0.1',
      port: Number(port),
      userName: user,
      password: { secure: password },
      caCertificate: v.tdsCa,
    });
    const config = (wave: string, names: string[], withLinks: boolean): Record<string, ConfigValue> => ({
      managedInstanceId: managedInstanceId(sb.instance),
      sasToken: { secure: v.sas },
      pollIntervalInMs: 250,
      lrs: { startDeadlineInMs: 600_000, restoreDeadlineInMs: 3_600_000, completeDeadlineInMs: 600_000 },
      waves: [
        {
          name: wave,
          databases: names.map((n) => ({ databaseName: n, storageContainerUri: sb.storage.containerUrl(n) })),
          links: withLinks
            ? Array.from({ length: links }, (_, k) => ({
                linkName: `DAG_${wave}_${k}`,
                sqlServerAvailabilityGroupName: `AG_${wave}_${k}`,
                databaseNames: [`L_${wave}_${k}`],
                beforeCutoverDelete: 'forget',
              }))
            : [],
        },
      ],
      sqlServer: conn(v.sqlServerPort, v.sqlServerUser, v.sqlServerPassword),
      managedInstanceSql: conn(
        v.managedInstanceSqlPort,
        v.managedInstanceSqlUser,
        v.managedInstanceSqlPassword,
      ),
    });
    const runner = (stack: string, c: Record<string, ConfigValue>, projectDir = dir) =>
      new ProgramRunner({ dir: projectDir, stack, env, config: c, parallel: 64 });

    // One database alone.
    await seed('solo');
    const start1 = sb.arm.requests.entries.length;
    const solo = must(await runner('solo', config('solo', ['solo'], false)).up(), 'up of one database');
    const one = byOwner(sb.arm.requests.entries.slice(start1));
    say(
      `one database: up ${solo.durationMs} ms, ${one.database} ARM requests on its paths, ${one.instance} instance read(s)`,
    );

    // The wave.
    const names = Array.from({ length: databases }, (_, i) => `wave${String(i + 1).padStart(2, '0')}`);
    for (const n of names) await seed(n);
    for (let k = 0; k < links; k++) {
      sb.link.establishLink({
        name: `DAG_big_${k}`,
        sqlServerAg: `AG_big_${k}`,
        miAg: `MI_AG_big_${k}`,
        databases: [`L_big_${k}`],
      });
    }
    const big = runner('big', config('big', names, true));
    let peak = 0;
    const sampler = setInterval(() => {
      if (big.hostPid) peak = Math.max(peak, peakRssMB(big.hostPid));
    }, 50);
    const startWave = sb.arm.requests.entries.length;
    const wave = await big.up().finally(() => clearInterval(sampler));
    must(wave, `up of the ${databases}-database wave`);
    // Per resource by path: the databases' own, the links' own, and the instance reads both kinds make.
    const inWave = byOwner(sb.arm.requests.entries.slice(startWave));
    say(
      `wave: up ${wave.durationMs} ms, ARM requests: ${inWave.database} on the databases' paths, ${inWave.link} on the links', ${inWave.instance} instance reads; host peak RSS ${peak.toFixed(0)} MB`,
    );

    // Preview of the wave (everything in the state: check + diff of each) vs as many trivial resources.
    const wavePreview = must(
      await runner('big', config('big', names, true)).preview(),
      'preview of the wave',
    );
    const count = databases + links;
    const t = runner('trivial', { count }, trivial);
    must(await t.up(), 'up of the trivial resources');
    const trivialPreview = must(await t.preview(), 'preview of the trivial resources');
    say(`preview: wave ${wavePreview.durationMs} ms, ${count} trivial ${trivialPreview.durationMs} ms`);

    return {
      databases,
      links,
      oneDatabaseUpMs: solo.durationMs,
      waveUpMs: wave.durationMs,
      upRatio: wave.durationMs / solo.durationMs,
      armRequestsOneDatabase: one.database,
      armRequestsPerDatabase: inWave.database / databases,
      instanceReadsOneDatabase: one.instance,
      instanceReadsWave: inWave.instance,
      linkRequestsWave: inWave.link,
      hostPeakRssMB: peak,
      wavePreviewMs: wavePreview.durationMs,
      trivialPreviewMs: trivialPreview.durationMs,
      previewRatio: wavePreview.durationMs / trivialPreview.durationMs,
      hosts: wave.hostPids.length,
    };
  } finally {
    await sb.stop();
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  }
}
