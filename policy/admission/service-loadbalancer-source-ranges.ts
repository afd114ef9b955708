import { serviceLoadbalancerSourceRanges } from "../policies";
import {
    SERVICES,
    SERVICE_TYPE,
    admissionPolicy,
    allowlistEntries,
    describeObject,
    onAllowlist,
} from "./admission-policy";

const NAME = serviceLoadbalancerSourceRanges.name;
/** The cloud providers' older way to set the ranges, which they still honour when the field is empty. */
const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

/** A LoadBalancer admits only the clients of its source ranges, unless allowed open (advisory: a warning). */
export const serviceLoadbalancerSourceRangesAdmission = admissionPolicy(serviceLoadbalancerSourceRanges, {
    resources: [SERVICES],
    variables: {
        type: SERVICE_TYPE,
        allowedOpenLoadBalancers: allowlistEntries(NAME, "allowedOpenLoadBalancers"),
        listed: onAllowlist("allowedOpenLoadBalancers"),
        annotationRanges:
            `has(object.metadata.annotations) && '${SOURCE_RANGES_ANNOTATION}' in object.metadata.annotations ? ` +
            `object.metadata.annotations['${SOURCE_RANGES_ANNOTATION}'].split(',').map(r, r.trim())` +
            `.filter(r, r != '') : []`,
        ranges:
            "has(object.spec.loadBalancerSourceRanges) && size(object.spec.loadBalancerSourceRanges) > 0 ? " +
            "object.spec.loadBalancerSourceRanges : variables.annotationRanges",
        openRanges: "variables.ranges.filter(r, r.trim() == '0.0.0.0/0' || r.trim() == '::/0')",
    },
    admits:
        "variables.type != 'LoadBalancer' || variables.listed || " +
        "(size(variables.ranges) > 0 && size(variables.openRanges) == 0)",
    message:
        `${describeObject("Service")} + ' is a LoadBalancer that ' + (size(variables.ranges) == 0 ? ` +
        `'sets no spec.loadBalancerSourceRanges' : 'admits every address (loadBalancerSourceRanges ' + ` +
        `variables.openRanges.join(', ') + ')') + ', so any host that reaches the load balancer can connect. ` +
        `Fix: set spec.loadBalancerSourceRanges to the CIDRs of its clients; if it is meant to be open, add "' + ` +
        `object.metadata.name + '" (or "' + object.metadata.namespace + '/' + object.metadata.name + '") to ` +
        `allowedOpenLoadBalancers of "${NAME}" in the policy pack config and apply it with bootstrap/admission.sh.'`,
});
