import { type SasOptions, STORAGE_FAULT_KINDS } from '../../azurite';
import type { BackupOptions, SimSqlServer } from '../../world/backups';
import { ServiceError } from '../../world/errors';
import { formatLsn } from '../../world/lsn';
import type { RouteFamily } from '../context';
import { FAULT_KINDS, type FaultKind, type Faults } from '../faults';
import type { ArmRequest, ArmResponse, RouteOptions, Router } from '../router';
import { prop } from './common';

/**
 * The sandbox control surface as JSON endpoints under /_sandbox (no token needed, never faulted, not in the
 * request log): world state, clock, faults, request log; SQL Server and storage when the sandbox adds them.
 */

const CONTROL: RouteOptions = { control: true };
const NO_CONTENT: ArmResponse = { status: 204 };

export const worldControlRoutes: RouteFamily = (router, ctx) => {
  router.get('/_sandbox/world', () => ok(ctx.world.snapshot()), CONTROL);
  router.post(
    '/_sandbox/clock/advance',
    async (req) => {
      ctx.world.clock.advance(numberField(req, 'ms'));
      await ctx.world.tick();
      return ok({ now: ctx.world.clock.date().toISOString() });
    },
    CONTROL,
  );
  router.put(
    '/_sandbox/clock/speed',
    (req) => {
      ctx.world.clock.speed = numberField(req, 'speed');
      return ok({ now: ctx.world.clock.date().toISOString(), speed: ctx.world.clock.speed });
    },
    CONTROL,
  );
  router.post(
    '/_sandbox/tick',
    async () => {
      await ctx.world.tick();
      return ok(ctx.world.snapshot());
    },
    CONTROL,
  );
  router.get(
    '/_sandbox/requests',
    (req) =>
      ok(
        ctx.requests.filter({
          method: req.query.get('method') ?? undefined,
          pathPattern: req.query.get('path') ?? undefined,
        }),
      ),
    CONTROL,
  );
  router.delete(
    '/_sandbox/requests',
    () => {
      ctx.requests.clear();
      return NO_CONTENT;
    },
    CONTROL,
  );
  registerFaultRoutes(router, '/_sandbox/faults', ctx.faults, FAULT_KINDS);
  router.get('/_sandbox/lro', () => ok({ retryAfter: ctx.lro.options.retryAfter }), CONTROL);
  router.put(
    '/_sandbox/lro',
    (req) => {
      // Retry-After of operation answers: 'absent' (az CLI recordings) or seconds on every poll (PowerShell: 15).
      const value = prop(req.body, 'retryAfter');
      if (value !== 'absent' && !(typeof value === 'number' && value >= 0)) {
        throw badRequest("'retryAfter' must be 'absent' or a number of seconds");
      }
      ctx.lro.options.retryAfter = value;
      return ok({ retryAfter: value });
    },
    CONTROL,
  );
  const identity = ctx.tokens;
  const identityView = () => ({
    requestCount: identity.requestCount,
    issuedCount: identity.issuedCount,
    tokenLifetimeMs: identity.tokenLifetimeMs,
  });
  router.get('/_sandbox/identity', () => ok(identityView()), CONTROL);
  router.put(
    '/_sandbox/identity',
    (req) => {
      identity.tokenLifetimeMs = numberField(req, 'tokenLifetimeMs');
      return ok(identityView());
    },
    CONTROL,
  );
  registerFaultRoutes(router, '/_sandbox/identity/faults', identity.faults, [
    '429',
    '500',
    '503',
    'slow',
    'drop',
    'lost',
    'stall',
  ]);
};

/** GET (armed faults), POST (inject one: the FaultSpec fields) and DELETE (clear all) of one fault list. */
function registerFaultRoutes(
  router: Router,
  base: string,
  faults: Faults,
  kinds: readonly FaultKind[],
): void {
  router.get(base, () => ok(faults.active), CONTROL);
  router.post(
    base,
    (req) => {
      const kind = stringField(req, 'kind') as FaultKind;
      if (!kinds.includes(kind)) throw badRequest(`unknown fault kind '${kind}' (${kinds.join(', ')})`);
      const fault = faults.inject({
        kind,
        method: optionalString(req, 'method'),
        pathPattern: optionalString(req, 'pathPattern'),
        times: optionalNumber(req, 'times'),
        retryAfterSeconds: optionalNumber(req, 'retryAfterSeconds'),
        delayMs: optionalNumber(req, 'delayMs'),
        errorCode: optionalString(req, 'errorCode'),
        message: optionalString(req, 'message'),
        afterMs: optionalNumber(req, 'afterMs'),
      });
      return { status: 201, body: fault };
    },
    CONTROL,
  );
  router.delete(
    base,
    () => {
      faults.clear();
      return NO_CONTENT;
    },
    CONTROL,
  );
}

/** /_sandbox/sqlserver/…: databases, workload and backups of the simulated SQL Server. */
export function registerSqlServerControlRoutes(router: Router, sqlServer: SimSqlServer): void {
  const view = (name: string) => {
    const db = sqlServer.database(name);
    return {
      name: db.name,
      lsn: formatLsn(sqlServer.currentLsn(name)),
      lsnPerSecond: db.lsnPerSecond,
      folder: db.folder,
    };
  };
  router.post(
    '/_sandbox/sqlserver/databases',
    (req) => {
      const name = stringField(req, 'name');
      sqlServer.addDatabase(name, {
        startLsn: optionalString(req, 'startLsn'),
        sizeMB: optionalNumber(req, 'sizeMB'),
        folder: optionalString(req, 'folder'),
      });
      return { status: 201, body: view(name) };
    },
    CONTROL,
  );
  router.get('/_sandbox/sqlserver/databases/{name}', (req) => ok(view(req.params.name)), CONTROL);
  router.put(
    '/_sandbox/sqlserver/databases/{name}/workload',
    (req) => {
      sqlServer.startWorkload(req.params.name, numberField(req, 'lsnPerSecond'));
      return ok(view(req.params.name));
    },
    CONTROL,
  );
  router.post(
    '/_sandbox/sqlserver/databases/{name}/backups',
    async (req) => {
      const type = stringField(req, 'type');
      const options: BackupOptions = {
        blobName: optionalString(req, 'blobName'),
        checksum: prop(req.body, 'checksum') === false ? false : undefined,
        sizeMB: optionalNumber(req, 'sizeMB'),
      };
      const run = { full: sqlServer.backupFull, diff: sqlServer.backupDiff, log: sqlServer.backupLog }[type];
      if (!run) throw badRequest(`type must be full, diff or log, not '${type}'`);
      const { blobName, header } = await run.call(sqlServer, req.params.name, options);
      return {
        status: 201,
        body: {
          blobName,
          header: {
            ...header,
            firstLsn: formatLsn(header.firstLsn),
            lastLsn: formatLsn(header.lastLsn),
            checkpointLsn: formatLsn(header.checkpointLsn),
            databaseBackupLsn: formatLsn(header.databaseBackupLsn),
          },
        },
      };
    },
    CONTROL,
  );
}

/**
 * POST /_sandbox/storage/sas: a container SAS from the storage stand-in; /_sandbox/storage/faults: faults of the
 * proxy in front of Azurite (when it runs).
 */
export function registerStorageControlRoutes(
  router: Router,
  makeSas: (options: SasOptions) => string,
  faults?: Faults,
): void {
  if (faults) {
    registerFaultRoutes(router, '/_sandbox/storage/faults', faults, STORAGE_FAULT_KINDS);
  }
  router.post(
    '/_sandbox/storage/sas',
    (req) => {
      const expiresInMinutes = optionalNumber(req, 'expiresInMinutes');
      const sas = makeSas({
        container: stringField(req, 'container'),
        permissions: optionalString(req, 'permissions'),
        storedPolicy: optionalString(req, 'storedPolicy'),
        expiresOn:
          expiresInMinutes === undefined ? undefined : new Date(Date.now() + expiresInMinutes * 60_000),
      });
      return ok({ sas });
    },
    CONTROL,
  );
}

function ok(body: unknown): ArmResponse {
  return { status: 200, body };
}

function badRequest(message: string): ServiceError {
  return new ServiceError('InvalidRequestContent', message);
}

function optionalString(req: ArmRequest, name: string): string | undefined {
  const value = prop(req.body, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`'${name}' must be a string`);
  return value;
}

function stringField(req: ArmRequest, name: string): string {
  const value = optionalString(req, name);
  if (value === undefined) throw badRequest(`'${name}' is required`);
  return value;
}

function optionalNumber(req: ArmRequest, name: string): number | undefined {
  const value = prop(req.body, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw badRequest(`'${name}' must be a number`);
  return value;
}

function numberField(req: ArmRequest, name: string): number {
  const value = optionalNumber(req, name);
  if (value === undefined) throw badRequest(`'${name}' is required`);
  return value;
}
