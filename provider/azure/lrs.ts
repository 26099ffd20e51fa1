import { parseManagedInstanceId } from '../core/armId';
import { MigrationError } from '../core/errors';
import type {
  LrsArmPort,
  ManagedDatabaseView,
  OperationView,
  RestoreDetailsReading,
  RestoreDetailsView,
  StartedOperation,
  StartRestoreRequest,
} from '../core/lrs/ports';
import { API_VERSIONS } from './apiVersions';
import { fromAzureError } from './arm';
import { armError, type RawResponse, RawArm } from './rawArm';

export interface LrsArmOptions {
  managedInstanceId: string;
  databaseName: string;
  armEndpoint?: string | null;
  log?: (line: string) => void;
  /**
   * Deadline of the whole provider operation, from now: bounds every request, also those outside a wait (the
   * PUT, POST and DELETE, the first reads), which otherwise had a 60 s attempt timeout and a 10 min budget.
   */
  operationDeadlineInMs?: number;
}

/**
 * LRS over ARM, request by request (bearer token, retries of 429/5xx with Retry-After by the SDK pipeline).
 * Writes return once the service accepted them: the start operation lives until the migration completes and
 * the drop operation about 25 minutes after the database is gone (../shared/recordings/lrs-continuous,
 * lrs-cancel), so the workflow judges progress by the resources and reads operations only as witnesses.
 * Bodies are read as sent (the recorded restore details carry placeholders the SDK's models do not expect).
 */
export function createLrsArm(o: LrsArmOptions): LrsArmPort {
  const ref = parseManagedInstanceId(o.managedInstanceId);
  if (!ref)
    throw new MigrationError('InvalidInput', `managedInstanceId is not an ARM id: ${o.managedInstanceId}`);
  const arm = new RawArm(o.armEndpoint, o.log, undefined, { deadlineInMs: o.operationDeadlineInMs });
  const instancePath =
    `/subscriptions/${ref.subscriptionId}/resourceGroups/${encodeURIComponent(ref.resourceGroupName)}` +
    `/providers/Microsoft.Sql/managedInstances/${encodeURIComponent(ref.managedInstanceName)}`;
  const dbPath = `${instancePath}/databases/${encodeURIComponent(o.databaseName)}`;
  const version = `api-version=${API_VERSIONS.managedDatabases}`;
  const db = o.databaseName;
  const mi = ref.managedInstanceName;

  const send = async (
    method: string,
    url: string,
    body: unknown,
    doing: string,
    options?: { transientRetries?: number },
  ): Promise<RawResponse> => {
    try {
      return await arm.send(method, url, body, options);
    } catch (e) {
      throw fromAzureError(e, doing);
    }
  };
  const accepted = (r: RawResponse, doing: string): StartedOperation => {
    if (r.status >= 400) throw armError(r, doing);
    return { operationUrl: operationUrl(r, arm.endpoint), retryAfterMs: retryAfterMs(r) };
  };

  return {
    async getInstance() {
      const doing = `reading managed instance ${mi}`;
      const r = await send(
        'GET',
        `${instancePath}?api-version=${API_VERSIONS.managedInstances}`,
        undefined,
        doing,
      );
      if (r.status >= 400) throw armError(r, doing);
      const b = (r.body ?? {}) as { id?: string; location?: string; sku?: { tier?: string } };
      return { id: b.id ?? o.managedInstanceId, location: b.location ?? '', tier: b.sku?.tier };
    },

    async getDatabase(): Promise<ManagedDatabaseView | undefined> {
      const doing = `reading database ${db}`;
      const r = await send('GET', `${dbPath}?${version}`, undefined, doing);
      if (
        r.status === 404 &&
        errorCode(r) !== 'ParentResourceNotFound' &&
        errorCode(r) !== 'ResourceGroupNotFound'
      )
        return undefined;
      if (r.status >= 400) throw armError(r, doing);
      return databaseView(r.body, dbPath);
    },

    async listDatabases(): Promise<ManagedDatabaseView[]> {
      const doing = `listing the databases of ${mi}`;
      const all: ManagedDatabaseView[] = [];
      let url: string | undefined = `${instancePath}/databases?${version}`;
      for (let page = 0; url && page < 100; page++) {
        const r: RawResponse = await send('GET', url, undefined, doing);
        if (r.status >= 400) throw armError(r, doing);
        const b = (r.body ?? {}) as { value?: unknown[]; nextLink?: string };
        for (const item of b.value ?? []) all.push(databaseView(item, ''));
        url = b.nextLink;
      }
      return all;
    },

    async getRestoreDetails(): Promise<RestoreDetailsReading> {
      const doing = `reading the restore details of ${db}`;
      // Its 500 is a state (below), so a 5xx is retried only twice, not until the deadline.
      const r = await send('GET', `${dbPath}/restoreDetails/Default?${version}`, undefined, doing, {
        transientRetries: 2,
      });
      // An error answer is a state to report, not a broken call: 500 for a database that is not an LRS restore
      // (lrs-ps-stop-foreign-database w5) and for a failed one (lrs-ps-failed-start v4). Access problems are not.
      // 502/503/504 are no state any recording shows (only 500 is): Azure could not answer, which proves nothing.
      if ([401, 403, 429, 502, 503, 504].includes(r.status)) throw armError(r, doing);
      if (r.status >= 400) {
        const b = (r.body ?? {}) as { error?: { code?: string; message?: string } };
        return { unavailable: { status: r.status, code: b.error?.code, message: b.error?.message } };
      }
      return restoreDetails((r.body as { properties?: Record<string, unknown> })?.properties ?? {});
    },

    async getOperation(url: string): Promise<OperationView> {
      const r = await send('GET', url, undefined, `reading an operation of ${db}`);
      if (r.status >= 400) return { retryAfterMs: retryAfterMs(r) };
      const b = (r.body ?? {}) as { status?: string; error?: { code?: string; message?: string } };
      return { status: b.status, error: b.error, retryAfterMs: retryAfterMs(r) };
    },

    async startRestore(req: StartRestoreRequest) {
      const doing = `starting Log Replay Service for ${db}`;
      const body = {
        location: req.location,
        tags: req.tags,
        properties: {
          createMode: 'RestoreExternalBackup',
          storageContainerUri: req.storageContainerUri,
          ...(req.useManagedIdentity
            ? { storageContainerIdentity: 'ManagedIdentity' }
            : { storageContainerSasToken: req.storageContainerSasToken }),
          collation: req.collation,
          autoCompleteRestore: req.autoComplete,
          ...(req.lastBackupName ? { lastBackupName: req.lastBackupName } : {}),
        },
      };
      return accepted(await send('PUT', `${dbPath}?${version}`, body, doing), doing);
    },

    async completeRestore(lastBackupName: string) {
      const doing = `completing the restore of ${db}`;
      return accepted(
        await send('POST', `${dbPath}/completeRestore?${version}`, { lastBackupName }, doing),
        doing,
      );
    },

    async dropDatabase() {
      const doing = `dropping database ${db}`;
      let r: RawResponse;
      try {
        r = await send('DELETE', `${dbPath}?${version}`, undefined, doing);
      } catch (e) {
        // The DELETE reached Azure but its answer was lost (the pipeline checked once: not gone yet). It is not
        // sent again, and a later run could not tell a drop in flight from none (the database stays Restoring
        // until it is gone, lrs-cancel): answer it as accepted, so the caller's wait for the database to be
        // gone decides within its deadline. If it never goes, that wait fails and a later run may send it again.
        if (!(e instanceof MigrationError && e.code === 'AzureOutcomeUnknown')) throw e;
        o.log?.(`${e.message} Waiting for the database to be gone instead.`);
        return {};
      }
      if (r.status === 404) return {};
      return accepted(r, doing);
    },
  };
}

function databaseView(body: unknown, fallbackId: string): ManagedDatabaseView {
  const b = (body ?? {}) as {
    id?: string;
    name?: string;
    tags?: Record<string, string>;
    properties?: { status?: string; creationDate?: string };
  };
  return {
    id: b.id ?? fallbackId,
    name: b.name,
    status: b.properties?.status,
    tags: b.tags ?? {},
    creationDate: b.properties?.creationDate,
  };
}

function errorCode(r: RawResponse): string | undefined {
  return (r.body as { error?: { code?: string } } | undefined)?.error?.code;
}

/** Restore details as sent, with the recorded placeholders taken for what they mean. */
export function restoreDetails(p: Record<string, unknown>): RestoreDetailsView {
  const str = (k: string) => {
    const key = Object.keys(p).find((x) => x.toLowerCase() === k.toLowerCase()); // the REST example writes CurrentRestoringFileName
    const v = key === undefined ? undefined : p[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const num = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  const current = str('currentRestoringFileName');
  return {
    type: str('type'),
    status: str('status'),
    blockReason: str('blockReason'),
    lastUploadedFileName: str('lastUploadedFileName'),
    lastRestoredFileName: str('lastRestoredFileName'),
    // "<empty value>" while nothing restores (lrs-ps-stop x4).
    currentRestoringFileName: current === '<empty value>' ? undefined : current,
    percentCompleted: num('percentCompleted'),
    numberOfFilesDetected: num('numberOfFilesDetected'),
    unrestorableFiles: unrestorable(p.unrestorableFiles),
  };
}

/** `[]`, `["[]"]` (an array holding the string "[]", recorded once), names, or `{name}` objects (REST example). */
function unrestorable(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .map((f) => (typeof f === 'string' ? f : typeof f?.name === 'string' ? (f.name as string) : ''))
    .filter((name) => name !== '' && name !== '[]');
}

/** The operation to follow: Azure-AsyncOperation, else Location; any query but api-version dropped. */
function operationUrl(r: RawResponse, base: string): string | undefined {
  const raw = r.headers['azure-asyncoperation'] ?? r.headers.location;
  if (!raw) return undefined;
  try {
    const u = new URL(raw, base);
    const v = u.searchParams.get('api-version');
    u.search = v ? `?api-version=${encodeURIComponent(v)}` : '';
    return u.toString();
  } catch {
    return undefined;
  }
}

function retryAfterMs(r: RawResponse): number | undefined {
  const v = r.headers['retry-after'];
  return v && /^\d+$/.test(v) ? Number(v) * 1000 : undefined;
}
