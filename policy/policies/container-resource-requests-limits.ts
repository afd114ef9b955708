import { WORKLOADS, describeContainer, workloadContainers } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { at, isUnknown } from "../lib/values";

const REQUIRED = [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "cpu"],
    ["limits", "memory"],
] as const;

/** CPU and memory requests and limits on every container (and init container). */
export const containerResourceRequestsLimits = resourcePolicy({
    name: "container-resource-requests-limits",
    description:
        "Every container and init container must set CPU and memory requests and limits " +
        "(resources.requests.cpu/memory and resources.limits.cpu/memory).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and resources.limits.memory.",
    appliesTo: WORKLOADS,
    check: (obj, _config, report) => {
        if (obj.partial) {
            // A patch leaves the resources it does not set as they are.
            return;
        }
        for (const c of workloadContainers(obj, ["containers", "initContainers"])) {
            const missing = REQUIRED.filter(([section, resource]) => {
                const v = at(c.container, "resources", section, resource);
                return !isUnknown(v) && (v === undefined || v === "");
            }).map(([section, resource]) => `resources.${section}.${resource}`);
            if (missing.length > 0) {
                report(
                    `The ${describeContainer(obj, c)} does not set ${missing.join(", ")}. Without requests the ` +
                        `scheduler cannot place it reliably; without limits it can starve its neighbours. ` +
                        `Fix: set ${missing.map((m) => `${c.path}.${m}`).join(", ")} (e.g. cpu "250m", memory "256Mi").`,
                );
            }
        }
    },
});
