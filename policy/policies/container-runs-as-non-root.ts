import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describeContainer, workloadUnderValidation } from "../lib/k8s";
import { UNKNOWN, Unknown, at, isUnknown } from "../lib/values";

/** The container's value if set, else the pod's (container securityContext overrides the pod's). */
function effective(container: unknown, pod: unknown, field: string): { value: unknown | Unknown; from: string } {
    const own = at(container, "securityContext", field);
    if (isUnknown(own)) {
        return { value: UNKNOWN, from: "container" };
    }
    if (own !== undefined) {
        return { value: own, from: "container securityContext" };
    }
    const inherited = at(pod, "securityContext", field);
    if (isUnknown(inherited)) {
        return { value: UNKNOWN, from: "pod" };
    }
    return { value: inherited, from: inherited === undefined ? "unset" : "pod securityContext" };
}

/** 11. Containers do not run as root. */
export const containerRunsAsNonRoot: ResourceValidationPolicy = {
    name: "container-runs-as-non-root",
    description:
        "Every container and init container must run as non-root: the effective securityContext.runAsNonRoot " +
        "(container value, else pod value) must be true and the effective runAsUser must not be 0.",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps:
        "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod (or each container), and use an " +
        "image that runs as an unprivileged user.",
    validateResource: (args, reportViolation) => {
        const { obj, podSpec, containers } = workloadUnderValidation(args, ["containers", "initContainers"]);
        readConfig(args, "container-runs-as-non-root");
        if (podSpec === undefined) {
            return;
        }
        for (const c of containers) {
            const nonRoot = effective(c.container, podSpec, "runAsNonRoot");
            const user = effective(c.container, podSpec, "runAsUser");
            const problems: string[] = [];
            if (!isUnknown(nonRoot.value) && nonRoot.value !== true) {
                problems.push(
                    nonRoot.value === undefined
                        ? "runAsNonRoot is set neither on the container nor on the pod"
                        : `runAsNonRoot is ${JSON.stringify(nonRoot.value)} (from the ${nonRoot.from})`,
                );
            }
            if (!isUnknown(user.value) && user.value !== undefined && Number(user.value) === 0) {
                problems.push(`runAsUser is 0, i.e. root (from the ${user.from})`);
            }
            if (problems.length > 0) {
                reportViolation(
                    `The ${describeContainer(obj, c)} may run as root: ${problems.join("; ")}. ` +
                        `Fix: set securityContext.runAsNonRoot: true and a non-zero runAsUser (e.g. 10001) on the pod ` +
                        `(${c.path.replace(/\.(containers|initContainers)\[\d+\]$/, "")}.securityContext) or on the ` +
                        `container (${c.path}.securityContext).`,
                );
            }
        }
    },
};
