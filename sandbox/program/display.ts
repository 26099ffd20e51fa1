/** Prints an operation roughly as the Pulumi CLI does: live lines, then the plan/result and the outputs. */
import { isSecret, type PropertyMap, UNKNOWN } from '../engine/host';
import type { EngineEvent, OperationResult, StepRecord } from './types';
import { urnName } from './urn';

const VERBS: Record<string, [string, string]> = {
  create: ['creating', 'created'],
  update: ['updating', 'updated'],
  replace: ['replacing', 'replaced'],
  delete: ['deleting', 'deleted'],
  same: ['', ''],
  refresh: ['refreshing', 'refreshed'],
};

const SYMBOL: Record<string, string> = {
  create: '+',
  update: '~',
  replace: '+-',
  delete: '-',
  same: ' ',
  refresh: '~',
};

/** Live lines: program and provider output, warnings and errors (debug is left out, as without -v). */
export function liveLine(event: EngineEvent): string | undefined {
  switch (event.kind) {
    case 'output':
      return event.line.trim() ? `    ${event.source === 'host' ? '|' : '>'} ${event.line}` : undefined;
    case 'diagnostic': {
      const d = event.diagnostic;
      if (d.severity === 'debug' || d.severity === 'info') {
        return d.severity === 'info' && d.message.trim() ? `    > ${d.message.trim()}` : undefined;
      }
      const where = d.urn ? ` ${urnName(d.urn)}` : '';
      return `    ${d.severity}:${where} ${d.message}`;
    }
    case 'step': {
      const s = event.step;
      if (s.op === 'same') return undefined;
      if (s.status === 'running') return `    ${VERBS[s.op][0]} ${label(s)}…`;
      if (s.status === 'done') return `    ${VERBS[s.op][1]} ${label(s)}${duration(s)}`;
      if (s.status === 'failed') return `    ${s.op} of ${label(s)} FAILED`;
      return undefined;
    }
  }
}

export function summary(result: OperationResult): string[] {
  const lines: string[] = [];
  const title = result.operation === 'preview' ? 'Plan' : 'Resources';
  lines.push(`  ${title}:`);
  for (const s of result.steps) {
    const state = s.status === 'failed' ? ' FAILED' : s.status === 'skipped' ? ' skipped' : '';
    lines.push(
      `   ${(SYMBOL[s.op] ?? ' ').padEnd(2)} ${s.op.padEnd(7)} ${label(s)}${s.simulated ? ' (simulated)' : ''}${state}`,
    );
  }
  const counts = new Map<string, number>();
  for (const s of result.steps) counts.set(s.op, (counts.get(s.op) ?? 0) + 1);
  lines.push(`  ${[...counts].map(([op, n]) => `${n} ${op}`).join(', ') || 'no resources'}`);
  const outputs = Object.entries(result.outputs);
  if (outputs.length > 0) {
    lines.push('  Outputs:');
    for (const [key, value] of outputs) lines.push(`    ${key}: ${show(value)}`);
  }
  if (!result.ok) {
    lines.push('  Errors:');
    for (const e of result.errors) lines.push(`    ${e}`);
  }
  lines.push(
    `  Duration: ${(result.durationMs / 1000).toFixed(1)} s, provider hosts: ${result.hostPids.length}`,
  );
  return lines;
}

/** A value as `pulumi stack output` shows it: secrets as [secret], unknowns as output<unknown>. */
export function show(value: unknown): string {
  return JSON.stringify(mask(value));
}

function mask(value: unknown): unknown {
  if (isSecret(value)) return '[secret]';
  if (value === UNKNOWN) return 'output<unknown>';
  if (Array.isArray(value)) return value.map(mask);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as PropertyMap).map(([k, v]) => [k, mask(v)]));
  }
  return value;
}

function label(s: StepRecord): string {
  const type = s.type.slice(s.type.lastIndexOf(':') + 1);
  return `${type} ${s.name}`;
}

function duration(s: StepRecord): string {
  return s.startedAt !== undefined && s.endedAt !== undefined
    ? ` (${((s.endedAt - s.startedAt) / 1000).toFixed(1)} s)`
    : '';
}
