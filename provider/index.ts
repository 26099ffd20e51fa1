/**
 * Entry point the serialized providers load at run time, by package name, from the Pulumi program's
 * node_modules: `require('pulumi-sqlmi-migration/provider')`. Keep it free of heavy imports.
 */
export { distributedAvailabilityGroupLink } from './resources/distributedAvailabilityGroupLink';
export { logReplayMigration } from './resources/logReplayMigration';
