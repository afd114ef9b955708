import { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { StackObject, describe, isIngress, isService, onAllowlist, readStack, stringList } from "../lib/k8s";
import { Unknown, asArray, asRecord, at, isUnknown } from "../lib/values";

/** Configuration of `ingress-backend-exists`. */
export interface IngressBackendConfig {
    /** metadata.name (or "namespace/name") of Services that exist outside this stack. */
    externalServices?: string[];
}

const CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        externalServices: {
            type: "array",
            items: { type: "string" },
            default: [],
            description:
                "Names (metadata.name, or namespace/name) of Services that exist outside this stack and may be " +
                "used as Ingress backends.",
        },
    },
};

interface Backend {
    /** Where the backend sits, e.g. `rule host "*" path "/backend"` or `defaultBackend`. */
    where: string;
    service: unknown;
    /** number | string (port name) | undefined (not set) | UNKNOWN */
    port: unknown;
}

/** Backends of an Ingress (networking.k8s.io/v1, and the v1beta1 serviceName/servicePort form). */
function backendsOf(props: unknown): Backend[] | Unknown {
    const spec = at(props, "spec");
    if (isUnknown(spec)) {
        return spec;
    }
    const out: Backend[] = [];
    const add = (where: string, backend: unknown): void => {
        if (isUnknown(backend)) {
            out.push({ where, service: backend, port: backend });
            return;
        }
        const b = asRecord(backend);
        if (!b) {
            return;
        }
        if (b.service !== undefined) {
            // networking.k8s.io/v1
            const svc = b.service;
            if (isUnknown(svc)) {
                out.push({ where, service: svc, port: svc });
                return;
            }
            const port = at(svc, "port");
            const portValue = isUnknown(port)
                ? port
                : at(port, "number") !== undefined
                    ? at(port, "number")
                    : at(port, "name");
            out.push({ where, service: at(svc, "name"), port: portValue });
        } else if (b.serviceName !== undefined) {
            // extensions/v1beta1 and networking.k8s.io/v1beta1
            out.push({ where, service: b.serviceName, port: b.servicePort });
        }
        // `resource` backends (e.g. a storage bucket) do not name a Service.
    };
    add("defaultBackend", at(spec, "defaultBackend"));
    add("backend", at(spec, "backend"));
    const rules = at(spec, "rules");
    if (isUnknown(rules)) {
        out.push({ where: "rules", service: rules, port: rules });
        return out;
    }
    for (const [ri, rule] of (asArray(rules) ?? []).entries()) {
        if (isUnknown(rule)) {
            continue;
        }
        const host = at(rule, "host");
        const hostText = typeof host === "string" && host !== "" ? `host "${host}"` : `rules[${ri}] (any host)`;
        const paths = at(rule, "http", "paths");
        for (const [pi, p] of (asArray(paths) ?? []).entries()) {
            const pathValue = at(p, "path");
            const pathText = typeof pathValue === "string" ? `path "${pathValue}"` : `paths[${pi}]`;
            add(`${hostText} ${pathText}`, at(p, "backend"));
        }
    }
    return out;
}

function servicePorts(svc: StackObject): { numbers: unknown[]; names: unknown[] } | Unknown {
    const ports = at(svc.props, "spec", "ports");
    if (isUnknown(ports)) {
        return ports;
    }
    const numbers: unknown[] = [];
    const names: unknown[] = [];
    for (const p of asArray(ports) ?? []) {
        if (isUnknown(p)) {
            return p;
        }
        numbers.push(at(p, "port"));
        names.push(at(p, "name"));
    }
    return { numbers, names };
}

function formatServicePorts(svc: StackObject): string {
    const ports = asArray(at(svc.props, "spec", "ports")) ?? [];
    if (ports.length === 0) {
        return "no ports";
    }
    return ports
        .map((p) => {
            const name = at(p, "name");
            return `${String(at(p, "port"))}${typeof name === "string" && name !== "" ? ` ("${name}")` : ""}`;
        })
        .join(", ");
}

/**
 * 4. Every Ingress backend names a Service of the stack in the Ingress's namespace, and a port
 * (number or name) that Service exposes.
 */
export const ingressBackendExists: StackValidationPolicy = {
    name: "ingress-backend-exists",
    description:
        "Every Ingress backend (rules' paths and defaultBackend) must name a Service of this stack in the same " +
        "namespace, and a port (number or name) that the Service exposes.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Fix backend.service.name / backend.service.port to match a Service of the stack (metadata.name and " +
        "spec.ports[].port or .name), or list Services managed elsewhere in externalServices.",
    configSchema: CONFIG_SCHEMA,
    validateStack: (args, reportViolation) => {
        const config = readConfig<IngressBackendConfig>(args, "ingress-backend-exists", CONFIG_SCHEMA);
        const external = stringList(config.externalServices);
        const objs = readStack(args.resources);
        const services = objs.filter((o) => isService(o.type));
        for (const ing of objs.filter((o) => isIngress(o.type))) {
            if (isUnknown(ing.namespace)) {
                continue;
            }
            const backends = backendsOf(ing.props);
            if (isUnknown(backends)) {
                continue;
            }
            for (const b of backends) {
                if (isUnknown(b.service) || typeof b.service !== "string" || b.service === "") {
                    continue;
                }
                const name = b.service;
                if (onAllowlist(external, name, ing.namespace)) {
                    continue;
                }
                const unsure = services.some((s) => isUnknown(s.name) || isUnknown(s.namespace));
                const matches = services.filter((s) => s.name === name && s.namespace === ing.namespace);
                if (matches.length === 0) {
                    if (unsure) {
                        continue;
                    }
                    const inNamespace = services.filter((s) => s.namespace === ing.namespace).map((s) => `"${String(s.name)}"`);
                    const elsewhere = services.filter((s) => s.name === name).map((s) => describe(s));
                    reportViolation(
                        `${describe(ing)} ${b.where} routes to Service "${name}", which is not a Service of this stack ` +
                            `in namespace "${ing.namespace}"` +
                            (elsewhere.length > 0 ? ` (found only elsewhere: ${elsewhere.join(", ")})` : "") +
                            `. Services in that namespace: ${inNamespace.length > 0 ? inNamespace.join(", ") : "none"}. ` +
                            `Fix: set backend.service.name to one of them (or create the Service); if it is managed ` +
                            `outside this stack, add "${name}" to externalServices in the config of "ingress-backend-exists".`,
                        ing.urn,
                    );
                    continue;
                }
                if (isUnknown(b.port)) {
                    continue;
                }
                const svc = matches[0];
                if (b.port === undefined || b.port === null || b.port === "") {
                    reportViolation(
                        `${describe(ing)} ${b.where} routes to Service "${name}" without a port. ` +
                            `Fix: set backend.service.port.number (or .name) to a port the Service exposes: ` +
                            `${formatServicePorts(svc)}.`,
                        ing.urn,
                    );
                    continue;
                }
                const ports = servicePorts(svc);
                if (isUnknown(ports)) {
                    continue;
                }
                const wanted = b.port;
                const numeric = typeof wanted === "number" || (typeof wanted === "string" && /^[0-9]+$/.test(wanted));
                const list = numeric ? ports.numbers : ports.names;
                if (list.some(isUnknown)) {
                    continue;
                }
                const found = numeric ? list.some((p) => Number(p) === Number(wanted)) : list.includes(wanted);
                if (!found) {
                    reportViolation(
                        `${describe(ing)} ${b.where} routes to Service "${name}" port ` +
                            `${numeric ? String(wanted) : `"${String(wanted)}"`}, but that Service exposes ` +
                            `${formatServicePorts(svc)}. Fix: set backend.service.port.${numeric ? "number" : "name"} ` +
                            `to one of the Service's ports (spec.ports[].port, or spec.ports[].name by name).`,
                        ing.urn,
                    );
                }
            }
        }
    },
};
