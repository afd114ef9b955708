import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describeContainer, workloadUnderValidation } from "../lib/k8s";
import { at, isUnknown } from "../lib/values";

const REQUIRED = [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "cpu"],
    ["limits", "memory"],
] as const;

/** 7. CPU and memory requests and limits on every container (and init container). */
export const containerResources: ResourceValidationPolicy = {
    name: "container-resource-requests-limits",
    description:
        "Every container and init container must set CPU and memory requests and limits " +
        "(resources.requests.cpu/memory and resources.limits.cpu/memory).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: "Set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and resources.limits.memory.",
    validateResource: (args, reportViolation) => {
        const { obj, containers } = workloadUnderValidation(args, ["containers", "initContainers"]);
        readConfig(args, "container-resource-requests-limits");
        for (const c of containers) {
            const missing: string[] = [];
            for (const [section, resource] of REQUIRED) {
                const v = at(c.container, "resources", section, resource);
                if (isUnknown(v)) {
                    continue;
                }
                if (v === undefined || v === "") {
                    missing.push(`resources.${section}.${resource}`);
                }
            }
            if (missing.length > 0) {
                reportViolation(
                    `The ${describeContainer(obj, c)} does not set ${missing.join(", ")}. Without requests the ` +
                        `scheduler cannot place it reliably; without limits it can starve its neighbours. ` +
                        `Fix: set ${missing.map((m) => `${c.path}.${m}`).join(", ")} (e.g. cpu "250m", memory "256Mi").`,
                );
            }
        }
    },
};
