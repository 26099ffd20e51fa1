/**
 * `sqlmi-rehearse <program dir> [--stack NAME] [--parallel N] [--continue-on-error] [--speed N]
 *  [preview|up|refresh|destroy …]`: rehearses a user's own Pulumi program against a fresh sandbox, through
 * the program runner (the real Node runtime, the real provider host). The operations run in order in one
 * sandbox (default: preview); the sandbox and the state live as long as the command.
 *
 * The stack file (default `Pulumi.sandbox.yaml` when there is one, else `Pulumi.dev.yaml`) may use
 * `${sandbox:<name>}` placeholders and `sqlmi-sandbox:world` (see bindings.ts and sandbox/README.md).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT, programProject } from '../engine/consumer';
import { startSandbox } from '../index';
import { azureNativeInvokes, sandboxSubstitutions, seedWorld } from './bindings';
import { liveLine, summary } from './display';
import { findProjectFile, readProject } from './project';
import { ProgramRunner } from './runner';
import type { Operation } from './types';

const OPERATIONS = new Set<Operation>(['preview', 'up', 'refresh', 'destroy']);

export function isProgramDirectory(arg: string | undefined): arg is string {
  if (!arg || arg.startsWith('-')) return false;
  try {
    findProjectFile(path.resolve(arg));
    return true;
  } catch {
    return false;
  }
}

interface Args {
  dir: string;
  stack: string;
  parallel?: number;
  continueOnError: boolean;
  speed: number;
  operations: Operation[];
}

export function parseArgs(argv: string[]): Args {
  const [dir, ...rest] = argv;
  const args: Args = { dir: path.resolve(dir), stack: '', continueOnError: false, speed: 60, operations: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--stack' || a === '-s') args.stack = value();
    else if (a.startsWith('--stack=')) args.stack = a.slice('--stack='.length);
    else if (a === '--parallel' || a === '-p') args.parallel = Number(value());
    else if (a === '--speed') args.speed = Number(value());
    else if (a === '--continue-on-error') args.continueOnError = true;
    else if (OPERATIONS.has(a as Operation)) args.operations.push(a as Operation);
    else
      throw new Error(
        `unknown argument ${a}: usage: sqlmi-rehearse <program dir> [--stack NAME] [preview|up|refresh|destroy …]`,
      );
  }
  if (!args.stack) args.stack = existsSync(path.join(args.dir, 'Pulumi.sandbox.yaml')) ? 'sandbox' : 'dev';
  if (args.operations.length === 0) args.operations.push('preview');
  return args;
}

export async function rehearseProgram(
  argv: string[],
  say: (line: string) => void = console.log,
): Promise<number> {
  const args = parseArgs(argv);
  say(`Rehearsal of ${args.dir} (stack ${args.stack}) on local stand-ins of Azure and SQL Server`);
  say('(ARM stand-in over https, Azurite, TDS stand-ins; the real Pulumi Node runtime and provider host)');
  const copy = insideThisPackage(args.dir);
  if (copy) say(`(a program of this package's own tree runs as a copy in a user's project: ${copy})`);
  const sb = await startSandbox({ speed: args.speed, link: { firstBackupDelayMs: 3 * 60_000 } });
  const stateDir = mkdtempSync(path.join(tmpdir(), 'sqlmi-rehearse-state-'));
  let failed = false;
  try {
    const runner = new ProgramRunner({
      dir: copy ?? args.dir,
      stack: args.stack,
      stateFile: path.join(stateDir, `${args.stack}.json`),
      env: sb.env(),
      substitutions: sandboxSubstitutions(sb),
      invoke: azureNativeInvokes(sb),
      parallel: args.parallel,
      continueOnError: args.continueOnError,
      onEvent: (event) => {
        const line = liveLine(event);
        if (line) say(line);
      },
    });
    await seedWorld(sb, runner.config(), say);
    for (const operation of args.operations) {
      say(`\n$ pulumi ${operation} --stack ${args.stack}`);
      const result = await runner[operation]();
      for (const line of summary(result)) say(line);
      if (!result.ok) {
        failed = true;
        break;
      }
    }
  } finally {
    await sb.stop();
    rmSync(stateDir, { recursive: true, force: true });
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
  say(failed ? '\nRehearsal FAILED' : '\nRehearsal passed');
  return failed ? 1 : 0;
}

/**
 * A program inside this package's own directory (the top-level project, examples/) cannot run in place: the
 * provider host loads the resources by package name (`pulumi-sqlmi-migration/provider`), which Node resolves from
 * a user's node_modules, not from inside the package. Such a program runs as a copy in a user's project
 * (engine/consumer.ts); returns its directory, or undefined for any other program.
 */
function insideThisPackage(dir: string): string | undefined {
  const rel = path.relative(PACKAGE_ROOT, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel) || rel.split(path.sep).includes('node_modules'))
    return undefined;
  if (rel !== '') return programProject(dir);
  const project = readProject(dir);
  const stackFiles = readdirSync(dir).filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f));
  const main = path.relative(dir, project.programDirectory) || '.';
  return programProject(dir, PACKAGE_ROOT, [path.basename(findProjectFile(dir)), ...stackFiles, main]);
}
