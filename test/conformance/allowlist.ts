import type { Aspect } from './compare';

/**
 * The ONE list of differences between the ARM stand-in and the recorded Azure traffic that the conformance suite
 * (replay.test.ts) accepts, each with its reason. Any other difference fails the suite, and so does an entry that no
 * longer matches a difference (remove it once the stand-in answers as recorded).
 *
 * `pending` names the helper slice fixing the difference now (lrs: LRS lifetimes, restoreDetails, database routes;
 * link: link routes); such entries are removed when that work is merged.
 */
export interface AllowedDifference {
  /** The recording(s). With explicit `seqs`, exactly one file. */
  files: string | string[];
  /** The recorded seq labels the difference shows at, each of which must still show it; '*' = any step. */
  seqs: string[] | '*';
  aspect: Aspect;
  /** Header name, field path or state path (as the suite prints them); several allowed. */
  at: string | string[];
  /** The recorded / sandbox values as printed (omit to accept any). */
  recorded?: string;
  sandbox?: string;
  reason: string;
  pending?: 'lrs' | 'link';
}

const PS_LRS = ['lrs-ps-autocomplete.jsonl', 'lrs-ps-complete.jsonl', 'lrs-ps-stop.jsonl'];
const POLLED_MISSING = 'no such operation URL in the earlier answers';

export const ALLOWED: AllowedDifference[] = [
  // ---------------------------------------------------------------------------------------------------------------
  // Log Replay Service (sandbox/world/lrs.ts, arm/routes/managedDatabases.ts, restoreDetails.ts): slice "lrs"
  // ---------------------------------------------------------------------------------------------------------------
  {
    files: 'lrs-continuous.jsonl',
    seqs: ['t2'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '400 MissingCollation',
    reason:
      'az CLI starts LRS without a collation and the service accepts it (202); the stand-in requires one (issue 7)',
    pending: 'lrs',
  },
  {
    files: 'lrs-continuous.jsonl',
    seqs: ['t3', 't23', 't25'],
    aspect: 'status',
    at: 'status',
    sandbox: '404 ResourceNotFound',
    reason: 'follows from t2: the stand-in refused the start, so there is no database to complete or read',
    pending: 'lrs',
  },
  {
    files: 'lrs-continuous.jsonl',
    seqs: [
      't4',
      't5',
      't6',
      't7',
      't8',
      't9',
      't10',
      't11',
      't12',
      't13',
      't14',
      't15',
      't16',
      't17',
      't18',
      't19',
      't20',
      't21',
      't22',
      't24',
    ],
    aspect: 'replay',
    at: 'operation poll',
    sandbox: POLLED_MISSING,
    reason:
      'follows from t2/t3: no start or complete operation to poll; once they are accepted the polls compare the lifetimes',
    pending: 'lrs',
  },
  {
    files: 'lrs-cancel.jsonl',
    seqs: ['u2'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '400 MissingCollation',
    reason:
      'az CLI starts LRS without a collation and the service accepts it (202); the stand-in requires one',
    pending: 'lrs',
  },
  {
    files: 'lrs-cancel.jsonl',
    seqs: ['u6'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '204',
    reason:
      'follows from u2: no database to drop (a DELETE of a missing database answers 204 in the stand-in)',
    pending: 'lrs',
  },
  {
    files: 'lrs-cancel.jsonl',
    seqs: ['u3', 'u4', 'u5', 'u7', 'u8', 'u9', 'u-tail', 'u-last'],
    aspect: 'replay',
    at: 'operation poll',
    sandbox: POLLED_MISSING,
    reason:
      'follows from u2/u6: no start or drop operation to poll; once accepted the polls compare the lifetimes',
    pending: 'lrs',
  },
  {
    files: PS_LRS,
    seqs: '*',
    aspect: 'fields',
    at: [
      'properties.type',
      'properties.percentCompleted',
      'properties.currentRestoredSizeMB',
      'properties.currentRestorePlanSizeMB',
      'properties.currentBackupType',
      'properties.numberOfFilesQueued',
      'properties.numberOfFilesSkipped',
      'properties.numberOfFilesRestoring',
      'properties.numberOfFilesRestored',
      'properties.numberOfFilesUnrestorable',
      'properties.fullBackupSets',
      'properties.fullBackupSets[].status',
      'properties.fullBackupSets[].firstStripeName',
      'properties.fullBackupSets[].numberOfStripes',
      'properties.fullBackupSets[].backupSizeMB',
      'properties.fullBackupSets[].restoreStartedTimestampUtc',
      'properties.fullBackupSets[].restoreFinishedTimestampUtc',
      'properties.diffBackupSets',
      'properties.logBackupSets',
      'properties.logBackupSets[].status',
      'properties.logBackupSets[].firstStripeName',
      'properties.logBackupSets[].numberOfStripes',
      'properties.logBackupSets[].backupSizeMB',
      'properties.logBackupSets[].restoreStartedTimestampUtc',
      'properties.lastRestoredFileTime',
    ],
    recorded: 'absent',
    sandbox: 'present',
    reason:
      'restoreDetails fields of the REST spec example that no recording shows (recordings README: no type, ' +
      'blockReason, percentCompleted or per-file lists); issue 7 point 4',
    pending: 'lrs',
  },
  {
    files: ['lrs-ps-autocomplete.jsonl', 'lrs-ps-complete.jsonl'],
    seqs: '*',
    aspect: 'fields',
    at: [
      'properties.lastUploadedFileName',
      'properties.lastUploadedFileTime',
      'properties.currentRestoringFileName',
      'properties.unrestorableFiles',
    ],
    recorded: 'absent',
    sandbox: 'present',
    reason:
      'while Initializing with numberOfFilesDetected 0 the service answers only {status, numberOfFilesDetected} ' +
      '(lrs-ps-autocomplete 32, lrs-ps-complete 10/11); the stand-in has scanned the container at the PUT already',
    pending: 'lrs',
  },
  {
    files: PS_LRS,
    seqs: '*',
    aspect: 'state',
    at: 'properties.status',
    recorded: 'Initializing',
    sandbox: 'Restoring',
    reason:
      'restoreDetails says Initializing for the first seconds (even with files detected, lrs-ps-stop x4); the ' +
      'stand-in restores from its first scan on',
    pending: 'lrs',
  },
  {
    files: ['lrs-ps-autocomplete.jsonl', 'lrs-ps-complete.jsonl'],
    seqs: '*',
    aspect: 'fields',
    at: 'properties.currentRestoringFileName',
    recorded: 'present',
    sandbox: 'absent',
    reason:
      'once Completed the service still names the last file as currentRestoringFileName (lrs-ps-autocomplete 41)',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-complete.jsonl',
    seqs: ['12'],
    aspect: 'fields',
    at: 'properties.lastRestoredFileName',
    recorded: 'absent',
    sandbox: 'present',
    reason:
      'the service reports lastRestoredFileName only from completion on (recordings README); the stand-in from the first restored file',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-complete.jsonl',
    seqs: ['15', '16', '17', '18', '19', '20', '21', '22', '23'],
    aspect: 'state',
    at: 'status',
    recorded: 'InProgress',
    sandbox: 'Succeeded',
    reason:
      'the continuous-mode start operation lives until the migration completes (issue 7 point 1); the stand-in ' +
      'ends it lrsStartMs after the first scan',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-complete.jsonl',
    seqs: ['33', '34'],
    aspect: 'state',
    at: 'status',
    recorded: 'InProgress',
    sandbox: 'Succeeded',
    reason:
      'the completeRestore operation ends ~20 s after the database is Online (8 at 13:40:42, 35 at 13:41:04); the ' +
      'stand-in ends it when the restore completes',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-stop.jsonl',
    seqs: ['x7'],
    aspect: 'state',
    at: 'status',
    recorded: 'Succeeded',
    sandbox: 'Canceled',
    reason:
      'a start operation whose database is dropped ends Succeeded (lrs-ps-stop x7, lrs-cancel u9), not Canceled',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-stop.jsonl',
    seqs: ['x7'],
    aspect: 'fields',
    at: ['error', 'error.code', 'error.message'],
    recorded: 'absent',
    sandbox: 'present',
    reason: 'follows from the Canceled start operation (x7): a Succeeded one carries no error',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-stop.jsonl',
    seqs: ['x1'],
    aspect: 'status',
    at: 'status',
    recorded: '404',
    sandbox: '200',
    reason:
      'the database is gone (404) seconds after the DELETE while the drop operation runs 25 min (issue 7 point 2); ' +
      'the stand-in keeps the database until its drop operation ends (dropDatabaseMs set to the recorded 25 min)',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-stop-foreign-database.jsonl',
    seqs: ['w5'],
    aspect: 'status',
    at: 'status',
    recorded: '500',
    sandbox: '400 RestoreDetailsNotAvailableOrExpired',
    reason:
      'restoreDetails of a database that is not an LRS restore answers 500 InternalServerError (issue 7 point 4)',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-failed-start.jsonl',
    seqs: ['v3'],
    aspect: 'state',
    at: 'error.code',
    recorded: 'FullBackupNotFound',
    sandbox: 'BrokenRestorePlanNoFullBackup',
    reason: 'a start without a usable full backup fails with FullBackupNotFound (lrs-ps-failed-start v3)',
    pending: 'lrs',
  },
  {
    files: 'lrs-ps-failed-start.jsonl',
    seqs: ['v4'],
    aspect: 'status',
    at: 'status',
    recorded: '500',
    sandbox: '400 BrokenRestorePlanNoFullBackup',
    reason: 'restoreDetails after a failed start answered 500 InternalServerError, not the failure code',
    pending: 'lrs',
  },
  // ---------------------------------------------------------------------------------------------------------------
  // Managed Instance link (sandbox/world/link*.ts, arm/routes/dag.ts): slice "link"
  // ---------------------------------------------------------------------------------------------------------------
  {
    files: 'link-mgmt.jsonl',
    seqs: ['1'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '400 InvalidParameterValue',
    reason:
      'a link created from the managed instance (instanceLinkRole Primary) is accepted; the stand-in refuses it',
    pending: 'link',
  },
  {
    files: 'link-mgmt.jsonl',
    seqs: ['5', '6', '7'],
    aspect: 'status',
    at: 'status',
    recorded: '200',
    sandbox: '404 ResourceNotFound',
    reason: 'follows from seq 1: the link was not created',
    pending: 'link',
  },
  {
    files: 'link-mgmt.jsonl',
    seqs: ['8'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '204',
    reason: 'follows from seq 1 (and a DELETE of a missing link answers 202 in Azure, see link-errors 6)',
    pending: 'link',
  },
  {
    files: 'link-mgmt.jsonl',
    seqs: ['2', '3', '4', '9', '10'],
    aspect: 'replay',
    at: 'operation poll',
    sandbox: POLLED_MISSING,
    reason: 'follows from seq 1 and 8: no create or drop operation to poll',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['0'],
    aspect: 'state',
    at: 'error.code',
    recorded: 'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestDatabases',
    sandbox: 'InvalidParameterValue',
    reason: 'the service refuses an empty databases list with its own code',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['1'],
    aspect: 'state',
    at: 'error.code',
    recorded: 'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestInstanceAvailabilityGroupName',
    sandbox: 'InvalidParameterValue',
    reason: 'the service refuses an empty instanceAvailabilityGroupName with its own code',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['2'],
    aspect: 'state',
    at: 'error.code',
    recorded: 'InvalidDistributedAvailabilityGroupsCreateOrUpdateRequestPartnerAvailabilityGroupName',
    sandbox: 'InvalidParameterValue',
    reason: 'the service refuses an empty partnerAvailabilityGroupName with its own code',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['4'],
    aspect: 'status',
    at: 'status',
    recorded: '400',
    sandbox: '202',
    reason:
      "the service refuses partnerEndpoint 'not_valid_value' (InvalidParameterValue SourceEndpoint); the stand-in accepts it",
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['6'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '204',
    reason:
      'DELETE of a link that does not exist answers 202 and its operation fails OperationIdNotFound (issue 7 point 13)',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['7'],
    aspect: 'replay',
    at: 'operation poll',
    sandbox: POLLED_MISSING,
    reason: 'follows from seq 6: no drop operation to poll (it should end Failed OperationIdNotFound)',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['15', '18'],
    aspect: 'fields',
    at: ['properties.databases[].seedingProgress', 'properties.databases[].lastCommitTime'],
    recorded: 'absent',
    sandbox: 'present',
    reason: 'fields of the per-database link state the recordings never show',
    pending: 'link',
  },
  {
    files: 'link-errors.jsonl',
    seqs: ['15', '18'],
    aspect: 'state',
    at: 'properties.databases[].replicaState',
    recorded: 'LinkSynchronizing',
    sandbox: 'Catchup',
    reason:
      'the recorded replicaState values are InitiatingLink, LinkSynchronizing, LinkSynchronizationError',
    pending: 'link',
  },
  {
    files: 'link-multi-database-update.jsonl',
    seqs: ['1'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '400 InvalidParameterValue',
    reason:
      'a multi-database link created from the managed instance (Primary, linkMode MultiDatabase) is accepted',
    pending: 'link',
  },
  {
    files: 'link-multi-database-update.jsonl',
    seqs: ['10', '11', '19', '20', '25', '26', '12', '21'],
    aspect: 'status',
    at: 'status',
    sandbox: '404 ResourceNotFound',
    reason: 'follows from seq 1: no link to read or PATCH (PATCH of databases replaces the list: 12, 21)',
    pending: 'link',
  },
  {
    files: 'link-multi-database-update.jsonl',
    seqs: ['27'],
    aspect: 'status',
    at: 'status',
    recorded: '202',
    sandbox: '204',
    reason: 'follows from seq 1 (and a DELETE of a missing link answers 202, link-errors 6)',
    pending: 'link',
  },
  {
    files: 'link-multi-database-update.jsonl',
    seqs: [
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '13',
      '14',
      '15',
      '16',
      '17',
      '18',
      '22',
      '23',
      '24',
      '28',
      '29',
    ],
    aspect: 'replay',
    at: 'operation poll',
    sandbox: POLLED_MISSING,
    reason: 'follows from seq 1, 12, 21, 27: no operation to poll',
    pending: 'link',
  },
];
