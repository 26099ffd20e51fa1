/**
 * Keeps the Azure side of the simulated world (World: managed instances and their databases, what the ARM
 * stand-in serves) consistent with the link world:
 * - the databases a link seeds onto the managed instance appear as managed databases (Restoring while seeding,
 *   then Online and read-only while secondary, read-write once the link is broken or failed over), with the
 *   link state under `ManagedDatabase.link`;
 * - databases the World holds but the link world does not (LRS restores, plain creates) show in the managed
 *   instance's sys.databases.
 */
import type { ManagedDatabase, ManagedInstance } from './instances';
import type { DatabaseRow, LinkWorld } from './link';
import { formatLsn } from './lsn';
import type { World } from './world';

/** What `ManagedDatabase.link` holds for a database the link created. */
export interface ManagedDatabaseLinkState {
  role: 'PRIMARY' | 'SECONDARY' | null;
  lastHardenedLsn: string;
}

export function bridgeLinkToWorld(link: LinkWorld, world: World, mi: ManagedInstance): void {
  let scheduledFor: number | undefined;

  const sync = (): void => {
    const snapshot = link.snapshot();
    for (const db of snapshot.managedInstance.databases) {
      let target = mi.databases.get(db.name);
      if (!target) {
        target = {
          name: db.name,
          status: 'Restoring',
          collation: mi.collation,
          createMode: 'Default',
          tags: {},
          creationDate: new Date(snapshot.at),
          readOnly: true,
          createParameters: { createMode: 'Default', collation: mi.collation },
        } satisfies ManagedDatabase;
        mi.databases.set(db.name, target);
      }
      target.status = db.state === 'RESTORING' ? 'Restoring' : 'Online';
      target.readOnly = db.state === 'RESTORING' || db.readOnly;
      target.lsn = db.lastHardenedLsn;
      target.link = {
        role: db.role,
        lastHardenedLsn: formatLsn(db.lastHardenedLsn),
      } satisfies ManagedDatabaseLinkState;
    }
    // Wake up again when seeding ends or a first backup is taken (states derived from the clock).
    const next = link.nextChangeAt();
    if (next !== undefined && next !== scheduledFor) {
      scheduledFor = next;
      world.schedule(next, sync);
    }
  };

  link.subscribe(sync);
  link.setUpdatePolicy(() => mi.databaseFormat ?? 'SQLServer2022');
  link.setExternalDatabases((side, name): DatabaseRow | undefined => {
    if (side !== 'managedInstance') return undefined;
    const db = mi.databases.get(name);
    if (!db || db.dropScheduledAt !== undefined) return undefined;
    return {
      name: db.name,
      state: db.status === 'Online' ? 'ONLINE' : 'RESTORING',
      readOnly: db.readOnly && db.status === 'Online',
      userAccess: 'MULTI_USER',
    };
  });
  sync();
}
