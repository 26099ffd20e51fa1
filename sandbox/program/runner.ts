/**
 * ProgramRunner: `pulumi preview | up | refresh | destroy` for one stack of a Pulumi TypeScript/JavaScript
 * program, run UNMODIFIED in the real @pulumi/pulumi Node runtime (language.ts) against an engine served here
 * (monitor.ts, deployment.ts), with ONE real dynamic provider host per operation shared by every dynamic
 * resource (../engine/host.ts). The state file has MiniEngine's format (../engine/state.ts).
 *
 * Like the CLI: refresh and destroy do not run the program; they work from the state with each resource's
 * stored `__provider`. `--parallel` defaults to PULUMI_PARALLEL, else 4 × the CPUs (pkg/cmd/pulumi/operations/
 * up.go defaultParallel); PULUMI_PARALLEL_DIFF=true runs diffs concurrently.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { node22 } from '../engine/consumer';
import { type PropertyMap, ProviderHost } from '../engine/host';
import { type StateFile, StateStore } from '../engine/state';
import { type ConfigValue, resolveConfig, type StackConfig } from './config';
import { Deployment } from './deployment';
import { runProgram } from './language';
import { type InvokeHandler, Monitor } from './monitor';
import { type Project, readProject, readStackFile } from './project';
import { deleteAll, refreshAll } from './teardown';
import type { EngineEvent, Operation, OperationResult } from './types';

export interface ProgramRunnerOptions {
  /** The project directory (holds Pulumi.yaml). */
  dir: string;
  /** Stack name (default 'dev'); its config is read from `Pulumi.<stack>.yaml` beside Pulumi.yaml. */
  stack?: string;
  /** Default `<project dir>/.sandbox/state/<stack>.json`. */
  stateFile?: string;
  /** Config added to / overriding the stack file (`{ secure: plain }` for a secret). */
  config?: Record<string, ConfigValue>;
  /** Values of `${sandbox:<name>}` placeholders in the stack file. */
  substitutions?: Record<string, string>;
  /** Environment of the program and of the provider host (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Node binary for the program and the host (default: a Node 22). */
  nodePath?: string;
  parallel?: number;
  /** `--continue-on-error`: a failed step does not stop the others. */
  continueOnError?: boolean;
  parallelDiff?: boolean;
  /** Answers the program's invokes (e.g. azureNativeInvokes(sandbox)); unhandled ones fail. */
  invoke?: InvokeHandler;
  organization?: string;
  onEvent?(event: EngineEvent): void;
}

export class ProgramRunner {
  readonly project: Project;
  readonly stack: string;
  readonly stateFile: string;
  /** Lines the provider host printed during the last operation. */
  lastHostLogs: string[] = [];
  private running = false;
  private currentHost: ProviderHost | undefined;

  constructor(private readonly options: ProgramRunnerOptions) {
    this.project = readProject(options.dir);
    this.stack = options.stack ?? 'dev';
    this.stateFile =
      options.stateFile ?? path.join(this.project.rootDirectory, '.sandbox', 'state', `${this.stack}.json`);
  }

  get parallel(): number {
    const fromEnv = Number((this.options.env ?? process.env).PULUMI_PARALLEL);
    return this.options.parallel ?? (fromEnv > 0 ? fromEnv : availableParallelism() * 4);
  }

  /** The stack's config as the program gets it. */
  config(): StackConfig {
    const { doc } = readStackFile(this.project, this.stack);
    return resolveConfig(
      this.project.name,
      this.project.config,
      (doc.config as Record<string, unknown> | undefined) ?? {},
      this.options.config,
      this.options.substitutions,
    );
  }

  /** The state file as stored (secrets as ciphertext). */
  state(): StateFile {
    return new StateStore(this.stateFile).raw();
  }

  /** Stack outputs of the last `up` (secrets as signature objects), as `pulumi stack output --show-secrets`. */
  outputs(): PropertyMap {
    return new StateStore(this.stateFile).load().outputs ?? {};
  }

  /** Pid of the provider host of the running operation, if one is running. */
  get hostPid(): number | undefined {
    return this.currentHost?.pid;
  }

  /** Kills the provider host of the running operation (a crash mid-operation). */
  async killHost(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.currentHost?.kill(signal);
  }

  preview(): Promise<OperationResult> {
    return this.operation('preview');
  }

  up(): Promise<OperationResult> {
    return this.operation('up');
  }

  refresh(): Promise<OperationResult> {
    return this.operation('refresh');
  }

  destroy(): Promise<OperationResult> {
    return this.operation('destroy');
  }

  // ------------------------------------------------------------------------------------------------------------

  private async operation(operation: Operation): Promise<OperationResult> {
    if (this.running) throw new Error('ProgramRunner: another operation is running on this stack');
    this.running = true;
    const started = performance.now();
    mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const config = this.config();
    const env = this.options.env ?? process.env;
    const nodePath = this.options.nodePath ?? node22();
    const hostPids: number[] = [];
    const hostLogs: string[] = [];
    const emit = (event: EngineEvent) => this.options.onEvent?.(event);
    const deployment = new Deployment({
      operation,
      project: this.project.name,
      stack: this.stack,
      store: new StateStore(this.stateFile),
      parallel: this.parallel,
      continueOnError: this.options.continueOnError,
      parallelDiff: this.options.parallelDiff ?? env.PULUMI_PARALLEL_DIFF === 'true',
      onEvent: emit,
      startHost: async () => {
        const host = await ProviderHost.start({
          cwd: this.project.programDirectory,
          env,
          nodePath,
          project: this.project.name,
          stack: this.stack,
          // Dynamic providers get the whole stack config, namespaces kept (deploy/target.go GetPackageConfig).
          config: config.values,
          onLog: (line, stream) => {
            hostLogs.push(line);
            emit({ kind: 'output', source: 'host', stream, line });
          },
        });
        if (host.pid !== undefined) hostPids.push(host.pid);
        this.currentHost = host;
        return host;
      },
    });
    let programExitCode: number | undefined;
    try {
      if (operation === 'refresh') {
        await refreshAll(deployment);
      } else if (operation === 'destroy') {
        await deleteAll(deployment, [...deployment.state.resources]);
        if (deployment.ok) {
          delete deployment.state.outputs;
          deployment.save();
        }
      } else {
        programExitCode = await this.runProgram(deployment, operation, config, env, nodePath);
      }
    } finally {
      const host = await deployment.hostStarted()?.catch((err: unknown) => {
        deployment.fail(err instanceof Error ? err.message : String(err));
        return undefined;
      });
      await host?.close();
      this.currentHost = undefined;
      this.lastHostLogs = hostLogs;
      this.running = false;
    }
    return {
      operation,
      ok: deployment.ok,
      steps: deployment.steps,
      outputs: deployment.stackOutputs,
      diagnostics: deployment.diagnostics,
      errors: deployment.errors,
      programExitCode,
      hostPids,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async runProgram(
    deployment: Deployment,
    operation: 'preview' | 'up',
    config: StackConfig,
    env: NodeJS.ProcessEnv,
    nodePath: string,
  ): Promise<number | undefined> {
    const monitor = new Monitor(deployment, this.options.invoke ?? (async () => undefined));
    const address = await monitor.start();
    try {
      const program = runProgram({
        project: this.project,
        stack: this.stack,
        organization: this.options.organization ?? 'organization',
        config,
        monitorAddress: address,
        dryRun: operation === 'preview',
        parallel: this.parallel,
        nodePath,
        env,
        onLine: (line, stream) => this.options.onEvent?.({ kind: 'output', source: 'program', stream, line }),
      });
      const exit = await program.exited;
      await deployment.drain();
      if (exit.code !== 0) {
        deployment.fail(
          exit.code === 32
            ? 'the program failed (its error is reported above)'
            : `the program exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}`,
        );
      }
      if (deployment.ok && !deployment.cancelled) {
        // After a successful program: what it no longer declares is deleted (preview: listed).
        await deleteAll(deployment, deployment.unregistered());
      }
      if (operation === 'up' && exit.code === 0) {
        deployment.state.outputs = deployment.stackOutputs;
        deployment.save();
      }
      return exit.code ?? undefined;
    } finally {
      monitor.stop();
    }
  }
}
