/** What the program runner reports: steps, diagnostics, and the lines printed by the program and the host. */
import type { CheckFailure, DiffChanges, PropertyMap } from '../engine/host';

export type Operation = 'preview' | 'up' | 'refresh' | 'destroy';

export type StepOp = 'create' | 'update' | 'replace' | 'same' | 'delete' | 'refresh';

export type StepStatus = 'planned' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepRecord {
  urn: string;
  name: string;
  type: string;
  op: StepOp;
  status: StepStatus;
  /** Simulated (not a dynamic resource): no provider call was made. */
  simulated?: boolean;
  /** Check failures (the resource was refused before any other call). */
  failures?: CheckFailure[];
  /** Diff's answer (after the engine's own comparison for 'unknown'); undefined for create/delete. */
  diffChanges?: DiffChanges;
  replaces?: string[];
  /** The checked inputs (secrets as signature objects); the stored inputs for a delete. */
  inputs?: PropertyMap;
  id?: string;
  outputs?: PropertyMap;
  error?: string;
  /** performance.now() when the provider call started / ended (the engine's step timeline). */
  startedAt?: number;
  endedAt?: number;
}

export type Severity = 'debug' | 'info' | 'warning' | 'error';

export interface Diagnostic {
  severity: Severity;
  message: string;
  /** The resource the message is about ('' for the stack). */
  urn: string;
}

export type EngineEvent =
  | { kind: 'step'; step: StepRecord }
  | { kind: 'diagnostic'; diagnostic: Diagnostic }
  | { kind: 'output'; source: 'program' | 'host'; stream: 'stdout' | 'stderr'; line: string };

export interface OperationResult {
  operation: Operation;
  /** True when the operation did everything it should (program, every step, the deletes). */
  ok: boolean;
  steps: StepRecord[];
  /** Stack outputs (secrets as signature objects). For preview: what the program exported (may hold unknowns). */
  outputs: PropertyMap;
  diagnostics: Diagnostic[];
  /** Errors that made the operation fail, one line each. */
  errors: string[];
  /** Exit code of the program process (preview/up). */
  programExitCode?: number;
  /** Dynamic provider hosts started by this operation (the engine starts at most one) and their pids. */
  hostPids: number[];
  /** Wall time of the operation, ms. */
  durationMs: number;
}

/** A registration as the program sent it (RegisterResourceRequest, decoded). */
export interface Goal {
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  remote: boolean;
  /** Inputs: secrets as signature objects, unknowns as the UNKNOWN sentinel (preview). */
  inputs: PropertyMap;
  /** URNs this resource depends on: `dependencies` of the request plus every property dependency. */
  dependencies: string[];
  additionalSecretOutputs: string[];
  deleteBeforeReplace: boolean;
  provider: string;
}

export interface RegisterResult {
  urn: string;
  id: string;
  outputs: PropertyMap;
  failed: boolean;
}

/** The monitor answers UNAVAILABLE: the deployment was cancelled after an error (the program then stops). */
export class DeploymentCancelled extends Error {
  constructor(message = 'the deployment was cancelled after an error') {
    super(message);
    this.name = 'DeploymentCancelled';
  }
}
