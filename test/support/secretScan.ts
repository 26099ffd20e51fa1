/**
 * The secret scan: every surface a secret could leak into (state files, `__provider`, logs, outputs,
 * errors, check failures) searched for the secrets a test handed out, in every form they travel in (as
 * given, without a SAS's leading '?', URL-encoded, JSON-escaped, a SAS's signature alone), and for the
 * shapes secrets take (a `sig=` value, a bearer token, `Password=` in a connection string) whoever put them
 * there. Reusable by every suite: collect surfaces as you go, scan once at the end, or assert per case.
 */
import assert from 'node:assert/strict';

export interface Surface {
  /** What the text is, for the report: "state file", "log line 12", "error of create sales". */
  name: string;
  /** A string, an Error (message, stack and own properties), or any JSON value. */
  value: unknown;
  /**
   * Top-level fields where a secret belongs by design (the checked inputs carry the SAS the engine then
   * stores as a secret): left out of the scan. State files need none: their secrets are ciphertext.
   */
  secretFields?: string[];
}

export interface Leak {
  surface: string;
  /** Which secret or shape, never the secret itself. */
  what: string;
  /** Up to 40 characters around the find, with the secret masked. */
  around: string;
}

/** Shapes of secrets, found whoever leaked them. `***` is what the redactor leaves. */
const SHAPES: [string, RegExp][] = [
  ['a SAS signature (sig=)', /\bsig=(?!\*\*\*)[A-Za-z0-9%+/=]{8,}/gi],
  ['a bearer token', /\bBearer\s+(?!\*\*\*)[A-Za-z0-9\-._~+/]{16,}=*/g],
  ['a password in a connection string', /\b(?:password|pwd)\s*=\s*(?!\*\*\*)[^;\s"'&,}]{4,}/gi],
  ['a storage account key (AccountKey=)', /\bAccountKey\s*=\s*(?!\*\*\*)[A-Za-z0-9+/=]{16,}/gi],
  ['a JSON web token', /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g],
];

/** Every form a secret travels in. Short values (under 6 characters) are too common to scan for. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  if (secret.startsWith('?')) forms.add(secret.slice(1));
  forms.add(encodeURIComponent(secret));
  forms.add(JSON.stringify(secret).slice(1, -1));
  const sig = /(?:^|[?&])sig=([^&]+)/.exec(secret)?.[1];
  if (sig) {
    forms.add(sig);
    try {
      forms.add(decodeURIComponent(sig));
    } catch {
      // not URL-encoded
    }
  }
  return [...forms].filter((f) => f.length >= 6);
}

function textOf(value: unknown, secretFields: string[] = []): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) {
    const own: Record<string, unknown> = {};
    for (const k of Object.getOwnPropertyNames(value))
      own[k] = (value as unknown as Record<string, unknown>)[k];
    const cause = (value as { cause?: unknown }).cause;
    return [value.message, value.stack ?? '', safeJson(own), cause === undefined ? '' : textOf(cause)].join(
      '\n',
    );
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && secretFields.length) {
    const rest = { ...(value as Record<string, unknown>) };
    for (const f of secretFields) delete rest[f];
    return safeJson(rest);
  }
  return safeJson(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

function around(text: string, index: number, length: number): string {
  const from = Math.max(0, index - 15);
  return `${text.slice(from, index)}<secret>${text.slice(index + length, index + length + 15)}`;
}

/** Every leak of the given secrets (and of secret shapes) on the given surfaces. */
export function scanForSecrets(surfaces: Surface[], secrets: (string | undefined)[]): Leak[] {
  const leaks: Leak[] = [];
  const forms = secrets
    .filter((s): s is string => typeof s === 'string')
    .flatMap((s, n) => secretForms(s).map((f) => ({ form: f, what: `secret #${n + 1}` })));
  for (const s of surfaces) {
    const text = textOf(s.value, s.secretFields);
    for (const { form, what } of forms) {
      const at = text.indexOf(form);
      if (at >= 0) leaks.push({ surface: s.name, what, around: around(text, at, form.length) });
    }
    for (const [what, re] of SHAPES) {
      re.lastIndex = 0;
      const m = re.exec(text);
      if (m) leaks.push({ surface: s.name, what, around: around(text, m.index, m[0].length) });
    }
  }
  return leaks;
}

/** Fails with the list of leaks (surface, kind, masked context) when there is any. */
export function assertNoSecrets(surfaces: Surface[], secrets: (string | undefined)[]): void {
  const leaks = scanForSecrets(surfaces, secrets);
  assert.deepEqual(
    leaks,
    [],
    `secrets leaked:\n${leaks.map((l) => `  ${l.surface}: ${l.what} in …${l.around}…`).join('\n')}`,
  );
}

/**
 * A collector for suites that gather surfaces across many steps (fault matrix, crash-resume): add what each
 * step produced, then `assertClean()` once; `count` says how many surfaces were scanned.
 */
export class SecretScan {
  private readonly surfaces: Surface[] = [];
  private readonly secrets = new Set<string>();

  secret(...values: (string | undefined)[]): this {
    for (const v of values) if (typeof v === 'string') this.secrets.add(v);
    return this;
  }

  add(name: string, value: unknown, secretFields?: string[]): this {
    this.surfaces.push({ name, value, secretFields });
    return this;
  }

  get count(): number {
    return this.surfaces.length;
  }

  leaks(): Leak[] {
    return scanForSecrets(this.surfaces, [...this.secrets]);
  }

  assertClean(): void {
    assertNoSecrets(this.surfaces, [...this.secrets]);
  }
}
