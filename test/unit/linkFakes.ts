import type { ReplicationMode } from '../../provider/core/link/inputs';
import type {
  AvailabilityMode,
  LinkArmPort,
  LinkView,
  ManagedInstanceSqlPort,
  ReplicaRow,
  ServerInfo,
  SqlServerPort,
} from '../../provider/core/link/ports';

/** One in-memory link world behind the three ports; the test moves LSNs and records calls. */
export class FakeLinkWorld {
  calls: string[] = [];
  version: ServerInfo = { productVersion: '16.0.4125.3', productUpdateLevel: 'CU13' };
  tier = 'GeneralPurpose';
  /** The managed instance's update policy (ARM databaseFormat). */
  databaseFormat: string | undefined = 'SQLServer2022';
  instanceReads = 0;
  /** Reads of the link (ARM GET) and of SQL Server's DAG replicas, counted (issue 9). */
  linkReads = 0;
  replicaReads = 0;
  /** Queries of the managed instance's clock of their own (the LSN reading carries it too: issue 9). */
  clockReads = 0;
  /** The managed instance's clock as its LSN reading answers it. */
  miClockAtReading = '2026-01-05T08:58:00.0000000';
  /** Cleanup's reads on SQL Server: does an AG exist, what uses it (issue 9). */
  agReads = 0;
  /** SQL Server's own role in the DAG (stays PRIMARY after a forced failover: split brain). */
  sqlRole: 'PRIMARY' | 'SECONDARY' = 'PRIMARY';
  /** The databases of the link. */
  dbs = ['Sales'];
  /** LSN readings (one sql.lsns call each) and the simulated time of each, when a clock is attached. */
  readingTimes: number[] = [];
  now?: () => number;
  link?: LinkView = {
    replicationMode: 'Async',
    instanceLinkRole: 'Secondary',
    partnerLinkRole: 'Primary',
    instanceAvailabilityGroupName: 'MI_AG',
    databases: [],
  };
  sqlModes: Record<string, AvailabilityMode> = { AG1: 'ASYNCHRONOUS_COMMIT', MI_AG: 'ASYNCHRONOUS_COMMIT' };
  dagOnSql = true;
  agOnSql = true;
  agDatabases = ['Sales'];
  sqlLsn = 1000n;
  miLsn = 1000n;
  /** LSN units the workload adds per read while running. */
  workload = 0n;
  replicating = true;
  miState: Record<string, { state: string; readOnly: boolean }> = {
    Sales: { state: 'ONLINE', readOnly: true },
  };
  backups: Record<string, string> = {};
  backupSince?: string;

  /** A call an earlier run sent that takes effect at the link's `afterReads`-th read from now (in flight until then). */
  inFlight?: { afterReads: number; apply: () => void };
  /** The next call of these kinds acts, then fails (its answer lost). */
  failAfterActing = new Set<'failover' | 'delete'>();

  count(c: string) {
    return this.calls.filter((x) => x === c).length;
  }

  /** Reads of the LSNs so far; `stopWorkloadAfter` stops the workload after that many reads. */
  reads = 0;
  stopWorkloadAfter?: number;
  /** Number of database-state reads after which the MI databases turn read-write. */
  readWriteAfter?: number;
  private stateReads = 0;
  /** Number of backup reads after which the MI reports its first full backup. */
  backupAfter?: number;
  private backupReads = 0;

  private tick() {
    this.reads++;
    if (this.now) this.readingTimes.push(this.now());
    if (this.stopWorkloadAfter !== undefined && this.reads > this.stopWorkloadAfter) this.workload = 0n;
    this.sqlLsn += this.workload;
    if (this.replicating) this.miLsn = this.sqlLsn;
  }

  private lostAnswer(kind: 'failover' | 'delete') {
    if (!this.failAfterActing.delete(kind)) return;
    throw Object.assign(new Error(`the answer to the ${kind} was lost`), { code: 'AzureOutcomeUnknown' });
  }

  makeReadWrite() {
    for (const k of Object.keys(this.miState)) this.miState[k] = { state: 'ONLINE', readOnly: false };
  }

  private synchronous() {
    return (
      this.link?.replicationMode === 'Sync' &&
      Object.values(this.sqlModes).every((m) => m === 'SYNCHRONOUS_COMMIT')
    );
  }

  arm: LinkArmPort = {
    getInstance: async () => {
      this.instanceReads++;
      return { tier: this.tier, databaseFormat: this.databaseFormat };
    },
    getLink: async () => {
      this.linkReads++;
      if (this.inFlight && --this.inFlight.afterReads <= 0) {
        this.inFlight.apply();
        this.inFlight = undefined;
      }
      return this.link ? { ...this.link } : undefined;
    },
    setReplicationMode: async (mode: ReplicationMode) => {
      this.calls.push(`arm.mode:${mode}`);
      if (this.link) this.link.replicationMode = mode;
    },
    deleteLink: async () => {
      this.calls.push('arm.delete');
      this.link = undefined;
      this.replicating = false;
      this.makeReadWrite();
      this.lostAnswer('delete');
    },
    failover: async (type) => {
      this.calls.push(`arm.failover:${type}`);
      if (this.link) this.link = { ...this.link, instanceLinkRole: 'Primary', partnerLinkRole: 'Secondary' };
      this.replicating = false; // forced: the logs diverged; SQL Server keeps its own view (sqlRole)
      this.makeReadWrite();
      this.lostAnswer('failover');
    },
  };

  sql: SqlServerPort = {
    info: async () => this.version,
    dagReplicas: async (): Promise<ReplicaRow[]> =>
      ++this.replicaReads && this.dagOnSql
        ? Object.entries(this.sqlModes).map(([name, mode]) => ({
            agName: 'DAG',
            replicaServerName: name,
            availabilityMode: mode,
            role: name === 'AG1' ? this.sqlRole : this.sqlRole === 'PRIMARY' ? 'SECONDARY' : 'PRIMARY',
          }))
        : [],
    setDagMode: async (_dag, a, b, mode) => {
      this.calls.push(`sql.mode:${mode}`);
      this.sqlModes[a] = mode;
      this.sqlModes[b] = mode;
    },
    /** Every row, remote rows first (the order SQL Server does not guarantee). */
    lsns: async () => {
      this.tick();
      const sync = this.synchronous();
      const state = !this.replicating
        ? 'NOT SYNCHRONIZING'
        : sync && this.miLsn === this.sqlLsn
          ? 'SYNCHRONIZED'
          : 'SYNCHRONIZING';
      return this.dbs.flatMap((database) => [
        {
          database,
          isLocal: false,
          syncState: state,
          connectedState: this.replicating ? 'CONNECTED' : 'DISCONNECTED',
          endOfLog: this.miLsn,
          hardened: this.miLsn,
        },
        {
          database,
          isLocal: true,
          syncState: 'SYNCHRONIZED',
          connectedState: 'CONNECTED',
          endOfLog: this.sqlLsn,
          hardened: sync && this.replicating ? this.miLsn : undefined,
        },
      ]);
    },
    failover: async () => {
      this.calls.push('sql.failover');
      if (this.link) this.link = { ...this.link, instanceLinkRole: 'Primary', partnerLinkRole: 'Secondary' };
      this.sqlRole = 'SECONDARY';
      this.makeReadWrite();
      this.lostAnswer('failover');
    },
    setDagRoleSecondary: async () => {
      this.calls.push('sql.setRoleSecondary');
      this.sqlRole = 'SECONDARY';
    },
    availabilityGroup: async (name) => {
      this.agReads++;
      if (name === 'DAG') return this.dagOnSql ? { distributed: true } : undefined;
      return this.agOnSql ? { distributed: false } : undefined;
    },
    availabilityGroupUsage: async () => {
      this.agReads++;
      return this.agOnSql ? { databases: this.agDatabases, dagCount: this.dagOnSql ? 1 : 0 } : undefined;
    },
    dropAvailabilityGroup: async (name) => {
      this.calls.push(`sql.drop:${name}`);
      if (name === 'DAG') this.dagOnSql = false;
      else this.agOnSql = false;
    },
    close: async () => undefined,
  };

  mi: ManagedInstanceSqlPort = {
    lsns: async () =>
      this.dbs.map((database) => ({
        database,
        hardened: this.miLsn,
        primary: true,
        utcNow: this.miClockAtReading,
      })),
    databaseState: async (db) => {
      this.stateReads++;
      if (this.readWriteAfter !== undefined && this.stateReads > this.readWriteAfter) this.makeReadWrite();
      return this.miState[db];
    },
    utcNow: async () => {
      this.clockReads++;
      return '2026-01-05T08:59:00.0000000';
    },
    firstFullBackup: async (db, since) => {
      this.backupSince = since;
      this.backupReads++;
      if (this.backupAfter !== undefined && this.backupReads > this.backupAfter)
        this.backups[db] ??= '2026-01-05T09:10:00Z';
      return this.backups[db];
    },
    close: async () => undefined,
  };
}
