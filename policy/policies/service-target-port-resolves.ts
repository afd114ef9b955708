import { ContainerRef, containersOf, describe, podSpecPath } from "../lib/k8s";
import { Workload } from "../lib/labels";
import { stackPolicy } from "../lib/policy";
import { EXTERNAL_WORKLOAD_CONFIG, exemptionHint, serviceSelections } from "../lib/services";
import { Tri, allOf, anyOf, asArray, asRecord, at, isUnknown, show } from "../lib/values";

/** A Service port's target: a number, or a container port name; with the Service port's protocol. */
interface Target {
    port: number | string;
    /** "TCP" when the Service port does not say (the Kubernetes default); UNKNOWN-safe text otherwise. */
    protocol: unknown;
}

/** A container port's protocol: "TCP" when absent (the Kubernetes default). */
const protocolOf = (port: Record<string, unknown>): unknown => (port.protocol === undefined ? "TCP" : port.protocol);

/**
 * The containers whose ports serve traffic: containers, and init containers with restartPolicy
 * Always ("sidecars"), which Kubernetes also resolves named ports against. An init container whose
 * restartPolicy is unknown may be a sidecar: its ports can only give "maybe".
 */
function servingContainers(w: Workload): { c: ContainerRef; sure: boolean }[] {
    return containersOf(w.kind, w.obj.props, ["containers", "initContainers"])
        .map((c) => ({ c, restart: at(c.container, "restartPolicy") }))
        .filter(({ c, restart }) => c.list === "containers" || restart === "Always" || isUnknown(restart))
        .map(({ c, restart }) => ({ c, sure: !isUnknown(restart) }));
}

/**
 * Does a container port of `w` match the target? By name and protocol for a named target (as
 * Kubernetes resolves it), by number and protocol for a numeric one (the container must declare what
 * the Service sends to). "maybe" when an unknown value decides it, or when `w` is a partial patch.
 */
function resolves(target: Target, w: Workload): Tri {
    const specPath = podSpecPath(w.kind);
    const listsUnknown = ["containers", "initContainers"].some((list) => {
        const v = at(w.obj.props, ...specPath, list);
        return isUnknown(v) || (Array.isArray(v) && v.some(isUnknown));
    });
    const answers: Tri[] = [listsUnknown ? "maybe" : "no"];
    for (const { c, sure } of servingContainers(w)) {
        const ports = at(c.container, "ports");
        if (isUnknown(ports)) {
            answers.push("maybe");
            continue;
        }
        for (const raw of asArray(ports) ?? []) {
            const p = asRecord(raw);
            if (!p) {
                answers.push(isUnknown(raw) ? "maybe" : "no");
                continue;
            }
            const key = typeof target.port === "number" ? p.containerPort : p.name;
            const protocol = protocolOf(p);
            const keyMatches = isUnknown(key)
                ? "maybe"
                : (typeof target.port === "number" ? Number(key) === target.port : key === target.port)
                  ? "yes"
                  : "no";
            const protocolMatches =
                isUnknown(protocol) || isUnknown(target.protocol)
                    ? "maybe"
                    : protocol === target.protocol
                      ? "yes"
                      : "no";
            answers.push(allOf([keyMatches, protocolMatches, sure ? "yes" : "maybe"]));
        }
    }
    const answer = anyOf(answers);
    return answer === "no" && w.obj.partial ? "maybe" : answer;
}

/** "8080/TCP (http), 9090/TCP (metrics)" */
function formatPorts(w: Workload): string {
    const ports = servingContainers(w).flatMap(({ c }) =>
        (asArray(at(c.container, "ports")) ?? []).map(asRecord).filter((p) => p !== undefined),
    );
    if (ports.length === 0) {
        return "no containerPorts";
    }
    return ports
        .map(
            (p) =>
                `${String(p.containerPort)}/${String(protocolOf(p))}${typeof p.name === "string" && p.name !== "" ? ` ("${p.name}")` : ""}`,
        )
        .join(", ");
}

/** A Service targetPort: numbers (and all-digit strings) by number, other strings by container port name. */
function normalizeTarget(v: unknown): number | string | undefined {
    if (typeof v === "number") {
        return v;
    }
    if (typeof v === "string" && v !== "") {
        return /^[0-9]+$/.test(v) ? Number(v) : v;
    }
    return undefined;
}

/**
 * Each port's targetPort (absent = port) of a Service is a container port of a workload the Service
 * selects: by name and protocol, or by number and protocol.
 */
export const serviceTargetPortResolves = stackPolicy({
    name: "service-target-port-resolves",
    description:
        "Each Service port's targetPort (a number or a port name; absent means the same as port) must be a container " +
        "port of a workload the Service selects, with the Service port's protocol (TCP when not set): by name, as " +
        "Kubernetes resolves named ports, or by containerPort number.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Point targetPort at a port the container declares (spec.template.spec.containers[].ports), by number or " +
        "by name, with the same protocol, or declare the port on the container.",
    config: EXTERNAL_WORKLOAD_CONFIG,
    check: (objs, config, report) => {
        for (const sel of serviceSelections(objs, config)) {
            if (!sel.candidates.some((w) => w.match === "yes")) {
                // Nothing selected for sure: service-selector-matches-workload reports it (or an unknown
                // value decides whether anything is selected, and so whether this policy applies at all).
                continue;
            }
            (asArray(at(sel.svc.props, "spec", "ports")) ?? []).forEach((rawPort, i) => {
                const port = asRecord(rawPort);
                if (!port) {
                    return;
                }
                const targetSet = port.targetPort !== undefined && port.targetPort !== null;
                const rawTarget = targetSet ? port.targetPort : port.port;
                const target = isUnknown(rawTarget) ? undefined : normalizeTarget(rawTarget);
                if (target === undefined) {
                    return;
                }
                const t: Target = { port: target, protocol: port.protocol === undefined ? "TCP" : port.protocol };
                if (anyOf(sel.candidates.map((w) => resolves(t, w))) !== "no") {
                    return;
                }
                const portName = typeof port.name === "string" && port.name !== "" ? `"${port.name}" ` : "";
                const protocol = String(t.protocol);
                const how = targetSet
                    ? `targetPort is ${show(port.targetPort)}`
                    : "targetPort is not set, so it defaults to port";
                const targetText =
                    typeof target === "number"
                        ? `containerPort ${target}/${protocol}`
                        : `a ${protocol} container port named "${target}"`;
                report(
                    `${describe(sel.svc)} port ${portName}(${String(port.port)}/${protocol}) (spec.ports[${i}]): ${how}, but no ` +
                        `selected workload declares ${targetText}. Selected workloads declare: ` +
                        `${sel.candidates.map((w) => `${describe(w.obj)}${w.match === "maybe" ? " (if selected: its labels or namespace are unknown during preview)" : ""}: ${formatPorts(w)}`).join("; ")}. ` +
                        `Fix: set targetPort to one of those container ports (by number or by name, same protocol), or ` +
                        `add the port to the container's ports; ${exemptionHint()}.`,
                    sel.svc,
                );
            });
        }
    },
});
