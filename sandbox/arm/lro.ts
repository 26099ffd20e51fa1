import { randomUUID } from 'node:crypto';
import type { SimClock } from '../world/clock';
import type { ServiceError } from '../world/errors';

/**
 * Long-running operations of the ARM stand-in, as Azure SQL runs them. Every write answers 202 with a stub body
 * `{operation, startTime}` and both an `Azure-AsyncOperation` URL (polled for `{name, status, startTime}`, plus
 * `error` when it failed) and a `Location` URL (202 while running, then the final answer): recordings
 * lrs-continuous t2/t3, lrs-cancel u6, lrs-ps-stop x8, link-errors 6/9, link-multi-database-update 12/27.
 * An operation's outcome is computed from the world each time it is polled (or when simulated time is moved,
 * see `settleDue`), so it completes when simulated time and the world say so.
 */

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export type OperationOutcome =
  { status: 'InProgress' } | { status: 'Succeeded' } | { status: 'Failed' | 'Canceled'; error: ServiceError };

export interface OperationInit {
  /** Operation family, part of the status URLs: `managedDatabase` → …/managedDatabaseAzureAsyncOperation/{id}. */
  kind: string;
  subscriptionId: string;
  /**
   * Resource group of the operation URLs. The service scopes them by resource group since 2021 (lrs-ps-failed-start
   * v1, lrs-ps-stop-foreign-database w3, every link recording); the 2020 recordings show subscription-scoped ones.
   * acceptedOperation sets it from the request; without one the URL is subscription-scoped.
   */
  resourceGroup?: string;
  location: string;
  /** Brings the world up to date before the outcome is evaluated. */
  touch?: () => Promise<void>;
  /** Current outcome, from the world. */
  evaluate: () => OperationOutcome;
  /** Body of the final answer of the Location URL (none → 204, as lrs-ps-stop y2 shows for a drop). */
  result?: () => unknown;
  /** Status of that final answer when it has a body: 200, or 201 as completeRestore's (lrs-ps-complete 36). */
  resultStatus?: 200 | 201;
}

export interface Operation extends OperationInit {
  id: string;
  /** Simulated start time. */
  startTime: Date;
  endTime?: Date;
  status: OperationStatus;
  error?: ServiceError;
  /** An injected end (faults `lroFailed` / `lroCanceled`): from simulated time `at` on, whatever the world did. */
  forced?: { at: number; status: 'Failed' | 'Canceled'; error: ServiceError };
}

export interface LroOptions {
  /**
   * Retry-After of operation answers: 'absent' (every az CLI recording), or the seconds sent on the 202 and on every
   * Azure-AsyncOperation poll, terminal ones included, and on Location polls while running (the PowerShell
   * recordings: lrs-ps-autocomplete 31/42-51, lrs-ps-failed-start v3, lrs-ps-stop-foreign-database w4; their final
   * Location answers have none: lrs-ps-complete 36, lrs-ps-stop y2).
   */
  retryAfter: 'absent' | number;
}

export class LroManager {
  private readonly operations = new Map<string, Operation>();

  constructor(
    private readonly clock: SimClock,
    readonly options: LroOptions,
  ) {}

  start(init: OperationInit): Operation {
    const op: Operation = { ...init, id: randomUUID(), startTime: this.clock.date(), status: 'InProgress' };
    this.operations.set(op.id, op);
    return op;
  }

  /** Operations still running (for tests: was a write's operation still in flight at a moment). */
  inProgress(): Operation[] {
    return [...this.operations.values()].filter((op) => op.status === 'InProgress');
  }

  get(id: string): Operation | undefined {
    return this.operations.get(id.toLowerCase());
  }

  /** Re-evaluates a running operation; a finished one keeps its outcome. */
  async refresh(op: Operation): Promise<Operation> {
    if (op.status !== 'InProgress') return op;
    if (this.forcedEnd(op)) return op;
    await op.touch?.();
    this.conclude(op);
    return op;
  }

  /**
   * Lets every running operation finish on simulated time, polled or not (the service completes an operation
   * whoever watches it; the ARM server calls this before each request, the world on every tick). The world is
   * not brought up to date for it (no storage scans): each operation judges the world as it stands.
   */
  settle(): void {
    for (const op of this.operations.values()) {
      if (op.status === 'InProgress' && !this.forcedEnd(op)) this.conclude(op);
    }
  }

  /** Makes a running operation end Failed or Canceled `afterMs` of simulated time after its start. */
  force(op: Operation, end: { status: 'Failed' | 'Canceled'; error: ServiceError; afterMs?: number }): void {
    op.forced = { at: op.startTime.getTime() + (end.afterMs ?? 0), status: end.status, error: end.error };
  }

  private forcedEnd(op: Operation): boolean {
    if (!op.forced || this.clock.now() < op.forced.at) return false;
    op.status = op.forced.status;
    op.error = op.forced.error;
    op.endTime = this.clock.date();
    return true;
  }

  private conclude(op: Operation): void {
    const outcome = op.evaluate();
    if (outcome.status === 'InProgress') return;
    op.status = outcome.status;
    op.endTime = this.clock.date();
    if (outcome.status !== 'Succeeded') op.error = outcome.error;
  }

  asyncOperationUrl(op: Operation, baseUrl: string, apiVersion: string | undefined): string {
    return this.url(op, baseUrl, apiVersion, 'AzureAsyncOperation');
  }

  locationUrl(op: Operation, baseUrl: string, apiVersion: string | undefined): string {
    return this.url(op, baseUrl, apiVersion, 'OperationResults');
  }

  retryAfter(): Record<string, string> {
    const value = this.options.retryAfter;
    return value === 'absent' ? {} : { 'Retry-After': String(value) };
  }

  /** The stub body of the 202 that starts an operation (lrs-continuous t2, link-errors 9 …). */
  stubBody(op: Operation, operation: string): Record<string, unknown> {
    return { operation, startTime: armTime(op.startTime) };
  }

  /**
   * Body of the Azure-AsyncOperation status URL: `{name, status, startTime}` while running and when it succeeded,
   * with `error` when it failed (lrs-ps-failed-start v3, link-errors 7); no endTime in any recording. Canceled is
   * not recorded: it carries the error too (the ARM async-operation contract requires one for failed and canceled).
   */
  statusBody(op: Operation): Record<string, unknown> {
    return {
      name: op.id,
      status: op.status,
      startTime: armTime(op.startTime),
      ...(op.error && op.status !== 'Succeeded' ? { error: op.error.toBody().error } : {}),
    };
  }

  private url(op: Operation, baseUrl: string, apiVersion: string | undefined, suffix: string): string {
    const query = apiVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : '';
    const scope = op.resourceGroup ? `/resourceGroups/${op.resourceGroup}` : '';
    return (
      `${baseUrl}/subscriptions/${op.subscriptionId}${scope}/providers/Microsoft.Sql/locations/${op.location}` +
      `/${op.kind}${suffix}/${op.id}${query}`
    );
  }
}

/**
 * A time as the service writes it: ISO 8601 with the fraction's trailing zeros dropped ("2020-09-03T14:13:28.31Z",
 * lrs-ps-stop x3).
 */
export function armTime(date: Date): string {
  return date
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace(/\.Z$/, 'Z');
}
