/** Helpers for tests through the program runner (real Node runtime + real provider host). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../sandbox/engine/consumer';
import { ProgramRunner, type ProgramRunnerOptions } from '../../sandbox/program/runner';
import type { EngineEvent, OperationResult, StepRecord } from '../../sandbox/program/types';

export const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'program', 'fixtures');

export interface TestRunner extends ProgramRunner {
  /** Every event of every operation, in order. */
  events: EngineEvent[];
  /** Lines the provider host printed, every operation. */
  hostLines: string[];
  /** Lines the program printed (stdout, stderr) and non-debug diagnostics. */
  programLines: string[];
  cleanup(): void;
}

/**
 * A runner on a program directory with its state in a temp dir. TypeScript is transpiled without type checks
 * (PULUMI_NODEJS_TRANSPILE_ONLY, a documented Pulumi setting): the examples are type-checked by `npm run lint`.
 */
export function testRunner(dir: string, options: Partial<ProgramRunnerOptions> = {}): TestRunner {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'sqlmi-program-state-'));
  const events: EngineEvent[] = [];
  const hostLines: string[] = [];
  const programLines: string[] = [];
  const runner = new ProgramRunner({
    dir,
    stack: 'test',
    stateFile: path.join(stateDir, 'state.json'),
    ...options,
    env: { ...(options.env ?? process.env), PULUMI_NODEJS_TRANSPILE_ONLY: 'true' },
    onEvent: (event) => {
      events.push(event);
      if (event.kind === 'output' && event.source === 'host') hostLines.push(event.line);
      if (event.kind === 'output' && event.source === 'program') programLines.push(event.line);
      if (event.kind === 'diagnostic' && event.diagnostic.severity !== 'debug') {
        programLines.push(`${event.diagnostic.severity}: ${event.diagnostic.message}`);
      }
      options.onEvent?.(event);
    },
  }) as TestRunner;
  runner.events = events;
  runner.hostLines = hostLines;
  runner.programLines = programLines;
  runner.cleanup = () => rmSync(stateDir, { recursive: true, force: true });
  return runner;
}

/** The steps of a result by resource name. */
export function stepsByName(result: OperationResult): Record<string, StepRecord> {
  return Object.fromEntries(result.steps.map((s) => [s.name, s]));
}

/** `op` of each step, by name (sorted keys) — compact for deepEqual. */
export function ops(
  result: OperationResult,
  filter: (s: StepRecord) => boolean = () => true,
): Record<string, string> {
  return Object.fromEntries(
    result.steps
      .filter(filter)
      .map((s) => [s.name, s.op] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** A readable failure message for an operation that should have succeeded. */
export function explain(result: OperationResult, runner?: TestRunner): string {
  return [
    `${result.operation} failed: ${result.errors.join(' | ')}`,
    ...(runner ? runner.programLines.slice(-30) : []),
  ].join('\n');
}

/** Index of the first host line matching `re` (-1 when none). */
export function lineIndex(lines: string[], re: RegExp): number {
  return lines.findIndex((l) => re.test(l));
}
