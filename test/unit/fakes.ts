import type { FakeClock } from '../../provider/core/clock';
import type { LrsInputs } from '../../provider/core/lrs/inputs';
import type {
  LrsArmPort,
  ManagedDatabaseView,
  OperationView,
  RestoreDetailsReading,
  RestoreDetailsView,
  StartRestoreRequest,
} from '../../provider/core/lrs/ports';
import type { LrsContext } from '../../provider/core/lrs/workflow';
import { waitFor } from '../../provider/runtime/waiter';

/** Runs `p` to completion, advancing the fake clock whenever the code under test sleeps. */
export async function drive<T>(
  clock: FakeClock,
  p: Promise<T>,
  stepMs = 1000,
  maxSteps = 100_000,
): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < maxSteps && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    if (clock.pending > 0) clock.advance(stepMs);
  }
  return p;
}

/**
 * An in-memory ARM for LRS whose state the test scripts, answering as the recordings show: writes return an
 * operation URL at once (202), restore details of a failed or foreign database are unavailable (500), the start
 * operation stays InProgress until the database is Online. Every call is recorded with the fake time.
 */
export class FakeLrsArm implements LrsArmPort {
  db?: ManagedDatabaseView;
  /** Undefined answers 500 InternalServerError (lrs-ps-stop-foreign-database w5). */
  details?: RestoreDetailsView;
  start?: OperationView;
  completion?: OperationView;
  calls: string[] = [];
  /** Fake time of each call, when a clock is attached. */
  times: number[] = [];
  clock?: { now(): number };
  started?: StartRestoreRequest;
  /**
   * Called at the start of every observation (its first read: the database, or the restore details when the
   * workflow carries the database it read earlier): lets a test move the restore along.
   */
  onPoll?: (arm: FakeLrsArm) => void;
  /** Called once a start PUT is accepted (the fake's world as that PUT left it): lets a test change it. */
  afterStart?: (arm: FakeLrsArm) => void;
  failNext: Partial<Record<keyof LrsArmPort, Error>> = {};

  private record(name: string) {
    this.calls.push(name);
    this.times.push(this.clock?.now() ?? 0);
  }

  private maybeFail(name: keyof LrsArmPort) {
    const e = this.failNext[name];
    if (e) {
      delete this.failNext[name];
      throw e;
    }
  }

  async getInstance() {
    this.record('getInstance');
    return { id: 'mi', location: 'westeurope', tier: 'GeneralPurpose' };
  }
  async getDatabase() {
    this.record('getDatabase');
    this.maybeFail('getDatabase');
    this.onPoll?.(this);
    return this.db ? { ...this.db } : undefined;
  }
  async getRestoreDetails(): Promise<RestoreDetailsReading> {
    const firstOfReading = this.calls[this.calls.length - 1] !== 'getDatabase';
    this.record('getRestoreDetails');
    if (firstOfReading) this.onPoll?.(this);
    return this.details
      ? { ...this.details }
      : { unavailable: { status: 500, code: 'InternalServerError', message: 'An unexpected error occured' } };
  }
  async getOperation(url: string): Promise<OperationView> {
    this.record('getOperation');
    const op = url.includes('complete') ? this.completion : this.start;
    return { ...(op ?? {}), retryAfterMs: 15_000 };
  }
  /** Other databases of the instance (listDatabases answers them, plus `db`). */
  others: ManagedDatabaseView[] = [];
  async listDatabases() {
    this.record('listDatabases');
    return [...this.others, ...(this.db ? [{ ...this.db, name: 'Sales' }] : [])];
  }
  async startRestore(req: StartRestoreRequest) {
    this.record('startRestore');
    this.maybeFail('startRestore');
    this.started = req;
    this.db = { id: 'dbid', status: 'Restoring', tags: req.tags };
    this.details = { status: 'Initializing', numberOfFilesDetected: 0 };
    this.start = { status: 'InProgress' };
    this.afterStart?.(this);
    return { operationUrl: 'https://arm/start/1' };
  }
  async completeRestore(_last: string) {
    this.record('completeRestore');
    this.maybeFail('completeRestore');
    this.completion = { status: 'InProgress' };
    return { operationUrl: 'https://arm/complete/1' };
  }
  async dropDatabase() {
    this.record('dropDatabase');
    this.db = undefined;
    this.details = undefined;
    return { operationUrl: 'https://arm/drop/1' };
  }
  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }
}

export function lrsContext(arm: FakeLrsArm, clock: FakeClock, files: string[] = ['full.bak', 'log1.trn']) {
  const lines: string[] = [];
  arm.clock = clock;
  const ctx: LrsContext = {
    arm,
    storage: { list: async () => ({ files }) },
    clock,
    log: (l) => lines.push(l),
    wait: (o) => waitFor({ ...o, clock, progress: (l) => lines.push(l) }),
  };
  return { ctx, lines };
}

/** LRS inputs of the workflow tests (SAS, last backup log3.trn, nothing to complete, 1 s polls); `over` replaces. */
export const lrsInputs = (over: Partial<LrsInputs> = {}) => ({
  managedInstanceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi',
  databaseName: 'Sales',
  storageContainerUri: 'https://acct.blob.core.windows.net/sales/db1',
  storageContainerSasToken: 'sp=rl&sig=x',
  useManagedIdentity: false,
  collation: 'SQL_Latin1_General_CP1_CI_AS',
  lastBackupName: 'log3.trn',
  autoComplete: false,
  complete: false,
  startDeadlineInMs: 60_000,
  restoreDeadlineInMs: 120_000,
  completeDeadlineInMs: 60_000,
  pollIntervalInMs: 1_000,
  ...over,
});
