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

const POLLED_MISSING = 'no such operation URL in the earlier answers';

export const ALLOWED: AllowedDifference[] = [
  // ---------------------------------------------------------------------------------------------------------------
  // Log Replay Service (sandbox/world/lrs.ts, arm/routes/managedDatabases.ts, restoreDetails.ts): slice "lrs"
  // ---------------------------------------------------------------------------------------------------------------
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
