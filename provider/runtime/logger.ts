import type { Redactor } from '../core/redact';

/**
 * The provider's voice. Dynamic providers have no engine log connection: what they print on stdout is
 * shown by the Pulumi CLI as messages of the stack. Every line passes through the redactor.
 */
export class Logger {
  constructor(
    readonly redactor: Redactor,
    private readonly prefix: string,
    private readonly sink: (line: string) => void = (line) => console.log(line),
  ) {}

  info(text: string): void {
    for (const line of text.split('\n')) this.sink(this.redactor.redact(`${this.prefix}${line}`));
  }

  warn(text: string): void {
    this.info(`WARNING: ${text}`);
  }

  child(prefix: string): Logger {
    return new Logger(this.redactor, `${this.prefix}${prefix}`, this.sink);
  }
}
