// A rule of the pack that the API server can judge on one object, as a ValidatingAdmissionPolicy
// (admissionregistration.k8s.io/v1, CEL): the twin of a pack policy, with its name, its level and
// its config keys taken from that policy, so a cluster refuses what `pulumi preview` refuses even
// when the object comes from kubectl, Helm or another stack.
//
// Decisions (docs/admission-policies.md gives the reasons):
// - The allowlists are data, not CEL: each config key of the pack policy is one key of a params
//   ConfigMap (`<policy name>.<key>`, entries one per line), generated from the same
//   --policy-pack-config file (manifests.ts). The CEL text is the same on every cluster.
// - Each policy matches CREATE and UPDATE (a type changed by `kubectl patch` is an UPDATE), in
//   every namespace; failurePolicy Fail: an expression that cannot be evaluated refuses.
// - The binding carries the level: mandatory (and remediate) -> Deny, advisory -> Warn + Audit,
//   disabled -> no binding.

import type { ResourceValidationPolicy } from "@pulumi/policy";

/** Where the params ConfigMap lives: a namespace of its own, which the deployer identity has no rights in. */
export const PARAMS_NAMESPACE = "exchange-admission";
export const PARAMS_NAME = "exchange-admission-params";
/** The label of every object the admission manifests hold (bootstrap/admission.sh deletes by it). */
export const PART_OF = { "app.kubernetes.io/part-of": "exchange-admission" };

export interface ResourceRule {
    apiGroups: string[];
    apiVersions: string[];
    resources: string[];
}

export const SERVICES: ResourceRule = { apiGroups: [""], apiVersions: ["v1"], resources: ["services"] };
export const INGRESSES: ResourceRule = {
    apiGroups: ["networking.k8s.io"],
    apiVersions: ["v1"],
    resources: ["ingresses"],
};

export interface AdmissionPolicyDefinition {
    /** What the policy's objects are, e.g. [SERVICES]. */
    resources: ResourceRule[];
    /** CEL variables, in order (a later one may use an earlier one as `variables.<name>`). */
    variables: Record<string, string>;
    /** CEL that is true for an object the rule admits. */
    admits: string;
    /** CEL string saying what is wrong, where, and how to fix it (evaluated only on a refusal). */
    message: string;
}

export interface AdmissionPolicy extends AdmissionPolicyDefinition {
    /** The pack policy this one mirrors: its name, default level and config keys. */
    pack: ResourceValidationPolicy;
    /** The pack policy's config keys, each one key of the params ConfigMap. */
    configKeys: string[];
}

/** The admission twin of a pack policy. */
export function admissionPolicy(pack: ResourceValidationPolicy, def: AdmissionPolicyDefinition): AdmissionPolicy {
    return { ...def, pack, configKeys: Object.keys(pack.configSchema?.properties ?? {}) };
}

/** The params ConfigMap's key for a config key of a pack policy. */
export function paramKey(policyName: string, configKey: string): string {
    return `${policyName}.${configKey}`;
}

/** CEL: the entries of a pack policy's config key, from the params ConfigMap ([] when the key is gone). */
export function allowlistEntries(policyName: string, configKey: string): string {
    const key = paramKey(policyName, configKey);
    return `has(params.data) && '${key}' in params.data ? params.data['${key}'].split('\\n').filter(e, e != '') : []`;
}

/**
 * CEL: is the object on the allowlist held by the variable `listVariable`? Entries are
 * "name" (any namespace) or "namespace/name", as in the pack (lib/k8s.ts onAllowlist).
 */
export function onAllowlist(listVariable: string): string {
    return (
        `variables.${listVariable}.exists(e, e == object.metadata.name || ` +
        `e == object.metadata.namespace + '/' + object.metadata.name)`
    );
}

/** CEL: `Service "name" in namespace "ns"`, for messages. */
export function describeObject(kind: string): string {
    return `'${kind} "' + object.metadata.name + '" in namespace "' + object.metadata.namespace + '"'`;
}

/** CEL: a Service's type, ClusterIP when absent (the API server's default). */
export const SERVICE_TYPE = "has(object.spec.type) ? object.spec.type : 'ClusterIP'";
