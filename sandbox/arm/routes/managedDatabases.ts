import { ServiceError } from '../../world/errors';
import {
  type DatabaseCreateParameters,
  isVisible,
  type ManagedDatabase,
  type ManagedInstance,
  managedDatabaseId,
} from '../../world/instances';
import { DEFAULT_DATABASE_COLLATION, validateLrsParameters } from '../../world/lrsRules';
import type { ArmContext, RouteFamily } from '../context';
import type { OperationInit, OperationOutcome } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';
import {
  acceptedStub,
  booleanProp,
  findInstance,
  invalidContent,
  MANAGED_DATABASE,
  MANAGED_INSTANCE,
  pairedRegion,
  prop,
  resourceNotFound,
  stringProp,
} from './common';

/**
 * Managed databases: GET (and list), PUT (createMode Default or RestoreExternalBackup, the LRS start), DELETE,
 * POST completeRestore. Every write answers 202 with an operation stub and both polling headers (lrs-continuous
 * t2/t3, lrs-cancel u6); the operations live as recorded (see each one below).
 */
export const managedDatabaseRoutes: RouteFamily = (router, ctx) => {
  router.get(`${MANAGED_INSTANCE}/databases`, async (req) => {
    const mi = findInstance(ctx, req, true);
    await ctx.world.touch();
    const now = ctx.world.clock.now();
    return {
      status: 200,
      body: {
        value: [...mi.databases.values()]
          .filter((db) => isVisible(db, now))
          .map((db) => managedDatabaseBody(mi, db)),
      },
    };
  });

  router.get(MANAGED_DATABASE, async (req) => {
    await ctx.world.touch(findVisibleDatabase(ctx, req).db);
    const { mi, db } = findVisibleDatabase(ctx, req); // again: a drop may have finished meanwhile
    return { status: 200, body: managedDatabaseBody(mi, db) };
  });

  router.put(MANAGED_DATABASE, (req) => putDatabase(ctx, req));

  router.delete(MANAGED_DATABASE, async (req) => {
    const mi = findInstance(ctx, req, true);
    const db = mi.databases.get(req.params.databaseName);
    if (!db) return { status: 204 };
    await ctx.world.touch(db);
    ctx.world.dropDatabase(mi, db);
    // DropManagedDatabase (lrs-cancel u6, lrs-ps-stop x8): GET answers 404 within seconds, the operation stays
    // InProgress for about 25 minutes more (lrs-ps-stop y1), then its Location answers 204 (y2).
    const op = ctx.lro.start({
      kind: 'managedDatabase',
      subscriptionId: mi.subscriptionId,
      location: mi.location,
      touch: () => ctx.world.touch(),
      evaluate: () =>
        mi.databases.get(db.name) !== db &&
        ctx.world.clock.now() >= op.startTime.getTime() + ctx.world.timings.dropOperationMs
          ? SUCCEEDED
          : IN_PROGRESS,
    });
    return acceptedStub(ctx, req, op, 'DropManagedDatabase');
  });

  router.post(`${MANAGED_DATABASE}/completeRestore`, async (req) => {
    const { mi, db } = findVisibleDatabase(ctx, req);
    const lastBackupName = stringProp(req.body, 'lastBackupName');
    if (lastBackupName === undefined) {
      throw new ServiceError(
        'InvalidDatabaseCompleteRestoreRequest',
        'The complete database restore request is invalid',
      );
    }
    await ctx.world.touch(db);
    const restore = db.lrs;
    if (!restore) {
      throw new ServiceError(
        'ManagedDatabaseNotInRestoringState',
        'Managed database is not in Restoring state.',
      );
    }
    restore.complete(lastBackupName);
    // ManagedDatabaseCompleteExternalRestore: ends some seconds after the database is Online, after the start
    // operation (lrs-continuous t22/t24, lrs-ps-complete 24/35); fails with the restore's error.
    const op = ctx.lro.start({
      kind: 'managedDatabaseCompleteRestore',
      subscriptionId: mi.subscriptionId,
      location: mi.location,
      touch: () => ctx.world.touch(db),
      evaluate: (): OperationOutcome => {
        if (restore.error) return { status: 'Failed', error: restore.error };
        const done = restore.completedAt;
        if (done === undefined) return IN_PROGRESS;
        return ctx.world.clock.now() >= done + ctx.world.timings.completeOperationLingerMs
          ? SUCCEEDED
          : IN_PROGRESS;
      },
      // lrs-ps-complete 36: the Location URL answers 201 with the database body once done.
      result: () => managedDatabaseBody(mi, db),
      resultStatus: 201,
    });
    return acceptedStub(ctx, req, op, 'ManagedDatabaseCompleteExternalRestore');
  });
};

/** LRS restores one managed instance runs at once (log-replay-service-migrate.md, Limitations). */
export const MAX_RESTORES_PER_INSTANCE = 100;

const IN_PROGRESS: OperationOutcome = { status: 'InProgress' };
const SUCCEEDED: OperationOutcome = { status: 'Succeeded' };

/**
 * The database of the request path as ARM shows it: 404 ResourceNotFound while it does not exist yet (an LRS
 * start creates it a few seconds after the PUT) or after a drop finished.
 */
export function findVisibleDatabase(
  ctx: ArmContext,
  req: ArmRequest,
  nested = false,
): { mi: ManagedInstance; db: ManagedDatabase } {
  const mi = findInstance(ctx, req, true);
  const name = req.params.databaseName;
  const db = mi.databases.get(name);
  if (db && isVisible(db, ctx.world.clock.now())) return { mi, db };
  if (nested) {
    throw new ServiceError(
      'ParentResourceNotFound',
      `Can not perform requested operation on nested resource. Parent resource '${mi.name}/${name}' not found.`,
      404,
    );
  }
  throw resourceNotFound(
    `Microsoft.Sql/managedInstances/${mi.name}/databases/${name}`,
    req.params.resourceGroupName,
  );
}

/** The resource body of GET, shaped as recorded (lrs-continuous t23): no LRS parameters echoed back. */
export function managedDatabaseBody(mi: ManagedInstance, db: ManagedDatabase): Record<string, unknown> {
  return {
    tags: Object.keys(db.tags).length > 0 ? db.tags : undefined,
    properties: {
      collation: db.collation,
      status: db.status,
      creationDate: db.creationDate.toISOString(),
      defaultSecondaryLocation: pairedRegion(mi.location),
    },
    location: mi.location,
    id: managedDatabaseId(mi, db),
    name: db.name,
    type: 'Microsoft.Sql/managedInstances/databases',
  };
}

async function putDatabase(ctx: ArmContext, req: ArmRequest): Promise<ArmResponse> {
  const mi = findInstance(ctx, req, true);
  const name = req.params.databaseName;
  validateDatabaseName(name);
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidContent('the body must be an object.');
  const location = stringProp(body, 'location');
  if (!location)
    throw new ServiceError('LocationRequired', 'The location property is required for this definition.');
  if (normalizeLocation(location) !== normalizeLocation(mi.location)) {
    throw new ServiceError(
      'InvalidResourceLocation',
      `The database location '${location}' does not match the location '${mi.location}' of managed instance '${mi.name}'.`,
    );
  }
  const tags = parseTags(prop(body, 'tags'));
  const properties = prop(body, 'properties') ?? {};
  const createMode = stringProp(properties, 'createMode') ?? 'Default';
  const existing = mi.databases.get(name);
  if (existing) await ctx.world.touch(existing);
  if (existing?.dropScheduledAt !== undefined) {
    throw new ServiceError('ConflictingDatabaseOperation', `Database '${name}' is being dropped.`, 409);
  }
  if (/^RestoreExternalBackup$/i.test(createMode)) {
    return putLogReplay(ctx, req, mi, name, properties, tags, existing);
  }
  if (!/^Default$/i.test(createMode)) {
    throw new ServiceError(
      'InvalidDatabaseCreateOrUpdateRequest',
      `createMode '${createMode}' is not supported by the sandbox (Default and RestoreExternalBackup are).`,
    );
  }
  if (existing) {
    if (tags) existing.tags = tags;
    const op = ctx.lro.start({ ...operationScope(mi), evaluate: () => SUCCEEDED });
    return acceptedStub(ctx, req, op, 'UpdateManagedDatabase');
  }
  const db = ctx.world.createDatabase(mi, name, {
    collation: stringProp(properties, 'collation') ?? mi.collation,
    tags,
  });
  // CreateManagedDatabase (lrs-ps-stop-foreign-database w3/w4): succeeds once the database is Online. Its
  // Location's final answer is not recorded: no source, so no body (204), the hardest on a client.
  const op = ctx.lro.start({
    ...operationScope(mi),
    touch: () => ctx.world.touch(db),
    evaluate: () => (db.status === 'Online' ? SUCCEEDED : IN_PROGRESS),
  });
  return acceptedStub(ctx, req, op, 'CreateManagedDatabase');
}

/** PUT with createMode RestoreExternalBackup: starts LRS, or answers an identical repeat idempotently. */
async function putLogReplay(
  ctx: ArmContext,
  req: ArmRequest,
  mi: ManagedInstance,
  name: string,
  properties: unknown,
  tags: Record<string, string> | undefined,
  existing: ManagedDatabase | undefined,
): Promise<ArmResponse> {
  const input = {
    storageContainerUri: stringProp(properties, 'storageContainerUri'),
    storageContainerSasToken: stringProp(properties, 'storageContainerSasToken'),
    storageContainerIdentity: stringProp(properties, 'storageContainerIdentity'),
    collation: stringProp(properties, 'collation'),
    autoCompleteRestore: booleanProp(properties, 'autoCompleteRestore') ?? false,
    lastBackupName: stringProp(properties, 'lastBackupName'),
  };
  validateLrsParameters(input);
  const createParameters: DatabaseCreateParameters = {
    createMode: 'RestoreExternalBackup',
    ...input,
    collation: input.collation ?? DEFAULT_DATABASE_COLLATION,
  };
  if (existing) {
    // No recording shows a repeated start; the REST spec's error for a taken name is chosen unless the
    // request is identical to the one that started this restore.
    if (!existing.lrs || !sameCreateParameters(existing.createParameters, createParameters)) {
      throw new ServiceError(
        'ManagedDatabaseNameInUse',
        `Database '${name}' already exists. Choose a different database name.`,
      );
    }
    const op = ctx.lro.start(logReplayOperation(ctx, mi, existing));
    return acceptedStub(ctx, req, op, 'CreateExternalManagedBackupRestoreV2Request');
  }
  const running = [...mi.databases.values()].filter((d) => d.lrs?.active).length;
  const db = ctx.world.startLogReplay(mi, name, {
    collation: createParameters.collation,
    tags,
    createParameters,
    params: {
      storageContainerUri: input.storageContainerUri ?? '',
      storageContainerSasToken: input.storageContainerSasToken,
      useManagedIdentity: /^ManagedIdentity$/i.test(input.storageContainerIdentity ?? ''),
      autoCompleteRestore: input.autoCompleteRestore,
      lastBackupName: input.lastBackupName,
    },
  });
  // log-replay-service-migrate.md, Limitations: "LRS supports 100 simultaneous database restores to a single
  // instance". No source says how the service refuses one more (status, code, when): chosen the hardest on a
  // client, the start is accepted and fails at once, leaving its database behind as any failed start does.
  if (running >= MAX_RESTORES_PER_INSTANCE) {
    db.lrs?.refuse(
      new ServiceError(
        'TooManyConcurrentLogReplayRestores',
        `The managed instance '${mi.name}' already runs ${running} Log Replay Service restores; at most ${MAX_RESTORES_PER_INSTANCE} can run at once.`,
      ),
    );
  } else {
    await ctx.world.touch(db); // the first scan of the container
  }
  const op = ctx.lro.start(logReplayOperation(ctx, mi, db));
  return acceptedStub(ctx, req, op, 'CreateExternalManagedBackupRestoreV2Request');
}

/**
 * CreateExternalManagedBackupRestoreV2Request, the LRS start operation. It lives as long as the migration:
 * InProgress until the database is Online (lrs-continuous t4…t22 in continuous mode, across the
 * completeRestore; lrs-ps-autocomplete 42…51), Succeeded when the database is dropped (lrs-cancel u9,
 * lrs-ps-stop x7: not Failed or Canceled), Failed with the restore's error code (lrs-ps-failed-start v3).
 */
function logReplayOperation(ctx: ArmContext, mi: ManagedInstance, db: ManagedDatabase): OperationInit {
  return {
    kind: 'managedDatabaseRestore',
    subscriptionId: mi.subscriptionId,
    location: mi.location,
    touch: () => ctx.world.touch(db),
    evaluate: (): OperationOutcome => {
      const restore = db.lrs;
      if (restore?.error) return { status: 'Failed', error: restore.error };
      if (mi.databases.get(db.name) !== db) return SUCCEEDED;
      return db.status === 'Online' ? SUCCEEDED : IN_PROGRESS;
    },
    result: () => managedDatabaseBody(mi, db),
  };
}

function operationScope(mi: ManagedInstance) {
  return { kind: 'managedDatabase', subscriptionId: mi.subscriptionId, location: mi.location };
}

function sameCreateParameters(a: DatabaseCreateParameters, b: DatabaseCreateParameters): boolean {
  const norm = (p: DatabaseCreateParameters) =>
    JSON.stringify([
      p.createMode.toLowerCase(),
      p.collation.toLowerCase(),
      p.storageContainerUri,
      p.storageContainerSasToken ?? '',
      (p.storageContainerIdentity ?? '').toLowerCase(),
      p.autoCompleteRestore ?? false,
      p.lastBackupName ?? '',
    ]);
  return norm(a) === norm(b);
}

const RESERVED_DATABASE_NAMES = new Set(['master', 'model', 'msdb', 'tempdb']);

function validateDatabaseName(name: string): void {
  if (RESERVED_DATABASE_NAMES.has(name.toLowerCase())) {
    throw new ServiceError(
      'CannotUseReservedDatabaseName',
      'Cannot use reserved database name in this operation.',
    );
  }
  if (/\s$/.test(name)) {
    throw new ServiceError(
      'CannotUseTrailingWhitespacesInDatabaseName',
      'The database name validation failed.',
    );
  }
}

function normalizeLocation(location: string): string {
  return location.toLowerCase().replace(/\s+/g, '');
}

function parseTags(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidContent("'tags' must be an object.");
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidContent(`tag '${k}' must be a string.`);
    tags[k] = v;
  }
  return tags;
}
