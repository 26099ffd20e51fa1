import type { FakeClock } from '../../provider/core/clock';
import type {
  LrsArmPort,
  ManagedDatabaseView,
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

/** An in-memory ARM for LRS whose state the test scripts; every call is recorded. */
export class FakeLrsArm implements LrsArmPort {
  db?: ManagedDatabaseView;
  details?: RestoreDetailsView;
  calls: string[] = [];
  started?: StartRestoreRequest;
  /** Called on every restore-details read: lets a test move the restore along. */
  onPoll?: (arm: FakeLrsArm) => void;
  failNext: Partial<Record<keyof LrsArmPort, Error>> = {};

  private maybeFail(name: keyof LrsArmPort) {
    const e = this.failNext[name];
    if (e) {
      delete this.failNext[name];
      throw e;
    }
  }

  async getInstance() {
    this.calls.push('getInstance');
    return { id: 'mi', location: 'westeurope', tier: 'GeneralPurpose' };
  }
  async getDatabase() {
    this.calls.push('getDatabase');
    this.maybeFail('getDatabase');
    return this.db ? { ...this.db } : undefined;
  }
  async getRestoreDetails() {
    this.calls.push('getRestoreDetails');
    this.onPoll?.(this);
    return this.details ? { ...this.details } : undefined;
  }
  async startRestore(req: StartRestoreRequest) {
    this.calls.push('startRestore');
    this.maybeFail('startRestore');
    this.started = req;
    this.db = { id: 'dbid', status: 'Restoring', tags: req.tags };
    this.details = { type: 'LRSRestore', status: 'Waiting', numberOfFilesDetected: 0 };
  }
  async completeRestore(_last: string) {
    this.calls.push('completeRestore');
    this.maybeFail('completeRestore');
    this.details = { ...this.details, status: 'Completing' };
  }
  async dropDatabase() {
    this.calls.push('dropDatabase');
    this.db = undefined;
    this.details = undefined;
  }
  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }
}

export function lrsContext(arm: FakeLrsArm, clock: FakeClock, files: string[] = ['full.bak', 'log1.trn']) {
  const lines: string[] = [];
  const ctx: LrsContext = {
    arm,
    storage: { list: async () => ({ files }) },
    clock,
    log: (l) => lines.push(l),
    wait: (o) => waitFor({ ...o, clock, progress: (l) => lines.push(l) }),
  };
  return { ctx, lines };
}
