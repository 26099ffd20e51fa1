import { ServiceError } from '../../world/errors';
import {
  type DatabaseCreateParameters,
  type ManagedDatabase,
  type ManagedInstance,
  managedDatabaseId,
} from '../../world/instances';
import type { LrsRestore } from '../../world/lrs';
import { validateLrsParameters } from '../../world/lrs';
import type { ArmContext, RouteFamily } from '../context';
import type { OperationOutcome } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';
import {
  acceptedOperation,
  booleanProp,
  findDatabase,
  findInstance,
  invalidContent,
  MANAGED_DATABASE,
  MANAGED_INSTANCE,
  pairedRegion,
  prop,
  stringProp,
} from './common';

/**
 * Managed databases: GET (and list), PUT (createMode Default or RestoreExternalBackup, the LRS start), DELETE,
 * POST completeRestore. Every write answers 202 with an operation stub (routes/common.ts acceptedOperation).
 */
export const managedDatabaseRoutes: RouteFamily = (router, ctx) => {
  router.get(`${MANAGED_INSTANCE}/databases`, async (req) => {
    const mi = findInstance(ctx, req, true);
    await ctx.world.touch();
    return {
      status: 200,
      body: { value: [...mi.databases.values()].map((db) => managedDatabaseBody(mi, db)) },
    };
  });

  router.get(MANAGED_DATABASE, async (req) => {
    await ctx.world.touch(findDatabase(ctx, req, false).db);
    const { mi, db } = findDatabase(ctx, req, false); // again: a drop may have finished meanwhile
    return { status: 200, body: managedDatabaseBody(mi, db) };
  });

  router.put(MANAGED_DATABASE, (req) => putDatabase(ctx, req));

  router.delete(MANAGED_DATABASE, async (req) => {
    const mi = findInstance(ctx, req, true);
    const db = mi.databases.get(req.params.databaseName);
    if (!db) return { status: 204 };
    await ctx.world.touch(db);
    ctx.world.dropDatabase(mi, db);
    const op = ctx.lro.start({
      kind: 'managedDatabase',
      subscriptionId: mi.subscriptionId,
      location: mi.location,
      touch: () => ctx.world.touch(),
      evaluate: () => (mi.databases.get(db.name) === db ? IN_PROGRESS : SUCCEEDED),
    });
    return acceptedOperation(ctx, req, op, { operation: 'DropManagedDatabase' }); // lrs-cancel u6
  });

  router.post(`${MANAGED_DATABASE}/completeRestore`, async (req) => {
    const { mi, db } = findDatabase(ctx, req, false);
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
    const op = ctx.lro.start({
      kind: 'managedDatabaseCompleteRestore',
      subscriptionId: mi.subscriptionId,
      location: mi.location,
      touch: () => ctx.world.touch(db),
      evaluate: () => (restore.status === 'Completed' ? SUCCEEDED : (restoreFailure(restore) ?? IN_PROGRESS)),
      result: () => managedDatabaseBody(mi, db), // its Location answers 201 with the database: lrs-ps-complete 36
      resultStatus: 201,
    });
    return acceptedOperation(ctx, req, op, { operation: 'ManagedDatabaseCompleteExternalRestore' }); // lrs-continuous t3
  });
};

const IN_PROGRESS: OperationOutcome = { status: 'InProgress' };
/** The LRS start's operation family: …/managedDatabaseRestoreAzureAsyncOperation/{id} (lrs-continuous t2). */
const RESTORE_KIND = 'managedDatabaseRestore';
const SUCCEEDED: OperationOutcome = { status: 'Succeeded' };

/** The resource body of GET/PUT, shaped as the ManagedDatabaseCreateRestoreExternalBackup example. */
export function managedDatabaseBody(mi: ManagedInstance, db: ManagedDatabase): Record<string, unknown> {
  return {
    tags: Object.keys(db.tags).length > 0 ? db.tags : undefined,
    location: mi.location,
    id: managedDatabaseId(mi, db),
    name: db.name,
    properties: {
      collation: db.collation,
      status: db.status,
      creationDate: db.creationDate.toISOString(),
      defaultSecondaryLocation: pairedRegion(mi.location),
    },
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
    return acceptedOperation(ctx, req, op, { operation: 'UpdateManagedDatabase' }); // no source: name by pattern
  }
  const db = ctx.world.createDatabase(mi, name, {
    collation: stringProp(properties, 'collation') ?? mi.collation,
    tags,
  });
  const op = ctx.lro.start({
    ...operationScope(mi),
    touch: () => ctx.world.touch(db),
    evaluate: () => (db.status === 'Online' ? SUCCEEDED : IN_PROGRESS),
  });
  return acceptedOperation(ctx, req, op, { operation: 'CreateManagedDatabase' }); // lrs-ps-stop-foreign-database w3
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
    collation: input.collation ?? '',
  };
  if (existing) {
    if (!existing.lrs || !sameCreateParameters(existing.createParameters, createParameters)) {
      throw new ServiceError(
        'ManagedDatabaseNameInUse',
        `Database '${name}' already exists. Choose a different database name.`,
      );
    }
    const op = ctx.lro.start({ ...logReplayOperation(ctx, mi, existing, existing.lrs), kind: RESTORE_KIND });
    return acceptedOperation(ctx, req, op, { operation: 'CreateExternalManagedBackupRestoreV2Request' });
  }
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
  await ctx.world.touch(db); // the first scan of the container
  const op = ctx.lro.start({ ...logReplayOperation(ctx, mi, db, db.lrs as LrsRestore), kind: RESTORE_KIND });
  return acceptedOperation(ctx, req, op, { operation: 'CreateExternalManagedBackupRestoreV2Request' }); // lrs-continuous t2
}

/**
 * The LRS start operation: in continuous mode it succeeds once the restore has read the container and
 * `lrsStartMs` has passed; with autoCompleteRestore it runs until the database is online. It fails with the
 * restore's error code.
 */
function logReplayOperation(ctx: ArmContext, mi: ManagedInstance, db: ManagedDatabase, restore: LrsRestore) {
  return {
    ...operationScope(mi),
    touch: () => ctx.world.touch(db),
    evaluate: (): OperationOutcome => {
      const failure = restoreFailure(restore);
      if (failure) return failure;
      if (restore.params.autoCompleteRestore) return restore.status === 'Completed' ? SUCCEEDED : IN_PROGRESS;
      const started =
        restore.successfulScans > 0 &&
        ctx.world.clock.now() >= restore.startedAt + ctx.world.timings.lrsStartMs;
      return started ? SUCCEEDED : IN_PROGRESS;
    },
  };
}

function restoreFailure(restore: LrsRestore): OperationOutcome | undefined {
  if (restore.status === 'Failed' && restore.error) return { status: 'Failed', error: restore.error };
  if (restore.status === 'Stopped') {
    return {
      status: 'Canceled',
      error: new ServiceError(
        'OperationCancelled',
        'The restore was stopped because the database is being dropped.',
      ),
    };
  }
  return undefined;
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
