/**
 * How user values appear in messages: check failures, warnings, errors and log lines. A user value never
 * reaches a message raw: control characters, escape sequences and invisible text-direction marks are shown
 * escaped (`\n`, `\u001b`), so a database name cannot write ANSI escapes into a CI log or fake a log line.
 * `shown` quotes one value; `safeText` and `safeLine` are the last line of defence for whole messages.
 */

/**
 * Characters never written raw: C0 controls, DEL, C1 controls (U+009B is a one-character CSI), zero-width
 * and bidirectional formatting marks (they reorder or hide text on screen), line/paragraph separators, BOM.
 */
const UNSAFE_CLASS =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]';
/** Finds one (no `g` flag: no lastIndex shared between callers). */
const UNSAFE = new RegExp(UNSAFE_CLASS);
const UNSAFE_ALL = new RegExp(UNSAFE_CLASS, 'g');
// The same set without the newline.
const UNSAFE_BUT_NEWLINE = new RegExp(
  UNSAFE_CLASS.replace('\\u0000-\\u001f', '\\u0000-\\u0009\\u000b-\\u001f'),
  'g',
);

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const MAX_SHOWN = 200;

function escapeChar(ch: string): string {
  return SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** True when the text holds a character that is never written raw. */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE.test(text);
}

/** The text with every unsafe character escaped, newlines included: always one line. */
export function safeLine(text: string): string {
  return text.replace(UNSAFE_ALL, escapeChar);
}

/** The text with every unsafe character escaped except newlines (for multi-line errors and plans). */
export function safeText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(UNSAFE_BUT_NEWLINE, escapeChar);
}

/**
 * One user value for a message: a string in single quotes with unsafe characters escaped (and cut after
 * 200 characters), other values as JSON would write them, lists and objects by their kind.
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') {
    const cut =
      value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}… (${value.length} characters)` : value;
    return `'${safeLine(cut)}'`;
  }
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) {
    const items = value.slice(0, 10).map((v) => (Array.isArray(v) ? 'a list' : shown(v)));
    return `[${items.join(', ')}${value.length > 10 ? `, … (${value.length} entries)` : ''}]`;
  }
  if (value !== null && typeof value === 'object') return 'an object';
  return safeLine(String(value));
}

/**
 * What a value is, for "must be …, got <kind>" messages: `a string ('x')`, `a number (5)`, `a list`,
 * `an object`, `true`, `null`. With `secret`, the value itself is never shown, only its kind.
 */
export function kindOf(value: unknown, options: { secret?: boolean } = {}): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return options.secret ? 'a string' : `the string ${shown(value)}`;
    case 'number':
      return options.secret ? 'a number' : `the number ${shown(value)}`;
    case 'boolean':
      return options.secret ? 'a boolean' : `${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const NAMES: Record<string, string> = {
  '\n': 'a newline',
  '\r': 'a carriage return',
  '\t': 'a tab',
  '\u0000': 'a NUL character',
  '\u001b': 'an escape character (starts terminal escape sequences)',
  '\u007f': 'a DEL character',
  '\u009b': 'a control sequence introducer (terminal escape)',
  '\u200b': 'a zero-width space',
  '\ufeff': 'a byte order mark',
};

/** Names a character that is never written raw: "a newline (\n)", "an escape character (…) (\u001b)". */
export function describeCharacter(ch: string): string {
  const code = ch.charCodeAt(0);
  let name = NAMES[ch];
  if (!name) {
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) name = 'a control character';
    else if (
      (code >= 0x200e && code <= 0x200f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    )
      name = 'a bidirectional text control';
    else if (code === 0x2028 || code === 0x2029) name = 'a line separator';
    else name = 'an invisible formatting character';
  }
  return `${name} (${escapeChar(ch)})`;
}

/** The first unsafe character of a text and its 1-based position, if any. */
export function firstUnsafeCharacter(text: string): { description: string; position: number } | undefined {
  const m = UNSAFE.exec(text);
  if (!m) return undefined;
  return { description: describeCharacter(m[0]), position: m.index + 1 };
}
