import { StackObject, isIngress } from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { PortRef, ServiceRef, serviceRefProblem } from "../lib/services";
import { UNKNOWN, Unknown, asArray, asRecord, at, isUnknown } from "../lib/values";

const NAME = "ingress-backend-exists";
const CONFIG = {
    externalServices:
        "Names (metadata.name, or namespace/name) of Services that exist outside this stack and may be used as " +
        "Ingress backends.",
};

function portRef(number: unknown, name: unknown): PortRef | undefined | Unknown {
    if (isUnknown(number) || isUnknown(name)) {
        return UNKNOWN;
    }
    if (typeof number === "number" || (typeof number === "string" && /^[0-9]+$/.test(number))) {
        return { number: Number(number) };
    }
    return typeof name === "string" && name !== ""
        ? { name }
        : typeof number === "string" && number !== ""
          ? { name: number }
          : undefined;
}

/**
 * The Service backends of an Ingress (or IngressPatch): networking.k8s.io/v1 `service`, and the
 * v1beta1 `serviceName`/`servicePort` form. `resource` backends do not name a Service. Backends
 * whose Service name is unknown during preview are left out.
 */
function backendsOf(ing: StackObject): ServiceRef[] {
    const out: ServiceRef[] = [];
    const add = (where: string, backend: unknown): void => {
        const b = asRecord(backend);
        const v1 = asRecord(b?.service);
        const name = v1 ? v1.name : b?.serviceName;
        if (typeof name !== "string" || name === "") {
            return;
        }
        const port = v1
            ? isUnknown(v1.port)
                ? UNKNOWN
                : portRef(at(v1.port, "number"), at(v1.port, "name"))
            : portRef(b?.servicePort, undefined);
        const fields = v1
            ? {
                  name: "backend.service.name",
                  portNumber: "backend.service.port.number",
                  portName: "backend.service.port.name",
              }
            : { name: "backend.serviceName", portNumber: "backend.servicePort" };
        out.push({ where, name, namespace: ing.namespace, port, fields });
    };
    const spec = at(ing.props, "spec");
    add("defaultBackend", at(spec, "defaultBackend"));
    add("backend", at(spec, "backend"));
    (asArray(at(spec, "rules")) ?? []).forEach((rule, ri) => {
        const host = at(rule, "host");
        const hostText = typeof host === "string" && host !== "" ? `host "${host}"` : `rules[${ri}] (any host)`;
        (asArray(at(rule, "http", "paths")) ?? []).forEach((p, pi) => {
            const path = at(p, "path");
            add(`${hostText} ${typeof path === "string" ? `path "${path}"` : `paths[${pi}]`}`, at(p, "backend"));
        });
    });
    return out;
}

/**
 * Every Ingress backend names a Service of the stack in the Ingress's namespace and cluster, and a
 * port (number or name) that Service exposes.
 */
export const ingressBackendExists = stackPolicy({
    name: NAME,
    description:
        "Every Ingress backend (rules' paths and defaultBackend, also of IngressPatches) must name a Service of this " +
        "stack in the same namespace and cluster, and a port (number or name) that the Service exposes.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Fix backend.service.name / backend.service.port to match a Service of the stack (metadata.name and " +
        "spec.ports[].port or .name), or list Services managed elsewhere in externalServices.",
    config: CONFIG,
    check: (objs, config, report) => {
        for (const ing of objs.filter((o) => isIngress(o.t))) {
            for (const ref of backendsOf(ing)) {
                const problem = serviceRefProblem(
                    objs,
                    ing,
                    ref,
                    config.externalServices,
                    `add "${ref.name}" (or "<namespace>/${ref.name}") to externalServices in the config of "${NAME}"`,
                );
                if (problem) {
                    report(problem, ing);
                }
            }
        }
    },
});
