/**
 * One operation of the engine (preview, up, refresh or destroy) on one stack: what the Pulumi engine's
 * deployment executor, step generator and step executor do with the registrations a program sends
 * (pkg/resource/deploy: deployment_executor.go, step_generator.go, step_executor.go, step.go), for dynamic
 * resources served by ONE real dynamic provider host per operation.
 *
 * - Registrations are handled in arrival order by one step generator: Check (olds = stored inputs, none for a
 *   new resource), then Diff against the state, one resource at a time (PULUMI_PARALLEL_DIFF=true lets diffs
 *   run concurrently, as in the CLI). The steps (create, update, replace, same) run on a pool of `parallel`
 *   workers; a registration is answered when its step completes, which is what orders dependents: the Node
 *   runtime sends a resource only once the outputs and dependsOn resources it waits for are resolved.
 * - Check failures make the resource invalid: the deployment bails (also in preview), as the step generator does.
 * - A failed step: its registration answers Result.FAIL; without continueOnError the deployment is cancelled:
 *   no new step starts, registrations still waiting answer UNAVAILABLE (the program stops), steps already
 *   running complete and are saved. With continueOnError the others go on; registrations depending on a failed
 *   resource are skipped.
 * - A partial failure (the provider's `{ id, properties, reasons }`) is stored with its init errors; the next
 *   `up` updates the resource even without a diff.
 * - Preview: the dynamic host does not support provider previews, so no Create/Update is sent; previewed outputs
 *   are the checked inputs (same: the old outputs).
 * - After a successful program in `up`: resources in the state that were not registered are deleted, dependents
 *   first (teardown.ts, graph.ts). Preview lists those deletes.
 * - additionalSecretOutputs: those outputs become secret before they are stored or answered.
 * - Non-dynamic custom resources (azure-native …, explicit providers): there is no such provider here; they are
 *   SIMULATED (inputs as outputs, stored with `simulated: true`, a warning names each) so that programs mixing
 *   them still run. Components and the stack are only tracked (URNs), not stored.
 */
import { randomUUID } from 'node:crypto';
import { isSecret, type PropertyMap, ProviderError, type ProviderHost, secret } from '../engine/host';
import { deepEqual, type StateFile, type StateResource, type StateStore } from '../engine/state';
import { entryUrn, Pool } from './graph';
import {
  DeploymentCancelled,
  type Diagnostic,
  type EngineEvent,
  type Goal,
  type Operation,
  type RegisterResult,
  type Severity,
  type StepRecord,
} from './types';
import { isDynamicType, makeUrn, STACK_TYPE } from './urn';
import { findUnknown } from './values';

export interface DeploymentOptions {
  operation: Operation;
  project: string;
  stack: string;
  store: StateStore;
  /** Starts the operation's provider host (called at most once, when the first dynamic resource needs it). */
  startHost(): Promise<ProviderHost>;
  parallel: number;
  continueOnError?: boolean;
  parallelDiff?: boolean;
  onEvent?(event: EngineEvent): void;
}

interface Planned {
  step: StepRecord;
  goal: Goal;
  old: StateResource | undefined;
  dynamic: boolean;
}

export class Deployment {
  readonly steps: StepRecord[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly errors: string[] = [];
  readonly state: StateFile;
  readonly pool: Pool;
  stackUrn = '';
  stackOutputs: PropertyMap = {};
  cancelled = false;

  readonly preview: boolean;
  private generator: Promise<unknown> = Promise.resolve();
  private readonly registered = new Set<string>();
  private readonly failed = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private host: Promise<ProviderHost> | undefined;

  constructor(readonly options: DeploymentOptions) {
    this.preview = options.operation === 'preview';
    this.state = options.store.load();
    this.pool = new Pool(options.parallel);
  }

  get ok(): boolean {
    return this.errors.length === 0;
  }

  /** The host of this operation, started on first use. */
  providerHost(): Promise<ProviderHost> {
    this.host ??= this.options.startHost();
    return this.host;
  }

  /** Whether a host was started (to close it at the end). */
  hostStarted(): Promise<ProviderHost> | undefined {
    return this.host;
  }

  urn(type: string, name: string, parent: string): string {
    return makeUrn(this.options.stack, this.options.project, type, name, parent);
  }

  diagnose(severity: Severity, message: string, urn = ''): void {
    const diagnostic = { severity, message, urn };
    this.diagnostics.push(diagnostic);
    this.options.onEvent?.({ kind: 'diagnostic', diagnostic });
  }

  fail(message: string, urn = ''): void {
    this.errors.push(urn ? `${urn}: ${message}` : message);
    this.diagnose('error', message, urn);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Registrations (called by the resource monitor)

  async register(goal: Goal): Promise<RegisterResult> {
    if (this.cancelled) throw new DeploymentCancelled();
    const urn = this.urn(goal.type, goal.name, goal.parent);
    if (this.registered.has(urn)) {
      this.fail(`Duplicate resource URN '${urn}'; try giving it a unique name`, urn);
      this.cancel();
      throw new DeploymentCancelled();
    }
    this.registered.add(urn);
    if (!goal.custom) {
      // The stack and components: no provider, nothing stored; the engine answers a local component with no outputs.
      if (goal.type === STACK_TYPE) this.stackUrn = urn;
      return { urn, id: '', outputs: {}, failed: false };
    }
    const blocker = goal.dependencies.find((d) => this.failed.has(d));
    const work = this.generate(urn, goal, blocker).then(
      (planned) => this.execute(planned),
      (err: unknown) => {
        if (err instanceof DeploymentCancelled) throw err;
        // Check or Diff failed (the provider threw): the step generator bails.
        const message = err instanceof Error ? err.message : String(err);
        this.failed.add(urn);
        this.fail(message, urn);
        this.cancel();
        throw new DeploymentCancelled(message);
      },
    );
    return this.track(work);
  }

  registerOutputs(urn: string, outputs: PropertyMap): void {
    if (urn && urn === this.stackUrn) this.stackOutputs = outputs;
  }

  /** State entries not registered by this run (and replaced ones pending deletion). */
  unregistered(): StateResource[] {
    return this.state.resources.filter((r) => r.delete || !this.registered.has(this.urnOf(r)));
  }

  emit(event: EngineEvent): void {
    this.options.onEvent?.(event);
  }

  /** Waits for every step still running (after the program exited, or was cancelled). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  cancel(): void {
    this.cancelled = true;
  }

  // ------------------------------------------------------------------------------------------------------------
  // The step generator: Check and Diff, one registration at a time (unless parallel diffs)

  private generate(urn: string, goal: Goal, blocker: string | undefined): Promise<Planned> {
    const run = async (): Promise<Planned> => {
      if (this.cancelled) throw new DeploymentCancelled();
      const old = this.live(urn);
      const dynamic = isDynamicType(goal.type);
      const step: StepRecord = {
        urn,
        name: goal.name,
        type: goal.type,
        op: old ? 'same' : 'create',
        status: 'planned',
      };
      this.steps.push(step);
      if (blocker) {
        step.status = 'skipped';
        step.error = `skipped: it depends on ${blocker}, which failed`;
        this.diagnose('warning', step.error, urn);
        return { step, goal, old, dynamic };
      }
      const planned = dynamic ? await this.planDynamic(step, goal, old) : this.planSimulated(step, goal, old);
      this.emit({ kind: 'step', step });
      return planned;
    };
    if (this.options.parallelDiff) return run();
    const next = this.generator.then(run, run);
    this.generator = next.catch(() => undefined);
    return next;
  }

  private async planDynamic(step: StepRecord, goal: Goal, old: StateResource | undefined): Promise<Planned> {
    const host = await this.providerHost();
    const ref = { name: goal.name, urn: step.urn, type: goal.type };
    const news = goal.inputs;
    if (!this.preview) {
      const unknown = findUnknown(news);
      if (unknown !== undefined)
        throw this.invalid(step, `input ${unknown || '(value)'} is unknown outside a preview`);
    }
    const checked = await host.check(ref, old?.inputs ?? {}, news);
    step.inputs = checked.inputs;
    if (checked.failures.length > 0) {
      step.failures = checked.failures;
      for (const f of checked.failures)
        this.diagnose('error', `${f.property || '(resource)'}: ${f.reason}`, step.urn);
      throw this.invalid(step, `resource ${step.urn} is invalid`);
    }
    if (!old) return { step, goal, old, dynamic: true };
    const diff = await host.diff(old.id, ref, old.outputs, checked.inputs, old.inputs);
    let changes = diff.changes;
    if (changes === 'unknown') changes = deepEqual(old.inputs, checked.inputs) ? 'none' : 'some';
    step.diffChanges = changes;
    step.replaces = diff.replaces;
    if (changes === 'some' && diff.replaces.length > 0) step.op = 'replace';
    else if (changes === 'some' || (old.initErrors?.length ?? 0) > 0) step.op = 'update';
    else step.op = 'same';
    if (step.op === 'replace' && (diff.deleteBeforeReplace || goal.deleteBeforeReplace)) {
      goal.deleteBeforeReplace = true;
    }
    return { step, goal, old, dynamic: true };
  }

  private planSimulated(step: StepRecord, goal: Goal, old: StateResource | undefined): Planned {
    step.simulated = true;
    step.inputs = goal.inputs;
    if (old) step.op = deepEqual(old.inputs, goal.inputs) ? 'same' : 'update';
    if (step.op !== 'same') {
      this.diagnose(
        'warning',
        `simulated: the sandbox has no provider for ${goal.type}; its inputs stand in for its outputs and nothing is ${step.op === 'create' ? 'created' : 'changed'}`,
        step.urn,
      );
    }
    return { step, goal, old, dynamic: false };
  }

  private invalid(step: StepRecord, message: string): DeploymentCancelled {
    step.status = 'failed';
    step.error = message;
    this.failed.add(step.urn);
    this.fail(message, step.urn);
    // The step generator bails on an invalid resource, with or without continueOnError.
    this.cancel();
    return new DeploymentCancelled(message);
  }

  // ------------------------------------------------------------------------------------------------------------
  // The step executor

  private async execute(planned: Planned): Promise<RegisterResult> {
    const { step } = planned;
    if (step.status === 'skipped') {
      this.failed.add(step.urn);
      return { urn: step.urn, id: '', outputs: {}, failed: true };
    }
    if (this.preview) {
      // Nothing is sent to the provider: the step is only planned (no progress events).
      const result = await this.apply(planned);
      step.status = 'done';
      step.outputs = result.outputs;
      return result;
    }
    return this.pool.run(async () => {
      if (this.cancelled) throw new DeploymentCancelled();
      step.status = 'running';
      step.startedAt = performance.now();
      this.options.onEvent?.({ kind: 'step', step });
      try {
        const result = await this.apply(planned);
        step.status = 'done';
        step.id = result.id;
        step.outputs = result.outputs;
        return result;
      } catch (err) {
        step.status = 'failed';
        step.error = err instanceof Error ? err.message : String(err);
        this.failed.add(step.urn);
        this.fail(step.error, step.urn);
        if (!this.options.continueOnError) this.cancel();
        return { urn: step.urn, id: '', outputs: {}, failed: true };
      } finally {
        step.endedAt = performance.now();
        this.options.onEvent?.({ kind: 'step', step });
      }
    });
  }

  private async apply({ step, goal, old, dynamic }: Planned): Promise<RegisterResult> {
    const inputs = step.inputs ?? goal.inputs;
    const ref = { name: goal.name, urn: step.urn, type: goal.type };
    const done = (entry: StateResource): RegisterResult => ({
      urn: step.urn,
      id: entry.id,
      outputs: entry.outputs,
      failed: false,
    });
    if (this.preview) {
      const outputs = step.op === 'same' && old ? old.outputs : this.secretOutputs(inputs, goal);
      return { urn: step.urn, id: step.op === 'same' && old ? old.id : '', outputs, failed: false };
    }
    if (!dynamic) {
      const entry = this.store(step, goal, old, {
        id: old?.id ?? `sandbox-simulated-${randomUUID()}`,
        outputs: this.secretOutputs(inputs, goal),
      });
      return done(entry);
    }
    const host = await this.providerHost();
    switch (step.op) {
      case 'same': {
        return done(
          this.store(step, goal, old, { id: old!.id, outputs: old!.outputs, keepInitErrors: true }),
        );
      }
      case 'create': {
        const created = await this.guard(step, goal, undefined, () => host.create(ref, inputs));
        return done(
          this.store(step, goal, undefined, {
            id: created.id,
            outputs: this.secretOutputs(created.properties, goal),
          }),
        );
      }
      case 'update': {
        const { properties } = await this.guard(step, goal, old, () =>
          host.update(old!.id, ref, old!.outputs, inputs, old!.inputs),
        );
        return done(
          this.store(step, goal, old, { id: old!.id, outputs: this.secretOutputs(properties, goal) }),
        );
      }
      case 'replace': {
        // The engine re-checks without olds: defaults are recomputed for the replacement.
        const rechecked = await host.check(ref, {}, goal.inputs);
        if (rechecked.failures.length > 0) {
          throw new Error(
            rechecked.failures.map((f) => `${f.property || '(resource)'}: ${f.reason}`).join('; '),
          );
        }
        step.inputs = rechecked.inputs;
        if (goal.deleteBeforeReplace) {
          await host.delete(old!.id, ref, old!.outputs, old!.inputs);
          this.remove(old!);
          const created = await this.guard(step, goal, undefined, () => host.create(ref, rechecked.inputs));
          return done(
            this.store(step, goal, undefined, {
              id: created.id,
              outputs: this.secretOutputs(created.properties, goal),
            }),
          );
        }
        const created = await this.guard(
          step,
          goal,
          undefined,
          () => host.create(ref, rechecked.inputs),
          old,
        );
        const entry = this.store(
          step,
          goal,
          undefined,
          { id: created.id, outputs: this.secretOutputs(created.properties, goal) },
          old,
        );
        await host.delete(old!.id, ref, old!.outputs, old!.inputs);
        this.remove(old!);
        return done(entry);
      }
      default:
        throw new Error(`unexpected step ${step.op}`);
    }
  }

  /** Runs a Create/Update; a partial failure is stored with its init errors before the error goes on. */
  private async guard<T>(
    step: StepRecord,
    goal: Goal,
    old: StateResource | undefined,
    call: () => Promise<T>,
    replacing?: StateResource,
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ProviderError && err.partial) {
        this.store(
          step,
          goal,
          old,
          {
            id: err.partial.id || old?.id || '',
            outputs: this.secretOutputs(err.partial.properties, goal),
            initErrors: err.partial.reasons,
          },
          replacing,
        );
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // State

  /** The live (not pending-delete) entry of a URN. */
  live(urn: string): StateResource | undefined {
    return this.state.resources.find((r) => !r.delete && this.urnOf(r) === urn);
  }

  urnOf(r: StateResource): string {
    return entryUrn(r, this.options.stack, this.options.project);
  }

  private store(
    step: StepRecord,
    goal: Goal,
    old: StateResource | undefined,
    result: { id: string; outputs: PropertyMap; initErrors?: string[]; keepInitErrors?: boolean },
    replacing?: StateResource,
  ): StateResource {
    const entry: StateResource = old ?? { name: goal.name, id: result.id, inputs: {}, outputs: {} };
    entry.id = result.id;
    entry.inputs = step.inputs ?? goal.inputs;
    entry.outputs = result.outputs;
    entry.urn = step.urn;
    entry.type = goal.type;
    entry.parent = goal.parent || undefined;
    entry.dependencies = goal.dependencies;
    if (!result.keepInitErrors) {
      if (result.initErrors?.length) entry.initErrors = result.initErrors;
      else delete entry.initErrors;
    }
    if (step.simulated) entry.simulated = true;
    if (!old) {
      // A replaced resource stays in the state, pending deletion, until its Delete succeeds.
      if (replacing) replacing.delete = true;
      const at = replacing ? this.state.resources.indexOf(replacing) : -1;
      if (at >= 0) this.state.resources.splice(at, 0, entry);
      else if (!this.state.resources.includes(entry)) this.state.resources.push(entry);
    }
    this.save();
    return entry;
  }

  remove(entry: StateResource): void {
    const at = this.state.resources.indexOf(entry);
    if (at >= 0) this.state.resources.splice(at, 1);
    this.save();
  }

  save(): void {
    this.options.store.save(this.state);
  }

  private secretOutputs(outputs: PropertyMap, goal: Goal): PropertyMap {
    if (goal.additionalSecretOutputs.length === 0) return outputs;
    const result = { ...outputs };
    for (const key of goal.additionalSecretOutputs) {
      if (Object.hasOwn(result, key) && !isSecret(result[key])) result[key] = secret(result[key]);
    }
    return result;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }
}
