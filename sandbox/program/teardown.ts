/**
 * The operations that work from the state alone (as the Pulumi engine's refresh and delete steps):
 * `refresh` reads every resource with its stored `__provider`; the deletes of `up` (what the program no longer
 * declares) and of `destroy` run dependents first, antichain by antichain (graph.ts), each in parallel.
 */
import { ProviderError } from '../engine/host';
import type { StateResource } from '../engine/state';
import type { Deployment } from './deployment';
import { deleteAntichains } from './graph';
import type { StepRecord } from './types';
import { isDynamicType } from './urn';

/** Reads every resource (in parallel) and stores what the provider reports; an empty id means it is gone. */
export async function refreshAll(d: Deployment): Promise<void> {
  await Promise.all(
    [...d.state.resources].map((entry) => {
      const urn = d.urnOf(entry);
      const type = entry.type ?? 'pulumi-nodejs:dynamic:Resource';
      const step: StepRecord = { urn, name: entry.name, type, op: 'refresh', status: 'planned' };
      step.simulated = entry.simulated || !isDynamicType(type) || undefined;
      d.steps.push(step);
      if (step.simulated) {
        step.status = 'done';
        return Promise.resolve();
      }
      return d.pool.run(async () => {
        step.status = 'running';
        step.startedAt = performance.now();
        try {
          const host = await d.providerHost();
          const read = await host.read(
            entry.id,
            { name: entry.name, urn, type },
            entry.outputs,
            entry.inputs,
          );
          if (!read.id) {
            d.remove(entry);
            d.diagnose('warning', 'the resource is gone: removed from the state', urn);
          } else {
            entry.id = read.id;
            entry.outputs = read.properties;
            if (read.inputs) entry.inputs = read.inputs;
            d.save();
          }
          step.outputs = read.properties;
          step.status = 'done';
        } catch (err) {
          if (err instanceof ProviderError && err.partial) {
            entry.id = err.partial.id || entry.id;
            entry.outputs = err.partial.properties;
            entry.initErrors = err.partial.reasons;
            d.save();
          }
          step.status = 'failed';
          step.error = err instanceof Error ? err.message : String(err);
          d.fail(step.error, urn);
        } finally {
          step.endedAt = performance.now();
          d.emit({ kind: 'step', step });
        }
      });
    }),
  );
}

/** Deletes `entries` in dependency order, dependents first (in preview: lists them). */
export async function deleteAll(d: Deployment, entries: StateResource[]): Promise<void> {
  for (const chain of deleteAntichains(entries, (r) => d.urnOf(r))) {
    if (d.cancelled) return;
    await Promise.all(chain.map((entry) => deleteOne(d, entry)));
  }
}

async function deleteOne(d: Deployment, entry: StateResource): Promise<void> {
  const urn = d.urnOf(entry);
  const type = entry.type ?? 'pulumi-nodejs:dynamic:Resource';
  const step: StepRecord = {
    urn,
    name: entry.name,
    type,
    op: 'delete',
    status: 'planned',
    inputs: entry.inputs,
    simulated: entry.simulated || !isDynamicType(type) || undefined,
  };
  d.steps.push(step);
  if (d.preview) return;
  await d.pool.run(async () => {
    if (d.cancelled) return;
    step.status = 'running';
    step.startedAt = performance.now();
    d.emit({ kind: 'step', step });
    try {
      if (!step.simulated) {
        const host = await d.providerHost();
        await host.delete(entry.id, { name: entry.name, urn, type }, entry.outputs, entry.inputs);
      } else {
        d.diagnose('warning', `simulated: ${type} is only removed from the state`, urn);
      }
      d.remove(entry);
      step.status = 'done';
    } catch (err) {
      step.status = 'failed';
      step.error = err instanceof Error ? err.message : String(err);
      d.fail(step.error, urn);
      if (!d.options.continueOnError) d.cancel();
    } finally {
      step.endedAt = performance.now();
      d.emit({ kind: 'step', step });
    }
  });
}
