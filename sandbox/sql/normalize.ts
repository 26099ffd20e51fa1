/**
 * Normalises T-SQL text into a token sequence so statements are recognised by shape, not by exact text:
 * whitespace and comments vanish, keywords and names compare case-insensitively, `[quoted]` identifiers and
 * `N'…'` literals become placeholder tokens whose values are captured (with `]]` / `''` unescaped).
 * Plain `'…'` literals stay part of the shape (lowercased): they are fixed text such as 'ProductVersion'.
 */

/** Placeholder tokens. `{name}` in a pattern is a keyword slot (matches one word token, value captured). */
export const IDENT = '[]';
export const NLITERAL = "n''";

export interface Token {
  /** What the shape compares: lowercased text, or IDENT / NLITERAL. */
  shape: string;
  /** The captured value of a placeholder (identifier or literal, unescaped), else the original text. */
  value: string;
}

export class SqlSyntaxError extends Error {
  constructor(readonly near: string) {
    super(`Incorrect syntax near '${near}'.`);
  }
}

const WORD = /[A-Za-z_@#{][A-Za-z0-9_@#$}]*/y;
const NUMBER = /[0-9]+(?:\.[0-9]+)?/y;
const OPERATORS = ['<>', '>=', '<=', '!=', '(', ')', ',', '=', '.', ';', '*', '<', '>', '+', '-', '/'];

/** Splits `sql` into tokens; throws SqlSyntaxError on an unterminated quote or bracket. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlSyntaxError(sql.slice(i, i + 10));
      i = end + 2;
    } else if (c === '[') {
      const [value, next] = readQuoted(sql, i, ']');
      tokens.push({ shape: IDENT, value });
      i = next;
    } else if ((c === 'N' || c === 'n') && sql[i + 1] === "'") {
      const [value, next] = readQuoted(sql, i + 1, "'");
      tokens.push({ shape: NLITERAL, value });
      i = next;
    } else if (c === "'") {
      const [value, next] = readQuoted(sql, i, "'");
      tokens.push({ shape: `'${value.toLowerCase()}'`, value });
      i = next;
    } else {
      const word =
        match(WORD, sql, i) ?? match(NUMBER, sql, i) ?? OPERATORS.find((op) => sql.startsWith(op, i));
      if (!word) throw new SqlSyntaxError(sql.slice(i, i + 10));
      tokens.push({ shape: word.toLowerCase(), value: word });
      i += word.length;
    }
  }
  while (tokens.length > 0 && tokens[tokens.length - 1].shape === ';') tokens.pop();
  return tokens;
}

function match(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(text)?.[0];
}

/** Reads a quoted run starting at `start` (the opening quote); the closing quote doubled is an escape. */
function readQuoted(sql: string, start: number, close: string): [string, number] {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === close) {
      if (sql[i + 1] === close) {
        value += close;
        i += 2;
        continue;
      }
      return [value, i + 1];
    }
    value += sql[i++];
  }
  throw new SqlSyntaxError(sql.slice(start, start + 10));
}

/** A recognised shape: the pattern's token shapes. Slots `{x}` capture one word token. */
export interface Pattern {
  tokens: string[];
}

export function compilePattern(text: string): Pattern {
  return { tokens: tokenize(text).map((t) => t.shape) };
}

export interface Match {
  /** Placeholder values in order of appearance (identifiers and N'' literals). */
  values: string[];
  /** Keyword slot values by slot name (uppercased). */
  slots: Record<string, string>;
}

/**
 * Matches `tokens` against `pattern`. Returns the captures, or the number of leading tokens that matched
 * (to report where an unrecognised statement went wrong).
 */
export function matchPattern(tokens: Token[], pattern: Pattern): Match | number {
  const values: string[] = [];
  const slots: Record<string, string> = {};
  const n = Math.min(tokens.length, pattern.tokens.length);
  for (let i = 0; i < n; i++) {
    const want = pattern.tokens[i];
    const got = tokens[i];
    if (want.startsWith('{') && want.endsWith('}')) {
      if (!/^[a-z_]/.test(got.shape)) return i;
      slots[want.slice(1, -1)] = got.value.toUpperCase();
    } else if (want !== got.shape) {
      return i;
    } else if (want === IDENT || want === NLITERAL) {
      values.push(got.value);
    }
  }
  return tokens.length === pattern.tokens.length ? { values, slots } : n;
}
