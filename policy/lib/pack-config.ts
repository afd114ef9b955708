// The policy pack's config (the `--policy-pack-config` file) as the Pulumi CLI resolves it: each
// policy's level (policy entry > "all" > the policy's default > the pack's default) and its keys
// (schema defaults overlaid with the entry; unknown policy names, unknown keys and wrong types
// refused). The test harness and the admission policies' generator (admission/) read it here, so
// the pack and the API server are configured from the one file the same way.

import type { EnforcementLevel, Policies, Policy, PolicyConfigSchema } from "@pulumi/policy";

type PolicyEntry = EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>);

/** The content of a `--policy-pack-config` JSON file. */
export type PackConfig = Record<string, PolicyEntry>;

const PACK_DEFAULT_LEVEL: EnforcementLevel = "advisory";

export function effectiveLevel(policy: Policy, config: PackConfig = {}): EnforcementLevel {
    const entry = config[policy.name];
    if (typeof entry === "string") {
        return entry;
    }
    if (entry && entry.enforcementLevel) {
        return entry.enforcementLevel;
    }
    const all = config["all"];
    if (typeof all === "string") {
        return all;
    }
    if (all && typeof all === "object" && all.enforcementLevel) {
        return all.enforcementLevel;
    }
    return policy.enforcementLevel ?? PACK_DEFAULT_LEVEL;
}

function checkAgainstSchema(policyName: string, key: string, value: unknown, schema: any): void {
    const fail = (why: string): never => {
        throw new Error(`invalid config for policy "${policyName}": "${key}" ${why}`);
    };
    if (!schema || typeof schema !== "object" || !schema.type) {
        return;
    }
    const type = schema.type;
    const ok =
        (type === "array" && Array.isArray(value)) ||
        (type === "string" && typeof value === "string") ||
        (type === "boolean" && typeof value === "boolean") ||
        ((type === "number" || type === "integer") && typeof value === "number") ||
        (type === "object" && typeof value === "object" && value !== null && !Array.isArray(value));
    if (!ok) {
        fail(`must be of type ${type}`);
    }
    if (type === "array" && schema.items) {
        (value as unknown[]).forEach((v, i) => checkAgainstSchema(policyName, `${key}[${i}]`, v, schema.items));
    }
}

/** The properties `args.getConfig()` returns: schema defaults overlaid with the config entry. */
export function policyConfig(policy: Policy, config: PackConfig = {}): Record<string, unknown> {
    const schema: PolicyConfigSchema | undefined = policy.configSchema;
    const out: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
        if (typeof prop === "object" && prop.default !== undefined) {
            out[key] = JSON.parse(JSON.stringify(prop.default));
        }
    }
    const entry = config[policy.name];
    if (entry && typeof entry === "object") {
        for (const [key, value] of Object.entries(entry)) {
            if (key === "enforcementLevel") {
                continue;
            }
            const prop = schema?.properties?.[key];
            if (prop === undefined) {
                throw new Error(`invalid config for policy "${policy.name}": unknown property "${key}"`);
            }
            checkAgainstSchema(policy.name, key, value, prop);
            out[key] = value;
        }
    }
    for (const req of schema?.required ?? []) {
        if (out[req] === undefined) {
            throw new Error(`invalid config for policy "${policy.name}": "${req}" is required`);
        }
    }
    return out;
}

/** Validates the whole config up front, like the CLI does before it starts the pack. */
export function checkConfig(config: PackConfig, policies: Policies): void {
    const known = new Set(policies.map((p) => p.name));
    for (const name of Object.keys(config)) {
        if (name !== "all" && !known.has(name)) {
            throw new Error(`config names a policy that is not in the pack: "${name}"`);
        }
    }
    for (const p of policies) {
        policyConfig(p, config);
    }
}
