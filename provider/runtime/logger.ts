import type { Redactor } from '../core/redact';
import { safeLine } from '../core/shown';

/**
 * The provider's voice. Dynamic providers have no engine log connection: what they print on stdout is
 * shown by the Pulumi CLI as messages of the stack, not of a resource, and resources run in parallel in
 * one host. So every line starts with the resource's prefix (`[LogReplayMigration sales] `), passes through
 * the redactor, and has control characters and escape sequences escaped (a user value cannot write ANSI
 * escapes into a CI log, nor start a line that looks like another resource's).
 */
export class Logger {
  readonly prefix: string;

  constructor(
    readonly redactor: Redactor,
    prefix: string,
    private readonly sink: (line: string) => void = (line) => console.log(line),
  ) {
    this.prefix = safeLine(prefix);
  }

  info(text: string): void {
    for (const line of this.redactor.redact(text).replace(/\r\n/g, '\n').split('\n'))
      this.sink(this.redactor.redact(`${this.prefix}${safeLine(line)}`));
  }

  warn(text: string): void {
    this.info(`WARNING ${text}`);
  }

  child(prefix: string): Logger {
    return new Logger(this.redactor, `${this.prefix}${prefix}`, this.sink);
  }
}
