/**
 * Runs a Pulumi program the way the Node language host (pulumi-language-nodejs, sdk/nodejs/cmd/
 * pulumi-language-nodejs/main.go: execRuntime, constructArguments, constructConfig) does:
 *
 *   node [nodeargs] <program dir>/node_modules/@pulumi/pulumi/cmd/run
 *     --monitor <addr> --engine <addr> --organization <org> --project <name> --root-directory <dir>
 *     --stack <name> --pwd <program dir> [--dry-run] --parallel <n> <entry point>
 *
 * with PULUMI_CONFIG (keys in the old `<ns>:config:<name>` form), PULUMI_CONFIG_SECRET_KEYS and, for
 * TypeScript projects (the default), PULUMI_NODEJS_TYPESCRIPT=true (+ PULUMI_NODEJS_TSCONFIG_PATH), added to the
 * environment. The run entry is resolved from the program directory, as the language host does. The `--sync`
 * pipes for synchronous invokes are not provided (the SDK then uses ordinary async invokes).
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { languageHostConfig, type StackConfig } from './config';
import type { Project } from './project';

export interface ProgramProcessOptions {
  project: Project;
  stack: string;
  organization: string;
  config: StackConfig;
  monitorAddress: string;
  dryRun: boolean;
  parallel: number;
  nodePath: string;
  env: NodeJS.ProcessEnv;
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

export interface ProgramExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The language host's run entry for a program in `dir` (its own @pulumi/pulumi), else ours. */
export function resolveRunEntry(dir: string): string {
  try {
    return require.resolve('@pulumi/pulumi/cmd/run', { paths: [dir] });
  } catch {
    return require.resolve('@pulumi/pulumi/cmd/run');
  }
}

export function runProgram(options: ProgramProcessOptions): { exited: Promise<ProgramExit>; kill(): void } {
  const { project } = options;
  const args = [
    ...splitArgs(project.options.nodeargs),
    resolveRunEntry(project.programDirectory),
    '--monitor',
    options.monitorAddress,
    '--engine',
    options.monitorAddress,
    '--organization',
    options.organization,
    '--project',
    project.name,
    '--root-directory',
    project.rootDirectory,
    '--stack',
    options.stack,
    '--pwd',
    project.programDirectory,
    ...(options.dryRun ? ['--dry-run'] : []),
    '--parallel',
    String(options.parallel),
    project.entryPoint,
  ];
  const env: NodeJS.ProcessEnv = { ...options.env, ...languageHostConfig(options.config) };
  if (project.options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = 'true';
  if (project.options.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = project.options.tsconfig;
  const child = spawn(options.nodePath, args, {
    cwd: project.programDirectory,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  readline.createInterface({ input: child.stdout! }).on('line', (l) => options.onLine(l, 'stdout'));
  readline.createInterface({ input: child.stderr! }).on('line', (l) => options.onLine(l, 'stderr'));
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      options.onLine(`could not start the program: ${err.message}`, 'stderr');
      resolve({ code: null, signal: null });
    });
  });
  return {
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** `nodeargs` as the language host splits it (shlex; quotes are enough here). */
function splitArgs(text: string | undefined): string[] {
  if (!text) return [];
  return (text.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((a) => a.replace(/^["']|["']$/g, ''));
}
