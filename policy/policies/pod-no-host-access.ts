import {
    StackObject,
    WORKLOADS,
    describe,
    onAllowlist,
    podSpecPath,
    workloadContainers,
    workloadKind,
} from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asArray, asRecord, at, isUnknown } from "../lib/values";

const NAME = "pod-no-host-access";
const CONFIG = {
    allowedWorkloads:
        "Names (metadata.name, or namespace/name) of workloads allowed host access (node agents: CNI, log " +
        "shippers, node exporters).",
};

/** The pod spec's ways into the node it runs on: host namespaces, host directories, privileged containers. */
function hostAccess(obj: StackObject): string[] {
    const specPath = podSpecPath(workloadKind(obj.t)!);
    const podSpec = at(obj.props, ...specPath);
    const field = (f: string) => `${specPath.join(".")}.${f}`;
    const out: string[] = [];
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (at(podSpec, f) === true) {
            out.push(`${field(f)} is true`);
        }
    }
    (asArray(at(podSpec, "volumes")) ?? []).forEach((v, i) => {
        // A volume known to be hostPath is one whatever its path; an unknown volume is left alone.
        const hostPath = asRecord(v) ? at(v, "hostPath") : undefined;
        if (hostPath !== undefined) {
            const path = at(hostPath, "path");
            out.push(
                `${field(`volumes[${i}]`)} ("${String(at(v, "name"))}") is a hostPath volume` +
                    (typeof path === "string" ? ` of "${path}"` : ""),
            );
        }
    });
    for (const c of workloadContainers(obj, ["containers", "initContainers", "ephemeralContainers"])) {
        if (at(c.container, "securityContext", "privileged") === true) {
            out.push(`${c.path}.securityContext.privileged is true (container "${c.name}")`);
        }
    }
    return out;
}

/** Pods stay out of their node: no host namespaces, no hostPath volumes, no privileged containers. */
export const podNoHostAccess = resourcePolicy({
    name: NAME,
    description:
        "A workload's pods must not share the node's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC), " +
        "mount a hostPath volume, or run a privileged container, unless the workload is on the allowedWorkloads " +
        "allowlist.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Remove hostNetwork/hostPID/hostIPC, replace hostPath volumes with emptyDir, ConfigMap, Secret or " +
        "PersistentVolumeClaim volumes, and drop securityContext.privileged (grant single capabilities instead); a " +
        "node agent that needs the host goes on allowedWorkloads.",
    config: CONFIG,
    appliesTo: WORKLOADS,
    check: (obj, config, report) => {
        const findings = hostAccess(obj);
        if (findings.length === 0 || onAllowlist(config.allowedWorkloads, obj.name, obj.namespace) !== "no") {
            return;
        }
        const name = isUnknown(obj.name) ? "<name>" : String(obj.name);
        report(
            `${describe(obj)} gives its pods access to the node they run on: ${findings.join("; ")}. A compromised ` +
                `container could then read or change the node and every pod on it. Fix: remove these settings (use ` +
                `emptyDir, ConfigMap, Secret or PersistentVolumeClaim volumes instead of hostPath, and single ` +
                `capabilities instead of privileged); if this is a node agent that needs the host, add "${name}" (or ` +
                `"<namespace>/${name}") to allowedWorkloads in the policy pack config for "${NAME}".`,
        );
    },
});
