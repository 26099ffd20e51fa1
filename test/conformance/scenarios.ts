import type { Sandbox, SandboxOptions } from '../../sandbox';
import type { ManagedInstanceInit } from '../../sandbox/world/instances';
import type { RecordedStep } from './recordings';

/**
 * What each recording needs of the world before its first request (the instance, backups in Azurite, the SQL
 * Server side of a link), and how long its service-side work took (the world's timings, read off the recording's
 * Date headers, so that simulated time moves as recorded time did). One scenario per recording file.
 *
 * The timings are the recorded durations, not values chosen to make the stand-in agree: where the stand-in's
 * model cannot produce a recorded lifetime (e.g. a drop whose operation outlives the database), the difference
 * shows and is listed in allowlist.ts.
 */

export interface Scenario {
  file: string;
  /** Who recorded it: az CLI recordings have no Retry-After, PowerShell ones `15` on every poll. */
  client: 'az CLI' | 'Az PowerShell';
  instance: ManagedInstanceInit;
  /** Sandbox options (timings of the world, LRS, link) as the recording's durations say. */
  options: SandboxOptions;
  /** Order of answers that share one Date second (the PowerShell files are grouped by URI, not by time). */
  tieOrder?: string[];
  /** Puts the world in the recording's starting state (runs at the simulated time of the first step − 1 min). */
  setup(sb: Sandbox): Promise<void>;
}

const ZERO_SUB = '00000000-0000-0000-0000-000000000000';

/** Retry-After of each client's recordings (README of the recordings: "Retry-After varies"). */
function retryAfter(client: Scenario['client']): SandboxOptions['retryAfter'] {
  return client === 'az CLI' ? 'absent' : 15;
}

/**
 * The two backups every LRS recording shows (`numberOfFilesDetected: 2`, `full.bak` then `log1.bak`, both in the
 * container root), with sizes that make the simulated restore take as long as the recorded one did
 * (restore time = sizeMB / restoreMBps + perFileOverheadMs).
 */
async function fullAndLog(sb: Sandbox, sizes: { fullMB: number; logMB: number }): Promise<void> {
  sb.sqlServer.addDatabase('source');
  await sb.sqlServer.backupFull('source', { blobName: 'full.bak', sizeMB: sizes.fullMB });
  await sb.sqlServer.backupLog('source', { blobName: 'log1.bak', sizeMB: sizes.logMB });
}

const LRS_RESTORE = { restoreMBps: 50, perFileOverheadMs: 2_000 };

export const SCENARIOS: Scenario[] = [
  {
    // PUT t2 13:30:17, completeRestore(log1.bak) t3 +11 s, start op Succeeded between t20 (+139 s) and t22
    // (+155 s), database Online t23 (+156 s), complete op Succeeded t24 (+165 s). The CLI read no restoreDetails:
    // backups small enough to be restored by the time complete is sent; recovery ~135 s.
    file: 'lrs-continuous.jsonl',
    client: 'az CLI',
    instance: {
      subscriptionId: ZERO_SUB,
      resourceGroup: 'cliLogReplayTest',
      name: 'clitestmi000001',
      location: 'westcentralus',
    },
    options: { lrs: { ...LRS_RESTORE, completionMs: 120_000 } },
    setup: (sb) => fullAndLog(sb, { fullMB: 100, logMB: 50 }),
  },
  {
    // PUT u2 21:41:33, stop (DELETE) u6 +61 s while restoring; start op Succeeded u9 (+76 s); database 404 u10;
    // the drop's operation InProgress until 22:07:18, Succeeded 22:07:33 (~24 min 59 s after the DELETE).
    file: 'lrs-cancel.jsonl',
    client: 'az CLI',
    instance: {
      subscriptionId: ZERO_SUB,
      resourceGroup: 'cliLogReplayCancel',
      name: 'clitestmi000001',
      location: 'westeurope',
    },
    options: { lrs: LRS_RESTORE, timings: { dropOperationMs: (24 * 60 + 50) * 1_000 } },
    setup: (sb) => fullAndLog(sb, { fullMB: 50_000, logMB: 50 }),
  },
  {
    // PUT 31 12:52:53 (autoComplete, lastBackupName full.bak); restoreDetails Restoring from +22 s to +129 s,
    // Completed at +144 s; start op InProgress at +138 s, Succeeded +154 s; database Online +154 s.
    file: 'lrs-ps-autocomplete.jsonl',
    client: 'Az PowerShell',
    instance: {
      subscriptionId: 'a8c9a924-06c0-4bde-9788-e7b1370969e1',
      resourceGroup: 'ps8712',
      name: 'ps3953',
      location: 'westcentralus',
    },
    options: { lrs: { ...LRS_RESTORE, completionMs: 5_000 } },
    setup: (sb) => fullAndLog(sb, { fullMB: 5_500, logMB: 50 }),
  },
  {
    // PUT 9 13:37:54; restoreDetails Initializing (+6 s, +21 s), Restoring full.bak (+37 s); completeRestore
    // (full.bak) 25 the same second; start op Succeeded 24 (+167 s); database Online 8 (+168 s); complete op
    // InProgress 34 (+174 s), Succeeded 35 (+190 s); its Location answers 201 with the database (36); restoreDetails
    // Completed (13). full.bak still restoring at +37 s (12). Restoring from +21.5 s (lrsStartMs), full.bak 30 s,
    // log1.bak 3 s: chain restored 13:38:48.5; the recovery ends at the creationDate 36 shows, 13:40:37.307
    // (between 23 and 24): completionMs 108.8 s.
    file: 'lrs-ps-complete.jsonl',
    client: 'Az PowerShell',
    instance: {
      subscriptionId: 'a8c9a924-06c0-4bde-9788-e7b1370969e1',
      resourceGroup: 'ps5046',
      name: 'ps4005',
      location: 'westcentralus',
    },
    options: { lrs: { ...LRS_RESTORE, completionMs: 108_800 } },
    tieOrder: ['35', '36', '13'],
    setup: (sb) => fullAndLog(sb, { fullMB: 1_400, logMB: 50 }),
  },
  {
    // PUT x3 14:13:28; restoreDetails Initializing (+6 s, 2 files), Restoring (+22 s); DELETE x8 the same
    // second; start op Succeeded x7 (+30 s); database 404 x1 (+30 s); the drop's operation InProgress until
    // 14:38:56 and Succeeded 14:39:11 (25 min 21 s); its Location 204 (y2); database 404 (x2).
    file: 'lrs-ps-stop.jsonl',
    client: 'Az PowerShell',
    instance: {
      subscriptionId: 'a8c9a924-06c0-4bde-9788-e7b1370969e1',
      resourceGroup: 'ps4539',
      name: 'ps6235',
      location: 'westcentralus',
    },
    options: { lrs: LRS_RESTORE, timings: { dropOperationMs: (25 * 60 + 15) * 1_000 } },
    tieOrder: ['x7', 'x1', 'y1', 'y2', 'x2'],
    setup: (sb) => fullAndLog(sb, { fullMB: 50_000, logMB: 50 }),
  },
  {
    // A plain database (createMode Default, PUT w3 16:39:34, op Succeeded at its first poll +16 s); Stop reads
    // the database and restoreDetails, which answers 500 (w5).
    file: 'lrs-ps-stop-foreign-database.jsonl',
    client: 'Az PowerShell',
    instance: {
      subscriptionId: '8313371e-0879-428e-b1da-6353575a9192',
      resourceGroup: 'ps7259',
      name: 'ps7785',
      location: 'westcentralus',
    },
    options: { timings: { createDatabaseMs: 10_000 } },
    tieOrder: ['w4', 'w1'],
    setup: async () => undefined,
  },
  {
    // PUT v1 21:06:13 (autoComplete) on a container without a usable full backup (a log backup only, the full
    // one elsewhere); op InProgress +15 s, Failed FullBackupNotFound +30 s; restoreDetails 500 (v4).
    file: 'lrs-ps-failed-start.jsonl',
    client: 'Az PowerShell',
    instance: {
      subscriptionId: '62e48210-5e43-423e-889b-c277f3e08c39',
      resourceGroup: 'mibrkiclogreplay',
      name: 'ps2939',
      location: 'westeurope',
    },
    options: { lrs: { ...LRS_RESTORE, stallGraceMs: 20_000 } },
    setup: async (sb) => {
      sb.sqlServer.addDatabase('source');
      await sb.sqlServer.backupFull('source', { blobName: 'elsewhere/full.bak' });
      await sb.sqlServer.backupLog('source', { blobName: 'log1.bak' });
    },
  },
  {
    // A link created from the managed instance (instanceLinkRole Primary, operation
    // DistributedAvailabilityGroupsLinkCreateFromMI) for the instance's database CLI1: op Succeeded at +31 s.
    file: 'link-mgmt.jsonl',
    client: 'az CLI',
    instance: {
      subscriptionId: ZERO_SUB,
      resourceGroup: 'DaniRG',
      name: 'chimera-canary-gpv2-01',
      location: 'eastus2euap',
    },
    options: { link: { seedingMs: 25_000 } },
    setup: async (sb) => {
      sb.link.addDatabase('CLI1', { side: 'managedInstance' });
    },
  },
  {
    // Refused creates, DELETE of a link that does not exist, a create of Link4 (instance secondary) for SQL
    // Server's AG_PS4 [PS4] whose op runs ~61 s, a repeated PUT, a planned failover refused on a secondary.
    file: 'link-errors.jsonl',
    client: 'az CLI',
    instance: {
      subscriptionId: ZERO_SUB,
      resourceGroup: 'DaniRG',
      name: 'chimera-canary-gpv2-01',
      location: 'eastus2euap',
    },
    options: { link: { seedingMs: 55_000 } },
    setup: async (sb) => {
      sb.link.createAvailabilityGroup('AG_PS4', ['PS4']);
      sb.link.createSqlServerDag({ name: 'Link4', sqlServerAg: 'AG_PS4', miAg: 'AG_PS4_MI' });
    },
  },
  {
    // A multi-database link created from the managed instance (db1, db2; op ~81 s), PATCH of its databases to
    // db1, db2, db3 (~55 s) and back to db1 (~23 s), DELETE (~11 s).
    file: 'link-multi-database-update.jsonl',
    client: 'az CLI',
    instance: {
      subscriptionId: ZERO_SUB,
      resourceGroup: 'ivankostic-rg',
      name: 'ivan-mi-25',
      location: 'westeurope',
    },
    options: { link: { seedingMs: 75_000 } },
    setup: async (sb) => {
      for (const db of ['db1', 'db2', 'db3']) sb.link.addDatabase(db, { side: 'managedInstance' });
    },
  },
];

for (const s of SCENARIOS) s.options = { retryAfter: retryAfter(s.client), ...s.options };

/**
 * The request body to send for a recorded one: the storage container and SAS of an LRS start are the sandbox's
 * (the recorded ones point at Microsoft's test accounts, their signatures shortened).
 */
export function requestBody(step: RecordedStep, sb: Sandbox): unknown {
  const body = step.requestBody;
  if (typeof body !== 'object' || body === null) return body;
  const properties = (body as { properties?: Record<string, unknown> }).properties;
  if (!properties || typeof properties.storageContainerUri !== 'string') return body;
  return {
    ...body,
    properties: {
      ...properties,
      storageContainerUri: sb.storage.containerUrl(),
      storageContainerSasToken: sb.storage.makeSas({ permissions: 'rl' }),
    },
  };
}
