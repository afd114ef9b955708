import { StackValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { Tri, WorkloadKind, containersOf, describe, podSpecPath, readStack } from "../lib/k8s";
import { ExternalWorkloadConfig, exemptionHint, externalWorkloadConfigSchema, serviceSelections } from "../lib/services";
import { asArray, asRecord, at, isUnknown } from "../lib/values";

interface DeclaredPort {
    containerPort: unknown;
    name: unknown;
}

/** Ports declared by the containers that serve traffic (containers and restartable init "sidecars"). */
function declaredPorts(kind: WorkloadKind, props: unknown): { ports: DeclaredPort[]; unknown: boolean } {
    const ports: DeclaredPort[] = [];
    let unknown = false;
    const containers = containersOf(kind, props, ["containers", "initContainers"]);
    for (const c of containers) {
        if (c.list === "initContainers" && c.container.restartPolicy !== "Always") {
            continue;
        }
        const list = at(c.container, "ports");
        if (isUnknown(list)) {
            unknown = true;
            continue;
        }
        for (const p of asArray(list) ?? []) {
            const rec = asRecord(p);
            if (!rec) {
                unknown = unknown || isUnknown(p);
                continue;
            }
            ports.push({ containerPort: rec.containerPort, name: rec.name });
        }
    }
    return { ports, unknown };
}

/** Whether the container lists (or an entry of them) are unknown, so nothing can be said. */
function containersUnknown(kind: WorkloadKind, props: unknown): boolean {
    const specPath = podSpecPath(kind);
    return ["containers", "initContainers"].some((lst) => {
        const v = at(props, ...specPath, lst);
        return isUnknown(v) || (Array.isArray(v) && v.some(isUnknown));
    });
}

function resolves(target: number | string, ports: DeclaredPort[], unknown: boolean): Tri {
    for (const p of ports) {
        if (typeof target === "number") {
            if (isUnknown(p.containerPort)) {
                unknown = true;
            } else if (Number(p.containerPort) === target) {
                return "yes";
            }
        } else if (isUnknown(p.name)) {
            unknown = true;
        } else if (p.name === target) {
            return "yes";
        }
    }
    return unknown ? "maybe" : "no";
}

function formatPorts(ports: DeclaredPort[]): string {
    if (ports.length === 0) {
        return "no containerPorts";
    }
    return ports
        .map((p) => `${String(p.containerPort)}${typeof p.name === "string" && p.name !== "" ? `/${p.name}` : ""}`)
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
 * 3. Each port's targetPort (absent = port) of a Service is a containerPort (by number) or a named
 * container port of a workload the Service selects.
 */
export const serviceTargetPortResolves: StackValidationPolicy = {
    name: "service-target-port-resolves",
    description:
        "Each Service port's targetPort (a number or a port name; absent means the same as port) must be a " +
        "containerPort (by number) or a named container port of a workload the Service selects.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Point targetPort at a port the container declares (spec.template.spec.containers[].ports), by number or " +
        "by name, or declare the port on the container.",
    configSchema: externalWorkloadConfigSchema,
    validateStack: (args, reportViolation) => {
        const config = readConfig<ExternalWorkloadConfig>(args, "service-target-port-resolves", externalWorkloadConfigSchema);
        const objs = readStack(args.resources);
        for (const sel of serviceSelections(objs, config)) {
            const selected = sel.candidates.filter((c) => c.match === "yes");
            if (selected.length === 0) {
                // Nothing selected for sure: service-selector-matches-workload reports it (or preview unknowns).
                continue;
            }
            const maybeSelected = sel.candidates.some((c) => c.match === "maybe");
            const ports = at(sel.svc.props, "spec", "ports");
            for (const [i, rawPort] of (asArray(ports) ?? []).entries()) {
                const port = asRecord(rawPort);
                if (!port) {
                    continue;
                }
                const rawTarget = port.targetPort !== undefined && port.targetPort !== null ? port.targetPort : port.port;
                if (isUnknown(rawTarget)) {
                    continue;
                }
                const target = normalizeTarget(rawTarget);
                if (target === undefined) {
                    continue;
                }
                let verdict: Tri = "no";
                const seen: string[] = [];
                for (const w of selected) {
                    if (containersUnknown(w.kind, w.obj.props)) {
                        verdict = "maybe";
                        continue;
                    }
                    const declared = declaredPorts(w.kind, w.obj.props);
                    const r = resolves(target, declared.ports, declared.unknown);
                    if (r === "yes") {
                        verdict = "yes";
                        break;
                    }
                    if (r === "maybe") {
                        verdict = "maybe";
                    }
                    seen.push(`${describe(w.obj)}: ${formatPorts(declared.ports)}`);
                }
                if (verdict !== "no" || maybeSelected) {
                    continue;
                }
                const portName = typeof port.name === "string" && port.name !== "" ? `"${port.name}" ` : "";
                const portLabel = `port ${portName}(${isUnknown(port.port) ? "unknown" : String(port.port)})`;
                const targetText =
                    typeof target === "number" ? `containerPort ${target}` : `a container port named "${target}"`;
                const how =
                    port.targetPort === undefined || port.targetPort === null
                        ? "targetPort is not set, so it defaults to port"
                        : `targetPort is ${JSON.stringify(port.targetPort)}`;
                reportViolation(
                    `${describe(sel.svc)} ${portLabel} (spec.ports[${i}]): ${how}, but no selected workload declares ` +
                        `${targetText}. Selected workloads declare: ${seen.join("; ")}. ` +
                        `Fix: set targetPort to one of those container ports (by number or by name), or add the port ` +
                        `to the container's ports; ${exemptionHint()}.`,
                    sel.svc.urn,
                );
            }
        }
    },
};
