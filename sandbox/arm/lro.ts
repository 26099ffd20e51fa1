import { randomUUID } from 'node:crypto';
import type { SimClock } from '../world/clock';
import type { ServiceError } from '../world/errors';

/**
 * Long-running operations of the ARM stand-in, as Azure SQL runs them: the initial answer carries an
 * `Azure-AsyncOperation` URL (polled for `{"status": …}`) and/or a `Location` URL (202 while running, then the
 * final answer). An operation's outcome is computed from the world each time it is polled, so it completes
 * when simulated time and the world say so.
 */

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export type OperationOutcome =
  { status: 'InProgress' } | { status: 'Succeeded' } | { status: 'Failed' | 'Canceled'; error: ServiceError };

export interface OperationInit {
  /** Operation family, part of the status URLs: `managedDatabase` → …/managedDatabaseAzureAsyncOperation/{id}. */
  kind: string;
  subscriptionId: string;
  location: string;
  /** Brings the world up to date before the outcome is evaluated. */
  touch?: () => Promise<void>;
  /** Current outcome, from the world. */
  evaluate: () => OperationOutcome;
  /** Body of the final 200 of the Location URL (none → 204). */
  result?: () => unknown;
}

export interface Operation extends OperationInit {
  id: string;
  /** Simulated start time. */
  startTime: Date;
  endTime?: Date;
  status: OperationStatus;
  error?: ServiceError;
}

export interface LroOptions {
  /** Retry-After (seconds) sent while an operation runs; 0 lets the client's own poll interval rule. */
  retryAfterSeconds: number;
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

  get(id: string): Operation | undefined {
    return this.operations.get(id.toLowerCase());
  }

  /** Re-evaluates a running operation; a finished one keeps its outcome. */
  async refresh(op: Operation): Promise<Operation> {
    if (op.status !== 'InProgress') return op;
    await op.touch?.();
    const outcome = op.evaluate();
    if (outcome.status === 'InProgress') return op;
    op.status = outcome.status;
    op.endTime = this.clock.date();
    if (outcome.status !== 'Succeeded') op.error = outcome.error;
    return op;
  }

  asyncOperationUrl(op: Operation, baseUrl: string, apiVersion: string | undefined): string {
    return this.url(op, baseUrl, apiVersion, 'AzureAsyncOperation');
  }

  locationUrl(op: Operation, baseUrl: string, apiVersion: string | undefined): string {
    return this.url(op, baseUrl, apiVersion, 'OperationResults');
  }

  retryAfter(): Record<string, string> {
    return { 'Retry-After': String(this.options.retryAfterSeconds) };
  }

  /** Body of the Azure-AsyncOperation status URL. */
  statusBody(op: Operation): Record<string, unknown> {
    return {
      name: op.id,
      status: op.status,
      startTime: op.startTime.toISOString(),
      endTime: op.endTime?.toISOString(),
      error: op.error?.toBody().error,
    };
  }

  private url(op: Operation, baseUrl: string, apiVersion: string | undefined, suffix: string): string {
    const query = apiVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : '';
    return (
      `${baseUrl}/subscriptions/${op.subscriptionId}/providers/Microsoft.Sql/locations/${op.location}` +
      `/${op.kind}${suffix}/${op.id}${query}`
    );
  }
}
