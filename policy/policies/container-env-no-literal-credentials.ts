import { namedValueCredentialProblem } from "../lib/credentials";
import { WORKLOADS, describeContainer, workloadContainers } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asArray, asRecord } from "../lib/values";

/** No credential-looking literal in container env values. */
export const containerEnvNoLiteralCredentials = resourcePolicy({
    name: "container-env-no-literal-credentials",
    description:
        "Container env vars must not carry credentials as literal values: no URL with a password " +
        "(scheme://[user]:password@), no password/secret/token parameter in a query or connection string, and no " +
        "literal value for env vars whose name contains PASSWORD, SECRET or TOKEN (use valueFrom.secretKeyRef).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps:
        "Store the credential in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef (or envFrom " +
        "secretRef); in URLs, reference it as $(VAR).",
    config: {
        allowedEnvNames: "Env var names exempt from the PASSWORD/SECRET/TOKEN name check (e.g. TOKEN_TTL_SECONDS).",
    },
    appliesTo: WORKLOADS,
    check: (obj, config, report) => {
        for (const c of workloadContainers(obj, ["containers", "initContainers", "ephemeralContainers"])) {
            (asArray(c.container.env) ?? []).forEach((raw, i) => {
                const env = asRecord(raw);
                if (!env || typeof env.name !== "string" || typeof env.value !== "string") {
                    // Unknown during preview, or valueFrom.
                    return;
                }
                const problem = namedValueCredentialProblem(
                    env.name,
                    env.value,
                    config.allowedEnvNames.includes(env.name),
                );
                if (problem) {
                    report(
                        `The ${describeContainer(obj, c)} env var "${env.name}" (${c.path}.env[${i}]) ${problem}; ` +
                            `anyone who can read the ${obj.t.kind} (or the Pulumi state) can read it. Fix: put the value ` +
                            `in a Kubernetes Secret and use valueFrom.secretKeyRef instead of value (inside a URL or ` +
                            `connection string, reference it as $(VAR_NAME) from another env var).`,
                    );
                }
            });
        }
    },
});
