/**
 * Typed errors of the project: a stable code, a message that says what happened, a hint that says what to
 * do next, and the cause (an Azure or SQL error keeps its own code in `cause`/`causeCode`).
 */
export class MigrationError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly causeCode?: string | number;
  /** What the operation saw last (for timeouts and refusals), already free of secrets. */
  readonly lastState?: string;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; cause?: unknown; causeCode?: string | number; lastState?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MigrationError';
    this.code = code;
    this.hint = options.hint;
    this.causeCode = options.causeCode;
    this.lastState = options.lastState;
  }

  /** One human-readable text: what happened, the last state seen, what to do next. */
  describe(): string {
    const parts = [
      `[${this.code}${this.causeCode !== undefined ? `/${this.causeCode}` : ''}] ${this.message}`,
    ];
    if (this.lastState) parts.push(`Last state seen: ${this.lastState}`);
    if (this.hint) parts.push(`What to do: ${this.hint}`);
    return parts.join('\n');
  }
}

export class TimeoutError extends MigrationError {
  constructor(what: string, deadlineText: string, lastState: string, hint?: string) {
    super('Timeout', `Timed out after ${deadlineText} waiting for ${what}.`, { lastState, hint });
    this.name = 'TimeoutError';
  }
}

export function messageOf(e: unknown): string {
  if (e instanceof MigrationError) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
