/**
 * A test rig for lifecycle tests through the real Pulumi provider host: the sandbox, a consumer project
 * directory where the package is installed (as a link, the way `npm link` installs it), the serialized
 * providers exactly as the sdk's resources produce them, and a MiniEngine with a state file.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { consumerProject, node22 } from '../../sandbox/engine/consumer';
import { type DeclaredResource, MiniEngine } from '../../sandbox/engine/engine';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/index';
import { managedInstanceId } from '../../sandbox/world/instances';
import { distributedAvailabilityGroupLinkProvider, logReplayMigrationProvider } from '../../sdk';

let providers: Promise<{ lrs: string; link: string }> | undefined;

/** `__provider` texts, made by serializeFunction as pulumi.dynamic.Resource makes them. */
export function providerTexts(): Promise<{ lrs: string; link: string }> {
  providers ??= (async () => {
    const ser = (p: pulumi.dynamic.ResourceProvider) =>
      pulumi.runtime.serializeFunction(() => p, { allowSecrets: true }).then((s) => s.text);
    return {
      lrs: await ser(logReplayMigrationProvider),
      link: await ser(distributedAvailabilityGroupLinkProvider),
    };
  })();
  return providers;
}

export interface Rig {
  sandbox: Sandbox;
  dir: string;
  texts: { lrs: string; link: string };
  logs: string[];
  engine(stateName?: string): MiniEngine;
  /** Everything a secret could leak into: state files, logs. */
  leakSurface(): string;
  stop(): Promise<void>;
}

export async function startRig(options: SandboxOptions = {}): Promise<Rig> {
  const sandbox = await startSandbox({ speed: 100, ...options });
  const dir = consumerProject();
  const texts = await providerTexts();
  const logs: string[] = [];
  const stateFiles: string[] = [];
  return {
    sandbox,
    dir,
    texts,
    logs,
    engine(stateName = 'stack') {
      const stateFile = path.join(dir, `${stateName}.json`);
      stateFiles.push(stateFile);
      return new MiniEngine({
        stateFile,
        cwd: dir,
        env: sandbox.env(),
        nodePath: node22(),
        project: 'sqlmi-test',
        stack: stateName,
        onLog: (line: string) => logs.push(line),
      });
    },
    leakSurface() {
      const states = stateFiles.map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          return '';
        }
      });
      return [...states, ...logs].join('\n');
    },
    async stop() {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for a condition with a deadline (no sleeps as synchronisation). */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function lrsResource(rig: Rig, name: string, inputs: Record<string, unknown>): DeclaredResource {
  // pulumiName: what the sdk class passes (the resource name its lines and warnings carry).
  return {
    name,
    providerText: rig.texts.lrs,
    inputs: { pulumiName: name, ...inputs },
    secretInputs: ['storageContainerSasToken'],
  };
}

/** A rig for LogReplayMigration tests, live between the describe's before and after hooks that lrsRig adds. */
export interface LrsRig extends Rig {
  /** The sandbox's managed instance. */
  readonly miId: string;
  /** A read-list SAS for the backups' storage. */
  readonly sas: string;
  /** Inputs restoring `db` from its folder with the SAS and the deadlines `ms`; `over` replaces. */
  inputs(db: string, over?: Record<string, unknown>): Record<string, unknown>;
}

/** Polls every 100 ms, each wait 20 s at the most (the sandbox runs at speed 100). */
const LRS_MS = {
  pollIntervalInMs: 100,
  startDeadlineInMs: 20_000,
  restoreDeadlineInMs: 20_000,
  completeDeadlineInMs: 20_000,
};

/**
 * Call inside a describe: starts a rig (default sandbox) before its tests and stops it after them. `ms`: the
 * inputs' poll interval and deadlines.
 */
export function lrsRig(ms: Record<string, number> = LRS_MS): LrsRig {
  let started: Rig | undefined;
  let miId: string;
  let sas: string;
  before(async () => {
    started = await startRig();
    miId = managedInstanceId(started.sandbox.instance);
    sas = started.sandbox.storage.makeSas({ permissions: 'rl', protocol: 'https' });
  });
  after(async () => {
    await started?.stop();
  });
  const live = (): Rig => {
    if (!started) throw new Error('the rig starts in the before hook');
    return started;
  };
  return {
    get sandbox() {
      return live().sandbox;
    },
    get dir() {
      return live().dir;
    },
    get texts() {
      return live().texts;
    },
    get logs() {
      return live().logs;
    },
    engine: (stateName) => live().engine(stateName),
    leakSurface: () => live().leakSurface(),
    stop: () => live().stop(),
    get miId() {
      return miId;
    },
    get sas() {
      return sas;
    },
    inputs: (db, over = {}) => ({
      managedInstanceId: miId,
      databaseName: db,
      storageContainerUri: live().sandbox.storage.containerUrl(db.toLowerCase()),
      storageContainerSasToken: sas,
      ...ms,
      ...over,
    }),
  };
}

/** Names of a link established in the sandbox (sandbox.link.establishLink): its DAG, its AG, its database(s). */
export interface LinkNames {
  dag: string;
  ag: string;
  db: string;
  /** All its databases when more than `db` (default: [db]). */
  dbs?: string[];
}

/**
 * The DistributedAvailabilityGroupLink's inputs as the sdk class passes them, against `sandbox`: async, short
 * polls and deadlines that hold at speed 100, and `over` on top. One builder for every link suite (through the
 * host: linkResource; in-process: these inputs).
 */
export function linkInputs(
  sandbox: Sandbox,
  names: LinkNames,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    // pulumiName: what the sdk class passes (the resource name its lines and warnings carry).
    pulumiName: `link-${names.dag}`,
    managedInstanceId: managedInstanceId(sandbox.instance),
    linkName: names.dag,
    sqlServerAvailabilityGroupName: names.ag,
    databaseNames: names.dbs ?? [names.db],
    sqlServer: sandbox.sqlConnection('sqlServer'),
    managedInstanceSql: sandbox.sqlConnection('managedInstance'),
    replicationMode: 'Async',
    lsnStabilityWindowInMs: 1_000,
    lsnPollIntervalInMs: 100,
    lsnDeadlineInMs: 20_000,
    pollIntervalInMs: 100,
    operationDeadlineInMs: 20_000,
    firstBackupDeadlineInMs: 30_000,
    ...over,
  };
}

export function linkResource(
  rig: Rig,
  names: LinkNames,
  over: Record<string, unknown> = {},
): DeclaredResource {
  return {
    name: `link-${names.dag}`,
    providerText: rig.texts.link,
    inputs: linkInputs(rig.sandbox, names, over),
    secretInputs: ['sqlServer', 'managedInstanceSql'],
  };
}
