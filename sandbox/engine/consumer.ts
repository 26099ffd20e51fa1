import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
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
    path.join(root, 'node_modules', '@pulumi', 'pulumi'),
    path.join(dir, 'node_modules', '@pulumi', 'pulumi'),
    'dir',
  );
  return dir;
}

/** Node 22 for the provider host: this one if it is 22+, else the project's (the `node` package). */
export function node22(root = PACKAGE_ROOT): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  return path.join(root, 'node_modules', '.bin', 'node');
}
