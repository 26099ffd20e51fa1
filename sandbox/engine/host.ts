/**
 * ProviderHost: drives the REAL Pulumi dynamic provider host (`@pulumi/pulumi/cmd/dynamic-provider`) over gRPC,
 * the way the Pulumi engine does, without the Pulumi CLI.
 *
 * What the host and the engine do (read from @pulumi/pulumi 3.270 `cmd/dynamic-provider/index.js`, the proto stubs,
 * and the engine's `provider_plugin.go` / `step_generator.go`; checked against the running host):
 * - Start: the engine runs `node <entry> <engine-address>` in the program directory (the package's
 *   `pulumi-resource-pulumi-nodejs` wrapper resolves the entry from there) with PULUMI_NODEJS_PROJECT,
 *   PULUMI_PROJECT and PULUMI_CONFIG added to its own environment. The host ignores the address; its first stdout
 *   line is the port it listens on at 127.0.0.1.
 * - Protocol flags: Handshake answers UNIMPLEMENTED, so the engine takes the flags from Configure, which answers
 *   acceptSecrets=false, supportsPreview=false (and acceptResources/acceptOutputs=false).
 * - Configure: the host reads only `args` (a Struct; without it the handler throws and never answers), unwraps
 *   secret values in it, and keeps it; `config.get('key')` in a provider reads `<PULUMI_NODEJS_PROJECT>:key`.
 * - Secrets: on the wire a secret is `{'4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270',
 *   value}`. The host does NOT unwrap them in Check/Diff/Create/Read/Update/Delete: a provider would receive the
 *   signature object. Because the host said acceptSecrets=false, the engine never sends one: it marshals every
 *   property with KeepSecrets=false (plain values), so a provider cannot tell a secret from a plain value. On the way
 *   back the engine re-marks results (Check inputs, Create/Update/Read outputs, partial-failure properties) as secret
 *   wherever the same-named request property contained a secret (`annotateSecrets`: recursive when both sides are
 *   objects, otherwise the whole value). ProviderHost does exactly that: callers pass and receive secrets as
 *   signature objects (see `secret()`), the host only ever sees plain values.
 * - Preview: because supportsPreview=false, the engine never sends Create/Update with preview=true to a dynamic
 *   provider (the host would ignore the flag and really create!). It uses the inputs as the previewed outputs.
 *   ProviderHost does the same: `create/update(..., { preview: true })` make no RPC.
 * - Unknowns: in preview, values not known yet reach Check/Diff as the plain string UNKNOWN.
 * - Partial failure: a Create/Update that throws `Object.assign(new Error(msg), { id, properties, reasons })`
 *   answers gRPC UNKNOWN (2) with the trailer `grpc-status-details-bin` = google.rpc.Status whose details hold an
 *   Any `pulumirpc.ErrorResourceInitFailed {id, properties, reasons}`. The engine stores id/properties as the
 *   resource's outputs with the reasons as init errors, and the next `up` calls Update even without a diff.
 *   NOTE: those properties do not get `__provider` added (successful results do), so a Read or Delete of such a
 *   resource fails in the host ("code must be a string, not undefined") until an Update succeeds, unless the
 *   provider itself puts `__provider: inputs.__provider` into the error's properties.
 * - Errors thrown by Check/Diff/Read/Delete are printed to stderr by the host; errors of Create/Update are not.
 * - An `undefined` anywhere in returned outputs makes the host's Struct conversion throw ("Unexpected struct
 *   type"); inside a partial failure that throw escapes the handler and the RPC is never answered (the engine
 *   would wait forever). Providers must drop undefined values.
 * - A host that dies mid-call fails the call with UNAVAILABLE (14); the engine then records nothing for a create.
 * - A dynamic provider's Diff answers 0 (unknown) when the provider has no `diff`; the engine then compares old and
 *   new inputs itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import * as readline from 'node:readline';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as PluginPbModule from '@pulumi/pulumi/proto/plugin_pb';
import type * as ProviderGrpcModule from '@pulumi/pulumi/proto/provider_grpc_pb';
import type * as ProviderPbModule from '@pulumi/pulumi/proto/provider_pb';
import type * as StatusPbModule from '@pulumi/pulumi/proto/status_pb';
import type * as EmptyPbModule from 'google-protobuf/google/protobuf/empty_pb';
import type * as StructPbModule from 'google-protobuf/google/protobuf/struct_pb';

/** The string the engine sends during preview for values that are not known yet. */
export { UNKNOWN } from '../../provider/core/unknown';
/** Key of the signature that marks special values on the Pulumi wire. */
export const SIG_KEY = '4dabf18193072939515e22adb298388d';
/** Signature of a secret value: `{ [SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
/** The resource type of every `pulumi.dynamic.Resource`. */
export const DYNAMIC_RESOURCE_TYPE = 'pulumi-nodejs:dynamic:Resource';

export type PropertyMap = Record<string, unknown>;

/**
 * Which resource a call is about: a bare name (URN and type of a default `pulumi.dynamic.Resource`), or the
 * URN and type the program registered (e.g. `pulumi-nodejs:dynamic/pulumi-sqlmi-migration:LogReplayMigration`
 * inside a component). The engine sends both to the provider; the dynamic host itself does not use them.
 */
export type ResourceRef = string | { name: string; urn: string; type: string };

/** A secret value as the engine's RPC layer represents it. */
export interface SecretValue {
  [SIG_KEY]: typeof SECRET_SIG;
  value: unknown;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

export type DiffChanges = 'none' | 'some' | 'unknown';

export interface PartialFailure {
  id: string;
  properties: PropertyMap;
  reasons: string[];
}

export interface ProviderHostOptions {
  /** Directory the host runs in: the Pulumi program's directory (requires in `__provider` resolve from here). */
  cwd: string;
  /** Base environment (default: process.env); PULUMI_NODEJS_PROJECT, PULUMI_PROJECT, PULUMI_CONFIG are added. */
  env?: NodeJS.ProcessEnv;
  /** Node binary (default: process.execPath). @pulumi/pulumi 3.270 needs Node 22. */
  nodePath?: string;
  /** Project name (default 'project'): URNs and config keys `<project>:<key>`. */
  project?: string;
  /** Stack name (default 'stack'): URNs. */
  stack?: string;
  /** Stack configuration by short key; sent to Configure as `<project>:<key>`. */
  config?: Record<string, string>;
  /** Deadline for the port line (default 20 s). */
  startTimeoutMs?: number;
  /** Called for every line the host prints (provider console.log → stdout, console.error → stderr). */
  onLog?(line: string, stream: 'stdout' | 'stderr'): void;
}

/** A gRPC failure of a provider method. `partial` is set when the provider reported a partial failure. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly grpcCode: number,
    readonly details: string,
    readonly partial?: PartialFailure,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

/** Marks a value as secret (the engine's representation). */
export function secret(value: unknown): SecretValue {
  return { [SIG_KEY]: SECRET_SIG, value };
}

export function isSecret(value: unknown): value is SecretValue {
  return isPlainObject(value) && value[SIG_KEY] === SECRET_SIG && 'value' in value;
}

/** True when the value is, or contains, a secret. */
export function containsSecrets(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecrets);
  if (isPlainObject(value)) return Object.values(value).some(containsSecrets);
  return false;
}

/** Deep copy with every secret replaced by its plain value (what a provider that does not accept secrets gets). */
export function revealSecrets<T>(value: T): T {
  return reveal(value) as T;
}

function reveal(value: unknown): unknown {
  if (isSecret(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  return value;
}

/**
 * The engine's `annotateSecrets`: copies the secretness of `ins` onto same-named properties of `outs`. When both
 * values are objects it recurses; otherwise an out value becomes secret when its in value contains a secret.
 */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap): PropertyMap {
  const result: PropertyMap = { ...outs };
  for (const [key, inValue] of Object.entries(ins)) {
    if (!Object.hasOwn(result, key)) continue;
    const outValue = result[key];
    if (isPlainObject(outValue) && isPlainObject(inValue) && !isSecret(outValue) && !isSecret(inValue)) {
      result[key] = annotateSecrets(outValue, inValue);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      result[key] = secret(outValue);
    }
  }
  return result;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Protocol modules, loaded from where the proto stubs load them (grpc-js checks credentials with instanceof).

interface Protocol {
  grpc: typeof GrpcModule;
  rpc: typeof ProviderGrpcModule;
  pb: typeof ProviderPbModule;
  status: typeof StatusPbModule;
  struct: typeof StructPbModule;
  empty: typeof EmptyPbModule;
}

let protocolModules: Protocol | undefined;

function protocol(): Protocol {
  if (!protocolModules) {
    const stubs = createRequire(require.resolve('@pulumi/pulumi/proto/provider_grpc_pb'));
    protocolModules = {
      grpc: stubs('@grpc/grpc-js'),
      rpc: stubs('./provider_grpc_pb'),
      pb: stubs('./provider_pb'),
      status: stubs('./status_pb'),
      struct: stubs('google-protobuf/google/protobuf/struct_pb'),
      empty: stubs('google-protobuf/google/protobuf/empty_pb'),
    };
  }
  return protocolModules;
}

/** The host entry the engine would run for a program in `cwd` (its own @pulumi/pulumi), else ours. */
export function resolveHostEntry(cwd: string): string {
  const request = '@pulumi/pulumi/cmd/dynamic-provider';
  try {
    return require.resolve(request, { paths: [cwd] });
  } catch {
    return require.resolve(request);
  }
}

/**
 * Preloaded into the host (not something the engine does): the host exits when its stdin, a pipe from us, ends,
 * so a host is never orphaned when the driving process dies or a test times out mid-call (its gRPC server would
 * otherwise keep it alive forever). The host itself never reads stdin; argv stays `<entry> <engine-address>`.
 */
const PARENT_WATCHDOG =
  "data:text/javascript,process.stdin.on('end',()=>process.exit(0)).on('error',()=>process.exit(0)).resume().unref()";

type Callback<Res> = (error: GrpcModule.ServiceError | null, response: Res) => void;

const DIFF_CHANGES: Record<number, DiffChanges> = { 0: 'unknown', 1: 'none', 2: 'some' };

// ---------------------------------------------------------------------------------------------------------------

/** One running dynamic provider host process and a gRPC client speaking to it like the engine. */
export class ProviderHost {
  /** Every line the host printed after its port line (stdout and stderr, in arrival order). */
  readonly logs: string[] = [];
  readonly project: string;
  readonly stack: string;
  /** Milliseconds from spawn to port line, and from spawn to a configured provider. */
  readonly timings = { portMs: 0, readyMs: 0 };
  /** Protocol flags the host announced (engine semantics depend on them). */
  acceptSecrets = false;
  supportsPreview = false;
  /** Version the host reports from GetPluginInfo. */
  version = '';
  /** Set once the process has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private client: ProviderGrpcModule.ResourceProviderClient | undefined;
  private readonly stderrLines: string[] = [];
  private portLine: ((line: string) => void) | undefined;

  private constructor(private readonly options: ProviderHostOptions) {
    this.project = options.project ?? 'project';
    this.stack = options.stack ?? 'stack';
    const config = this.qualifiedConfig();
    const env: NodeJS.ProcessEnv = {
      ...(options.env ?? process.env),
      PULUMI_NODEJS_PROJECT: this.project,
      PULUMI_PROJECT: this.project,
      PULUMI_CONFIG: JSON.stringify(config),
    };
    const entry = resolveHostEntry(options.cwd);
    this.child = spawn(
      options.nodePath ?? process.execPath,
      ['--import', PARENT_WATCHDOG, entry, '127.0.0.1:0'],
      {
        cwd: options.cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    // The watchdog pipe: never written; closed once the host is gone so it does not keep us alive.
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        this.child.stdin?.destroy();
        resolve();
      });
      this.child.once('error', () => {
        this.exit ??= { code: null, signal: null };
        resolve();
      });
    });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (this.portLine) {
        const deliver = this.portLine;
        this.portLine = undefined;
        deliver(line);
        return;
      }
      this.record(line, 'stdout');
    });
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderrLines.push(line);
      this.record(line, 'stderr');
    });
  }

  /** Spawns the host, reads its port, connects, and configures it (before anything else, as the engine). */
  static async start(options: ProviderHostOptions): Promise<ProviderHost> {
    const host = new ProviderHost(options);
    try {
      await host.connect(options.startTimeoutMs ?? 20_000);
      return host;
    } catch (err) {
      await host.kill();
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `urn:pulumi:<stack>::<project>::pulumi-nodejs:dynamic:Resource::<name>` */
  urn(name: string): string {
    return `urn:pulumi:${this.stack}::${this.project}::${DYNAMIC_RESOURCE_TYPE}::${name}`;
  }

  private ref(r: ResourceRef): { name: string; urn: string; type: string } {
    return typeof r === 'string' ? { name: r, urn: this.urn(r), type: DYNAMIC_RESOURCE_TYPE } : r;
  }

  async check(
    resource: ResourceRef,
    olds: PropertyMap,
    news: PropertyMap,
  ): Promise<{ inputs: PropertyMap; failures: CheckFailure[] }> {
    const { pb } = protocol();
    const { name, urn, type } = this.ref(resource);
    const req = new pb.CheckRequest()
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setOlds(this.toStruct(olds))
      .setNews(this.toStruct(news));
    const res = await this.call('check', name, news, (c, cb: Callback<ProviderPbModule.CheckResponse>) =>
      c.check(req, cb),
    );
    const inputs = this.fromStruct(res.getInputs());
    return {
      inputs: this.acceptSecrets ? inputs : annotateSecrets(inputs, news),
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(
    id: string,
    resource: ResourceRef,
    olds: PropertyMap,
    news: PropertyMap,
    oldInputs: PropertyMap,
  ): Promise<{ changes: DiffChanges; replaces: string[]; deleteBeforeReplace: boolean }> {
    const { pb } = protocol();
    const { name, urn, type } = this.ref(resource);
    const req = new pb.DiffRequest()
      .setId(id)
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setOlds(this.toStruct(olds))
      .setNews(this.toStruct(news))
      .setOldInputs(this.toStruct(oldInputs));
    const res = await this.call('diff', name, news, (c, cb: Callback<ProviderPbModule.DiffResponse>) =>
      c.diff(req, cb),
    );
    return {
      changes: DIFF_CHANGES[res.getChanges()] ?? 'unknown',
      replaces: res.getReplacesList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
    };
  }

  /**
   * Create. With `preview`, as the engine with a host that does not support previews: no RPC, the properties are
   * the previewed outputs and the id is ''.
   */
  async create(
    resource: ResourceRef,
    properties: PropertyMap,
    options: { preview?: boolean } = {},
  ): Promise<{ id: string; properties: PropertyMap }> {
    const preview = options.preview ?? false;
    if (preview && !this.supportsPreview) return { id: '', properties };
    const { pb } = protocol();
    const { name, urn, type } = this.ref(resource);
    const req = new pb.CreateRequest()
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setProperties(this.toStruct(properties))
      .setPreview(preview);
    const res = await this.call(
      'create',
      name,
      properties,
      (c, cb: Callback<ProviderPbModule.CreateResponse>) => c.create(req, cb),
    );
    const id = res.getId();
    if (!id && !preview) {
      throw new Error(`create(${name}): the provider returned an empty id (the engine rejects this)`);
    }
    return { id, properties: this.annotate(this.fromStruct(res.getProperties()), properties) };
  }

  /** Read (refresh). `inputs` is undefined when the provider returned none (the engine keeps the old ones). */
  async read(
    id: string,
    resource: ResourceRef,
    properties: PropertyMap,
    inputs: PropertyMap,
  ): Promise<{ id: string; properties: PropertyMap; inputs: PropertyMap | undefined }> {
    const { pb } = protocol();
    const { name, urn, type } = this.ref(resource);
    const req = new pb.ReadRequest()
      .setId(id)
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setProperties(this.toStruct(properties))
      .setInputs(this.toStruct(inputs));
    const res = await this.call('read', name, properties, (c, cb: Callback<ProviderPbModule.ReadResponse>) =>
      c.read(req, cb),
    );
    const newInputs = res.getInputs();
    return {
      id: res.getId(),
      properties: this.annotate(this.fromStruct(res.getProperties()), properties),
      inputs: newInputs ? this.annotate(this.fromStruct(newInputs), inputs) : undefined,
    };
  }

  /** Update. With `preview`, as the engine with a host that does not support previews: no RPC, news are returned. */
  async update(
    id: string,
    resource: ResourceRef,
    olds: PropertyMap,
    news: PropertyMap,
    oldInputs: PropertyMap,
    options: { preview?: boolean } = {},
  ): Promise<{ properties: PropertyMap }> {
    const preview = options.preview ?? false;
    if (preview && !this.supportsPreview) return { properties: news };
    const { pb } = protocol();
    const { name, urn, type } = this.ref(resource);
    const req = new pb.UpdateRequest()
      .setId(id)
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setOlds(this.toStruct(olds))
      .setNews(this.toStruct(news))
      .setOldInputs(this.toStruct(oldInputs))
      .setPreview(preview);
    const res = await this.call('update', name, news, (c, cb: Callback<ProviderPbModule.UpdateResponse>) =>
      c.update(req, cb),
    );
    return { properties: this.annotate(this.fromStruct(res.getProperties()), news) };
  }

  async delete(
    id: string,
    resource: ResourceRef,
    properties: PropertyMap,
    oldInputs: PropertyMap,
  ): Promise<void> {
    const { name, urn, type } = this.ref(resource);
    const { pb } = protocol();
    const req = new pb.DeleteRequest()
      .setId(id)
      .setUrn(urn)
      .setName(name)
      .setType(type)
      .setProperties(this.toStruct(properties))
      .setOldInputs(this.toStruct(oldInputs));
    await this.call('delete', name, properties, (c, cb: Callback<EmptyPbModule.Empty>) => c.delete(req, cb));
  }

  /** Kills the host process (default SIGKILL, e.g. mid-operation to simulate a crash) and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.client?.close();
    if (!this.exit && this.child.pid !== undefined) this.child.kill(signal);
    await this.exited;
  }

  /** Closes the client and stops the host (SIGTERM, then SIGKILL after 5 s); all its output is in `logs` after. */
  async close(): Promise<void> {
    this.client?.close();
    if (this.exit || this.child.pid === undefined) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  // -------------------------------------------------------------------------------------------------------------

  private qualifiedConfig(): Record<string, string> {
    return Object.fromEntries(
      Object.entries(this.options.config ?? {}).map(([key, value]) => [
        key.includes(':') ? key : `${this.project}:${key}`,
        value,
      ]),
    );
  }

  private record(line: string, stream: 'stdout' | 'stderr'): void {
    this.logs.push(line);
    this.options.onLog?.(line, stream);
  }

  private async connect(timeoutMs: number): Promise<void> {
    const started = performance.now();
    const port = await this.readPort(timeoutMs);
    this.timings.portMs = Math.round(performance.now() - started);
    const { grpc, rpc, pb, struct, empty } = protocol();
    this.client = new rpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 400 * 1024 * 1024,
      'grpc.max_send_message_length': 400 * 1024 * 1024,
    });

    const info = await this.call('getPluginInfo', '', {}, (c, cb: Callback<PluginPbModule.PluginInfo>) =>
      c.getPluginInfo(new empty.Empty(), cb),
    );
    this.version = info.getVersion();

    // The engine tries Handshake first; the dynamic host answers UNIMPLEMENTED and the flags come from Configure.
    let handshook = false;
    try {
      const handshake = new pb.ProviderHandshakeRequest()
        .setEngineAddress('127.0.0.1:0')
        .setRootDirectory(this.options.cwd)
        .setProgramDirectory(this.options.cwd)
        .setConfigureWithUrn(true);
      const res = await this.call(
        'handshake',
        '',
        {},
        (c, cb: Callback<ProviderPbModule.ProviderHandshakeResponse>) => c.handshake(handshake, cb),
      );
      this.acceptSecrets = res.getAcceptSecrets();
      this.supportsPreview = true;
      handshook = true;
    } catch (err) {
      if (!(err instanceof ProviderError) || err.grpcCode !== grpc.status.UNIMPLEMENTED) throw err;
    }

    const config = this.qualifiedConfig();
    const req = new pb.ConfigureRequest()
      .setArgs(struct.Struct.fromJavaScript(config))
      .setAcceptsecrets(true)
      .setAcceptresources(true)
      .setSendsOldInputs(true)
      .setSendsOldInputsToDelete(true)
      .setUrn(`urn:pulumi:${this.stack}::${this.project}::pulumi:providers:pulumi-nodejs::default`)
      .setName('default')
      .setType('pulumi:providers:pulumi-nodejs')
      .setId(randomUUID());
    for (const [key, value] of Object.entries(config)) req.getVariablesMap().set(key, value);
    const res = await this.call('configure', '', {}, (c, cb: Callback<ProviderPbModule.ConfigureResponse>) =>
      c.configure(req, cb),
    );
    if (!handshook) {
      this.acceptSecrets = res.getAcceptsecrets();
      this.supportsPreview = res.getSupportspreview();
    }
    this.timings.readyMs = Math.round(performance.now() - started);
  }

  private readPort(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.portLine = undefined;
        const stderr = this.stderrLines.join('\n');
        reject(
          new Error(`dynamic provider host did not start: ${why}${stderr ? `\nstderr:\n${stderr}` : ''}`),
        );
      };
      const timer = setTimeout(() => fail(`no port within ${timeoutMs} ms`), timeoutMs);
      this.portLine = (line) => {
        clearTimeout(timer);
        const port = Number(line.trim());
        if (Number.isInteger(port) && port > 0) resolve(port);
        else fail(`first stdout line is not a port: ${JSON.stringify(line)}`);
      };
      this.child.once('error', (err) => fail(err.message));
      this.exited.then(() => {
        if (this.portLine) {
          // Let the stderr reader drain before reporting.
          setImmediate(() => fail(`exited (code ${this.exit?.code}, signal ${this.exit?.signal})`));
        }
      });
    });
  }

  private call<Res>(
    method: string,
    name: string,
    request: PropertyMap,
    invoke: (client: ProviderGrpcModule.ResourceProviderClient, callback: Callback<Res>) => unknown,
  ): Promise<Res> {
    const client = this.client;
    if (!client) return Promise.reject(new Error(`${method}: the provider host is not connected`));
    return new Promise((resolve, reject) => {
      invoke(client, (err, res) => {
        if (!err) return resolve(res);
        if (err.code !== protocol().grpc.status.UNAVAILABLE || this.exit) {
          return reject(this.toProviderError(method, name, err, request));
        }
        // The connection dropped: give the exit event a moment so the error can say the host died.
        const timer = setTimeout(() => reject(this.toProviderError(method, name, err, request)), 1_000);
        this.exited.then(() => {
          clearTimeout(timer);
          reject(this.toProviderError(method, name, err, request));
        });
      });
    });
  }

  private toProviderError(
    method: string,
    name: string,
    err: GrpcModule.ServiceError,
    request: PropertyMap,
  ): ProviderError {
    const partial = this.decodePartialFailure(err, request);
    const where = name ? `${method}(${name})` : method;
    const exit = this.exit
      ? ` [provider host exited: code ${this.exit.code}, signal ${this.exit.signal}]`
      : '';
    return new ProviderError(`${where}: ${err.details}${exit}`, method, err.code, err.details, partial);
  }

  /** Decodes `grpc-status-details-bin` = google.rpc.Status { details: [Any(pulumirpc.ErrorResourceInitFailed)] }. */
  private decodePartialFailure(
    err: GrpcModule.ServiceError,
    request: PropertyMap,
  ): PartialFailure | undefined {
    const { pb, status } = protocol();
    for (const raw of err.metadata?.get('grpc-status-details-bin') ?? []) {
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw;
      const details = status.Status.deserializeBinary(new Uint8Array(bytes)).getDetailsList();
      for (const any of details) {
        if (any.getTypeName() !== 'pulumirpc.ErrorResourceInitFailed') continue;
        const failure = pb.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
        return {
          id: failure.getId(),
          properties: this.annotate(this.fromStruct(failure.getProperties()), request),
          reasons: failure.getReasonsList(),
        };
      }
    }
    return undefined;
  }

  private annotate(outs: PropertyMap, ins: PropertyMap): PropertyMap {
    return this.acceptSecrets ? outs : annotateSecrets(outs, ins);
  }

  /** Marshals properties as the engine: secrets as plain values (the host does not accept them), JSON values. */
  private toStruct(properties: PropertyMap): StructPbModule.Struct {
    const plain = this.acceptSecrets ? properties : revealSecrets(properties);
    // JSON round trip: drops undefined (Struct rejects it), as the engine has no undefined either.
    const json = JSON.parse(JSON.stringify(plain ?? {})) as StructPbModule.JavaScriptValue;
    return protocol().struct.Struct.fromJavaScript(json as Record<string, StructPbModule.JavaScriptValue>);
  }

  private fromStruct(value: StructPbModule.Struct | undefined): PropertyMap {
    return (value?.toJavaScript() ?? {}) as PropertyMap;
  }
}
