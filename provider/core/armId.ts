/** Managed instance resource ids: parse, build, compare (ARM ids are case-insensitive). */
export interface ManagedInstanceRef {
  subscriptionId: string;
  resourceGroupName: string;
  managedInstanceName: string;
}

const ID_RE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Sql\/managedInstances\/([^/]+)\/?$/i;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RG_RE = /^[-\w._()]{1,90}$/u;
const MI_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function parseManagedInstanceId(id: string): ManagedInstanceRef | undefined {
  const m = ID_RE.exec(id.trim());
  if (!m) return undefined;
  return { subscriptionId: m[1], resourceGroupName: m[2], managedInstanceName: m[3] };
}

export function managedInstanceId(ref: ManagedInstanceRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroupName}/providers/Microsoft.Sql/managedInstances/${ref.managedInstanceName}`;
}

/** Problems with the parts of a managed instance reference, as `field: problem` pairs. */
export function validateManagedInstanceRef(ref: ManagedInstanceRef): [keyof ManagedInstanceRef, string][] {
  const problems: [keyof ManagedInstanceRef, string][] = [];
  if (!GUID_RE.test(ref.subscriptionId)) problems.push(['subscriptionId', 'must be a subscription GUID']);
  if (ref.resourceGroupName.endsWith('.') || !RG_RE.test(ref.resourceGroupName)) {
    problems.push(['resourceGroupName', 'must be 1-90 letters, digits, -, _, ., ( or ), not ending in .']);
  }
  if (!MI_RE.test(ref.managedInstanceName)) {
    problems.push([
      'managedInstanceName',
      'must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
    ]);
  }
  return problems;
}

export function sameId(a: string, b: string): boolean {
  return a.replace(/\/$/, '').toLowerCase() === b.replace(/\/$/, '').toLowerCase();
}
