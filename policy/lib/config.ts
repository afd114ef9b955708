// Reading a policy's configuration strictly.
//
// The Pulumi CLI validates --policy-pack-config against each policy's configSchema (types,
// required keys) but lets unknown keys through. A misspelt key (say "allowedLoadBalancer") would
// then be silently ignored, so every policy rejects keys its schema does not declare: the
// preview fails with an error naming the key instead.

import { PolicyConfigSchema } from "@pulumi/policy";

export function readConfig<T extends object>(
    args: { getConfig<C extends object>(): C },
    policyName: string,
    schema?: PolicyConfigSchema,
): Partial<T> {
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
    return config as Partial<T>;
}
