// Defining a policy in one call: its metadata, its config keys and its check, nothing else.
//
// The helper derives the rest once for every policy: the config schema (every key of this pack is a
// list of strings, default []), strict config reading, reading the props into plain data (unknown
// preview values become UNKNOWN, see values.ts), "not applicable" for other resource types, and for
// stack policies the stack's objects with the `*Patch` resources applied (see patches.ts).
//
// The Pulumi CLI validates --policy-pack-config against each policy's configSchema (types, required
// keys) but lets unknown keys through. A misspelt key (say "allowedLoadBalancer") would then be
// silently ignored, so every policy rejects keys its schema does not declare: the preview fails with
// an error naming the key instead.

import type {
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import { K8sType, StackObject, parseK8sType, readResource, readStackObjects } from "./k8s";
import { applyPatches } from "./patches";

export interface PolicyMetadata<Key extends string> {
    name: string;
    description: string;
    enforcementLevel: "advisory" | "mandatory";
    severity: "low" | "medium" | "high" | "critical";
    remediationSteps: string;
    /** The policy's config keys (each a list of strings, default []) and what each means. */
    config?: Record<Key, string>;
}

/** The policy's config as read: every declared key, as a list of strings. */
export type PolicyConfig<Key extends string> = Record<Key, string[]>;

function configSchema(config: Record<string, string> | undefined): PolicyConfigSchema | undefined {
    if (!config) {
        return undefined;
    }
    const properties: PolicyConfigSchema["properties"] = {};
    for (const [key, description] of Object.entries(config)) {
        properties[key] = { type: "array", items: { type: "string" }, default: [], description };
    }
    return { properties };
}

/** Reads a policy's config, refusing keys its schema does not declare. */
export function readConfig(
    args: { getConfig<C extends object>(): C },
    policyName: string,
    schema?: PolicyConfigSchema,
): Record<string, string[]> {
    const config = (args.getConfig<Record<string, unknown>>() ?? {}) as Record<string, unknown>;
    const allowed = Object.keys(schema?.properties ?? {});
    const unknownKeys = Object.keys(config).filter((k) => k !== "enforcementLevel" && !allowed.includes(k));
    if (unknownKeys.length > 0) {
        throw new Error(
            `invalid policy pack config for "${policyName}": unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(", ")}; ` +
                `this policy accepts ${allowed.length ? allowed.map((k) => `"${k}"`).join(", ") : "only enforcementLevel"}. ` +
                `Fix the --policy-pack-config file.`,
        );
    }
    const out: Record<string, string[]> = {};
    for (const key of allowed) {
        const v = config[key];
        out[key] = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
    }
    return out;
}

function metadataOf<Key extends string>(meta: PolicyMetadata<Key>) {
    return {
        name: meta.name,
        description: meta.description,
        enforcementLevel: meta.enforcementLevel,
        severity: meta.severity,
        remediationSteps: meta.remediationSteps,
        configSchema: configSchema(meta.config),
    };
}

export interface ResourcePolicyDefinition<Key extends string> extends PolicyMetadata<Key> {
    /** The resource types the policy checks, and how to say so otherwise. */
    appliesTo: { types: (t: K8sType) => boolean; text: string };
    /** Reports each violation of `obj` (message says what, where and how to fix it). */
    check(obj: StackObject, config: PolicyConfig<Key>, report: (message: string) => void): void;
    /**
     * Rewrites the violating resource; `props` is the SDK's proxy of the resource's props (secrets
     * elsewhere stay secret). Returns the new props, or undefined when nothing is to change.
     */
    remediate?(obj: StackObject, config: PolicyConfig<Key>, props: any): Record<string, any> | undefined;
}

/** A resource policy from its metadata and its check. */
export function resourcePolicy<Key extends string = never>(
    def: ResourcePolicyDefinition<Key>,
): ResourceValidationPolicy {
    const meta = metadataOf(def);
    const read = (args: ResourceValidationArgs) => {
        // The type first: props are only read (copied) for the resources the policy checks.
        const t = parseK8sType(args.type);
        const obj = t && def.appliesTo.types(t) ? readResource(args) : undefined;
        if (!obj) {
            return args.notApplicable(`Policy only applies to ${def.appliesTo.text}.`);
        }
        return { obj, config: readConfig(args, def.name, meta.configSchema) as PolicyConfig<Key> };
    };
    const remediate = def.remediate;
    return {
        ...meta,
        validateResource: (args, reportViolation) => {
            const { obj, config } = read(args);
            def.check(obj, config, (message) => reportViolation(message));
        },
        ...(remediate
            ? {
                  remediateResource: (args: ResourceValidationArgs) => {
                      const { obj, config } = read(args);
                      return remediate(obj, config, args.props);
                  },
              }
            : {}),
    };
}

export interface StackPolicyDefinition<Key extends string> extends PolicyMetadata<Key> {
    /**
     * Reports each violation, attached to an object of the stack. `objs` are the stack's Kubernetes
     * objects with the patches applied (see patches.ts).
     */
    check(objs: StackObject[], config: PolicyConfig<Key>, report: (message: string, obj: StackObject) => void): void;
}

/** A stack policy from its metadata and its check. */
export function stackPolicy<Key extends string = never>(def: StackPolicyDefinition<Key>): StackValidationPolicy {
    const meta = metadataOf(def);
    return {
        ...meta,
        validateStack: (args, reportViolation) => {
            const config = readConfig(args, def.name, meta.configSchema) as PolicyConfig<Key>;
            const objs = applyPatches(readStackObjects(args.resources));
            def.check(objs, config, (message, obj) => reportViolation(message, obj.urn));
        },
    };
}
