/**
 * A guard for code that must not touch the outside world (check, diff): while it is on, every outgoing
 * connection (net/tls sockets, hence http/https, ARM, storage and TDS), every DNS lookup, `fetch`, and
 * every require of an adapter (provider/azure|sql|storage, @azure/*, mssql, tedious) is recorded and
 * refused with an error. Modules loaded earlier by other tests do not slip through: the require itself is
 * trapped, not the loading.
 */
import dns from 'node:dns';
import Module from 'node:module';
import net from 'node:net';

const ADAPTER =
  /(^|[\\/])provider[\\/](azure|sql|storage)([\\/]|$)|^@azure\/|^mssql$|^tedious$|^@tediousjs\//;

export class IoAttempted extends Error {
  constructor(what: string) {
    super(`I/O attempted where none is allowed: ${what}`);
    this.name = 'IoAttempted';
  }
}

export interface IoGuard {
  /** What was attempted (and refused), in order. */
  attempts: string[];
  restore(): void;
}

type RequireFn = (this: NodeJS.Module, id: string) => unknown;

export function guardNoIo(): IoGuard {
  const attempts: string[] = [];
  const refuse = (what: string): never => {
    attempts.push(what);
    throw new IoAttempted(what);
  };
  const proto = Module.prototype as unknown as { require: RequireFn };
  const originalRequire = proto.require;
  const originalConnect = net.Socket.prototype.connect;
  const originalLookup = dns.lookup;
  const originalPromiseLookup = dns.promises.lookup;
  const originalFetch = globalThis.fetch;

  proto.require = function (this: NodeJS.Module, id: string) {
    if (ADAPTER.test(id)) refuse(`require('${id}')`);
    return originalRequire.call(this, id);
  };
  net.Socket.prototype.connect = function (...args: unknown[]) {
    const [first] = args;
    const where =
      first && typeof first === 'object'
        ? JSON.stringify({
            host: (first as { host?: unknown }).host,
            port: (first as { port?: unknown }).port,
            path: (first as { path?: unknown }).path,
          })
        : String(first);
    return refuse(`socket connect ${where}`);
  } as typeof net.Socket.prototype.connect;
  (dns as { lookup: unknown }).lookup = (host: string) => refuse(`dns lookup ${host}`);
  (dns.promises as { lookup: unknown }).lookup = (host: string) => refuse(`dns lookup ${host}`);
  globalThis.fetch = ((input: unknown) => refuse(`fetch ${String(input)}`)) as typeof fetch;

  return {
    attempts,
    restore() {
      proto.require = originalRequire;
      net.Socket.prototype.connect = originalConnect;
      (dns as { lookup: unknown }).lookup = originalLookup;
      (dns.promises as { lookup: unknown }).lookup = originalPromiseLookup;
      globalThis.fetch = originalFetch;
    },
  };
}

/** Runs `fn` under the guard and returns its result (or error) with the attempts; always restores. */
export async function withoutIo<T>(
  fn: () => Promise<T> | T,
): Promise<{ value?: T; error?: unknown; attempts: string[] }> {
  const guard = guardNoIo();
  try {
    return { value: await fn(), attempts: guard.attempts };
  } catch (error) {
    return { error, attempts: guard.attempts };
  } finally {
    guard.restore();
  }
}
