/** The one place that knows which ARM api-versions this project speaks. */
export const API_VERSIONS = {
  /** Distributed availability groups with the new property model, failover and setRole (stable). */
  distributedAvailabilityGroups: '2025-01-01',
  /**
   * Managed databases, restore details and completeRestore: the version @azure/arm-sql 10 used for them
   * (LRS start with storageContainerIdentity, restore details).
   */
  managedDatabases: '2022-05-01-preview',
  /** Managed instances (GET only): 2025-01-01 carries properties.databaseFormat, the update policy. */
  managedInstances: '2025-01-01',
} as const;
