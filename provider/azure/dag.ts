import { parseManagedInstanceId } from '../core/armId';
import { type Clock, formatDuration } from '../core/clock';
import { MigrationError } from '../core/errors';
import type { ReplicationMode } from '../core/link/inputs';
import type { LinkArmPort, LinkDatabaseView, LinkView } from '../core/link/ports';
import { watchFor, watchWindowMs } from '../core/watch';
import { waitFor } from '../runtime/waiter';
import { API_VERSIONS } from './apiVersions';
import { RawArm } from './rawArm';

export interface LinkArmOptions {
  managedInstanceId: string;
  linkName: string;
  armEndpoint?: string | null;
  pollIntervalInMs: number;
  operationDeadlineInMs: number;
  clock: Clock;
  log?: (line: string) => void;
}

/** The wire shape (2025-01-01): the properties are the view's fields, all optional. */
interface DagBody {
  id?: string;
  properties?: Partial<Omit<LinkView, 'id' | 'databases'>> & {
    databases?: (Partial<LinkDatabaseView> & {
      instanceSendReplicationLagSeconds?: number;
      instanceRedoReplicationLagSeconds?: number;
    })[];
  };
}

/** A lag ARM reports; -1 (recorded, link-multi-database-update seq 19) and anything not a number are unknown. */
export function knownLag(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The link (distributed availability group) on the managed instance, api-version 2025-01-01. */
export function createLinkArm(o: LinkArmOptions): LinkArmPort {
  if (!parseManagedInstanceId(o.managedInstanceId)) {
    throw new MigrationError('InvalidInput', `managedInstanceId is not an ARM id: ${o.managedInstanceId}`);
  }
  const arm = new RawArm(o.armEndpoint, o.log, undefined, { deadlineInMs: o.operationDeadlineInMs });
  const dagPath = `${o.managedInstanceId}/distributedAvailabilityGroups/${encodeURIComponent(o.linkName)}`;
  const q = (v: string) => `?api-version=${v}`;
  const dagVersion = q(API_VERSIONS.distributedAvailabilityGroups);
  const lro = {
    deadlineMs: o.operationDeadlineInMs,
    intervalMs: o.pollIntervalInMs,
    sleep: (ms: number) => o.clock.sleep(ms),
    now: () => o.clock.now(),
  };

  /**
   * The DELETE may have acted and its answer was lost (pipeline.ts checked once: the link still there). Its
   * removal runs 11–23 s (recordings README, link-mgmt seq 8–10) and until it ends the link looks as before:
   * the link is watched for it (as a resumed cutover does), never sent a second DELETE. Still there after the
   * watch: the DELETE did not act, or its removal is slow; the outcome stays unknown for the next run.
   */
  async function removalAfterLostAnswer(lost: MigrationError): Promise<void> {
    const watchMs = watchWindowMs(o.operationDeadlineInMs);
    o.log?.(`${lost.message} Watching the link ${o.linkName} for its removal instead.`);
    const gone = await watchFor((w) => waitFor({ ...w, clock: o.clock, progress: o.log }), {
      what: `the removal of the link ${o.linkName} (its DELETE's answer was lost)`,
      poll: async () =>
        (await arm.call('GET', `${dagPath}${dagVersion}`, undefined, `watching the link ${o.linkName}`))
          .status,
      ended: (status) => status === 404,
      describe: (status) => (status === 404 ? 'link removed' : 'link present'),
      waiting: 'the link looks as before',
      until: o.clock.now() + watchMs,
      intervalMs: o.pollIntervalInMs,
      clock: o.clock,
    });
    if (gone) {
      o.log?.(`the link ${o.linkName} is gone: the DELETE whose answer was lost took effect`);
      return;
    }
    throw new MigrationError(
      'AzureOutcomeUnknown',
      `The answer to the DELETE of the link ${o.linkName} was lost, and the link is still there ${formatDuration(watchMs)} later: the DELETE did not act, or its removal is slow. It is not sent a second time in this run.`,
      {
        cause: lost,
        lastState: `link ${o.linkName} present`,
        hint: 'run up (or destroy) again: it reads the link first and sends the removal again only if the link is still there',
      },
    );
  }

  return {
    async getInstance() {
      const r = await arm.call(
        'GET',
        `${o.managedInstanceId}${q(API_VERSIONS.managedInstances)}`,
        undefined,
        'reading the managed instance',
      );
      if (r.status === 404) {
        throw new MigrationError(
          'ManagedInstanceNotFound',
          `Managed instance ${o.managedInstanceId} not found.`,
          {
            hint: 'check managedInstanceId (subscription, resource group, name)',
          },
        );
      }
      // properties.databaseFormat is the update policy (REST spec 2025-01-01 ManagedInstances.json).
      const b = r.body as { sku?: { tier?: string }; properties?: { databaseFormat?: string } };
      return { tier: b?.sku?.tier, databaseFormat: b?.properties?.databaseFormat };
    },
    async getLink(): Promise<LinkView | undefined> {
      const r = await arm.call('GET', `${dagPath}${dagVersion}`, undefined, `reading the link ${o.linkName}`);
      if (r.status === 404) return undefined;
      const b = r.body as DagBody;
      const { databases = [], ...p } = b.properties ?? {};
      const primary = p.instanceLinkRole === 'Primary';
      return {
        ...p,
        id: b.id,
        databases: databases.map(
          ({ instanceSendReplicationLagSeconds: send, instanceRedoReplicationLagSeconds: redo, ...d }) => ({
            ...d,
            databaseName: d.databaseName ?? '',
            lagSeconds: knownLag(primary ? send : redo),
          }),
        ),
      };
    },
    async setReplicationMode(mode: ReplicationMode) {
      const doing = `switching the link ${o.linkName} to ${mode}`;
      const r = await arm.call(
        'PATCH',
        `${dagPath}${dagVersion}`,
        { properties: { replicationMode: mode } },
        doing,
      );
      if (r.status === 404) throw linkNotFound(o.linkName);
      await arm.waitLro(r, doing, lro);
    },
    async deleteLink() {
      const doing = `removing the link ${o.linkName}`;
      let r: Awaited<ReturnType<typeof arm.call>>;
      try {
        r = await arm.call('DELETE', `${dagPath}${dagVersion}`, undefined, doing);
      } catch (e) {
        if (!(e instanceof MigrationError && e.code === 'AzureOutcomeUnknown')) throw e;
        await removalAfterLostAnswer(e);
        return;
      }
      if (r.status === 404 || r.status === 204) return;
      try {
        await arm.waitLro(r, doing, lro);
      } catch (e) {
        // A link that does not exist: 202, then the operation fails OperationIdNotFound (link-errors seq 6–7).
        if (!(e instanceof MigrationError) || e.causeCode !== 'OperationIdNotFound') throw e;
      }
      // Safe under either answer: the link is removed only when a GET says so.
      const after = await arm.call('GET', `${dagPath}${dagVersion}`, undefined, `checking ${doing}`);
      if (after.status !== 404) {
        throw new MigrationError(
          'LinkStillPresent',
          `The link ${o.linkName} still exists after its DELETE ended.`,
          {
            hint: 'run up again: it checks the link first and repeats the removal only if the link is still there',
          },
        );
      }
    },
    async failover(type) {
      const doing = `failing over the link ${o.linkName} (${type})`;
      const r = await arm.call('POST', `${dagPath}/failover${dagVersion}`, { failoverType: type }, doing);
      if (r.status === 404) throw linkNotFound(o.linkName);
      await arm.waitLro(r, doing, lro);
    },
  };
}

function linkNotFound(linkName: string): MigrationError {
  return new MigrationError('LinkNotFound', `The link ${linkName} does not exist on the managed instance.`);
}
