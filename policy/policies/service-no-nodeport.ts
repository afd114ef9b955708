import { StackObject, describe, isService, onAllowlist } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asArray, at, isUnknown } from "../lib/values";

const NAME = "service-no-nodeport";
const CONFIG = {
    allowedNodePorts:
        "Names (metadata.name, or namespace/name) of Services allowed to be NodePort or to set ports[].nodePort / " +
        "healthCheckNodePort.",
};

/**
 * What of the Service (or ServicePatch) opens a port on every node: type NodePort, or a node port
 * it pins itself (ports[].nodePort, healthCheckNodePort). The API server accepts a pinned node port
 * only on a NodePort or LoadBalancer Service, so one pinned while the type is unknown (or left to
 * the patched Service) opens a node port whatever the type turns out to be; on a ClusterIP or
 * ExternalName Service the API server refuses it, which is not this policy's finding.
 */
function nodePortFindings(svc: StackObject): string[] {
    const spec = at(svc.props, "spec");
    const type = at(spec, "type");
    if (type === "NodePort") {
        return ["spec.type is NodePort"];
    }
    const mayHaveNodePorts = type === "LoadBalancer" || isUnknown(type) || (type === undefined && svc.partial);
    if (!mayHaveNodePorts) {
        return [];
    }
    const out: string[] = [];
    (asArray(at(spec, "ports")) ?? []).forEach((p, i) => {
        const nodePort = at(p, "nodePort");
        if (nodePort !== undefined && !isUnknown(nodePort) && Number(nodePort) !== 0) {
            out.push(`spec.ports[${i}].nodePort is ${String(nodePort)}`);
        }
    });
    const healthCheck = at(spec, "healthCheckNodePort");
    if (healthCheck !== undefined && !isUnknown(healthCheck) && Number(healthCheck) !== 0) {
        out.push(`spec.healthCheckNodePort is ${String(healthCheck)}`);
    }
    return out;
}

/** No Service opens a port on every node of the cluster, unless allowlisted. */
export const serviceNoNodeport = resourcePolicy({
    name: NAME,
    description:
        "A Service (or ServicePatch) must not open a port on every node: no type NodePort, and no ports[].nodePort " +
        "or healthCheckNodePort pinned on a LoadBalancer, unless its name is on the allowedNodePorts allowlist.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Drop spec.type NodePort (ClusterIP is the default) and reach the Service through the Ingress or Gateway; " +
        "remove ports[].nodePort and healthCheckNodePort from LoadBalancers; or add the Service to allowedNodePorts.",
    config: CONFIG,
    appliesTo: { types: isService, text: "Kubernetes Services and ServicePatches" },
    check: (svc, config, report) => {
        const findings = nodePortFindings(svc);
        if (findings.length === 0 || onAllowlist(config.allowedNodePorts, svc.name, svc.namespace) !== "no") {
            return;
        }
        const name = isUnknown(svc.name) ? "<name>" : String(svc.name);
        report(
            `${describe(svc)} opens a port on every node of the cluster (${findings.join("; ")}), reachable by ` +
                `anyone who reaches a node, past the Ingress or Gateway. Fix: remove spec.type NodePort (ClusterIP is ` +
                `the default), ports[].nodePort and healthCheckNodePort; if the node port is intended, add "${name}" ` +
                `(or "<namespace>/${name}") to allowedNodePorts in the policy pack config for "${NAME}".`,
        );
    },
});
