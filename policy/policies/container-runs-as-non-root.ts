import { StackObject, WORKLOADS, describeContainer, podSpecPath, workloadContainers, workloadKind } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { UNKNOWN, Unknown, at, isUnknown } from "../lib/values";

/**
 * The container's value if set, else the pod's (container securityContext overrides the pod's). On
 * a partial patch a value set neither here nor there is the patched object's: unknown.
 */
function effective(
    obj: StackObject,
    container: unknown,
    pod: unknown,
    field: string,
): { value: unknown | Unknown; from: string } {
    const own = at(container, "securityContext", field);
    if (isUnknown(own)) {
        return { value: UNKNOWN, from: "container" };
    }
    if (own !== undefined) {
        return { value: own, from: "container securityContext" };
    }
    const inherited = at(pod, "securityContext", field);
    if (isUnknown(inherited) || (inherited === undefined && obj.partial)) {
        return { value: UNKNOWN, from: "pod" };
    }
    return { value: inherited, from: inherited === undefined ? "unset" : "pod securityContext" };
}

/** Containers do not run as root. */
export const containerRunsAsNonRoot = resourcePolicy({
    name: "container-runs-as-non-root",
    description:
        "Every container and init container must run as non-root: the effective securityContext.runAsNonRoot " +
        "(container value, else pod value) must be true and the effective runAsUser must not be 0.",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps:
        "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod (or each container), and use an " +
        "image that runs as an unprivileged user.",
    appliesTo: WORKLOADS,
    check: (obj, _config, report) => {
        const podSpec = at(obj.props, ...podSpecPath(workloadKind(obj.t)!));
        if (isUnknown(podSpec) || podSpec === undefined) {
            return;
        }
        for (const c of workloadContainers(obj, ["containers", "initContainers"])) {
            const nonRoot = effective(obj, c.container, podSpec, "runAsNonRoot");
            const user = effective(obj, c.container, podSpec, "runAsUser");
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
                report(
                    `The ${describeContainer(obj, c)} may run as root: ${problems.join("; ")}. ` +
                        `Fix: set securityContext.runAsNonRoot: true and a non-zero runAsUser (e.g. 10001) on the pod ` +
                        `(${c.path.replace(/\.(containers|initContainers)\[\d+\]$/, "")}.securityContext) or on the ` +
                        `container (${c.path}.securityContext).`,
                );
            }
        }
    },
});
