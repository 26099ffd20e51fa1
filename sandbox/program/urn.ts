/**
 * URNs as the Pulumi engine builds them (resource/urn.go):
 * `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the qualified type is the parent's qualified
 * type, `$`, and the resource's type, except directly under the stack (`pulumi:pulumi:Stack`), which is left out.
 */

export const STACK_TYPE = 'pulumi:pulumi:Stack';

export function makeUrn(stack: string, project: string, type: string, name: string, parent = ''): string {
  const parentType = parent ? urnType(parent) : '';
  const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The qualified type of a URN (`a$b$c`). */
export function urnType(urn: string): string {
  return urn.split('::')[2] ?? '';
}

/** The resource type of a URN (the last part of the qualified type). */
export function urnResourceType(urn: string): string {
  const qualified = urnType(urn);
  return qualified.slice(qualified.lastIndexOf('$') + 1);
}

/** The name of a URN (everything after the qualified type; names may contain `::`). */
export function urnName(urn: string): string {
  return urn.split('::').slice(3).join('::');
}

/** Types the dynamic provider host serves: `pulumi-nodejs:dynamic:Resource`, `pulumi-nodejs:dynamic/<module>:<T>`. */
export function isDynamicType(type: string): boolean {
  return type === 'pulumi-nodejs:dynamic:Resource' || type.startsWith('pulumi-nodejs:dynamic/');
}
