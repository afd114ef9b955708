import {
    GATEWAY_API_GROUP,
    StackObject,
    TRAEFIK_GROUP,
    describe,
    isReferenceGrant,
    isRoute,
    isTraefikService,
    objectAt,
    onAllowlist,
    sameNamespace,
} from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { PortRef, ServiceRef, serviceRefProblem } from "../lib/services";
import { Tri, UNKNOWN, Unknown, anyOf, asArray, asRecord, at, isUnknown } from "../lib/values";

const NAME = "httproute-backend-exists";
const CONFIG = {
    externalServices:
        "Names (metadata.name, or namespace/name) of Services (or Traefik TraefikServices) that exist outside this " +
        "stack and may be HTTPRoute or GRPCRoute backends.",
};

/** The kinds a backendRef is checked for: a Service, or Traefik's TraefikService. */
type BackendKind = { group: ""; kind: "Service" } | { group: typeof TRAEFIK_GROUP; kind: "TraefikService" };

/** A backendRef that names a Service ("" group, kind Service: the defaults) or a TraefikService, with where it sits. */
interface Backend extends ServiceRef {
    target: BackendKind;
    crossNamespace: boolean;
}

function backendKind(group: unknown, kind: unknown, name: string): BackendKind | undefined {
    if (group === "" && kind === "Service") {
        return { group, kind };
    }
    // A name with "@" is a service of another Traefik provider (api@internal), not an object.
    return group === TRAEFIK_GROUP && kind === "TraefikService" && !name.includes("@") ? { group, kind } : undefined;
}

/**
 * The Service and TraefikService backendRefs of a route: rules[].backendRefs[], and the
 * requestMirror filters' backendRef (on a rule, or on one of its backendRefs). Refs to other
 * kinds, and refs whose name is unknown during preview, are left out.
 */
function backendsOf(route: StackObject): Backend[] {
    const out: Backend[] = [];
    const add = (where: string, ref: unknown): void => {
        const r = asRecord(ref);
        if (!r || typeof r.name !== "string" || r.name === "") {
            return;
        }
        const target = backendKind(r.group ?? "", r.kind ?? "Service", r.name);
        if (!target) {
            return;
        }
        const ns = r.namespace === undefined ? route.namespace : isUnknown(r.namespace) ? UNKNOWN : String(r.namespace);
        const port = isUnknown(r.port) ? UNKNOWN : typeof r.port === "number" ? { number: r.port } : undefined;
        out.push({
            where,
            target,
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

/** Does a ReferenceGrant of the stack let `route` refer to `b` (its kind, name and namespace)? */
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
                        return (at(t, "group") ?? "") === b.target.group &&
                            at(t, "kind") === b.target.kind &&
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

/** One load-balanced entry of a TraefikService (its LoadBalancerSpec), with where it sits. */
interface TraefikEntry {
    where: string;
    spec: unknown;
}

/** The entries of a TraefikService: weighted and highestRandomWeight services, mirroring, failover. */
function traefikEntries(ts: StackObject): TraefikEntry[] {
    const spec = at(ts.props, "spec");
    const list = (where: string, value: unknown): TraefikEntry[] =>
        (asArray(value) ?? []).map((entry, i) => ({ where: `${where}[${i}]`, spec: entry }));
    const one = (where: string, value: unknown): TraefikEntry[] =>
        value === undefined || isUnknown(value) ? [] : [{ where, spec: value }];
    const mirroring = at(spec, "mirroring");
    return [
        ...list("spec.weighted.services", at(spec, "weighted", "services")),
        ...list("spec.highestRandomWeight.services", at(spec, "highestRandomWeight", "services")),
        ...one("spec.mirroring", mirroring),
        ...list("spec.mirroring.mirrors", at(mirroring, "mirrors")),
        ...one("spec.failover.service", at(spec, "failover", "service")),
        ...one("spec.failover.fallback", at(spec, "failover", "fallback")),
    ];
}

/** The TraefikService `name` in `namespace` on `from`'s cluster: the object, "maybe", or none. */
function lookupTraefikService(
    objs: StackObject[],
    from: StackObject,
    namespace: string | Unknown,
    name: string,
): StackObject | "maybe" | undefined {
    const matches = objs
        .filter((o) => isTraefikService(o.t))
        .map((o) => ({ o, at: objectAt(o, from, namespace, name) }));
    return matches.find((m) => m.at === "yes")?.o ?? (matches.some((m) => m.at === "maybe") ? "maybe" : undefined);
}

function missingTraefikService(from: StackObject, where: string, name: string, namespace: string | Unknown): string {
    return (
        `${describe(from)} ${where} routes to TraefikService "${name}", which is not a TraefikService of this stack in ` +
        `namespace "${String(namespace)}" on the same cluster, so Traefik has no such service to send to. Fix: create ` +
        `the TraefikService (traefik.io/v1alpha1) or correct the name; if it is managed outside this stack, add ` +
        `"${name}" to externalServices in the config of "${NAME}".`
    );
}

/**
 * Why a TraefikService does not lead to Services of the stack: each of its entries of kind
 * Service must name a Service of the stack (in the entry's namespace, or the TraefikService's)
 * and a port it exposes; an entry of kind TraefikService must name one of the stack.
 */
function traefikServiceProblems(objs: StackObject[], ts: StackObject, external: readonly string[]): string[] {
    const problems: string[] = [];
    for (const entry of traefikEntries(ts)) {
        const r = asRecord(entry.spec);
        const name = r?.name;
        if (!r || typeof name !== "string" || name === "") {
            continue;
        }
        const namespace =
            r.namespace === undefined ? ts.namespace : isUnknown(r.namespace) ? UNKNOWN : String(r.namespace);
        const kind = r.kind ?? "Service";
        if (kind === "TraefikService") {
            if (
                !name.includes("@") &&
                onAllowlist(external, name, namespace) === "no" &&
                lookupTraefikService(objs, ts, namespace, name) === undefined
            ) {
                problems.push(missingTraefikService(ts, `${entry.where}.name`, name, namespace));
            }
            continue;
        }
        if (kind !== "Service") {
            continue;
        }
        const port: PortRef | undefined | Unknown = isUnknown(r.port)
            ? UNKNOWN
            : typeof r.port === "number"
              ? { number: r.port }
              : typeof r.port === "string" && r.port !== ""
                ? { name: r.port }
                : undefined;
        const hint = `add "${name}" (or "<namespace>/${name}") to externalServices in the config of "${NAME}"`;
        const problem = serviceRefProblem(
            objs,
            ts,
            {
                where: entry.where,
                name,
                namespace,
                port,
                fields: { name: `${entry.where}.name`, portNumber: `${entry.where}.port` },
            },
            external,
            hint,
        );
        if (problem) {
            problems.push(problem);
        }
    }
    return problems;
}

/** Why a TraefikService backendRef does not lead to Services of the stack, or nothing. */
function traefikBackendProblems(
    objs: StackObject[],
    route: StackObject,
    b: Backend,
    external: readonly string[],
): string[] {
    if (onAllowlist(external, b.name, b.namespace) !== "no") {
        return [];
    }
    const ts = lookupTraefikService(objs, route, b.namespace, b.name);
    if (ts === undefined) {
        return [missingTraefikService(route, b.where, b.name, b.namespace)];
    }
    return ts === "maybe"
        ? []
        : traefikServiceProblems(objs, ts, external).map((p) => `${describe(route)} ${b.where} -> ${p}`);
}

/**
 * Every backendRef of an HTTPRoute (or GRPCRoute) names a Service of the stack, on the route's
 * cluster, in the route's namespace (or another one that a ReferenceGrant opens), and a port that
 * Service exposes; or a TraefikService of the stack whose entries do.
 */
export const httprouteBackendExists = stackPolicy({
    name: NAME,
    description:
        "Every backendRef of a Gateway API HTTPRoute or GRPCRoute (also in requestMirror filters, also of patches) " +
        "must name a Service of this stack in the route's namespace (or in another namespace whose ReferenceGrant " +
        "allows it) on the same cluster, and a port that the Service exposes; a backendRef to a Traefik " +
        "TraefikService must name one of this stack whose entries name such Services and ports.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Fix backendRefs[].name / .port to match a Service of the stack (metadata.name and spec.ports[].port), or a " +
        "TraefikService of the stack whose services[].name / .port do; add a ReferenceGrant for a backend in " +
        "another namespace, or list backends managed elsewhere in externalServices.",
    config: CONFIG,
    check: (objs, config, report) => {
        for (const route of objs.filter((o) => isRoute(o.t))) {
            for (const b of backendsOf(route)) {
                const problems =
                    b.target.kind === "Service"
                        ? [
                              serviceRefProblem(
                                  objs,
                                  route,
                                  b,
                                  config.externalServices,
                                  `add "${b.name}" (or "<namespace>/${b.name}") to externalServices in the config of "${NAME}"`,
                              ),
                          ].filter((p): p is string => p !== undefined)
                        : traefikBackendProblems(objs, route, b, config.externalServices);
                problems.forEach((problem) => report(problem, route));
                if (
                    problems.length === 0 &&
                    b.crossNamespace &&
                    onAllowlist(config.externalServices, b.name, b.namespace) === "no" &&
                    referenceGranted(objs, route, b) === "no"
                ) {
                    report(
                        `${describe(route)} ${b.where} refers to ${b.target.kind} "${b.name}" in namespace "${String(b.namespace)}", ` +
                            `but no ReferenceGrant of this stack in that namespace allows ${route.t.kind}s from namespace ` +
                            `"${String(route.namespace)}" to refer to it, so the Gateway refuses the reference ` +
                            `(ResolvedRefs: RefNotPermitted). Fix: add a ReferenceGrant in namespace "${String(b.namespace)}" ` +
                            `with from {group: ${GATEWAY_API_GROUP}, kind: ${route.t.kind}, namespace: ` +
                            `${String(route.namespace)}} and to {group: "${b.target.group}", kind: ${b.target.kind}}, or move the route.`,
                        route,
                    );
                }
            }
        }
    },
});
