/**
 * The stack's state file, shared by MiniEngine and the program runner (sandbox/program): one JSON document
 * `{ resources: [...], outputs? }`, rewritten atomically (temp file + rename) after every step, as the Pulumi
 * engine persists a checkpoint after every step.
 *
 * Secrets: in memory a secret is `{ [SIG_KEY]: SECRET_SIG, value }` (the engine's RPC form); in the file it is
 * `{ [SIG_KEY]: SECRET_SIG, ciphertext }` like a real checkpoint. The ciphertext here is base64(JSON(value)): a
 * stand-in that keeps plain text out of the file and is NOT encryption.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isPlainObject, isSecret, type PropertyMap, SECRET_SIG, SIG_KEY, secret } from './host';

/** A resource in the state, in memory (secrets as signature objects with their value). */
export interface StateResource {
  name: string;
  id: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  /** Reasons of a partial failure: the next `up` updates the resource. */
  initErrors?: string[];
  /** Replaced resource whose deletion is still pending (create-before-delete). */
  delete?: boolean;
  // Written by the program runner only (a MiniEngine state has none of these; its resources are dynamic
  // resources of the default type, keyed by name):
  /** The resource's URN. */
  urn?: string;
  /** The resource's type token (e.g. `pulumi-nodejs:dynamic/pulumi-sqlmi-migration:LogReplayMigration`). */
  type?: string;
  /** URN of the parent (a component or the stack). */
  parent?: string;
  /** URNs this resource depends on (dependsOn and Output-to-input dependencies): destroy deletes it first. */
  dependencies?: string[];
  /** Not a dynamic resource: the sandbox engine simulated it (inputs as outputs, no provider call). */
  simulated?: boolean;
}

export interface StateFile {
  resources: StateResource[];
  /** Stack outputs (the program runner; `pulumi stack output`). */
  outputs?: PropertyMap;
}

export class StateStore {
  constructor(readonly file: string) {}

  /** The state file as stored (secrets as ciphertext). */
  raw(): StateFile {
    if (!existsSync(this.file)) return { resources: [] };
    return JSON.parse(readFileSync(this.file, 'utf8')) as StateFile;
  }

  /** The state with secrets decrypted into signature objects. */
  load(): StateFile {
    const stored = this.raw();
    const state: StateFile = {
      resources: (stored.resources ?? []).map((r) => decryptSecrets(r) as StateResource),
    };
    if (stored.outputs) state.outputs = decryptSecrets(stored.outputs) as PropertyMap;
    return state;
  }

  save(state: StateFile): void {
    const tmp = `${this.file}.${randomUUID()}.tmp`;
    const stored: StateFile = { resources: state.resources.map((r) => encryptSecrets(r) as StateResource) };
    if (state.outputs) stored.outputs = encryptSecrets(state.outputs) as PropertyMap;
    writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}

export function encryptSecrets(value: unknown): unknown {
  if (isSecret(value)) {
    const ciphertext = Buffer.from(JSON.stringify(value.value ?? null)).toString('base64');
    return { [SIG_KEY]: SECRET_SIG, ciphertext };
  }
  if (Array.isArray(value)) return value.map(encryptSecrets);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encryptSecrets(v)]));
  return value;
}

export function decryptSecrets(value: unknown): unknown {
  if (isPlainObject(value) && value[SIG_KEY] === SECRET_SIG && typeof value.ciphertext === 'string') {
    return secret(JSON.parse(Buffer.from(value.ciphertext, 'base64').toString('utf8')));
  }
  if (Array.isArray(value)) return value.map(decryptSecrets);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decryptSecrets(v)]));
  return value;
}

/** Structural equality of JSON-like values (the engine's input comparison when Diff says 'unknown'). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}
