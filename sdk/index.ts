export {
  LogReplayMigration,
  type LogReplayMigrationArgs,
  logReplayMigrationProvider,
} from './logReplayMigration';
