import { describe, isService } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asArray, at, isUnknown } from "../lib/values";

/**
 * No Service sets spec.externalIPs: every node then accepts traffic for those addresses and
 * forwards it to the Service, so whoever may create a Service can capture another host's traffic
 * inside the cluster (CVE-2020-8554), whatever the Service's type.
 */
export const serviceNoExternalIps = resourcePolicy({
    name: "service-no-external-ips",
    description:
        "A Service (or ServicePatch) must not set spec.externalIPs, which makes every node answer for those " +
        "addresses (CVE-2020-8554), whatever the Service's type.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Remove spec.externalIPs; expose the Service through the Ingress or Gateway (or an allowlisted LoadBalancer).",
    appliesTo: { types: isService, text: "Kubernetes Services and ServicePatches" },
    check: (svc, _config, report) => {
        const ips = asArray(at(svc.props, "spec", "externalIPs"));
        if (!ips || ips.length === 0) {
            // Absent, empty, or unknown during preview.
            return;
        }
        const shown = ips.map((ip) => (isUnknown(ip) ? String(ip) : JSON.stringify(ip))).join(", ");
        report(
            `${describe(svc)} sets spec.externalIPs [${shown}]: every node of the cluster then answers for those ` +
                `addresses and forwards their traffic to the Service (CVE-2020-8554). Fix: remove spec.externalIPs ` +
                `and expose the Service through the Ingress or Gateway.`,
        );
    },
});
