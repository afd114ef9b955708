import { serviceClusterIpByDefault } from "../policies";
import {
    SERVICES,
    SERVICE_TYPE,
    admissionPolicy,
    allowlistEntries,
    describeObject,
    onAllowlist,
} from "./admission-policy";

const NAME = serviceClusterIpByDefault.name;

/** Services are ClusterIP unless allowlisted, on CREATE and on every UPDATE (a type changed by a patch). */
export const serviceClusterIpByDefaultAdmission = admissionPolicy(serviceClusterIpByDefault, {
    resources: [SERVICES],
    variables: {
        type: SERVICE_TYPE,
        allowedLoadBalancers: allowlistEntries(NAME, "allowedLoadBalancers"),
        allowedNodePorts: allowlistEntries(NAME, "allowedNodePorts"),
        listKey: "variables.type == 'LoadBalancer' ? 'allowedLoadBalancers' : 'allowedNodePorts'",
        allowlist: "variables.type == 'LoadBalancer' ? variables.allowedLoadBalancers : variables.allowedNodePorts",
        listed: onAllowlist("allowlist"),
    },
    admits: "!(variables.type in ['LoadBalancer', 'NodePort']) || variables.listed",
    message:
        `${describeObject("Service")} + ' is of type ' + variables.type + ', which exposes it outside the cluster, ` +
        `and it is not on the ' + variables.listKey + ' allowlist of ${NAME} (currently [' + ` +
        `variables.allowlist.join(', ') + ']). Fix: remove spec.type (ClusterIP is the default) and reach the ` +
        `Service through the Ingress or Gateway, or, if the exposure is intended, add "' + object.metadata.name + ` +
        `'" (or "' + object.metadata.namespace + '/' + object.metadata.name + '") to ' + variables.listKey + ` +
        `' of "${NAME}" in the policy pack config and apply it with bootstrap/admission.sh.'`,
});
