/**
 * A Pulumi project as the CLI reads it: `Pulumi.yaml` (name, runtime, main, project config) and the stack file
 * `Pulumi.<stack>.yaml` beside it. Only the nodejs runtime is supported (this is the Node language host's job).
 *
 * Where the program is (the CLI's ProgramInfo): the root directory holds Pulumi.yaml; `main` (a directory or a
 * file, relative to the root) moves the program directory and entry point, else the entry point is `.`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

export interface Project {
  name: string;
  /** Directory of Pulumi.yaml. */
  rootDirectory: string;
  /** Where the program runs (`--pwd`), the provider host too. */
  programDirectory: string;
  /** `.` or a file name in programDirectory. */
  entryPoint: string;
  /** Runtime options (`runtime.options` in Pulumi.yaml): typescript (default true), nodeargs, tsconfig. */
  options: { typescript: boolean; nodeargs?: string; tsconfig?: string };
  /** Project-level config (Pulumi.yaml `config:`), raw. */
  config: Record<string, unknown>;
}

export function findProjectFile(dir: string): string {
  for (const name of ['Pulumi.yaml', 'Pulumi.yml']) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new Error(`no Pulumi.yaml in ${dir}: give the directory of a Pulumi project`);
}

export function readProject(dir: string): Project {
  const file = findProjectFile(path.resolve(dir));
  const doc = (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const name = doc.name;
  if (typeof name !== 'string' || !name) throw new Error(`${file}: 'name' is required`);
  const runtime = doc.runtime as string | { name?: string; options?: Record<string, unknown> } | undefined;
  const runtimeName = typeof runtime === 'string' ? runtime : runtime?.name;
  if (runtimeName !== 'nodejs') {
    throw new Error(
      `${file}: runtime '${String(runtimeName)}' is not supported here; only nodejs programs run`,
    );
  }
  const opts = (typeof runtime === 'object' ? runtime.options : undefined) ?? {};
  const rootDirectory = path.dirname(file);
  let programDirectory = rootDirectory;
  let entryPoint = '.';
  if (typeof doc.main === 'string' && doc.main) {
    const main = path.resolve(rootDirectory, doc.main);
    if (!existsSync(main)) throw new Error(`${file}: main '${doc.main}' does not exist`);
    if (statSync(main).isDirectory()) {
      programDirectory = main;
    } else {
      programDirectory = path.dirname(main);
      entryPoint = path.basename(main);
    }
  }
  return {
    name,
    rootDirectory,
    programDirectory,
    entryPoint,
    options: {
      typescript: opts.typescript !== false && opts.typescript !== 'false',
      nodeargs: typeof opts.nodeargs === 'string' ? opts.nodeargs : undefined,
      tsconfig: typeof opts.tsconfig === 'string' ? opts.tsconfig : undefined,
    },
    config: (doc.config as Record<string, unknown> | undefined) ?? {},
  };
}

/** `Pulumi.<stack>.yaml` in the root directory, parsed ({} when absent). */
export function readStackFile(
  project: Project,
  stack: string,
): { file: string; doc: Record<string, unknown> } {
  for (const ext of ['yaml', 'yml']) {
    const file = path.join(project.rootDirectory, `Pulumi.${stack}.${ext}`);
    if (existsSync(file)) {
      return { file, doc: (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown> };
    }
  }
  return { file: path.join(project.rootDirectory, `Pulumi.${stack}.yaml`), doc: {} };
}
