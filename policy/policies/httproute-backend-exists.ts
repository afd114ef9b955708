import {
    GATEWAY_API_GROUP,
    StackObject,
    describe,
    isReferenceGrant,
    isRoute,
    onAllowlist,
    sameNamespace,
} from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { ServiceRef, serviceRefProblem } from "../lib/services";
import { Tri, UNKNOWN, anyOf, asArray, asRecord, at, isUnknown } from "../lib/values";

const NAME = "httproute-backend-exists";
const CONFIG = {
    externalServices:
        "Names (metadata.name, or namespace/name) of Services that exist outside this stack and may be HTTPRoute " +
        "or GRPCRoute backends.",
};

/** A backendRef that names a Service ("" group, kind Service: the defaults), with where it sits. */
interface Backend extends ServiceRef {
    crossNamespace: boolean;
}

/**
 * The Service backendRefs of a route: rules[].backendRefs[], and the requestMirror filters' backendRef
 * (on a rule, or on one of its backendRefs). Refs to other kinds, and refs whose name is unknown
 * during preview, are left out.
 */
function backendsOf(route: StackObject): Backend[] {
    const out: Backend[] = [];
    const add = (where: string, ref: unknown): void => {
        const r = asRecord(ref);
        const group = r?.group ?? "";
        const kind = r?.kind ?? "Service";
        if (!r || group !== "" || kind !== "Service" || typeof r.name !== "string" || r.name === "") {
            return;
        }
        const ns = r.namespace === undefined ? route.namespace : isUnknown(r.namespace) ? UNKNOWN : String(r.namespace);
        const port = isUnknown(r.port) ? UNKNOWN : typeof r.port === "number" ? { number: r.port } : undefined;
        out.push({
            where,
            name: r.name,
            namespace: ns,
            port,
            // Only a namespace known to differ needs a grant: while one is unknown it may be the route's.
            crossNamespace: r.namespace !== undefined && sameNamespace(ns, route.namespace) === "no",
            fields: { name: `${where}.name`, portNumber: `${where}.port` },
        });
    };
    const mirrors = (where: string, filters: unknown): void =>
        (asArray(filters) ?? []).forEach((f, fi) =>
            add(`${where}.filters[${fi}].requestMirror.backendRef`, at(f, "requestMirror", "backendRef")),
        );
    (asArray(at(route.props, "spec", "rules")) ?? []).forEach((rule, ri) => {
        const where = `spec.rules[${ri}]`;
        (asArray(at(rule, "backendRefs")) ?? []).forEach((ref, bi) => {
            add(`${where}.backendRefs[${bi}]`, ref);
            mirrors(`${where}.backendRefs[${bi}]`, at(ref, "filters"));
        });
        mirrors(where, at(rule, "filters"));
    });
    return out;
}

/** Does a ReferenceGrant of the stack let `route` refer to Service `b.name` in `b.namespace`? */
function referenceGranted(objs: StackObject[], route: StackObject, b: Backend): Tri {
    return anyOf(
        objs
            .filter((g) => isReferenceGrant(g.t) && g.cluster === route.cluster)
            .map((grant): Tri => {
                const inTarget: Tri =
                    isUnknown(grant.namespace) || isUnknown(b.namespace)
                        ? "maybe"
                        : grant.namespace === b.namespace
                          ? "yes"
                          : "no";
                const from = at(grant.props, "spec", "from");
                const to = at(grant.props, "spec", "to");
                if (inTarget === "no") {
                    return "no";
                }
                if (isUnknown(from) || isUnknown(to)) {
                    return "maybe";
                }
                const fromOk = anyOf(
                    (asArray(from) ?? []).map((f): Tri =>
                        [at(f, "group"), at(f, "kind"), at(f, "namespace")].some(isUnknown) ||
                        isUnknown(route.namespace)
                            ? "maybe"
                            : at(f, "group") === GATEWAY_API_GROUP &&
                                at(f, "kind") === route.t.kind &&
                                at(f, "namespace") === route.namespace
                              ? "yes"
                              : "no",
                    ),
                );
                const toOk = anyOf(
                    (asArray(to) ?? []).map((t): Tri => {
                        const name = at(t, "name");
                        if ([at(t, "group"), at(t, "kind"), name].some(isUnknown)) {
                            return "maybe";
                        }
                        return (at(t, "group") ?? "") === "" &&
                            at(t, "kind") === "Service" &&
                            (name === undefined || name === b.name)
                            ? "yes"
                            : "no";
                    }),
                );
                return fromOk === "no" || toOk === "no"
                    ? "no"
                    : inTarget === "yes" && fromOk === "yes" && toOk === "yes"
                      ? "yes"
                      : "maybe";
            }),
    );
}

/**
 * Every backendRef of an HTTPRoute (or GRPCRoute) names a Service of the stack, on the route's
 * cluster, in the route's namespace (or another one that a ReferenceGrant opens), and a port that
 * Service exposes.
 */
export const httprouteBackendExists = stackPolicy({
    name: NAME,
    description:
        "Every backendRef of a Gateway API HTTPRoute or GRPCRoute (also in requestMirror filters, also of patches) " +
        "must name a Service of this stack in the route's namespace (or in another namespace whose ReferenceGrant " +
        "allows it) on the same cluster, and a port that the Service exposes.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Fix backendRefs[].name / .port to match a Service of the stack (metadata.name and spec.ports[].port), add a " +
        "ReferenceGrant for a Service in another namespace, or list Services managed elsewhere in externalServices.",
    config: CONFIG,
    check: (objs, config, report) => {
        for (const route of objs.filter((o) => isRoute(o.t))) {
            for (const b of backendsOf(route)) {
                const hint = `add "${b.name}" (or "<namespace>/${b.name}") to externalServices in the config of "${NAME}"`;
                const problem = serviceRefProblem(objs, route, b, config.externalServices, hint);
                if (problem) {
                    report(problem, route);
                } else if (
                    b.crossNamespace &&
                    onAllowlist(config.externalServices, b.name, b.namespace) === "no" &&
                    referenceGranted(objs, route, b) === "no"
                ) {
                    report(
                        `${describe(route)} ${b.where} refers to Service "${b.name}" in namespace "${String(b.namespace)}", ` +
                            `but no ReferenceGrant of this stack in that namespace allows ${route.t.kind}s from namespace ` +
                            `"${String(route.namespace)}" to refer to it, so the Gateway refuses the reference ` +
                            `(ResolvedRefs: RefNotPermitted). Fix: add a ReferenceGrant in namespace "${String(b.namespace)}" ` +
                            `with from {group: ${GATEWAY_API_GROUP}, kind: ${route.t.kind}, namespace: ` +
                            `${String(route.namespace)}} and to {group: "", kind: Service}, or move the route.`,
                        route,
                    );
                }
            }
        }
    },
});
