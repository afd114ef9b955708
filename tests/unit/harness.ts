/**
 * Runs the real program under Pulumi's mocks and records what it registers, with the resource
 * options the engine would receive (parent, protect, deleteBeforeReplace), which the Mocks
 * interface alone does not show.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "../../config";
import { deployPlatform } from "../../platform";

export interface RegisteredResource {
    /** The URN the engine gives the resource (its identity in the stack's state). */
    urn: string;
    type: string;
    name: string;
    /** Inputs with secret markers removed. */
    inputs: any;
    /** Inputs as sent, secret values still wrapped: see isSecretValue. */
    rawInputs: any;
    parentUrn: string;
    protect: boolean;
    deleteBeforeReplace: boolean;
    /** Input paths the engine leaves alone on update (the `ignoreChanges` option). */
    ignoreChanges: string[];
    /** Input paths whose change replaces the resource (the `replaceOnChanges` option). */
    replaceOnChanges: string[];
    /** The explicit provider's reference ("URN::ID"), "" for the package's default provider. */
    provider: string;
    /** The URNs the resource had before, which its `aliases` carry over to it. */
    aliasUrns: string[];
}

export interface ReadResource {
    type: string;
    id: string;
}

export interface ProgramRun {
    resources: RegisteredResource[];
    /** Existing objects the program looked up instead of registering. */
    reads: ReadResource[];
    /** Stack outputs, resolved, with secretness kept apart. */
    outputs: Record<string, unknown>;
    secretOutputs: string[];
    error?: Error;
}

/** The value the mocks give the RandomPassword named NAME: distinct per resource, letters and digits. */
export function mockPassword(name: string): string {
    return `mockpassword${Buffer.from(name).toString("hex")}`;
}

/** Plays the providers: echoes inputs as state; the Ingress gets an address as a controller would. */
class RecordingMocks implements pulumi.runtime.Mocks {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        const state = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") {
            state.result = mockPassword(args.name);
        }
        if (args.type === TYPES.gateway) {
            state.status = { addresses: [{ type: "IPAddress", value: "192.0.2.20" }] };
        }
        if (args.type === "kubernetes:networking.k8s.io/v1:Ingress") {
            state.status = { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } };
        }
        return { id: `${args.name}-id`, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        return args.inputs;
    }
}

/** True for a value the SDK sends as secret. */
export function isSecretValue(value: unknown): boolean {
    return (
        typeof value === "object" &&
        value !== null &&
        (value as any)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
    );
}

function unwrapSecrets(value: any): any {
    if (isSecretValue(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

async function resolve(output: pulumi.Output<unknown>): Promise<{ value: unknown; secret: boolean }> {
    // isSecret and the value are both internal promises of an Output; the SDK's own tests read them this way.
    const internal = output as any;
    return { value: await internal.promise(), secret: await internal.isSecret };
}

/** The URN the engine gives a resource: its type after its parent's whole type chain. */
function engineUrn(parentUrn: string, type: string, name: string): string {
    const qualifiedType = parentUrn ? `${parentUrn.split("::")[2]}$${type}` : type;
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${qualifiedType}::${name}`;
}

/** The engine's URN for each alias of a registration request (same name and parent unless it says). */
function aliasUrns(request: any): string[] {
    return request.getAliasesList().map((alias: any) => {
        if (alias.hasUrn()) {
            return alias.getUrn();
        }
        const spec = alias.getSpec();
        return engineUrn(
            spec.getParenturn() || request.getParent(),
            spec.getType() || request.getType(),
            spec.getName() || request.getName(),
        );
    });
}

/** Runs index.ts's two steps (load config, deploy) for a stack config and collects everything. */
export async function runProgram(config: Record<string, string>, stack = "dev"): Promise<ProgramRun> {
    const resources: RegisteredResource[] = [];
    await pulumi.runtime.setMocks(new RecordingMocks(), "exchange", stack, false);
    pulumi.runtime.setAllConfig(config);
    const monitor = pulumi.runtime.getMonitor() as any;
    // The mocks prefix a child's type with its parent's own type only; the engine prefixes the
    // parent's whole type chain. The URNs the tests see are the engine's.
    monitor.newUrn = engineUrn;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request: any, callback: any) => {
        const rawInputs = pulumi.runtime.deserializeProperties(request.getObject());
        resources.push({
            urn: engineUrn(request.getParent(), request.getType(), request.getName()),
            type: request.getType(),
            name: request.getName(),
            inputs: unwrapSecrets(rawInputs),
            rawInputs,
            parentUrn: request.getParent(),
            protect: request.getProtect(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            ignoreChanges: request.getIgnorechangesList(),
            replaceOnChanges: request.getReplaceonchangesList(),
            provider: request.getProvider(),
            aliasUrns: aliasUrns(request),
        });
        return register(request, callback);
    };
    const reads: ReadResource[] = [];
    const read = monitor.readResource.bind(monitor);
    monitor.readResource = (request: any, callback: any) => {
        reads.push({ type: request.getType(), id: request.getId() });
        return read(request, callback);
    };

    const run: ProgramRun = { resources, reads, outputs: {}, secretOutputs: [] };
    try {
        const platform = deployPlatform(loadConfig());
        for (const [key, output] of Object.entries(platform)) {
            const { value, secret } = await resolve(output);
            run.outputs[key] = value;
            if (secret) {
                run.secretOutputs.push(key);
            }
        }
    } catch (error) {
        run.error = error as Error;
    }
    await pulumi.runtime.disconnect();
    return run;
}

export function ofType(run: ProgramRun, type: string): RegisteredResource[] {
    return run.resources.filter((r) => r.type === type);
}

export function named(run: ProgramRun, type: string, name: string): RegisteredResource {
    const found = run.resources.find((r) => r.type === type && r.inputs.metadata?.name === name);
    if (!found) {
        throw new Error(
            `no ${type} named ${name}; registered: ${ofType(run, type)
                .map((r) => r.inputs.metadata?.name)
                .join(", ")}`,
        );
    }
    return found;
}

export const TYPES = {
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    service: "kubernetes:core/v1:Service",
    secret: "kubernetes:core/v1:Secret",
    configMap: "kubernetes:core/v1:ConfigMap",
    claim: "kubernetes:core/v1:PersistentVolumeClaim",
    ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    namespace: "kubernetes:core/v1:Namespace",
    password: "random:index/randomPassword:RandomPassword",
    gateway: "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    httpRoute: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    traefikService: "kubernetes:traefik.io/v1alpha1:TraefikService",
    disruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
    autoscaler: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
};

/** Every service's workload: the Deployments and the single writers' StatefulSets. */
export function workloads(run: ProgramRun): RegisteredResource[] {
    return run.resources.filter((r) => r.type === TYPES.deployment || r.type === TYPES.statefulSet);
}

/** The workload (Deployment or StatefulSet) named NAME. */
export function workloadNamed(run: ProgramRun, name: string): RegisteredResource {
    const found = workloads(run).find((r) => r.inputs.metadata?.name === name);
    if (!found) {
        throw new Error(`no workload named ${name}; registered: ${workloads(run).map((r) => r.inputs.metadata?.name)}`);
    }
    return found;
}
