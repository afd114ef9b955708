// The admission policies' manifests for one cluster, from the policy pack's config (the file given
// to `pulumi preview --policy-pack-config`, read and checked as the CLI reads it): the params
// namespace and ConfigMap holding the allowlists, each ValidatingAdmissionPolicy, and one binding
// per policy at the policy's level. bootstrap/admission.sh applies them.

import type { EnforcementLevel } from "@pulumi/policy";
import { PackConfig, checkConfig, effectiveLevel, policyConfig } from "../lib/pack-config";
import { policies } from "../policies";
import { AdmissionPolicy, PARAMS_NAME, PARAMS_NAMESPACE, PART_OF, paramKey } from "./admission-policy";

type ValidationAction = "Deny" | "Warn" | "Audit";

/**
 * The binding's actions for a pack level: a mandatory rule refuses; a remediated one too (the pack
 * fixes the program's objects before they are sent, anything else still breaks the rule); an
 * advisory one warns the client and records the failure in the audit log; a disabled one is not
 * bound (undefined).
 */
export function validationActions(level: EnforcementLevel): ValidationAction[] | undefined {
    switch (level) {
        case "mandatory":
        case "remediate":
            return ["Deny"];
        case "advisory":
            return ["Warn", "Audit"];
        case "disabled":
            return undefined;
    }
}

/** `name` or `namespace/name`, each a DNS label: any other entry could never match an object. */
const ENTRY = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\/)?[a-z0-9](?:[-.a-z0-9]*[a-z0-9])?$/;

function paramsData(admission: AdmissionPolicy[], config: PackConfig): Record<string, string> {
    const data: Record<string, string> = {};
    for (const policy of admission) {
        const values = policyConfig(policy.pack, config);
        for (const key of policy.configKeys) {
            const entries = values[key] as string[];
            const bad = entries.filter((e) => !ENTRY.test(e));
            if (bad.length > 0) {
                throw new Error(
                    `policy pack config "${policy.pack.name}".${key}: ${bad.map((e) => JSON.stringify(e)).join(", ")} ` +
                        `is not a name or namespace/name of Kubernetes objects`,
                );
            }
            data[paramKey(policy.pack.name, key)] = entries.join("\n");
        }
    }
    return data;
}

function policyManifest(policy: AdmissionPolicy): Record<string, unknown> {
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: policy.pack.name, labels: PART_OF },
        spec: {
            failurePolicy: "Fail",
            ...(policy.configKeys.length > 0 ? { paramKind: { apiVersion: "v1", kind: "ConfigMap" } } : {}),
            matchConstraints: {
                resourceRules: policy.resources.map((r) => ({ ...r, operations: ["CREATE", "UPDATE"] })),
            },
            variables: Object.entries(policy.variables).map(([name, expression]) => ({ name, expression })),
            validations: [{ expression: policy.admits, messageExpression: policy.message, reason: "Forbidden" }],
        },
    };
}

function bindingManifest(policy: AdmissionPolicy, actions: ValidationAction[]): Record<string, unknown> {
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: policy.pack.name, labels: PART_OF },
        spec: {
            policyName: policy.pack.name,
            // Without the ConfigMap every object the policy matches is refused, never let through.
            ...(policy.configKeys.length > 0
                ? { paramRef: { name: PARAMS_NAME, namespace: PARAMS_NAMESPACE, parameterNotFoundAction: "Deny" } }
                : {}),
            validationActions: actions,
        },
    };
}

/**
 * Every object to apply, in order: the params namespace and ConfigMap before the policies, and the
 * policies before their bindings. Throws on a config the pack would refuse.
 */
export function admissionManifests(admission: AdmissionPolicy[], config: PackConfig = {}): Record<string, unknown>[] {
    checkConfig(config, policies);
    const bindings = admission.flatMap((policy) => {
        const actions = validationActions(effectiveLevel(policy.pack, config));
        return actions ? [bindingManifest(policy, actions)] : [];
    });
    return [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: PARAMS_NAMESPACE, labels: PART_OF } },
        {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: PARAMS_NAME, namespace: PARAMS_NAMESPACE, labels: PART_OF },
            data: paramsData(admission, config),
        },
        ...admission.map(policyManifest),
        ...bindings,
    ];
}
