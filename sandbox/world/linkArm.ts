/**
 * The managed instance's link resource (Microsoft.Sql/managedInstances/distributedAvailabilityGroups) in the
 * two ARM property models, as the REST specs' examples show them (pure: no I/O).
 *
 * - Old model (2021-05-01-preview … 2022-11-01-preview, and stable 2023-08-01): targetDatabase, sourceEndpoint,
 *   primary/secondaryAvailabilityGroupName, replicationMode, distributedAvailabilityGroupId, source/targetReplicaId,
 *   linkState, lastHardenedLsn.
 * - New model (previews from 2023-05-01-preview, stable from 2025-01-01): partner/instance availability group
 *   names, partnerEndpoint, instance/partnerLinkRole, replicationMode, failoverMode, seedingMode, databases[].
 */
import { ServiceError } from './errors';
import type { CreateLinkSpec, LinkResourceView, ReplicationMode } from './link';

export const DAG_RESOURCE_TYPE = 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups';

/** true when `apiVersion` speaks the new DAG property model. */
export function usesNewDagModel(apiVersion: string): boolean {
  const date = apiVersion.slice(0, 10);
  return apiVersion.endsWith('-preview') ? date >= '2023-05-01' : date >= '2025-01-01';
}

export interface DagResource {
  id: string;
  name: string;
  type: string;
  properties: Record<string, unknown>;
}

const iso = (d: Date | null) => (d === null ? undefined : d.toISOString().replace('.000Z', 'Z'));

/** true from the api-version whose answers carry `linkMode` (link-multi-database-update, 2025-08-01-preview). */
function carriesLinkMode(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= '2025-08-01';
}

/**
 * Renders the link resource for `apiVersion`; `id` is the resource id (the request path). New-model fields as
 * recorded (link-errors seq 15, link-mgmt seq 5, link-multi-database-update seq 10/19): `lastReceivedLsn` while
 * the instance is secondary, `lastSentLsn` while primary, `lastBackupLsn` once there is a backup, lag seconds
 * that can be -1. Right after a create the answer is sparse (recordings README): no databases, endpoint, roles
 * or modes.
 */
export function renderDag(view: LinkResourceView, id: string, apiVersion: string): DagResource {
  const first = view.databases[0];
  const secondary = view.instanceLinkRole === 'Secondary';
  const sparse = {
    distributedAvailabilityGroupName: view.name,
    distributedAvailabilityGroupId: view.id,
    partnerAvailabilityGroupName: view.partnerAvailabilityGroupName,
    instanceAvailabilityGroupName: view.instanceAvailabilityGroupName,
  };
  const properties: Record<string, unknown> = !usesNewDagModel(apiVersion)
    ? {
        targetDatabase: first?.databaseName,
        sourceEndpoint: view.partnerEndpoint,
        primaryAvailabilityGroupName: view.partnerAvailabilityGroupName,
        secondaryAvailabilityGroupName: view.instanceAvailabilityGroupName,
        replicationMode: view.replicationMode,
        distributedAvailabilityGroupId: view.id,
        sourceReplicaId: first?.partnerReplicaId,
        targetReplicaId: first?.instanceReplicaId,
        linkState: first?.replicaState,
        lastHardenedLsn: first?.lastHardenedLsn.toString(),
      }
    : view.sparse
      ? sparse
      : {
          distributedAvailabilityGroupName: view.name,
          distributedAvailabilityGroupId: view.id,
          replicationMode: view.replicationMode,
          partnerLinkRole: view.partnerLinkRole,
          partnerAvailabilityGroupName: view.partnerAvailabilityGroupName,
          partnerEndpoint: view.partnerEndpoint,
          instanceLinkRole: view.instanceLinkRole,
          instanceAvailabilityGroupName: view.instanceAvailabilityGroupName,
          failoverMode: view.failoverMode,
          seedingMode: view.seedingMode,
          ...(carriesLinkMode(apiVersion) && view.linkMode ? { linkMode: view.linkMode } : {}),
          databases: view.databases.map((db) => ({
            databaseName: db.databaseName,
            instanceReplicaId: db.instanceReplicaId,
            partnerReplicaId: db.partnerReplicaId,
            replicaState: db.replicaState,
            synchronizationHealth: db.synchronizationHealth,
            connectedState: db.connectedState,
            ...(secondary
              ? { lastReceivedLsn: db.lastReceivedLsn.toString(), lastReceivedTime: iso(db.lastHardenedTime) }
              : { lastSentLsn: db.lastSentLsn.toString(), lastSentTime: iso(db.lastHardenedTime) }),
            lastCommitLsn: db.lastCommitLsn.toString(),
            lastCommitTime: iso(db.lastHardenedTime),
            lastHardenedLsn: db.lastHardenedLsn.toString(),
            lastHardenedTime: iso(db.lastHardenedTime),
            ...(db.lastBackupLsn === null
              ? {}
              : { lastBackupLsn: db.lastBackupLsn.toString(), lastBackupTime: iso(db.lastBackupTime) }),
            ...(db.replicaState === 'LinkSynchronizationError'
              ? { mostRecentLinkError: 'Connection to the partner replica was lost.' }
              : {}),
            partnerAuthCertValidity: {
              certificateName: 'SqlServerLinkCert',
              expiryDate: '2099-12-31T00:00:00Z',
            },
            instanceSendReplicationLagSeconds: secondary ? 0 : db.lagSeconds,
            instanceRedoReplicationLagSeconds: secondary ? db.lagSeconds : 0,
          })),
        };
  return { id, name: view.name, type: DAG_RESOURCE_TYPE, properties };
}

function props(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const p = (body as Record<string, unknown>).properties;
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
}

/** Property lookup that ignores case (the service accepts any casing of property names). */
function prop(p: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(p).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : p[k];
}

function str(p: Record<string, unknown>, name: string): string | undefined {
  const v = prop(p, name);
  return typeof v === 'string' ? v : undefined;
}

/** Validates a replicationMode value (case-insensitive) and returns the documented casing. */
export function parseReplicationMode(value: unknown): ReplicationMode | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^(async|sync)$/i.test(value)) {
    return value.toLowerCase() === 'sync' ? 'Sync' : 'Async';
  }
  throw new ServiceError(
    'InvalidParameterValue',
    `Invalid value '${String(value)}' for parameter 'replicationMode'.`,
  );
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  const hit = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!hit)
    throw new ServiceError('InvalidParameterValue', `Invalid value '${value}' for parameter '${name}'.`);
  return hit;
}

/** Reads a PUT body in either model into a create spec (the name comes from the path). */
export function parseDagPut(name: string, body: unknown, apiVersion: string): CreateLinkSpec {
  const p = props(body);
  const newModel = usesNewDagModel(apiVersion);
  const databasesRaw = prop(p, 'databases');
  const databases = newModel
    ? Array.isArray(databasesRaw)
      ? databasesRaw
          .map((d) =>
            typeof d === 'object' && d !== null
              ? str(d as Record<string, unknown>, 'databaseName')
              : undefined,
          )
          .filter((d): d is string => typeof d === 'string' && d.length > 0)
      : []
    : [str(p, 'targetDatabase')].filter((d): d is string => !!d);
  const instanceLinkRole = oneOf(
    str(p, 'instanceLinkRole'),
    ['Primary', 'Secondary'] as const,
    'instanceLinkRole',
  );
  if (instanceLinkRole === 'Primary') {
    throw new ServiceError(
      'InvalidParameterValue',
      'Creating a link with the managed instance as the initial primary is not supported by the sandbox.',
    );
  }
  return {
    name,
    partnerAvailabilityGroupName:
      str(p, newModel ? 'partnerAvailabilityGroupName' : 'primaryAvailabilityGroupName') ?? '',
    instanceAvailabilityGroupName:
      str(p, newModel ? 'instanceAvailabilityGroupName' : 'secondaryAvailabilityGroupName') ?? '',
    partnerEndpoint: str(p, newModel ? 'partnerEndpoint' : 'sourceEndpoint'),
    databases,
    replicationMode: parseReplicationMode(prop(p, 'replicationMode')),
    failoverMode: oneOf(str(p, 'failoverMode'), ['None', 'Manual'] as const, 'failoverMode'),
    seedingMode: oneOf(str(p, 'seedingMode'), ['Automatic', 'Manual'] as const, 'seedingMode'),
    linkMode: str(p, 'linkMode'),
  };
}

/**
 * Whether a PUT asks for the link as it exists (a repeated identical PUT answers 202 and its operation
 * succeeds at once: link-errors seq 16–17). Fields the body omits are not compared.
 */
export function putMatches(spec: CreateLinkSpec, view: LinkResourceView): boolean {
  const same = (a: string | undefined, b: string) => a === undefined || a.toLowerCase() === b.toLowerCase();
  const dbs = (x: string[]) => JSON.stringify(x.map((d) => d.toLowerCase()).sort());
  return (
    same(spec.partnerAvailabilityGroupName, view.partnerAvailabilityGroupName) &&
    same(spec.instanceAvailabilityGroupName, view.instanceAvailabilityGroupName) &&
    dbs(spec.databases) === dbs(view.databases.map((d) => d.databaseName)) &&
    same(spec.partnerEndpoint, view.partnerEndpoint) &&
    same(spec.replicationMode, view.replicationMode) &&
    same(spec.failoverMode, view.failoverMode) &&
    same(spec.seedingMode, view.seedingMode)
  );
}

/** Reads a PATCH body: only replicationMode changes (the rest of the model is create-only). */
export function parseDagPatch(body: unknown): { replicationMode?: ReplicationMode } {
  return { replicationMode: parseReplicationMode(prop(props(body), 'replicationMode')) };
}

/** Reads a top-level string field of an action body (failoverType, instanceRole, roleChangeType). */
export function actionField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = prop(body as Record<string, unknown>, name);
  return typeof v === 'string' ? v : undefined;
}
