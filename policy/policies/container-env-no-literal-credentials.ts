import { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describeContainer, stringList, workloadUnderValidation } from "../lib/k8s";
import { asArray, asRecord, isUnknown } from "../lib/values";

/** Configuration of `container-env-no-literal-credentials`. */
export interface EnvCredentialsConfig {
    /** Env var names that look sensitive but are not (e.g. "TOKEN_TTL_SECONDS"). */
    allowedEnvNames?: string[];
}

const CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        allowedEnvNames: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Env var names exempt from the name check (e.g. TOKEN_TTL_SECONDS).",
        },
    },
};

const SENSITIVE_NAME = /PASSWORD|SECRET|TOKEN/i;

/** scheme://user:password@ where password is not only a Kubernetes $(VAR) reference. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]+:([^\s/?#@]+)@/i;

/** A value that is only a reference to another env var: "$(DB_PASSWORD)". */
const ENV_REFERENCE = /^\$\([A-Za-z_][A-Za-z0-9_.-]*\)$/;

/** Why an env var is a credential literal, or undefined. Never includes the value itself. */
export function credentialProblem(name: string, value: unknown): string | undefined {
    if (value === undefined || value === null || isUnknown(value)) {
        return undefined;
    }
    const text = String(value);
    const url = URL_WITH_PASSWORD.exec(text);
    if (url && !ENV_REFERENCE.test(url[1])) {
        return "holds a URL with an embedded user:password";
    }
    if (SENSITIVE_NAME.test(name) && text !== "" && !ENV_REFERENCE.test(text)) {
        return "has a name that marks it as a credential (PASSWORD/SECRET/TOKEN) but a literal value";
    }
    return undefined;
}

/** 9. No credential-looking literal in container env values. */
export const containerEnvNoLiteralCredentials: ResourceValidationPolicy = {
    name: "container-env-no-literal-credentials",
    description:
        "Container env vars must not carry credentials as literal values: no URL with user:password, and no literal " +
        "value for env vars whose name contains PASSWORD, SECRET or TOKEN (use valueFrom.secretKeyRef).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps:
        "Store the credential in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef (or envFrom " +
        "secretRef); in URLs, reference it as $(VAR).",
    configSchema: CONFIG_SCHEMA,
    validateResource: (args, reportViolation) => {
        const { obj, containers } = workloadUnderValidation(args, ["containers", "initContainers", "ephemeralContainers"]);
        const config = readConfig<EnvCredentialsConfig>(args, "container-env-no-literal-credentials", CONFIG_SCHEMA);
        const allowed = new Set(stringList(config.allowedEnvNames));
        for (const c of containers) {
            for (const [i, raw] of (asArray(c.container.env) ?? []).entries()) {
                const env = asRecord(raw);
                if (!env || typeof env.name !== "string") {
                    continue;
                }
                const problem = credentialProblem(allowed.has(env.name) ? "" : env.name, env.value);
                if (!problem) {
                    continue;
                }
                reportViolation(
                    `The ${describeContainer(obj, c)} env var "${env.name}" (${c.path}.env[${i}]) ${problem}; ` +
                        `anyone who can read the ${obj.kind} (or the Pulumi state) can read it. Fix: put the value in a ` +
                        `Kubernetes Secret and use valueFrom.secretKeyRef instead of value` +
                        (problem.includes("URL") ? ` (inside a URL, reference it as $(VAR_NAME) from another env var)` : "") +
                        `.`,
                );
            }
        }
    },
};
