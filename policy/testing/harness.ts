// Test harness: runs the pack's policies in-process the way the Pulumi engine + @pulumi/policy 1.21
// server do (node_modules/@pulumi/policy/server.js), without a Pulumi CLI.
//
// Public test API (for other projects' tests too, as exchange-platform-policy/testing; it uses no
// mocha globals):
//
//   runPolicyPack(resources: TestResource[], config?: HarnessConfig): Promise<PolicyViolation[]>
//       Everything `pulumi preview --policy-pack policy` would run: per resource, the remediations of
//       policies at level "remediate", then every resource policy; then every stack policy.
//   runResourcePolicies(resources: TestResource[], config?: HarnessConfig): Promise<PolicyViolation[]>
//       Remediations + every resource policy of the pack, on each resource.
//   runStackPolicies(resources: TestResource[], config?: HarnessConfig): Promise<PolicyViolation[]>
//       Every stack policy of the pack, on the whole list.
//   mandatory(violations) / advisory(violations): filter by enforcement level.
//
//   TestResource   = { type: "kubernetes:core/v1:Service", name: "<logical name>", props: {...inputs},
//                      urn?, provider?: { name?, urn?, props: { namespace?: string } } }
//                    Without `provider`, a resource goes through the stack's default provider (one
//                    cluster); give another provider `name` to put a resource on another cluster.
//   HarnessConfig  = the policy pack config JSON (`--policy-pack-config` file content):
//                      { "<policy-name>": "advisory" | { enforcementLevel?, ...properties }, "all"?: level }
//   PolicyViolation = { policyName, enforcementLevel: "mandatory" | "advisory", message, urn?, resourceName?,
//                      resourceType?, previewSkipped? }
//
// The pack's policy list is imported from ../policies (the very list ../index.ts serves). Unknown
// preview values are built with `unknown.string` etc. (the SDK's own sentinels) and props are wrapped
// in the SDK's own unknownCheckingProxy, so reading one throws exactly as during `pulumi preview`.
// When a policy lets that error escape, the harness records what the SDK reports: an advisory
// "can't run policy ... during preview" diagnostic (previewSkipped: true).

import {
    EnforcementLevel,
    Policies,
    Policy,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { PackConfig, checkConfig, effectiveLevel, policyConfig } from "../lib/pack-config";
import { policies as packPolicies } from "../policies";

export { effectiveLevel, policyConfig };

// ---------------------------------------------------------------------------------------------
// The SDK's internals that the engine path uses (not in its .d.ts files).

interface SdkProxyModule {
    unknownCheckingProxy<T extends object>(o: T): T;
    isSpecialProxy: string;
    getSpecialProxyTarget: string;
    UnknownValueError: new (...args: any[]) => Error;
    unknownBooleanValue: string;
    unknownNumberValue: string;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownAssetValue: string;
    unknownArchiveValue: string;
    unknownObjectValue: string;
}

const sdkProxy: SdkProxyModule = require("@pulumi/policy/proxy");

const sdkSecret: { secretsPreservingProxy<T>(o: T): T } = require("@pulumi/policy/secret");

/** Values that are unknown during preview, exactly as the engine sends them (per value type). */
export const unknown = Object.freeze({
    boolean: sdkProxy.unknownBooleanValue,
    number: sdkProxy.unknownNumberValue,
    string: sdkProxy.unknownStringValue,
    array: sdkProxy.unknownArrayValue,
    object: sdkProxy.unknownObjectValue,
});

/** A secret value (as the engine hands secrets to remediations). */
export function secret<T>(value: T): Secret {
    return new Secret(value);
}

// ---------------------------------------------------------------------------------------------
// Types.

export interface TestResource {
    /** Pulumi type token, e.g. "kubernetes:apps/v1:Deployment". */
    type: string;
    /** Pulumi logical name. */
    name: string;
    /** Resource inputs (or outputs), e.g. { apiVersion, kind, metadata, spec }. */
    props: Record<string, any>;
    urn?: string;
    provider?: { type?: string; name?: string; urn?: string; props: Record<string, any> };
    opts?: Partial<PolicyResourceOptions>;
}

/** The content of a `--policy-pack-config` JSON file. */
export type HarnessConfig = PackConfig;

export interface PolicyViolation {
    policyName: string;
    /** Level the violation is reported at ("remediate" is reported as "mandatory", like the SDK). */
    enforcementLevel: "advisory" | "mandatory";
    message: string;
    urn?: string;
    /** Logical name and type of the resource the violation is attached to, when known. */
    resourceName?: string;
    resourceType?: string;
    /** True for the SDK's "can't run policy ... during preview" diagnostic (an unknown value escaped). */
    previewSkipped?: boolean;
}

/** Outcome of running one policy once. */
export interface PolicyRunResult {
    /** Messages passed to reportViolation, in order. */
    violations: string[];
    /** URNs passed to reportViolation (stack policies), same order as `violations`. */
    urns: (string | undefined)[];
    /** Reason given to args.notApplicable(), if the policy called it. */
    notApplicable?: string;
    /** The SDK's preview diagnostic, if an unknown value escaped the policy. */
    previewSkip?: string;
}

// ---------------------------------------------------------------------------------------------
// Building args like server.ts does.

function defaultUrn(type: string, name: string): string {
    return `urn:pulumi:test::exchange-platform::${type}::${name}`;
}

function options(r: TestResource): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.opts ?? {}),
    };
}

/** Deep copy of plain data. keepSecrets=false unwraps Secret like deserializeProperties(.., false). */
function clone(v: unknown, keepSecrets: boolean): any {
    if (v instanceof Secret) {
        return keepSecrets ? new Secret(clone(v.value, keepSecrets)) : clone(v.value, keepSecrets);
    }
    if (Array.isArray(v)) {
        return v.map((x) => clone(x, keepSecrets));
    }
    if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            // The engine treats properties with undefined values as absent.
            if (x !== undefined) {
                out[k] = clone(x, keepSecrets);
            }
        }
        return out;
    }
    return v;
}

/** Turns a remediation result (possibly SDK proxies) back into plain data, keeping Secret wrappers. */
function unwrapResult(v: any): any {
    if (v !== null && typeof v === "object" && v[sdkProxy.isSpecialProxy] === true) {
        return unwrapResult(v[sdkProxy.getSpecialProxyTarget]);
    }
    if (v instanceof Secret) {
        return new Secret(unwrapResult(v.value));
    }
    if (Array.isArray(v)) {
        return v.map(unwrapResult);
    }
    if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v)) {
            if (v[k] !== undefined) {
                out[k] = unwrapResult(v[k]);
            }
        }
        return out;
    }
    return v;
}

/**
 * The resource's provider, as the engine reports it for every Kubernetes resource: the one the
 * resource names, else the stack's default provider (same URN for all such resources).
 */
function providerOf(r: TestResource): PolicyProviderResource {
    const type = r.provider?.type ?? "pulumi:providers:kubernetes";
    const name = r.provider?.name ?? "default";
    return {
        type,
        name,
        urn: r.provider?.urn ?? defaultUrn(type, name),
        props: sdkProxy.unknownCheckingProxy(clone(r.provider?.props ?? {}, false)),
    };
}

class NotApplicable extends Error {
    constructor(public readonly reason: string | undefined) {
        super(reason ?? "Policy does not apply");
    }
}

function isType(type: string, resourceClass: any): boolean {
    const pulumiType = resourceClass?.__pulumiType;
    if (typeof pulumiType === "string" && pulumiType !== "") {
        return type === pulumiType;
    }
    const isInstance = resourceClass?.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function resourceArgs(
    policy: Policy,
    r: TestResource,
    props: Record<string, any>,
    config: HarnessConfig,
): ResourceValidationArgs {
    const args: ResourceValidationArgs = {
        type: r.type,
        props,
        urn: r.urn ?? defaultUrn(r.type, r.name),
        name: r.name,
        opts: options(r),
        stackTags: new Map<string, string>(),
        isType: (cls: any) => isType(r.type, cls),
        asType: ((cls: any) => (isType(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => policyConfig(policy, config) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
    args.provider = providerOf(r);
    return args;
}

function stackArgs(policy: Policy, resources: TestResource[], config: HarnessConfig): StackValidationArgs {
    const policyResources: PolicyResource[] = resources.map((r) => {
        const props = sdkProxy.unknownCheckingProxy(clone(r.props, false));
        const pr: PolicyResource = {
            type: r.type,
            props,
            urn: r.urn ?? defaultUrn(r.type, r.name),
            name: r.name,
            opts: options(r),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls: any) => isType(r.type, cls),
            asType: ((cls: any) => (isType(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        pr.provider = providerOf(r);
        return pr;
    });
    return {
        resources: policyResources,
        stackTags: new Map<string, string>(),
        getConfig: <T extends object>() => policyConfig(policy, config) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

function previewSkipMessage(policy: Policy, e: Error, what = "policy"): string {
    return `can't run ${what} '${policy.name}' from policy pack during preview: ${e.message}`;
}

async function guarded(policy: Policy, result: PolicyRunResult, fn: () => unknown): Promise<void> {
    try {
        await Promise.resolve(fn());
    } catch (e) {
        if (e instanceof sdkProxy.UnknownValueError) {
            result.previewSkip = previewSkipMessage(policy, e as Error);
        } else if (e instanceof NotApplicable) {
            result.notApplicable = e.reason ?? "";
        } else {
            throw e;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running one policy.

/** Runs one resource policy's validations on one resource (props proxied like the engine's). */
export async function runResourcePolicy(
    policy: ResourceValidationPolicy,
    resource: TestResource,
    config: HarnessConfig = {},
): Promise<PolicyRunResult> {
    const result: PolicyRunResult = { violations: [], urns: [] };
    const validations =
        policy.validateResource === undefined
            ? []
            : Array.isArray(policy.validateResource)
              ? policy.validateResource
              : [policy.validateResource];
    for (const validation of validations) {
        // A fresh copy per validation, like server.ts.
        const props = sdkProxy.unknownCheckingProxy(clone(resource.props, false));
        const args = resourceArgs(policy, resource, props, config);
        await guarded(policy, result, () =>
            validation(args, (message: string, urn?: string) => {
                result.violations.push(message);
                result.urns.push(urn);
            }),
        );
    }
    return result;
}

/** Runs one stack policy on a list of resources. */
export async function runStackPolicy(
    policy: StackValidationPolicy,
    resources: TestResource[],
    config: HarnessConfig = {},
): Promise<PolicyRunResult> {
    const result: PolicyRunResult = { violations: [], urns: [] };
    const args = stackArgs(policy, resources, config);
    await guarded(policy, result, () =>
        policy.validateStack(args, (message: string, urn?: string) => {
            result.violations.push(message);
            result.urns.push(urn);
        }),
    );
    return result;
}

/**
 * Runs one policy's remediateResource on a resource, like the SDK's Remediate RPC (secrets wrapped in
 * a secrets-preserving proxy). `props` is the remediated resource (Secret wrappers kept), or undefined
 * when the policy changed nothing.
 */
export async function runRemediation(
    policy: ResourceValidationPolicy,
    resource: TestResource,
    config: HarnessConfig = {},
): Promise<{ props?: Record<string, any>; notApplicable?: string; previewSkip?: string }> {
    if (!policy.remediateResource) {
        throw new Error(`policy "${policy.name}" has no remediateResource`);
    }
    const props = sdkProxy.unknownCheckingProxy(sdkSecret.secretsPreservingProxy(clone(resource.props, true)));
    const args = resourceArgs(policy, resource, props, config);
    const run: PolicyRunResult = { violations: [], urns: [] };
    let out: Record<string, any> | undefined;
    await guarded(policy, run, async () => {
        const r = await Promise.resolve(policy.remediateResource!(args));
        if (r) {
            out = unwrapResult(r);
        }
    });
    return { props: out, notApplicable: run.notApplicable, previewSkip: run.previewSkip };
}

// ---------------------------------------------------------------------------------------------
// Running the whole pack.

function isResourcePolicy(p: Policy): p is ResourceValidationPolicy {
    const rp = p as ResourceValidationPolicy;
    return (
        typeof rp.validateResource === "function" ||
        Array.isArray(rp.validateResource) ||
        typeof rp.remediateResource === "function"
    );
}

function isStackPolicy(p: Policy): p is StackValidationPolicy {
    return typeof (p as StackValidationPolicy).validateStack === "function";
}

function reportedLevel(level: EnforcementLevel): "advisory" | "mandatory" {
    return level === "advisory" ? "advisory" : "mandatory";
}

/** Applies the remediations of policies at level "remediate" (in pack order), like the engine before analysis. */
async function remediate(resource: TestResource, config: HarnessConfig, policies: Policies): Promise<TestResource> {
    let current = resource;
    for (const p of policies) {
        if (!isResourcePolicy(p) || !p.remediateResource || effectiveLevel(p, config) !== "remediate") {
            continue;
        }
        const r = await runRemediation(p, current, config);
        if (r.props) {
            current = { ...current, props: r.props };
        }
    }
    return current;
}

/**
 * Runs the remediations and then every resource policy of the pack on each resource.
 * Returns the violations (and preview-skip diagnostics) tagged with policy name and level.
 */
export async function runResourcePolicies(
    resources: TestResource[],
    config: HarnessConfig = {},
    policies: Policies = packPolicies,
): Promise<PolicyViolation[]> {
    checkConfig(config, policies);
    const out: PolicyViolation[] = [];
    for (const original of resources) {
        const resource = await remediate(original, config, policies);
        for (const p of policies) {
            const level = effectiveLevel(p, config);
            if (level === "disabled" || !isResourcePolicy(p) || !p.validateResource) {
                continue;
            }
            const r = await runResourcePolicy(p, resource, config);
            const urn = resource.urn ?? defaultUrn(resource.type, resource.name);
            for (const message of r.violations) {
                out.push({
                    policyName: p.name,
                    enforcementLevel: reportedLevel(level),
                    message,
                    urn,
                    resourceName: resource.name,
                    resourceType: resource.type,
                });
            }
            if (r.previewSkip) {
                out.push({
                    policyName: p.name,
                    enforcementLevel: "advisory",
                    message: r.previewSkip,
                    urn,
                    resourceName: resource.name,
                    resourceType: resource.type,
                    previewSkipped: true,
                });
            }
        }
    }
    return out;
}

/** Runs every stack policy of the pack on the resources. */
export async function runStackPolicies(
    resources: TestResource[],
    config: HarnessConfig = {},
    policies: Policies = packPolicies,
): Promise<PolicyViolation[]> {
    checkConfig(config, policies);
    const byUrn = new Map(resources.map((r) => [r.urn ?? defaultUrn(r.type, r.name), r]));
    const out: PolicyViolation[] = [];
    for (const p of policies) {
        const level = effectiveLevel(p, config);
        if (level === "disabled" || !isStackPolicy(p)) {
            continue;
        }
        const r = await runStackPolicy(p, resources, config);
        r.violations.forEach((message, i) => {
            const urn = r.urns[i];
            const res = urn ? byUrn.get(urn) : undefined;
            out.push({
                policyName: p.name,
                enforcementLevel: reportedLevel(level),
                message,
                urn,
                resourceName: res?.name,
                resourceType: res?.type,
            });
        });
        if (r.previewSkip) {
            out.push({
                policyName: p.name,
                enforcementLevel: "advisory",
                message: r.previewSkip,
                previewSkipped: true,
            });
        }
    }
    return out;
}

/** Everything a `pulumi preview` with this pack runs: remediations, resource policies, stack policies. */
export async function runPolicyPack(
    resources: TestResource[],
    config: HarnessConfig = {},
    policies: Policies = packPolicies,
): Promise<PolicyViolation[]> {
    checkConfig(config, policies);
    const remediated: TestResource[] = [];
    for (const r of resources) {
        remediated.push(await remediate(r, config, policies));
    }
    // Remediation is idempotent, so runResourcePolicies re-applying it changes nothing.
    const resourceViolations = await runResourcePolicies(remediated, config, policies);
    const stackViolations = await runStackPolicies(remediated, config, policies);
    return [...resourceViolations, ...stackViolations];
}

export function mandatory(violations: PolicyViolation[]): PolicyViolation[] {
    return violations.filter((v) => v.enforcementLevel === "mandatory");
}

export function advisory(violations: PolicyViolation[]): PolicyViolation[] {
    return violations.filter((v) => v.enforcementLevel === "advisory");
}

/** One line per violation, handy in assertion messages. */
export function formatViolations(violations: PolicyViolation[]): string {
    return violations
        .map(
            (v) =>
                `[${v.enforcementLevel}] ${v.policyName}${v.resourceName ? ` (${v.resourceName})` : ""}: ${v.message}`,
        )
        .join("\n");
}
