/**
 * Stack configuration as the CLI hands it to a program: every value a string under a namespaced key
 * (`<project>:<key>`, or `<namespace>:<key>` as written), structured values (objects, lists) as JSON, and the
 * list of keys whose values are secret (PULUMI_CONFIG_SECRET_KEYS). Sources, later ones winning: project config
 * in Pulumi.yaml (`value` or `default`), `config:` in `Pulumi.<stack>.yaml`, then the caller's overrides.
 *
 * Secure values (sandbox scheme): the CLI stores `key: { secure: <ciphertext> }`, encrypted by the stack's secrets
 * provider. The sandbox has no secrets provider: in a stack file meant for the sandbox write the PLAIN value,
 * `key: { secure: <plain text> }`; the key is then secret exactly as in the CLI (`config.requireSecret`, secret
 * outputs, ciphertext in the state). A value the CLI encrypted (`v1:…`) is refused, since it cannot be read here.
 * Inside structured values a `{ secure: … }` leaf makes the whole key secret, as `pulumi config set --secret
 * --path` does.
 *
 * Placeholders: `${sandbox:<name>}` in any string is replaced from `substitutions` (sqlmi-rehearse passes the
 * sandbox's endpoints, ids and logins), so one committed stack file works with whatever ports the sandbox got.
 * Inside a structured value, a string that is only a placeholder of a number becomes that number (a port).
 */

export interface StackConfig {
  /** `<namespace>:<key>` → value (JSON for structured values). */
  values: Record<string, string>;
  /** Keys whose value is secret. */
  secretKeys: string[];
}

/** An override: a string, a number/boolean, `{ secure: plain }` for a secret, or a structured value. */
export type ConfigValue = unknown;

const PLACEHOLDER = /\$\{sandbox:([A-Za-z0-9_.-]+)\}/g;

export function resolveConfig(
  projectName: string,
  projectConfig: Record<string, unknown>,
  stackConfig: Record<string, unknown>,
  overrides: Record<string, ConfigValue> = {},
  substitutions?: Record<string, string>,
): StackConfig {
  const values: Record<string, string> = {};
  const secret = new Set<string>();
  const put = (rawKey: string, value: unknown, where: string) => {
    const key = rawKey.includes(':') ? rawKey : `${projectName}:${rawKey}`;
    // CLI-level settings (pulumi:tags, pulumi:template …) are not program config.
    if (key.startsWith('pulumi:')) return;
    const leaf = { secure: false };
    const resolved = normalize(value, `${where} ${key}`, leaf, substitutions);
    values[key] = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    if (leaf.secure) secret.add(key);
    else secret.delete(key);
  };
  for (const [key, decl] of Object.entries(projectConfig)) {
    if (isObject(decl) && ('value' in decl || 'default' in decl)) {
      put(key, 'value' in decl ? decl.value : decl.default, 'Pulumi.yaml');
    } else if (!isObject(decl) || 'secure' in decl) {
      put(key, decl, 'Pulumi.yaml');
    }
  }
  for (const [key, value] of Object.entries(stackConfig)) put(key, value, 'stack config');
  for (const [key, value] of Object.entries(overrides)) put(key, value, 'config override');
  return { values, secretKeys: [...secret].sort() };
}

/** The stack file's config rendered as the language host passes it: keys `<ns>:config:<name>` (old form). */
export function languageHostConfig(config: StackConfig): {
  PULUMI_CONFIG: string;
  PULUMI_CONFIG_SECRET_KEYS: string;
} {
  const transformed: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.values)) {
    const at = key.indexOf(':');
    transformed[`${key.slice(0, at)}:config:${key.slice(at + 1)}`] = value;
  }
  return {
    PULUMI_CONFIG: JSON.stringify(transformed),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
  };
}

function normalize(
  value: unknown,
  where: string,
  leaf: { secure: boolean },
  substitutions: Record<string, string> | undefined,
): unknown {
  if (isObject(value) && Object.keys(value).length === 1 && 'secure' in value) {
    const plain = value.secure;
    if (typeof plain !== 'string') throw new Error(`${where}: 'secure' must be a string`);
    if (/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(plain)) {
      throw new Error(
        `${where}: this secure value was encrypted by a Pulumi secrets provider, which the sandbox does not have; in a stack file for the sandbox write the plain value: { secure: <plain text> }`,
      );
    }
    leaf.secure = true;
    return substitute(plain, where, substitutions);
  }
  if (typeof value === 'string') return substitute(value, where, substitutions);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => structured(v, where, leaf, substitutions));
  if (isObject(value)) return structured(value, where, leaf, substitutions);
  throw new Error(`${where}: unsupported value ${String(value)}`);
}

/** Inside a structured value, scalars keep their JSON type. */
function structured(
  value: unknown,
  where: string,
  leaf: { secure: boolean },
  substitutions: Record<string, string> | undefined,
): unknown {
  if (isObject(value) && Object.keys(value).length === 1 && 'secure' in value) {
    return normalize(value, where, leaf, substitutions);
  }
  if (typeof value === 'string') {
    const text = substitute(value, where, substitutions);
    // A structured value that is only a placeholder of a number is that number (ports).
    return /^\$\{sandbox:[^}]+\}$/.test(value) && /^\d+$/.test(text) ? Number(text) : text;
  }
  if (Array.isArray(value)) return value.map((v) => structured(v, where, leaf, substitutions));
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, structured(v, where, leaf, substitutions)]),
    );
  }
  return value;
}

function substitute(text: string, where: string, substitutions: Record<string, string> | undefined): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = substitutions?.[name];
    if (value === undefined) {
      const known = substitutions
        ? Object.keys(substitutions).sort().join(', ')
        : 'none (not run by sqlmi-rehearse)';
      throw new Error(`${where}: unknown placeholder \${sandbox:${name}}; available: ${known}`);
    }
    return value;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
