/**
 * A failure the simulated Azure service reports: the ARM error code (the real ones, see
 * docs/spec azure-control-plane.md), a message, and the HTTP status the ARM stand-in answers with.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  /** The ARM error body `{"error":{"code","message"}}`. */
  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
