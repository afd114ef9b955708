import { serviceNoNodeport } from "../policies";
import {
    SERVICES,
    SERVICE_TYPE,
    admissionPolicy,
    allowlistEntries,
    describeObject,
    onAllowlist,
} from "./admission-policy";

const NAME = serviceNoNodeport.name;

/**
 * No Service opens a port on every node, unless allowlisted: type NodePort, or a node port pinned on
 * a LoadBalancer that asks for none (allocateLoadBalancerNodePorts: false). A LoadBalancer that
 * lets Kubernetes allocate its node ports (the default) has them filled in before validating
 * admission runs, so a pinned one cannot be told from an allocated one here; the pack, which sees
 * the program's inputs, refuses it (the shared case table records the difference).
 */
export const serviceNoNodeportAdmission = admissionPolicy(serviceNoNodeport, {
    resources: [SERVICES],
    variables: {
        type: SERVICE_TYPE,
        allowedNodePorts: allowlistEntries(NAME, "allowedNodePorts"),
        listed: onAllowlist("allowedNodePorts"),
        pinnedNodePorts:
            "variables.type == 'LoadBalancer' && has(object.spec.allocateLoadBalancerNodePorts) && " +
            "!object.spec.allocateLoadBalancerNodePorts && has(object.spec.ports) ? " +
            "object.spec.ports.filter(p, has(p.nodePort) && p.nodePort != 0).map(p, p.nodePort) : []",
        findings:
            "(variables.type == 'NodePort' ? ['spec.type is NodePort'] : []) + " +
            "variables.pinnedNodePorts.map(n, 'spec.ports[].nodePort ' + string(n) + ' is pinned')",
    },
    admits: "size(variables.findings) == 0 || variables.listed",
    message:
        `${describeObject("Service")} + ' opens a port on every node of the cluster (' + ` +
        `variables.findings.join('; ') + '), reachable by anyone who reaches a node, past the Ingress or Gateway. ` +
        `Fix: remove spec.type NodePort (ClusterIP is the default) and ports[].nodePort; if the node port is ` +
        `intended, add "' + object.metadata.name + '" (or "' + object.metadata.namespace + '/' + ` +
        `object.metadata.name + '") to allowedNodePorts of "${NAME}" in the policy pack config and apply it ` +
        `with bootstrap/admission.sh.'`,
});
