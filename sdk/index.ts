export {
  DistributedAvailabilityGroupLink,
  type DistributedAvailabilityGroupLinkArgs,
  distributedAvailabilityGroupLinkProvider,
  type LinkDatabaseState,
  type SqlConnectionArgs,
} from './distributedAvailabilityGroupLink';
export {
  LogReplayMigration,
  type LogReplayMigrationArgs,
  logReplayMigrationProvider,
} from './logReplayMigration';
export {
  MigrationWave,
  type MigrationWaveArgs,
  type WaveDatabaseArgs,
  type WaveLinkArgs,
  type WaveLrsSettings,
} from './migrationWave';
