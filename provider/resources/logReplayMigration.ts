/**
 * The LogReplayMigration dynamic provider: thin glue between the engine's calls and the pure workflow in
 * core/lrs. Azure and storage adapters are loaded only by the methods that call Azure, so preview stays fast.
 */
import { randomUUID } from 'node:crypto';
import { iso } from '../core/clock';
import { checkLrsInputs, type LrsInputs, lrsTarget } from '../core/lrs/inputs';
import {
  converge,
  type LrsContext,
  type LrsRecord,
  lrsOutputs,
  type Observation,
  OWNER_TAG,
  observe,
  phaseOf,
  planComplete,
  planCreate,
  planDelete,
  planUpdate,
  stop,
} from '../core/lrs/workflow';
import { MAX_RESTORES_PER_INSTANCE, RestoreSlots } from '../core/lrs/slots';
import { conditional, formatPlan } from '../core/plan';
import { checkContainerUri } from '../core/storageUri';
import { isUnknown } from '../core/unknown';
import {
  checkResult,
  named,
  OperationContext,
  plain,
  resourceLabel,
  resourceLogger,
  sayUnknowns,
  validInputs,
} from '../runtime/context';

type Props = Record<string, unknown>;
type Ready = LrsInputs & { managedInstanceId: string; databaseName: string };

const KIND = 'LogReplayMigration';

function parse(news: Props, started = false): Ready {
  return validInputs<Ready>(checkLrsInputs({}, news, Date.now(), { started }));
}

function databaseId(i: Ready): string {
  return `${i.managedInstanceId}/databases/${i.databaseName}`;
}

/** Restore slots per managed instance, shared by the resources this provider process runs (one host per stack). */
const SLOTS = new RestoreSlots();

/**
 * The longest an operation may take: the deadlines of the waits it can run in turn (start, then the restore of
 * the last backup and completion when `complete`; a started migration does not start again unless its database
 * is gone, hence at least the start deadline). Every ARM request is bounded by it, also those outside a wait.
 */
function operationBudget(i: Ready, started: boolean): number {
  const completing = i.complete === true ? i.restoreDeadlineInMs + i.completeDeadlineInMs : 0;
  return Math.max(i.startDeadlineInMs, (started ? 0 : i.startDeadlineInMs) + completing);
}

function context(
  i: Ready,
  raw: Props,
  operationDeadlineInMs?: number,
): { op: OperationContext; lrs: LrsContext } {
  const op = new OperationContext(resourceLabel(KIND, raw, i.databaseName), [i.storageContainerSasToken]);
  const { createLrsArm } = require('../azure/lrs') as typeof import('../azure/lrs');
  const { createBackupStorage } = require('../storage/blob') as typeof import('../storage/blob');
  const location = checkContainerUri(i.storageContainerUri ?? '').location;
  const lrs: LrsContext = {
    arm: createLrsArm({
      managedInstanceId: i.managedInstanceId,
      databaseName: i.databaseName,
      armEndpoint: i.armEndpoint,
      log: op.say,
      operationDeadlineInMs,
    }),
    storage:
      !i.useManagedIdentity && location && i.storageContainerSasToken
        ? createBackupStorage(location, i.storageContainerSasToken)
        : undefined,
    slots: SLOTS,
    clock: op.clock,
    log: op.say,
    wait: op.wait,
  };
  return { op, lrs };
}

/**
 * The owner token: random, made once at create and kept in state, so it is unique to the stack and resource
 * (a hash of instance and database would let a second stack declaring the same database take it over).
 */
function newRecord(): LrsRecord {
  return { owner: `lrs-${randomUUID()}` };
}

/** The record stored in outputs by an earlier operation. */
function recordOf(props: Props): LrsRecord {
  const str = (k: string) => (typeof props[k] === 'string' ? (props[k] as string) : undefined);
  return {
    // State written before owner tokens were random has none: nothing can be proven to be ours then.
    owner: str('owner') ?? `lrs-unknown-${randomUUID()}`,
    startOperationUrl: str('startOperationUrl'),
    completeOperationUrl: str('completeOperationUrl'),
    completionRequestedAt: str('completionRequestedAt'),
    startedAt: str('startedAt'),
    completedAt: str('completedAt'),
  };
}

function outputs(i: Ready, o: Observation, record: LrsRecord, now: number, raw: Props): Props {
  if (phaseOf(o) === 'completed') record.completedAt ??= iso(now);
  return { ...lrsOutputs(i, o, record), ...named(raw) };
}

/** Best effort: what is there now, for a partial-failure record. */
async function partial(i: Ready, lrs: LrsContext, record: LrsRecord, olds: Props, now: number, raw: Props) {
  try {
    const o = await observe(i, lrs, record);
    // Record only a database this resource started: never adopt someone else's into the stack.
    if (!o.database || o.database.tags?.[OWNER_TAG] !== record.owner) return undefined;
    return { id: databaseId(i), properties: outputs(i, o, record, now, raw) };
  } catch {
    if (olds.databaseId) return { id: databaseId(i), properties: { ...olds, ...record } };
    // The service accepted our start (record.startedAt), but the state cannot be read now (the same fault that
    // failed the operation): record the owner anyway, or the next run creates again with a new owner token and
    // refuses its own database as foreign (DatabaseExists).
    if (record.startedAt)
      return { id: databaseId(i), properties: outputs(i, { database: undefined }, record, now, raw) };
    return undefined;
  }
}

export const logReplayMigration = {
  async check(olds: Props, news: Props) {
    const c = checkLrsInputs(olds, news, Date.now());
    const { managedInstanceId: mi, databaseName: db } = c.inputs;
    if (
      Object.keys(olds).length === 0 &&
      c.failures.length === 0 &&
      typeof mi === 'string' &&
      db &&
      !isUnknown(mi)
    ) {
      // Issue 10: a wave beyond the service's limit is said in preview (the starts beyond it wait for a slot).
      const n = SLOTS.declare(mi, db);
      if (n > MAX_RESTORES_PER_INSTANCE) {
        c.warnings.push({
          property: 'managedInstanceId',
          message: `this deployment starts ${n} Log Replay Service restores on ${mi.split('/').pop()}, and at most ${MAX_RESTORES_PER_INSTANCE} run at once on one managed instance: this one waits for a free slot within startDeadlineInMs and fails after it; split the wave (fewer LogReplayMigration resources per instance at a time) or raise startDeadlineInMs`,
        });
      }
    }
    return checkResult(KIND, c.inputs.databaseName, olds, news, c, () => planCreate(c.inputs));
  },

  async diff(_id: string, olds: Props, news: Props) {
    const c = checkLrsInputs({}, news, Date.now(), { started: true });
    let steps = planUpdate(olds, c.inputs);
    if (isUnknown(news.complete) && olds.complete !== true) {
      // Not known in preview: say what happens if it turns out true.
      steps = conditional('complete turns out true', planComplete(c.inputs));
    }
    const settings = [
      'lastBackupName',
      'startDeadlineInMs',
      'restoreDeadlineInMs',
      'completeDeadlineInMs',
      'pollIntervalInMs',
      'armEndpoint',
      'complete',
    ].filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify((c.normalized as Props)[k] ?? null));
    const changes = steps.length > 0 || settings.length > 0;
    if (changes) {
      const log = resourceLogger(resourceLabel(KIND, news, news.databaseName ?? olds.databaseName));
      sayUnknowns(log, news);
      log.info(
        formatPlan(
          'update plan',
          steps.length ? steps : [{ action: `record new settings (${settings.join(', ')}); no Azure call` }],
        ),
      );
    }
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(news: Props) {
    const i = parse(news);
    const { op, lrs } = context(i, news, operationBudget(i, false));
    const record = newRecord();
    try {
      const o = await converge(i, lrs, record);
      return { id: databaseId(i), outs: plain(outputs(i, o, record, op.clock.now(), news)) };
    } catch (e) {
      const p = await partial(i, lrs, record, {}, op.clock.now(), news);
      throw op.failure(e, p, news);
    }
  },

  async update(id: string, olds: Props, news: Props) {
    const i = parse(news, true);
    const record = recordOf(olds);
    const { op, lrs } = context(i, news, operationBudget(i, record.startedAt !== undefined));
    try {
      const o = await converge(i, lrs, record, olds);
      return { outs: plain(outputs(i, o, record, op.clock.now(), news)) };
    } catch (e) {
      const p = (await partial(i, lrs, record, olds, op.clock.now(), news)) ?? { id, properties: olds };
      throw op.failure(e, p, news);
    }
  },

  async read(id: string, props: Props) {
    const i = lrsTarget(props);
    // A refresh is a few reads: they hold to the start deadline, the shortest wait the resource has.
    const { op, lrs } = context(i, props, i.startDeadlineInMs);
    try {
      const record = recordOf(props);
      const o = await observe(i, lrs, record);
      return { id, props: plain(outputs(i, o, record, op.clock.now(), props)) };
    } catch (e) {
      throw op.failure(e);
    }
  },

  async delete(_id: string, props: Props) {
    const i = lrsTarget({ ...props, complete: false });
    // A stop waits for the drop within the start deadline.
    const { op, lrs } = context(i, props, i.startDeadlineInMs);
    op.say(formatPlan('delete plan', planDelete(props)));
    try {
      await stop(i, lrs, recordOf(props));
    } catch (e) {
      throw op.failure(e);
    }
  },
};
