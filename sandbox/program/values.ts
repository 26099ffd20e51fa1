import { isPlainObject, isSecret, UNKNOWN } from '../engine/host';

/** The path of the first unknown value in `value`, or undefined. */
export function findUnknown(value: unknown, path = ''): string | undefined {
  if (value === UNKNOWN) return path;
  if (isSecret(value)) return findUnknown(value.value, path);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findUnknown(v, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const found = findUnknown(v, path ? `${path}.${k}` : k);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
