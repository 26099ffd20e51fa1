import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BlobServiceClient,
  type ContainerClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { type FaultKind, Faults } from './arm/faults';

/**
 * Real Azurite (blob service only) as a child process on 127.0.0.1, in memory, with the well-known
 * development account. Used as the Azure Storage account that holds the backups LRS restores.
 */

export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** The well-known key of Azurite's development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Node.js binary to run Azurite with (Azurite 3.37 needs Node 22); default: this one if it is 22+. */
  nodePath?: string;
  /** How long to wait for Azurite to listen (real ms, default 20000). */
  startTimeoutMs?: number;
  /** Pass --loose (accept unsupported headers and parameters). */
  loose?: boolean;
  /** Serve https with this certificate and key (PEM files), as Azure Storage does. */
  tls?: { certPath: string; keyPath: string };
}

export interface SasOptions {
  container: string;
  /** Container SAS permissions, e.g. 'rl' (what LRS needs), 'r', 'racwdl'. Ignored with storedPolicy. */
  permissions?: string;
  /** Default: one day from now (real time: Azurite checks it against the wall clock). */
  expiresOn?: Date;
  startsOn?: Date;
  /** Name of a stored access policy (`si=`) that carries permissions and expiry instead. */
  storedPolicy?: string;
  /** Default 'https' when Azurite serves https, else 'https,http' (a SAS used over http needs http allowed). */
  protocol?: 'https' | 'https,http';
}

export class Azurite {
  readonly accountName = AZURITE_ACCOUNT_NAME;
  readonly accountKey = AZURITE_ACCOUNT_KEY;
  readonly credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);
  readonly serviceClient: BlobServiceClient;

  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>/devstoreaccount1` */
    readonly blobEndpoint: string,
    readonly port: number,
  ) {
    this.serviceClient = new BlobServiceClient(blobEndpoint, this.credential);
  }

  /** Starts Azurite and waits until it listens (or fails with its output after the deadline). */
  static async start(options: AzuriteOptions = {}): Promise<Azurite> {
    const main = require.resolve('azurite/dist/src/blob/main.js');
    const args = [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(options.port ?? 0),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--silent',
      ...(options.loose ? ['--loose'] : []),
      ...(options.tls ? ['--cert', options.tls.certPath, '--key', options.tls.keyPath] : []),
    ];
    const child = spawn(options.nodePath ?? resolveNode22(), args, {
      cwd: tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`Azurite did not listen within ${options.startTimeoutMs ?? 20_000} ms:\n${output}`));
      }, options.startTimeoutMs ?? 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /successfully listens on https?:\/\/[^:\s]+:(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
    child.stdout?.removeAllListeners('data');
    child.stderr?.removeAllListeners('data');
    child.stdout?.resume();
    child.stderr?.resume();
    const scheme = options.tls ? 'https' : 'http';
    return new Azurite(child, `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`, port);
  }

  /** URL of a container (optionally a folder inside it), as `storageContainerUri` takes it. */
  containerUrl(container: string, folder?: string, blobEndpoint = this.blobEndpoint): string {
    const base = `${blobEndpoint}/${encodeURIComponent(container)}`;
    return folder ? `${base}/${folder.split('/').map(encodeURIComponent).join('/')}` : base;
  }

  /** Creates a container if it does not exist. */
  async createContainer(container: string): Promise<ContainerClient> {
    const client = this.serviceClient.getContainerClient(container);
    await client.createIfNotExists();
    return client;
  }

  /** Sets a stored access policy (signed identifier) on a container. */
  async createStoredPolicy(
    container: string,
    id: string,
    permissions: string,
    expiresOn: Date,
  ): Promise<void> {
    await this.serviceClient.getContainerClient(container).setAccessPolicy(undefined, [
      {
        id,
        accessPolicy: { permissions: ContainerSASPermissions.parse(permissions).toString(), expiresOn },
      },
    ]);
  }

  /** A container SAS (query string without the leading '?'), signed with the account key. */
  makeSas(options: SasOptions): string {
    const https =
      (options.protocol ?? (this.blobEndpoint.startsWith('https:') ? 'https' : 'https,http')) === 'https';
    const protocol = https ? SASProtocol.Https : SASProtocol.HttpsAndHttp;
    const values = options.storedPolicy
      ? { containerName: options.container, identifier: options.storedPolicy, protocol }
      : {
          containerName: options.container,
          permissions: ContainerSASPermissions.parse(options.permissions ?? 'rl'),
          expiresOn: options.expiresOn ?? new Date(Date.now() + 24 * 60 * 60 * 1000),
          startsOn: options.startsOn,
          protocol,
        };
    return generateBlobSASQueryParameters(values, this.credential).toString();
  }

  /** Stops Azurite (SIGTERM, SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

/** This Node if it is 22+, else the project's Node 22 (node_modules/.bin/node, from the `node` package). */
function resolveNode22(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const azuriteDir = path.dirname(require.resolve('azurite/package.json'));
  const candidate = path.join(azuriteDir, '..', '.bin', 'node');
  if (existsSync(candidate)) return candidate;
  throw new Error('Azurite 3.37 needs Node.js 22: install the `node` devDependency or pass nodePath.');
}

/**
 * An https proxy in front of Azurite that plays storage faults (Azurite itself cannot): every storage client of the
 * sandbox (the LRS simulation reading the container, the simulated SQL Server writing backups, the provider's
 * preflight listing) reaches Azurite through it. Fault kinds: 403, 500, 503 (error answers in Azure Storage's XML
 * shape with `x-ms-error-code`, without reaching Azurite), slow, drop, stall, lost (Azurite acts, the answer is
 * dropped). Matched on method and path with query (`comp=list`, `restype=container` …).
 */
export class StorageFaultProxy {
  readonly faults = new Faults();
  /** Requests forwarded or faulted, in order (method, path with query, status; 0 = no answer). */
  readonly requests: Array<{ method: string; path: string; status: number; fault?: FaultKind }> = [];
  private readonly server: https.Server;

  private constructor(
    private readonly target: { port: number; ca: string },
    tls: { key: string; cert: string },
  ) {
    this.server = https.createServer(tls, (req, res) => void this.handle(req, res));
  }

  /** `https://127.0.0.1:<port>/devstoreaccount1`: the blob endpoint to use instead of Azurite's. */
  blobEndpoint = '';

  static async start(azurite: Azurite, tls: { key: string; cert: string }): Promise<StorageFaultProxy> {
    const proxy = new StorageFaultProxy({ port: azurite.port, ca: tls.cert }, tls);
    const port = await new Promise<number>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve((proxy.server.address() as AddressInfo).port));
    });
    proxy.blobEndpoint = `https://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
    return proxy;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    const fault = this.faults.take(method, path, STORAGE_FAULT_KINDS);
    const note = (status: number): void => {
      this.requests.push({ method, path, status, fault: fault?.kind });
    };
    if (fault?.kind === 'drop') {
      note(0);
      return void req.socket.destroy();
    }
    if (fault?.kind === 'stall') return note(0);
    if (fault?.kind === 'slow') await delay(fault.delayMs ?? 2_000);
    if (fault && STORAGE_ERRORS[fault.kind]) {
      req.resume();
      const [status, code, message] = STORAGE_ERRORS[fault.kind]!;
      const body =
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\n` +
        `RequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`;
      const headers: Record<string, string> = {
        'content-type': 'application/xml',
        'x-ms-error-code': code,
        'content-length': String(Buffer.byteLength(body)),
      };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res.writeHead(status, headers);
      res.end(body);
      return note(status);
    }
    const upstream = https.request(
      {
        host: '127.0.0.1',
        port: this.target.port,
        method,
        path,
        headers: req.headers,
        ca: this.target.ca,
      },
      (up) => {
        if (fault?.kind === 'lost') {
          up.resume();
          up.once('end', () => req.socket.destroy());
          return note(0);
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        note(up.statusCode ?? 502);
      },
    );
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      note(502);
    });
    req.pipe(upstream);
  }
}

/** The faults the storage proxy plays (also the kinds its /_sandbox control route accepts). */
export const STORAGE_FAULT_KINDS: readonly FaultKind[] = [
  '403',
  '429',
  '500',
  '503',
  'slow',
  'drop',
  'lost',
  'stall',
];

/** Azure Storage error answers (status, x-ms-error-code, message) as the Blob service documents them. */
const STORAGE_ERRORS: Partial<Record<FaultKind, [number, string, string]>> = {
  '403': [403, 'AuthenticationFailed', 'Server failed to authenticate the request.'],
  '429': [503, 'ServerBusy', 'The server is busy.'],
  '500': [500, 'InternalError', 'The server encountered an internal error. Please retry the request.'],
  '503': [
    503,
    'ServerBusy',
    'The server is currently unable to receive requests. Please retry your request.',
  ],
};
