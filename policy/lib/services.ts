// Services of the stack: which workloads a Service selects (service-selector-matches-workload,
// service-target-port-resolves), and whether a reference by name and port (Ingress backends,
// Gateway API backendRefs) finds a Service of the stack.

import {
    EXTERNAL_WORKLOAD_ANNOTATION,
    StackObject,
    describe,
    externalWorkloadAnnotation,
    isService,
    objectAt,
    onAllowlist,
    sameNamespace,
} from "./k8s";
import { Workload, selectsPods, workloadsOf } from "./labels";
import { PolicyConfig } from "./policy";
import { Tri, Unknown, allOf, anyOf, asArray, asRecord, at, isUnknown } from "./values";

/** The config key of the policies that Services may be exempted from. */
export const EXTERNAL_WORKLOAD_CONFIG = {
    externalWorkloadServices:
        "Names (metadata.name, or namespace/name) of Services that select pods deployed outside this " +
        `stack; they are exempt, like Services annotated ${EXTERNAL_WORKLOAD_ANNOTATION}: "true".`,
};
export type ExternalWorkloadConfig = PolicyConfig<keyof typeof EXTERNAL_WORKLOAD_CONFIG>;

export interface SelectedWorkload extends Workload {
    match: Tri;
}

export interface ServiceSelection {
    svc: StackObject;
    selector: Record<string, unknown>;
    /** Workloads of the Service's cluster whose pods it selects ("yes") or may select ("maybe"). */
    candidates: SelectedWorkload[];
    /** Workloads of the same cluster and namespace, whatever their labels (for messages). */
    sameNamespace: Workload[];
    /** Workloads whose pods match the selector but that live in another namespace or cluster. */
    elsewhere: Workload[];
}

/** Is the Service exempt from workload checks (annotation or config list)? */
function externalWorkloadService(svc: StackObject, config: ExternalWorkloadConfig): Tri {
    return anyOf([
        externalWorkloadAnnotation(svc.props),
        onAllowlist(config.externalWorkloadServices, svc.name, svc.namespace),
    ]);
}

/**
 * The Services that workload checks apply to, with the workloads they (may) select. Skipped:
 * Services without a selector (Endpoints managed by hand), ExternalName Services, Services that are
 * or may be exempt, Services whose selector or type is unknown during preview, and patches that do
 * not set a selector (the patched Service keeps its own).
 */
export function serviceSelections(objs: StackObject[], config: ExternalWorkloadConfig): ServiceSelection[] {
    const workloads = workloadsOf(objs);
    const out: ServiceSelection[] = [];
    for (const svc of objs) {
        if (!isService(svc.t)) {
            continue;
        }
        const type = at(svc.props, "spec", "type");
        if (isUnknown(type) || type === "ExternalName") {
            continue;
        }
        const selector = asRecord(at(svc.props, "spec", "selector"));
        if (!selector || Object.keys(selector).length === 0 || externalWorkloadService(svc, config) !== "no") {
            continue;
        }
        const candidates: SelectedWorkload[] = [];
        const same: Workload[] = [];
        const elsewhere: Workload[] = [];
        for (const w of workloads) {
            const match = selectsPods(selector, w);
            const ns = sameNamespace(w.obj.namespace, svc.namespace);
            if (w.obj.cluster !== svc.cluster || ns === "no") {
                if (match === "yes") {
                    elsewhere.push(w);
                }
                continue;
            }
            if (ns === "yes") {
                same.push(w);
            }
            if (match !== "no") {
                candidates.push({ ...w, match: ns === "yes" ? match : "maybe" });
            }
        }
        out.push({ svc, selector, candidates, sameNamespace: same, elsewhere });
    }
    return out;
}

export function exemptionHint(): string {
    return (
        `if the pods are deployed outside this stack, annotate the Service with ` +
        `${EXTERNAL_WORKLOAD_ANNOTATION}: "true" (or list it in externalWorkloadServices)`
    );
}

// ---------------------------------------------------------------------------------------------
// References to a Service by name and port.

/** How a reference names the Service's port: by number (port) or by name (ports[].name). */
export type PortRef = { number: number } | { name: string };

type ServiceLookup =
    /** The Service, and whether it exposes the port. */
    | { found: StackObject; exposes: Tri }
    /** No Service of the stack is (or may be) the one referenced; `sameName` are those of that name elsewhere. */
    | { found: undefined; maybe: false; sameName: StackObject[] }
    | { found: undefined; maybe: true };

/**
 * Does the Service expose the port over TCP (Ingress and HTTP/gRPC routes carry TCP: a UDP or SCTP
 * port of the same number or name does not serve them)? "maybe" while its ports are unknown, or on
 * a partial patch.
 */
function exposesPort(svc: StackObject, port: PortRef): Tri {
    const ports = at(svc.props, "spec", "ports");
    const answer = isUnknown(ports)
        ? "maybe"
        : anyOf(
              (asArray(ports) ?? []).map((p): Tri => {
                  const v = "number" in port ? at(p, "port") : at(p, "name");
                  const protocol = at(p, "protocol") ?? "TCP";
                  const key: Tri = isUnknown(v)
                      ? "maybe"
                      : ("number" in port ? Number(v) === port.number : v === port.name)
                        ? "yes"
                        : "no";
                  return allOf([key, isUnknown(protocol) ? "maybe" : protocol === "TCP" ? "yes" : "no"]);
              }),
          );
    return answer === "no" && svc.partial ? "maybe" : answer;
}

/** Finds the Service `name` in `namespace`, on the cluster of `from`. */
function lookupService(
    objs: StackObject[],
    from: StackObject,
    namespace: string | Unknown,
    name: string,
    port: PortRef | undefined,
): ServiceLookup {
    const services = objs.filter((o) => isService(o.t));
    const matches = services.map((s) => ({ s, at: objectAt(s, from, namespace, name) }));
    const sure = matches.find((m) => m.at === "yes");
    if (sure) {
        return { found: sure.s, exposes: port === undefined ? "yes" : exposesPort(sure.s, port) };
    }
    if (matches.some((m) => m.at === "maybe")) {
        return { found: undefined, maybe: true };
    }
    return { found: undefined, maybe: false, sameName: matches.filter((m) => m.s.name === name).map((m) => m.s) };
}

/** "80 (\"http\"), 9090 (\"metrics\")" for messages. */
function formatServicePorts(svc: StackObject): string {
    const ports = at(svc.props, "spec", "ports");
    if (isUnknown(ports)) {
        return "ports unknown during preview";
    }
    const list = asArray(ports) ?? [];
    if (list.length === 0) {
        return "no ports";
    }
    return list
        .map((p) => {
            const name = at(p, "name");
            const protocol = at(p, "protocol");
            return `${String(at(p, "port"))}${protocol === undefined || protocol === "TCP" ? "" : `/${String(protocol)}`}${typeof name === "string" && name !== "" ? ` ("${name}")` : ""}`;
        })
        .join(", ");
}

/** A reference from `from` (an Ingress, a route) to a Service by name and port. */
export interface ServiceRef {
    /** Where the reference sits, for messages, e.g. `rule host "exchange.test" path "/backend"`. */
    where: string;
    name: string;
    namespace: string | Unknown;
    /** The port; undefined when the reference sets none; UNKNOWN during preview. */
    port: PortRef | undefined | Unknown;
    /** How to name the fields in a fix, e.g. "backend.service.port.number". */
    fields: { name: string; portNumber: string; portName?: string };
}

/**
 * Why the reference does not find a Service of the stack (on `from`'s cluster, in the namespace)
 * exposing the port, or undefined. Nothing is reported when an unknown value decides it, or when
 * the Service is on the `external` allowlist.
 */
export function serviceRefProblem(
    objs: StackObject[],
    from: StackObject,
    ref: ServiceRef,
    external: readonly string[],
    externalHint: string,
): string | undefined {
    if (onAllowlist(external, ref.name, ref.namespace) !== "no") {
        return undefined;
    }
    const lookup = lookupService(objs, from, ref.namespace, ref.name, isUnknown(ref.port) ? undefined : ref.port);
    const ns = String(ref.namespace);
    if (lookup.found === undefined) {
        if (lookup.maybe) {
            return undefined;
        }
        const inNamespace = objs
            .filter(
                (s) =>
                    isService(s.t) && s.cluster === from.cluster && sameNamespace(s.namespace, ref.namespace) === "yes",
            )
            .map((s) => `"${String(s.name)}"`);
        return (
            `${describe(from)} ${ref.where} routes to Service "${ref.name}", which is not a Service of this stack in namespace ` +
            `"${ns}" on the same cluster` +
            (lookup.sameName.length > 0 ? ` (found only elsewhere: ${lookup.sameName.map(describe).join(", ")})` : "") +
            `. Services in that namespace: ${inNamespace.length > 0 ? inNamespace.join(", ") : "none"}. ` +
            `Fix: set ${ref.fields.name} to one of them (or create the Service); if it is managed outside this stack, ` +
            `${externalHint}.`
        );
    }
    if (isUnknown(ref.port)) {
        return undefined;
    }
    const ports = formatServicePorts(lookup.found);
    if (ref.port === undefined) {
        const portFields = ref.fields.portName
            ? `${ref.fields.portNumber} (or ${ref.fields.portName})`
            : ref.fields.portNumber;
        return `${describe(from)} ${ref.where} routes to Service "${ref.name}" without a port. Fix: set ${portFields} to a port the Service exposes: ${ports}.`;
    }
    if (lookup.exposes !== "no") {
        return undefined;
    }
    const byNumber = "number" in ref.port;
    return (
        `${describe(from)} ${ref.where} routes to Service "${ref.name}" port ` +
        `${"number" in ref.port ? String(ref.port.number) : `"${ref.port.name}"`}, but that Service exposes ${ports}. ` +
        `Fix: set ${byNumber ? ref.fields.portNumber : (ref.fields.portName ?? ref.fields.portNumber)} to one of the ` +
        `Service's ports (spec.ports[].port${ref.fields.portName ? ", or spec.ports[].name by name" : ""}).`
    );
}
