import { StackObject, describe, isService, onAllowlist } from "../lib/k8s";
import { PolicyConfig, resourcePolicy } from "../lib/policy";
import { asArray, asRecord, at, isUnknown } from "../lib/values";

const CONFIG = {
    allowedLoadBalancers: "Names (metadata.name, or namespace/name) of Services allowed to be LoadBalancer.",
    allowedNodePorts: "Names (metadata.name, or namespace/name) of Services allowed to be NodePort.",
};
type Config = PolicyConfig<keyof typeof CONFIG>;

/** Service spec fields that only make sense for NodePort/LoadBalancer Services. */
const EXTERNAL_ONLY_SPEC_FIELDS = [
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "loadBalancerClass",
    "allocateLoadBalancerNodePorts",
    "externalTrafficPolicy",
    "healthCheckNodePort",
];

/**
 * Why the Service (or ServicePatch) exposes itself outside the cluster without being allowlisted,
 * or undefined. A patch that does not set spec.type leaves the type alone. The violation stands
 * when it holds whatever an unknown name or namespace turns out to be.
 */
function finding(svc: StackObject, config: Config): string | undefined {
    const type = at(svc.props, "spec", "type");
    if (type !== "LoadBalancer" && type !== "NodePort") {
        // ClusterIP (explicit or default), headless, ExternalName, not set by a patch, or unknown.
        return undefined;
    }
    const listKey = type === "LoadBalancer" ? "allowedLoadBalancers" : "allowedNodePorts";
    const list = config[listKey];
    if (onAllowlist(list, svc.name, svc.namespace) !== "no") {
        return undefined;
    }
    const name = isUnknown(svc.name) ? "<name>" : String(svc.name);
    return (
        `${describe(svc)} is of type ${type}, which exposes it outside the cluster, and it is not in ` +
        `this policy's ${listKey} allowlist (currently ${JSON.stringify(list)}). ` +
        `Fix: remove spec.type (ClusterIP is the default) and reach the Service through the Ingress or Gateway, ` +
        `or, if the exposure is intended, add "${name}" (or "<namespace>/${name}") to ${listKey} in the policy ` +
        `pack config for "service-clusterip-by-default".`
    );
}

/**
 * Services are ClusterIP unless allowlisted. Supports `remediate`, which rewrites the type to
 * ClusterIP and drops the fields that only make sense for NodePort/LoadBalancer.
 */
export const serviceClusterIpByDefault = resourcePolicy({
    name: "service-clusterip-by-default",
    description:
        "Kubernetes Services (and ServicePatches that set spec.type) must be of type ClusterIP; LoadBalancer and " +
        "NodePort Services are allowed only when their name is on the allowedLoadBalancers / allowedNodePorts allowlist.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Drop spec.type (or set it to ClusterIP) and expose the Service through the Ingress, or add its name to " +
        "allowedLoadBalancers / allowedNodePorts. At enforcement level 'remediate' the pack rewrites the type itself.",
    config: CONFIG,
    appliesTo: { types: isService, text: "Kubernetes Services and ServicePatches" },
    check: (svc, config, report) => {
        const problem = finding(svc, config);
        if (problem) {
            report(problem);
        }
    },
    remediate: (svc, config, props) => {
        if (!finding(svc, config)) {
            return undefined;
        }
        // Mutates the SDK's proxy so that secret values elsewhere in the props stay secret.
        const spec = props.spec;
        spec.type = "ClusterIP";
        for (const field of EXTERNAL_ONLY_SPEC_FIELDS) {
            if (field in spec) {
                delete spec[field];
            }
        }
        (asArray(at(svc.props, "spec", "ports")) ?? []).forEach((port, i) => {
            if (asRecord(port) && "nodePort" in port) {
                delete spec.ports[i].nodePort;
            }
        });
        return props;
    },
});
