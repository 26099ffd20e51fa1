/**
 * MiniEngine: a minimal, honest imitation of the Pulumi engine's resource lifecycle for ONE stack of dynamic
 * resources, on top of the real provider host (ProviderHost). What it copies from the engine (step_generator.go,
 * step_executor, provider_plugin.go):
 * - One provider host per operation (a fresh `pulumi` command), configured before use, closed at the end.
 * - Check with olds = stored inputs ({} for a new resource) and news = declared inputs + `__provider`; check
 *   failures stop the resource (`up` throws CheckFailedError; `preview` reports them).
 * - Diff(id, old outputs, checked inputs, old inputs); 'unknown' → the engine's own input comparison. A resource
 *   with init errors (an earlier partial failure) gets an Update even without changes. `replaces` → replacement
 *   (re-Check without olds, then create-before-delete, or delete-before-create when asked).
 * - Create/Update get the checked inputs (which carry `__provider`); outputs are what the provider returned.
 *   A partial failure records id/properties/reasons (init errors) and rethrows, so the next `up` updates.
 * - Same: new inputs, old outputs. Undeclared resources are deleted after the declared ones, in reverse order.
 * - Refresh reads every resource with its stored (old) `__provider`; an empty id means it is gone.
 * - Preview never creates/updates/deletes (the dynamic host does not support provider previews).
 * - Secrets: inputs named in `secretInputs` are secret; results keep secretness by name (annotateSecrets, done by
 *   ProviderHost). In the state file every secret is `{ [SIG_KEY]: SECRET_SIG, ciphertext }` like a real
 *   checkpoint; the ciphertext here is base64(JSON(value)), a stand-in that keeps plain text out of the file and
 *   is NOT encryption.
 * Not imitated: dependencies between resources (resources run in declaration order), parallelism, aliases,
 * protect, ignoreChanges, targets, pending-operation records for a crashed CLI. For real programs (a Pulumi
 * program run in the real Node runtime, dependencies, parallel steps, config, stack outputs) use
 * sandbox/program (ProgramRunner), which writes the same state file format.
 */
import {
  type CheckFailure,
  type DiffChanges,
  isPlainObject,
  isSecret,
  type PropertyMap,
  ProviderError,
  ProviderHost,
  secret,
  UNKNOWN,
} from './host';
import { deepEqual, type StateFile, type StateResource, StateStore } from './state';

export type { StateFile, StateResource } from './state';

/** A dynamic resource as a program would register it. */
export interface DeclaredResource {
  name: string;
  /** The serialized provider (`__provider`), as `serializeFunction(() => provider, { allowSecrets: true }).text`. */
  providerText: string;
  inputs: Record<string, unknown>;
  /** Names of inputs that are secrets (`pulumi.secret(...)` in a program). */
  secretInputs?: string[];
}

export type StepOp = 'create' | 'update' | 'replace' | 'same' | 'delete';

export interface StepResult {
  name: string;
  op: StepOp;
  /** Check failures: when not empty the engine refuses the resource (nothing else was done for it). */
  failures: CheckFailure[];
  /** What Diff said after the engine's fallback for 'unknown'; undefined for create/delete or check failures. */
  diffChanges: DiffChanges | undefined;
  replaces: string[];
  /** For a replace: delete the old resource before creating the new one. */
  deleteBeforeReplace?: boolean;
  /** The checked inputs (secrets as `{ [SIG_KEY]: SECRET_SIG, value }`); the stored inputs for a delete. */
  inputs: PropertyMap;
  /** After `up`: the resource's id and outputs (undefined for a delete). */
  id?: string;
  outputs?: PropertyMap;
}

export interface MiniEngineOptions {
  stateFile: string;
  /** The program directory: the provider host runs here. */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  project?: string;
  stack?: string;
  nodePath?: string;
  config?: Record<string, string>;
  onLog?(line: string): void;
}

/** `up` stops at a resource whose Check reported failures, as the engine does. */
export class CheckFailedError extends Error {
  constructor(
    readonly resource: string,
    readonly failures: CheckFailure[],
  ) {
    super(
      `resource ${resource} is invalid: ${failures.map((f) => `${f.property || '(resource)'}: ${f.reason}`).join('; ')}`,
    );
    this.name = 'CheckFailedError';
  }
}

const PROVIDER_KEY = '__provider';

export class MiniEngine {
  /** Lines the provider host printed during the last operation. */
  lastLogs: string[] = [];
  /** Host start (spawn → configured) of the last operation, in ms. */
  lastStartupMs = 0;

  private currentHost: ProviderHost | undefined;
  private running = false;
  private readonly store: StateStore;

  constructor(private readonly options: MiniEngineOptions) {
    this.store = new StateStore(options.stateFile);
  }

  /** The state file as stored (secrets as ciphertext). */
  state(): StateFile {
    return this.store.raw();
  }

  /** Kills the provider host of the running operation (to simulate a crash mid-operation). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.currentHost?.kill(signal);
  }

  /** What `up` would do: Check and Diff only. */
  preview(resources: DeclaredResource[]): Promise<StepResult[]> {
    return this.operation(async (host, state) => {
      const results: StepResult[] = [];
      for (const declared of resources) {
        results.push(await this.plan(host, state, declared, true));
      }
      for (const old of this.undeclared(state, resources)) {
        results.push(deleteResult(old));
      }
      return results;
    });
  }

  /** Brings the stack to the declared resources, writing the state after every step. */
  up(resources: DeclaredResource[]): Promise<StepResult[]> {
    return this.operation(async (host, state) => {
      const results: StepResult[] = [];
      for (const declared of resources) {
        const step = await this.plan(host, state, declared, false);
        if (step.failures.length > 0) throw new CheckFailedError(declared.name, step.failures);
        results.push(await this.apply(host, state, declared, step));
      }
      for (const old of this.undeclared(state, resources)) {
        await this.deleteResource(host, state, old);
        results.push(deleteResult(old));
      }
      return results;
    });
  }

  /** Reads every resource in the state and stores what the provider reports. */
  refresh(): Promise<StateResource[]> {
    return this.operation(async (host, state) => {
      for (const res of [...state.resources]) {
        try {
          const read = await host.read(res.id, res.name, res.outputs, res.inputs);
          if (!read.id) {
            state.resources.splice(state.resources.indexOf(res), 1);
          } else {
            res.id = read.id;
            res.outputs = read.properties;
            if (read.inputs) res.inputs = read.inputs;
          }
        } catch (err) {
          if (err instanceof ProviderError && err.partial) {
            res.id = err.partial.id || res.id;
            res.outputs = err.partial.properties;
            res.initErrors = err.partial.reasons;
            this.save(state);
          }
          throw err;
        }
        this.save(state);
      }
      return state.resources;
    });
  }

  /** Deletes every resource, in reverse order, removing each from the state once deleted. */
  destroy(): Promise<StepResult[]> {
    return this.operation(async (host, state) => {
      const results: StepResult[] = [];
      for (const res of [...state.resources].reverse()) {
        await this.deleteResource(host, state, res);
        results.push(deleteResult(res));
      }
      return results;
    });
  }

  // -------------------------------------------------------------------------------------------------------------

  private async operation<T>(body: (host: ProviderHost, state: StateFile) => Promise<T>): Promise<T> {
    if (this.running) throw new Error('MiniEngine: another operation is running on this stack');
    this.running = true;
    let host: ProviderHost | undefined;
    try {
      const state = this.load();
      host = await ProviderHost.start({
        cwd: this.options.cwd,
        env: this.options.env,
        nodePath: this.options.nodePath,
        project: this.options.project,
        stack: this.options.stack,
        config: this.options.config,
        onLog: this.options.onLog ? (line) => this.options.onLog?.(line) : undefined,
      });
      this.currentHost = host;
      this.lastStartupMs = host.timings.readyMs;
      return await body(host, state);
    } finally {
      this.currentHost = undefined;
      if (host) {
        await host.close();
        this.lastLogs = [...host.logs];
      }
      this.running = false;
    }
  }

  /** Check, then Diff against the stored state: the step the engine would take for a declared resource. */
  private async plan(
    host: ProviderHost,
    state: StateFile,
    declared: DeclaredResource,
    preview: boolean,
  ): Promise<StepResult> {
    const old = this.live(state, declared.name);
    const news = this.goal(declared);
    if (!preview) assertKnown(declared.name, news);
    const checked = await host.check(declared.name, old?.inputs ?? {}, news);
    const step: StepResult = {
      name: declared.name,
      op: old ? 'update' : 'create',
      failures: checked.failures,
      diffChanges: undefined,
      replaces: [],
      inputs: checked.inputs,
    };
    if (!old || checked.failures.length > 0) return step;

    const diff = await host.diff(old.id, declared.name, old.outputs, checked.inputs, old.inputs);
    let changes = diff.changes;
    if (changes === 'unknown') changes = deepEqual(old.inputs, checked.inputs) ? 'none' : 'some';
    step.diffChanges = changes;
    step.replaces = diff.replaces;
    if (changes === 'some' && diff.replaces.length > 0) step.op = 'replace';
    else if (changes === 'some' || (old.initErrors?.length ?? 0) > 0) step.op = 'update';
    else step.op = 'same';
    if (step.op === 'replace') step.deleteBeforeReplace = diff.deleteBeforeReplace;
    return step;
  }

  private async apply(
    host: ProviderHost,
    state: StateFile,
    declared: DeclaredResource,
    step: StepResult,
  ): Promise<StepResult> {
    const old = this.live(state, declared.name);
    switch (step.op) {
      case 'create': {
        const created = await this.create(host, state, declared.name, step.inputs, undefined);
        return { ...step, id: created.id, outputs: created.outputs };
      }
      case 'update': {
        if (!old) throw new Error(`update of ${declared.name} without state`);
        try {
          const { properties } = await host.update(old.id, old.name, old.outputs, step.inputs, old.inputs);
          old.inputs = step.inputs;
          old.outputs = properties;
          delete old.initErrors;
        } catch (err) {
          if (err instanceof ProviderError && err.partial) {
            old.inputs = step.inputs;
            old.outputs = err.partial.properties;
            old.initErrors = err.partial.reasons;
            this.save(state);
          }
          throw err;
        }
        this.save(state);
        return { ...step, id: old.id, outputs: old.outputs };
      }
      case 'replace': {
        if (!old) throw new Error(`replace of ${declared.name} without state`);
        // The engine re-checks without olds: defaults are recomputed for the replacement.
        const rechecked = await host.check(declared.name, {}, this.goal(declared));
        if (rechecked.failures.length > 0) throw new CheckFailedError(declared.name, rechecked.failures);
        if (step.deleteBeforeReplace) {
          await this.deleteResource(host, state, old);
          const created = await this.create(host, state, declared.name, rechecked.inputs, undefined);
          return { ...step, inputs: rechecked.inputs, id: created.id, outputs: created.outputs };
        }
        const created = await this.create(host, state, declared.name, rechecked.inputs, old);
        await this.deleteResource(host, state, old);
        return { ...step, inputs: rechecked.inputs, id: created.id, outputs: created.outputs };
      }
      case 'same': {
        if (!old) throw new Error(`same of ${declared.name} without state`);
        old.inputs = step.inputs;
        this.save(state);
        return { ...step, id: old.id, outputs: old.outputs };
      }
      default:
        throw new Error(`unexpected step ${step.op} for ${declared.name}`);
    }
  }

  /** Create and store; a partial failure is stored with its id/properties/init errors, then rethrown. */
  private async create(
    host: ProviderHost,
    state: StateFile,
    name: string,
    inputs: PropertyMap,
    replacing: StateResource | undefined,
  ): Promise<StateResource> {
    const store = (res: StateResource) => {
      // The replaced resource stays in the state, pending deletion, until its Delete succeeds.
      if (replacing) replacing.delete = true;
      const at = replacing ? state.resources.indexOf(replacing) : -1;
      if (at >= 0) state.resources.splice(at, 0, res);
      else state.resources.push(res);
      this.save(state);
      return res;
    };
    try {
      const created = await host.create(name, inputs);
      return store({ name, id: created.id, inputs, outputs: created.properties });
    } catch (err) {
      if (err instanceof ProviderError && err.partial) {
        store({
          name,
          id: err.partial.id,
          inputs,
          outputs: err.partial.properties,
          initErrors: err.partial.reasons,
        });
      }
      throw err;
    }
  }

  private async deleteResource(host: ProviderHost, state: StateFile, res: StateResource): Promise<void> {
    await host.delete(res.id, res.name, res.outputs, res.inputs);
    state.resources.splice(state.resources.indexOf(res), 1);
    this.save(state);
  }

  /** The resource's goal: declared inputs (secret ones marked) plus `__provider`, as `dynamic.Resource` registers. */
  private goal(declared: DeclaredResource): PropertyMap {
    if (Object.hasOwn(declared.inputs, PROVIDER_KEY)) {
      throw new Error('A dynamic resource must not define the __provider key');
    }
    const secrets = new Set(declared.secretInputs ?? []);
    const inputs: PropertyMap = {};
    for (const [key, value] of Object.entries(declared.inputs)) {
      inputs[key] = secrets.has(key) && !isSecret(value) ? secret(value) : value;
    }
    inputs[PROVIDER_KEY] = declared.providerText;
    return inputs;
  }

  /** The live (not pending-delete) state entry of a name. */
  private live(state: StateFile, name: string): StateResource | undefined {
    return state.resources.find((r) => r.name === name && !r.delete);
  }

  /** Resources in the state that are not declared (or pending deletion), in reverse order. */
  private undeclared(state: StateFile, resources: DeclaredResource[]): StateResource[] {
    const names = new Set(resources.map((r) => r.name));
    const duplicate = resources.find((r, i) => resources.findIndex((o) => o.name === r.name) !== i);
    if (duplicate) throw new Error(`duplicate resource name ${duplicate.name}`);
    return state.resources.filter((r) => r.delete || !names.has(r.name)).reverse();
  }

  private load(): StateFile {
    return this.store.load();
  }

  private save(state: StateFile): void {
    this.store.save(state);
  }
}

function deleteResult(res: StateResource): StepResult {
  return {
    name: res.name,
    op: 'delete',
    failures: [],
    diffChanges: undefined,
    replaces: [],
    inputs: res.inputs,
  };
}

/** `up` runs with known values only; the engine never sends unknowns outside a preview. */
function assertKnown(name: string, value: unknown, path = ''): void {
  if (value === UNKNOWN)
    throw new Error(`${name}: input ${path || '(value)'} is unknown; up needs known values`);
  if (isSecret(value)) {
    assertKnown(name, value.value, path);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertKnown(name, v, `${path}[${i}]`);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) assertKnown(name, v, path ? `${path}.${k}` : k);
  }
}
