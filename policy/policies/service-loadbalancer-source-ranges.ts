import { describe, isService, onAllowlist } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { Unknown, UNKNOWN, asArray, at, isUnknown } from "../lib/values";

const NAME = "service-loadbalancer-source-ranges";
const CONFIG = {
    allowedOpenLoadBalancers:
        "Names (metadata.name, or namespace/name) of LoadBalancer Services allowed to accept clients from anywhere.",
};

/** The cloud providers' older way to set the ranges, which they still honour when the field is empty. */
const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

/** A range that lets every address in. */
const isOpenRange = (range: string): boolean => /^(0\.0\.0\.0|::)\/0$/.test(range.trim());

/**
 * The source ranges the load balancer admits: spec.loadBalancerSourceRanges, else the annotation
 * (comma-separated); [] when neither is set; UNKNOWN when an unknown value decides it.
 */
function sourceRanges(props: unknown): unknown[] | Unknown {
    const field = at(props, "spec", "loadBalancerSourceRanges");
    if (isUnknown(field)) {
        return UNKNOWN;
    }
    const list = asArray(field) ?? [];
    if (list.length > 0) {
        return list;
    }
    const annotation = at(props, "metadata", "annotations", SOURCE_RANGES_ANNOTATION);
    if (isUnknown(annotation)) {
        return UNKNOWN;
    }
    return typeof annotation === "string" ? annotation.split(",").filter((r) => r.trim() !== "") : [];
}

/** A LoadBalancer Service admits only the clients of its source ranges, unless allowed open. */
export const serviceLoadbalancerSourceRanges = resourcePolicy({
    name: NAME,
    description:
        "A LoadBalancer Service (or a ServicePatch that makes one) must limit its clients with " +
        "spec.loadBalancerSourceRanges (not 0.0.0.0/0 or ::/0), unless its name is on the allowedOpenLoadBalancers " +
        "allowlist.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Set spec.loadBalancerSourceRanges to the CIDRs of the clients that need the Service, or add the Service " +
        "to allowedOpenLoadBalancers when it is meant for the whole internet.",
    config: CONFIG,
    appliesTo: { types: isService, text: "Kubernetes Services and ServicePatches" },
    check: (svc, config, report) => {
        if (at(svc.props, "spec", "type") !== "LoadBalancer") {
            return;
        }
        const ranges = sourceRanges(svc.props);
        if (isUnknown(ranges) || onAllowlist(config.allowedOpenLoadBalancers, svc.name, svc.namespace) !== "no") {
            return;
        }
        const open = ranges.filter((r): r is string => typeof r === "string" && isOpenRange(r));
        // A patch that sets no ranges leaves the patched Service's own.
        if ((ranges.length === 0 && svc.partial) || (ranges.length > 0 && open.length === 0)) {
            return;
        }
        const name = isUnknown(svc.name) ? "<name>" : String(svc.name);
        const why =
            ranges.length === 0
                ? "sets no spec.loadBalancerSourceRanges"
                : `admits every address (loadBalancerSourceRanges ${open.join(", ")})`;
        report(
            `${describe(svc)} is a LoadBalancer that ${why}, so any host that reaches the load balancer can connect. ` +
                `Fix: set spec.loadBalancerSourceRanges to the CIDRs of its clients (e.g. ["203.0.113.0/24"]); if it ` +
                `is meant to be open, add "${name}" (or "<namespace>/${name}") to allowedOpenLoadBalancers in the ` +
                `policy pack config for "${NAME}".`,
        );
    },
});
