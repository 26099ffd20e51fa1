import {
  createOnlyFailures,
  type Failure,
  InputReader,
  type Warning,
  normalizeManagedInstance,
  readManagedInstance,
} from '../inputs';
import { checkBackupFileName, checkCollation, checkDatabaseName } from '../names';
import { checkSasToken } from '../sas';
import { checkContainerUri } from '../storageUri';
import { isUnknown } from '../unknown';

const KIND = 'LogReplayMigration';
export const DEFAULT_COLLATION = 'SQL_Latin1_General_CP1_CI_AS';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** LRS inputs after check. Fields are undefined only while unknown (preview). */
export interface LrsInputs {
  managedInstanceId?: string;
  databaseName?: string;
  storageContainerUri?: string;
  storageContainerSasToken?: string;
  useManagedIdentity?: boolean;
  collation?: string;
  lastBackupName?: string;
  autoComplete?: boolean;
  complete?: boolean;
  startDeadlineInMs: number;
  restoreDeadlineInMs: number;
  completeDeadlineInMs: number;
  pollIntervalInMs: number;
  armEndpoint?: string;
}

export const LRS_CREATE_ONLY = [
  'managedInstanceId',
  'databaseName',
  'storageContainerUri',
  'useManagedIdentity',
  'collation',
  'autoComplete',
];

export interface CheckedLrs {
  inputs: LrsInputs;
  /** The inputs as the engine stores them (normalised, same property names as the sdk). */
  normalized: Record<string, unknown>;
  failures: Failure[];
  /** Fields that are no input of this resource (typos): check reports them, stored outputs are not checked. */
  unexpected: Failure[];
  warnings: Warning[];
}

/** Every rule that can be checked without calling Azure. Unknown values are accepted. */
export function checkLrsInputs(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  nowMs: number,
  options: { started?: boolean } = {},
): CheckedLrs {
  const r = new InputReader(news, { secrets: ['storageContainerSasToken'] });
  // Once started, the service holds its own copy of the SAS: a rotated or expired one no longer matters here.
  const started = options.started ?? Object.keys(olds).length > 0;

  const managedInstanceId = readManagedInstance(r);
  const databaseName = r.string('databaseName', {
    required: 'give the name the database gets on the managed instance',
  });
  if (databaseName) for (const e of checkDatabaseName(databaseName)) r.fail('databaseName', e);

  let storageContainerUri = r.string('storageContainerUri', {
    required:
      'give the URL of the blob container (or folder) holding the backups of this one database, https://<account>.blob.core.windows.net/<container>[/<folder>]',
  });
  if (storageContainerUri) {
    const c = checkContainerUri(storageContainerUri);
    for (const e of c.errors) r.fail('storageContainerUri', e);
    if (c.location) storageContainerUri = c.location.uri;
  }

  const useManagedIdentity = r.boolean('useManagedIdentity', false);
  let sas = r.string('storageContainerSasToken');
  const sasGiven = !r.missing('storageContainerSasToken');
  if (useManagedIdentity === true && sasGiven) {
    r.fail(
      'storageContainerSasToken',
      'and useManagedIdentity are exclusive: give a SAS token, or set useManagedIdentity to use the managed instance identity',
    );
  } else if (useManagedIdentity === false && !sasGiven && !started) {
    r.fail(
      'storageContainerSasToken',
      'is required unless useManagedIdentity is true: generate a SAS for the container with Read and List (sp=rl)',
    );
  }
  if (sas) {
    const v = checkSasToken(sas, nowMs);
    if (started) {
      for (const e of v.errors)
        r.warn('storageContainerSasToken', `${e} (the started restore keeps the token it was given)`);
    } else {
      for (const e of v.errors) r.fail('storageContainerSasToken', e);
      for (const w of v.warnings) r.warn('storageContainerSasToken', w);
    }
    sas = v.normalized;
  }

  const collation = r.string('collation') ?? (r.unknown('collation') ? undefined : DEFAULT_COLLATION);
  if (collation) for (const e of checkCollation(collation)) r.fail('collation', e);

  const lastBackupName = r.string('lastBackupName');
  if (lastBackupName) for (const e of checkBackupFileName(lastBackupName)) r.fail('lastBackupName', e);
  const autoComplete = r.boolean('autoComplete', false);
  const complete = r.boolean('complete', false);
  // Given (even if wrong: that has its own failure) or unknown: only a missing name is "required".
  const lastKnown = !r.missing('lastBackupName');
  if (autoComplete && !lastKnown) {
    r.fail(
      'lastBackupName',
      'is required with autoComplete: name the last log backup of the chain (the one with the highest LSN)',
    );
  } else if (complete && !lastKnown) {
    r.fail(
      'lastBackupName',
      'is required to complete the migration: name the last log backup you took after stopping the workload',
    );
  }
  if (autoComplete && complete) {
    r.warn(
      'complete',
      'autoComplete is set too: the service completes by itself once lastBackupName is restored, complete adds nothing',
    );
  }

  const pollIntervalInMs = r.duration('pollIntervalInMs', 30_000, 10, 10 * MIN);
  const startDeadlineInMs = r.duration('startDeadlineInMs', 15 * MIN, 1_000, DAY);
  const restoreDeadlineInMs = r.duration('restoreDeadlineInMs', 6 * 60 * MIN, 1_000, 30 * DAY);
  const completeDeadlineInMs = r.duration('completeDeadlineInMs', 30 * MIN, 1_000, DAY);
  const armEndpoint = r.armEndpoint();

  const inputs: LrsInputs = {
    managedInstanceId,
    databaseName,
    storageContainerUri,
    storageContainerSasToken: sas,
    useManagedIdentity,
    collation,
    lastBackupName,
    autoComplete,
    complete,
    startDeadlineInMs,
    restoreDeadlineInMs,
    completeDeadlineInMs,
    pollIntervalInMs,
    armEndpoint,
  };
  const normalized = normalize(news, inputs);
  const failures = [...r.failures];
  failures.push(...createOnlyFailures(olds, normalized, LRS_CREATE_ONLY, 'Log Replay Service migration'));
  if (olds.complete === true && normalized.complete === false) {
    failures.push({
      property: 'complete',
      reason:
        'complete cannot go back to false: the restore was completed (cutover) and the database is read-write; this cannot be undone',
    });
  }
  if (
    olds.autoComplete === true &&
    !isUnknown(olds.lastBackupName) &&
    olds.lastBackupName !== normalized.lastBackupName
  ) {
    failures.push({
      property: 'lastBackupName',
      reason:
        'lastBackupName cannot change with autoComplete: the service was started with it. Keep the old value.',
    });
  }
  return { inputs, normalized, failures, unexpected: r.unexpected(KIND), warnings: r.warnings };
}

/** What check returns to the engine: user values normalised, the managed instance always as one id. */
function normalize(news: Record<string, unknown>, i: LrsInputs): Record<string, unknown> {
  const out: Record<string, unknown> = { ...news };
  normalizeManagedInstance(news, out, i.managedInstanceId);
  const keep = (k: keyof LrsInputs) => {
    if (!isUnknown(news[k]) && i[k] !== undefined) out[k] = i[k];
  };
  for (const k of [
    'storageContainerUri',
    'storageContainerSasToken',
    'collation',
    'useManagedIdentity',
    'autoComplete',
    'complete',
    // Defaulted settings as the outputs store them: an unchanged program is no change in diff.
    'startDeadlineInMs',
    'restoreDeadlineInMs',
    'completeDeadlineInMs',
    'pollIntervalInMs',
  ] as const) {
    keep(k);
  }
  return out;
}

/** The fields read/delete need, from stored outputs (no SAS there, and no rule about it). */
export function lrsTarget(
  props: Record<string, unknown>,
): LrsInputs & { managedInstanceId: string; databaseName: string } {
  const c = checkLrsInputs({}, props, 0, { started: true });
  const i = c.inputs;
  if (!i.managedInstanceId || !i.databaseName) {
    throw new Error('stored state lacks managedInstanceId or databaseName');
  }
  return { ...i, managedInstanceId: i.managedInstanceId, databaseName: i.databaseName };
}
