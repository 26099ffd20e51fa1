/**
 * The engine's gRPC face to a running program: the ResourceMonitor and Engine services (stubs in
 * @pulumi/pulumi/proto: resource_grpc_pb, engine_grpc_pb), on one address, as the Pulumi engine serves them
 * (pkg/resource/deploy/source_eval.go; the Node SDK's own tests run programs against such a mock,
 * sdk/nodejs/tests/runtime/langhost/run.spec.ts).
 *
 * - SupportsFeature: only `secrets` (GetDeploymentInfo is not served, so the SDK probes feature by feature).
 *   Resource references, output values, aliases specs, transforms, hooks, deletedWith … answer false: the SDK
 *   then sends plain values (resources as their ids/URNs, as the engine would hand them to a provider that does
 *   not accept resources), or refuses an option it cannot use with the engine's own error.
 * - RegisterResource: decoded into a Goal (dependencies = `dependencies` ∪ every property dependency) and
 *   answered when the step completes: urn, id, outputs (secrets kept: the SDK sets acceptSecrets; unknowns kept
 *   in preview), Result.FAIL for a failed step; UNAVAILABLE once the deployment is cancelled.
 * - RegisterResourceOutputs: stack outputs (other components' outputs are not stored).
 * - Invoke: handed to the runner's invoke handlers (no provider plugins here); ReadResource is not imitated.
 * - Engine.Log → diagnostics; Get/SetRootResource keep the stack's URN.
 */
import { createRequire } from 'node:module';
import type * as GrpcModule from '@grpc/grpc-js';
import type * as EngineGrpcModule from '@pulumi/pulumi/proto/engine_grpc_pb';
import type * as EnginePbModule from '@pulumi/pulumi/proto/engine_pb';
import type * as ProviderPbModule from '@pulumi/pulumi/proto/provider_pb';
import type * as ResourceGrpcModule from '@pulumi/pulumi/proto/resource_grpc_pb';
import type * as ResourcePbModule from '@pulumi/pulumi/proto/resource_pb';
import type * as EmptyPbModule from 'google-protobuf/google/protobuf/empty_pb';
import type * as StructPbModule from 'google-protobuf/google/protobuf/struct_pb';
import type { CheckFailure, PropertyMap } from '../engine/host';
import type { Deployment } from './deployment';
import { DeploymentCancelled, type Goal, type Severity } from './types';

export interface InvokeResult {
  result?: PropertyMap;
  failures?: CheckFailure[];
}

/** Answers an Invoke (`tok` like `azure-native:sql:getManagedInstance`); undefined when not handled. */
export type InvokeHandler = (tok: string, args: PropertyMap) => Promise<InvokeResult | undefined>;

interface Protocol {
  grpc: typeof GrpcModule;
  resourceRpc: typeof ResourceGrpcModule;
  engineRpc: typeof EngineGrpcModule;
  resource: typeof ResourcePbModule;
  engine: typeof EnginePbModule;
  provider: typeof ProviderPbModule;
  struct: typeof StructPbModule;
  empty: typeof EmptyPbModule;
}

let modules: Protocol | undefined;

/** Loaded from where the stubs load them (grpc-js checks classes with instanceof). */
function protocol(): Protocol {
  if (!modules) {
    const stubs = createRequire(require.resolve('@pulumi/pulumi/proto/resource_grpc_pb'));
    modules = {
      grpc: stubs('@grpc/grpc-js'),
      resourceRpc: stubs('./resource_grpc_pb'),
      engineRpc: stubs('./engine_grpc_pb'),
      resource: stubs('./resource_pb'),
      engine: stubs('./engine_pb'),
      provider: stubs('./provider_pb'),
      struct: stubs('google-protobuf/google/protobuf/struct_pb'),
      empty: stubs('google-protobuf/google/protobuf/empty_pb'),
    };
  }
  return modules;
}

const SUPPORTED_FEATURES = new Set(['secrets']);

const SEVERITY: Record<number, Severity> = { 0: 'debug', 1: 'info', 2: 'warning', 3: 'error' };

type Call<Req> = { request: Req };
type Reply<Res> = (error: Partial<GrpcModule.StatusObject> | null, response?: Res) => void;

export class Monitor {
  private server: GrpcModule.Server | undefined;
  address = '';

  constructor(
    private readonly deployment: Deployment,
    private readonly invoke: InvokeHandler,
  ) {}

  async start(): Promise<string> {
    const { grpc, resourceRpc, engineRpc } = protocol();
    const server = new grpc.Server({
      'grpc.max_receive_message_length': 400 * 1024 * 1024,
      'grpc.max_send_message_length': 400 * 1024 * 1024,
    });
    server.addService(resourceRpc.ResourceMonitorService, {
      supportsFeature: this.supportsFeature,
      registerResource: this.registerResource,
      registerResourceOutputs: this.registerResourceOutputs,
      invoke: this.invokeRpc,
      readResource: this.readResource,
    } as unknown as GrpcModule.UntypedServiceImplementation);
    server.addService(engineRpc.EngineService, {
      log: this.log,
      getRootResource: this.getRootResource,
      setRootResource: this.setRootResource,
    } as unknown as GrpcModule.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  // ------------------------------------------------------------------------------------------------------------

  private readonly supportsFeature = (
    call: Call<ResourcePbModule.SupportsFeatureRequest>,
    reply: Reply<ResourcePbModule.SupportsFeatureResponse>,
  ) => {
    const res = new (protocol().resource.SupportsFeatureResponse)();
    res.setHassupport(SUPPORTED_FEATURES.has(call.request.getId()));
    reply(null, res);
  };

  private readonly registerResource = (
    call: Call<ResourcePbModule.RegisterResourceRequest>,
    reply: Reply<ResourcePbModule.RegisterResourceResponse>,
  ) => {
    const req = call.request;
    const dependencies = new Set(req.getDependenciesList());
    for (const [, deps] of req.getPropertydependenciesMap().entries()) {
      for (const urn of (
        deps as ResourcePbModule.RegisterResourceRequest.PropertyDependencies
      ).getUrnsList()) {
        dependencies.add(urn);
      }
    }
    const goal: Goal = {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: req.getCustom(),
      remote: req.getRemote(),
      inputs: fromStruct(req.getObject()),
      dependencies: [...dependencies],
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      provider: req.getProvider(),
    };
    if (goal.remote) {
      reply({
        code: protocol().grpc.status.UNIMPLEMENTED,
        details: `remote components (${goal.type}) are not imitated by the sandbox engine`,
      });
      return;
    }
    this.deployment.register(goal).then(
      (result) => {
        const { resource } = protocol();
        const res = new resource.RegisterResourceResponse();
        res.setUrn(result.urn);
        res.setId(result.id);
        res.setObject(toStruct(result.outputs));
        res.setResult(result.failed ? resource.Result.FAIL : resource.Result.SUCCESS);
        reply(null, res);
      },
      (err: unknown) => reply(statusOf(err)),
    );
  };

  private readonly registerResourceOutputs = (
    call: Call<ResourcePbModule.RegisterResourceOutputsRequest>,
    reply: Reply<EmptyPbModule.Empty>,
  ) => {
    this.deployment.registerOutputs(call.request.getUrn(), fromStruct(call.request.getOutputs()));
    reply(null, new (protocol().empty.Empty)());
  };

  private readonly invokeRpc = (
    call: Call<ResourcePbModule.ResourceInvokeRequest>,
    reply: Reply<ResourcePbModule.ResourceInvokeResponse>,
  ) => {
    const tok = call.request.getTok();
    const args = fromStruct(call.request.getArgs());
    this.invoke(tok, args).then(
      (answer) => {
        if (!answer) {
          const message = `invoke ${tok} is not imitated: the sandbox engine has no provider plugins (see sandbox/README.md)`;
          this.deployment.diagnose('error', message);
          reply({ code: protocol().grpc.status.UNKNOWN, details: message });
          return;
        }
        const { resource, provider } = protocol();
        const res = new resource.ResourceInvokeResponse();
        res.setReturn(toStruct(answer.result ?? {}));
        res.setFailuresList(
          (answer.failures ?? []).map((f) =>
            new provider.CheckFailure().setProperty(f.property).setReason(f.reason),
          ),
        );
        reply(null, res);
      },
      (err: unknown) => reply(statusOf(err)),
    );
  };

  private readonly readResource = (
    call: Call<ResourcePbModule.ReadResourceRequest>,
    reply: Reply<ResourcePbModule.ReadResourceResponse>,
  ) => {
    const message = `reading an existing resource (${call.request.getType()}.get) is not imitated by the sandbox engine`;
    this.deployment.diagnose('error', message);
    reply({ code: protocol().grpc.status.UNKNOWN, details: message });
  };

  private readonly log = (call: Call<EnginePbModule.LogRequest>, reply: Reply<EmptyPbModule.Empty>) => {
    const req = call.request;
    this.deployment.diagnose(SEVERITY[req.getSeverity()] ?? 'info', req.getMessage(), req.getUrn());
    reply(null, new (protocol().empty.Empty)());
  };

  private readonly getRootResource = (
    _call: Call<EnginePbModule.GetRootResourceRequest>,
    reply: Reply<EnginePbModule.GetRootResourceResponse>,
  ) => {
    reply(null, new (protocol().engine.GetRootResourceResponse)().setUrn(this.deployment.stackUrn));
  };

  private readonly setRootResource = (
    call: Call<EnginePbModule.SetRootResourceRequest>,
    reply: Reply<EnginePbModule.SetRootResourceResponse>,
  ) => {
    this.deployment.stackUrn = call.request.getUrn();
    reply(null, new (protocol().engine.SetRootResourceResponse)());
  };
}

function statusOf(err: unknown): Partial<GrpcModule.StatusObject> {
  const { grpc } = protocol();
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DeploymentCancelled) return { code: grpc.status.UNAVAILABLE, details: message };
  return { code: grpc.status.UNKNOWN, details: message };
}

function fromStruct(value: StructPbModule.Struct | undefined): PropertyMap {
  return (value?.toJavaScript() ?? {}) as PropertyMap;
}

/** JSON round trip: drops undefined (a Struct cannot hold it), as the engine has none either. */
function toStruct(properties: PropertyMap): StructPbModule.Struct {
  const json = JSON.parse(JSON.stringify(properties ?? {})) as Record<string, StructPbModule.JavaScriptValue>;
  return protocol().struct.Struct.fromJavaScript(json);
}
