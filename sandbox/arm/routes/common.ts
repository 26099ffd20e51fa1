import { ServiceError } from '../../world/errors';
import type { ManagedDatabase, ManagedInstance } from '../../world/instances';
import type { ArmContext } from '../context';
import type { Operation } from '../lro';
import type { ArmRequest, ArmResponse } from '../router';

/** Path templates shared by the Microsoft.Sql route families. */
export const RESOURCE_GROUP = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}';
export const MANAGED_INSTANCE = `${RESOURCE_GROUP}/providers/Microsoft.Sql/managedInstances/{managedInstanceName}`;
export const MANAGED_DATABASE = `${MANAGED_INSTANCE}/databases/{databaseName}`;

/**
 * The managed instance of the request path, or the ARM 404 a missing one gets: ResourceGroupNotFound,
 * then ResourceNotFound for the instance itself or ParentResourceNotFound for a nested resource.
 */
export function findInstance(ctx: ArmContext, req: ArmRequest, nested: boolean): ManagedInstance {
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
  if (nested) {
    throw new ServiceError(
      'ParentResourceNotFound',
      `Can not perform requested operation on nested resource. Parent resource '${managedInstanceName}' not found.`,
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

/** The 201/200/202 answer that starts an operation, with its polling headers. */
export function acceptedOperation(
  ctx: ArmContext,
  req: ArmRequest,
  op: Operation,
  answer: { status: number; body?: unknown; via: 'Azure-AsyncOperation' | 'Location' },
): ArmResponse {
  const headers: Record<string, string> = { ...ctx.lro.retryAfter() };
  if (answer.via === 'Azure-AsyncOperation') {
    headers['Azure-AsyncOperation'] = ctx.lro.asyncOperationUrl(op, req.baseUrl, req.apiVersion);
  } else {
    headers.Location = ctx.lro.locationUrl(op, req.baseUrl, req.apiVersion);
  }
  return { status: answer.status, headers, body: answer.body };
}

/**
 * The 202 answer of a Microsoft.Sql write as recorded (../shared/recordings/README.md; lrs-continuous t2,
 * lrs-cancel u6): a stub body `{operation, startTime}` naming the service's operation, and both an
 * Azure-AsyncOperation and a Location header.
 */
export function acceptedStub(
  ctx: ArmContext,
  req: ArmRequest,
  op: Operation,
  operation: string,
): ArmResponse {
  return {
    status: 202,
    headers: {
      ...ctx.lro.retryAfter(),
      'Azure-AsyncOperation': ctx.lro.asyncOperationUrl(op, req.baseUrl, req.apiVersion),
      Location: ctx.lro.locationUrl(op, req.baseUrl, req.apiVersion),
    },
    body: { operation, startTime: op.startTime.toISOString() },
  };
}

/** Nearest paired region, reported as `defaultSecondaryLocation` (a few common ones). */
const PAIRED_REGIONS: Record<string, string> = {
  westeurope: 'North Europe',
  northeurope: 'West Europe',
  eastus: 'West US',
  westus: 'East US',
  southeastasia: 'East Asia',
  eastasia: 'Southeast Asia',
};

export function pairedRegion(location: string): string | undefined {
  return PAIRED_REGIONS[location.toLowerCase().replace(/\s+/g, '')];
}
