/**
 * Removes secrets from any text before it is logged, thrown or stored: the exact secret values the
 * provider was given, plus the shapes secrets take (SAS signatures, bearer tokens, passwords in
 * connection strings) in case an unexpected one slips into a message from a library.
 */
const PATTERNS: [RegExp, string][] = [
  [/(\bsig=)[^&\s"']+/gi, '$1***'],
  [/(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g, '$1***'],
  [/((?:password|pwd|accountkey|access_token|client_secret)\s*[=:]\s*"?)[^;"\s&,}]+/gi, '$1***'],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | undefined): void {
    if (typeof secret !== 'string' || secret.length < 4) return;
    this.secrets.add(secret);
    // A SAS is often seen with or without its leading '?', and URL-encoded.
    if (secret.startsWith('?')) this.secrets.add(secret.slice(1));
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) this.secrets.add(encoded);
  }

  redact(text: string): string {
    let out = text;
    const ordered = [...this.secrets].sort((a, b) => b.length - a.length);
    for (const s of ordered) out = out.split(s).join('***');
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return out;
  }
}
