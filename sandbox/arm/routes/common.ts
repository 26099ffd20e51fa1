import { ServiceError } from '../../world/errors';
import type { ManagedDatabase, ManagedInstance } from '../../world/instances';
import type { ArmContext } from '../context';
import { OPERATION_FAULT_KINDS } from '../faults';
import type { Operation } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';

/** Path templates shared by the Microsoft.Sql route families. */
export const RESOURCE_GROUP = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}';
export const MANAGED_INSTANCE = `${RESOURCE_GROUP}/providers/Microsoft.Sql/managedInstances/{managedInstanceName}`;
export const MANAGED_DATABASE = `${MANAGED_INSTANCE}/databases/{databaseName}`;

/**
 * The managed instance of the request path, or the ARM 404 a missing one gets: ResourceGroupNotFound, else
 * ResourceNotFound naming the instance, also for requests on resources nested under it (the gateway's answer to a
 * POST …/managedInstances/invalidmi/distributedAvailabilityGroups/Link4/failover: link-errors seq 5).
 */
export function findInstance(ctx: ArmContext, req: ArmRequest, _nested: boolean): ManagedInstance {
  const { subscriptionId, resourceGroupName, managedInstanceName } = req.params;
  const mi = ctx.world.instance(subscriptionId, resourceGroupName, managedInstanceName);
  if (mi) return mi;
  if (!ctx.world.instances.hasResourceGroup(subscriptionId, resourceGroupName)) {
    throw new ServiceError(
      'ResourceGroupNotFound',
      `Resource group '${resourceGroupName}' could not be found.`,
      404,
    );
  }
  throw resourceNotFound(`Microsoft.Sql/managedInstances/${managedInstanceName}`, resourceGroupName);
}

/** The managed database of the request path (a database being dropped still exists until the drop is done). */
export function findDatabase(
  ctx: ArmContext,
  req: ArmRequest,
  nested: boolean,
): { mi: ManagedInstance; db: ManagedDatabase } {
  const mi = findInstance(ctx, req, true);
  const name = req.params.databaseName;
  const db = mi.databases.get(name);
  if (db) return { mi, db };
  if (nested) {
    throw new ServiceError(
      'ParentResourceNotFound',
      `Can not perform requested operation on nested resource. Parent resource '${mi.name}/${name}' not found.`,
      404,
    );
  }
  throw resourceNotFound(
    `Microsoft.Sql/managedInstances/${mi.name}/databases/${name}`,
    req.params.resourceGroupName,
  );
}

export function resourceNotFound(resource: string, resourceGroup: string): ServiceError {
  return new ServiceError(
    'ResourceNotFound',
    `The Resource '${resource}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
    404,
  );
}

/** Reads a property case-insensitively (the service deserialises JSON property names case-insensitively). */
export function prop(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const record = obj as Record<string, unknown>;
  if (name in record) return record[name];
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

/** A string property, or undefined; other types are a 400 InvalidRequestContent. */
export function stringProp(obj: unknown, name: string): string | undefined {
  const value = prop(obj, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidContent(`'${name}' must be a string.`);
  return value;
}

export function booleanProp(obj: unknown, name: string): boolean | undefined {
  const value = prop(obj, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidContent(`'${name}' must be a boolean.`);
  return value;
}

export function invalidContent(detail: string): ServiceError {
  return new ServiceError(
    'InvalidRequestContent',
    `The request content was invalid and could not be deserialized: ${detail}`,
  );
}

/**
 * The answer to every write (PUT, PATCH, DELETE, POST) that starts an operation: 202, a stub body
 * `{operation, startTime}` (`operation` = the service's name of it, e.g. CreateExternalManagedBackupRestoreV2Request)
 * and both Azure-AsyncOperation and Location, plus Retry-After when the sandbox sends it. Sources: lrs-continuous t2
 * (PUT) and t3 (POST completeRestore), lrs-cancel u6 and lrs-ps-stop x8 (DELETE), lrs-ps-stop-foreign-database w3
 * (PUT createMode Default), link-errors 9 and 16 (PUT, also a repeated one), link-errors 6 (DELETE),
 * link-multi-database-update 12 (PATCH); Retry-After 15 on every PowerShell one (lrs-ps-autocomplete 31).
 */
export function acceptedOperation(
  ctx: ArmContext,
  req: ArmRequest,
  op: Operation,
  answer: { operation: string },
): ArmResponse {
  op.resourceGroup ??= req.params.resourceGroupName;
  const fault = ctx.faults.take(req.method, req.path, OPERATION_FAULT_KINDS);
  if (fault) {
    // Fault lroFailed / lroCanceled: the operation ends so after fault.afterMs, whatever the world does. The error
    // has the shape of a failed poll (lrs-ps-failed-start v3); no source for a Canceled one.
    const failed = fault.kind === 'lroFailed';
    ctx.lro.force(op, {
      status: failed ? 'Failed' : 'Canceled',
      afterMs: fault.afterMs,
      error: new ServiceError(
        fault.errorCode ?? (failed ? 'InternalServerError' : 'OperationCanceled'),
        fault.message ??
          (failed
            ? 'An unexpected error occured while processing the request.'
            : 'The operation was canceled.'),
      ),
    });
  }
  return {
    status: 202,
    headers: {
      'Azure-AsyncOperation': ctx.lro.asyncOperationUrl(op, req.baseUrl, req.apiVersion),
      Location: ctx.lro.locationUrl(op, req.baseUrl, req.apiVersion),
      ...ctx.lro.retryAfter(),
    },
    body: ctx.lro.stubBody(op, answer.operation),
  };
}

/**
 * The 202 answer of a Microsoft.Sql write as recorded: see acceptedOperation (the managed-database routes name
 * their operation here).
 */
export function acceptedStub(
  ctx: ArmContext,
  req: ArmRequest,
  op: Operation,
  operation: string,
): ArmResponse {
  return acceptedOperation(ctx, req, op, { operation });
}

/**
 * The service's names of the link operations (the `operation` of the 202 stub), which changed with the api-version:
 * DistributedAvailabilityGroupsLinkCreate / …LinkCreateFromMI (instance primary) / …DropLink up to 2023-08-01-preview
 * (link-errors 9, 6; link-mgmt 1, 8), CreateManagedFailoverGroup / UpdateManagedFailoverGroup /
 * DropManagedFailoverGroup with 2025-08-01-preview (link-multi-database-update 1, 12, 27). Failover, setRole and a
 * PATCH before 2025-08 are not recorded: no source, the names follow the same pattern.
 */
export function linkOperationName(
  action: 'create' | 'createFromInstance' | 'update' | 'drop' | 'failover' | 'setRole',
  apiVersion: string | undefined,
): string {
  const newer = (apiVersion ?? '').slice(0, 10) >= '2025-08-01';
  const names = newer
    ? {
        create: 'CreateManagedFailoverGroup',
        createFromInstance: 'CreateManagedFailoverGroup',
        update: 'UpdateManagedFailoverGroup',
        drop: 'DropManagedFailoverGroup',
        failover: 'FailoverManagedFailoverGroup',
        setRole: 'SetRoleManagedFailoverGroup',
      }
    : {
        create: 'DistributedAvailabilityGroupsLinkCreate',
        createFromInstance: 'DistributedAvailabilityGroupsLinkCreateFromMI',
        update: 'DistributedAvailabilityGroupsUpdate',
        drop: 'DistributedAvailabilityGroupsDropLink',
        failover: 'DistributedAvailabilityGroupsFailover',
        setRole: 'DistributedAvailabilityGroupsSetRole',
      };
  return names[action];
}

/**
 * Paired region, reported as `defaultSecondaryLocation` in the service's short form ("westus2" for westcentralus:
 * lrs-ps-autocomplete 30, lrs-ps-complete 8, lrs-ps-stop-foreign-database w1); the others are Azure's documented
 * region pairs.
 */
const PAIRED_REGIONS: Record<string, string> = {
  westcentralus: 'westus2',
  westus2: 'westcentralus',
  westeurope: 'northeurope',
  northeurope: 'westeurope',
  eastus: 'westus',
  westus: 'eastus',
  eastus2: 'centralus',
  centralus: 'eastus2',
  eastus2euap: 'centraluseuap',
  southeastasia: 'eastasia',
  eastasia: 'southeastasia',
};

export function pairedRegion(location: string): string | undefined {
  return PAIRED_REGIONS[location.toLowerCase().replace(/\s+/g, '')];
}
