/**
 * The LogReplayMigration dynamic provider: thin glue between the engine's calls and the pure workflow in
 * core/lrs. Azure and storage adapters are loaded only by the methods that call Azure, so preview stays fast.
 */
import { iso } from '../core/clock';
import { MigrationError } from '../core/errors';
import { checkLrsInputs, type LrsInputs, lrsTarget } from '../core/lrs/inputs';
import {
  converge,
  type LrsContext,
  lrsOutputs,
  type Observation,
  OWNER_TAG,
  observe,
  ownerToken,
  phaseOf,
  planComplete,
  planCreate,
  planDelete,
  planUpdate,
  stop,
} from '../core/lrs/workflow';
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

function context(i: Ready, raw: Props): { op: OperationContext; lrs: LrsContext } {
  const op = new OperationContext(resourceLabel(KIND, raw, i.databaseName), [i.storageContainerSasToken]);
  const { createLrsArm } = require('../azure/lrs') as typeof import('../azure/lrs');
  const { createBackupStorage } = require('../storage/blob') as typeof import('../storage/blob');
  const location = checkContainerUri(i.storageContainerUri ?? '').location;
  const lrs: LrsContext = {
    arm: createLrsArm({
      managedInstanceId: i.managedInstanceId,
      databaseName: i.databaseName,
      armEndpoint: i.armEndpoint,
      pollIntervalInMs: i.pollIntervalInMs,
      operationDeadlineInMs: Math.max(i.startDeadlineInMs, i.completeDeadlineInMs),
      log: op.say,
    }),
    storage:
      !i.useManagedIdentity && location && i.storageContainerSasToken
        ? createBackupStorage(location, i.storageContainerSasToken)
        : undefined,
    clock: op.clock,
    log: op.say,
    wait: op.wait,
  };
  return { op, lrs };
}

function outputs(i: Ready, o: Observation, olds: Props, now: number, raw: Props): Props {
  const completed = phaseOf(o) === 'completed';
  const startedAt = typeof olds.startedAt === 'string' ? olds.startedAt : o.database ? iso(now) : undefined;
  const completedAt =
    typeof olds.completedAt === 'string' ? olds.completedAt : completed ? iso(now) : undefined;
  return { ...lrsOutputs(i, o, { startedAt, completedAt }), ...named(raw) };
}

/** Best effort: what is there now, for a partial-failure record. */
async function partial(i: Ready, lrs: LrsContext, olds: Props, now: number, raw: Props) {
  try {
    const o = await observe(lrs);
    // Record only a database this resource started: never adopt someone else's into the stack.
    if (!o.database || o.database.tags?.[OWNER_TAG] !== ownerToken(i)) return undefined;
    return { id: databaseId(i), properties: outputs(i, o, olds, now, raw) };
  } catch {
    return olds.databaseId ? { id: databaseId(i), properties: olds } : undefined;
  }
}

export const logReplayMigration = {
  async check(olds: Props, news: Props) {
    const c = checkLrsInputs(olds, news, Date.now());
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
    const { op, lrs } = context(i, news);
    const started = op.clock.now();
    try {
      const o = await converge(i, lrs);
      return {
        id: databaseId(i),
        outs: plain(outputs(i, o, { startedAt: iso(started) }, op.clock.now(), news)),
      };
    } catch (e) {
      const p = await partial(i, lrs, { startedAt: iso(started) }, op.clock.now(), news);
      throw op.failure(e, p, news);
    }
  },

  async update(id: string, olds: Props, news: Props) {
    const i = parse(news, true);
    const { op, lrs } = context(i, news);
    try {
      if (olds.startedAt) {
        const now = await observe(lrs);
        if (!now.database) {
          throw new MigrationError(
            'DatabaseVanished',
            `Database ${i.databaseName} is no longer on the managed instance.`,
            {
              hint: 'it was dropped outside Pulumi; the provider does not restart a migration implicitly: destroy this resource and create it again to start over',
            },
          );
        }
      }
      const o = await converge(i, lrs);
      return { outs: plain(outputs(i, o, olds, op.clock.now(), news)) };
    } catch (e) {
      const p = (await partial(i, lrs, olds, op.clock.now(), news)) ?? { id, properties: olds };
      throw op.failure(e, p, news);
    }
  },

  async read(id: string, props: Props) {
    const i = lrsTarget(props);
    const { op, lrs } = context(i, props);
    try {
      const o = await observe(lrs);
      return { id, props: plain(outputs(i, o, props, op.clock.now(), props)) };
    } catch (e) {
      throw op.failure(e);
    }
  },

  async delete(_id: string, props: Props) {
    const i = lrsTarget({ ...props, complete: false });
    const { op, lrs } = context(i, props);
    op.say(formatPlan('delete plan', planDelete(props)));
    try {
      await stop(i, lrs);
    } catch (e) {
      throw op.failure(e);
    }
  },
};
