import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The package root (this file is dist/sandbox/engine/consumer.js or sandbox/engine/consumer.ts). */
export const PACKAGE_ROOT = path.resolve(
  __dirname,
  '..',
  '..',
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '',
);

/**
 * A Pulumi program directory as a user has it: node_modules holds this package (linked, as `npm link`
 * installs it) and @pulumi/pulumi. The provider host runs here and loads the provider by package name.
 */
export function consumerProject(root = PACKAGE_ROOT): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-program-'));
  mkdirSync(path.join(dir, 'node_modules', '@pulumi'), { recursive: true });
  symlinkSync(root, path.join(dir, 'node_modules', 'pulumi-sqlmi-migration'), 'dir');
  symlinkSync(
    packageDir('@pulumi/pulumi', root)!,
    path.join(dir, 'node_modules', '@pulumi', 'pulumi'),
    'dir',
  );
  return dir;
}

/** Where `name` is installed for this package (its own node_modules, or hoisted beside it in a user's project). */
function packageDir(name: string, root: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
  } catch {
    return undefined;
  }
}

/** Node 22 for the provider host: this one if it is 22+, else the project's (the `node` package). */
export function node22(root = PACKAGE_ROOT): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  return path.join(root, 'node_modules', '.bin', 'node');
}

/**
 * A copy of the Pulumi program in `source` as a user's project: its files (or only the paths in `only`; never
 * node_modules and .sandbox),
 * a package.json when it has none (`main: index.ts`), and node_modules holding this package (linked), and
 * @pulumi/pulumi and @pulumi/azure-native from this package's node_modules when they are there.
 */
export function programProject(source: string, root = PACKAGE_ROOT, only?: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), `sqlmi-${path.basename(source)}-`));
  for (const part of only ?? ['.']) {
    cpSync(path.join(source, part), path.join(dir, part), {
      recursive: true,
      filter: (src) =>
        !path
          .relative(source, src)
          .split(path.sep)
          .some((p) => p === 'node_modules' || p === '.sandbox'),
    });
  }
  if (!existsSync(path.join(dir, 'package.json'))) {
    writeFileSync(
      path.join(dir, 'package.json'),
      `${JSON.stringify({ name: path.basename(source), private: true, main: 'index.ts' }, null, 2)}\n`,
    );
  }
  mkdirSync(path.join(dir, 'node_modules', '@pulumi'), { recursive: true });
  symlinkSync(root, path.join(dir, 'node_modules', 'pulumi-sqlmi-migration'), 'dir');
  for (const name of ['pulumi', 'azure-native']) {
    const target = packageDir(`@pulumi/${name}`, root);
    if (target) symlinkSync(target, path.join(dir, 'node_modules', '@pulumi', name), 'dir');
  }
  return dir;
}
