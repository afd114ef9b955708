import { GATEWAY_API_GROUP, StackObject, describe, isHttpRoute, isIngress } from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { asArray, asRecord, at, isUnknown } from "../lib/values";

/** The annotation that chose an Ingress's class before spec.ingressClassName. */
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/**
 * Who serves a route: the controller of an IngressClass ("" is the cluster's default class), or a
 * Gateway's listeners (all of them, or the one a parentRef names by sectionName and/or port).
 */
type Scope =
    | { kind: "ingressClass"; className: string }
    | { kind: "gateway"; namespace: string; name: string; sectionName?: string; port?: number };

type PathMatch = "prefix" | "exact" | "regex";

/** One host and path a route takes all requests for. */
interface Claim {
    obj: StackObject;
    where: string;
    scope: Scope;
    /** Lower-cased; "*" for a route that names no host (it takes every host). */
    host: string;
    /** Ingress Prefix / ImplementationSpecific and HTTPRoute PathPrefix are "prefix". */
    match: PathMatch;
    path: string;
}

/** A prefix path as the controllers compare it: a trailing "/" does not count. */
const normalPath = (match: PathMatch, path: string): string =>
    match === "prefix" && path.length > 1 ? path.replace(/\/+$/, "") || "/" : path;

const knownString = (v: unknown): v is string => typeof v === "string";

/** The IngressClass of an Ingress: spec.ingressClassName, else the annotation, else "" (the default class). */
function ingressScope(ing: StackObject): Scope | undefined {
    const className = at(ing.props, "spec", "ingressClassName");
    const annotation = at(ing.props, "metadata", "annotations", CLASS_ANNOTATION);
    if (isUnknown(className) || (className === undefined && isUnknown(annotation))) {
        return undefined;
    }
    const chosen = className ?? annotation;
    if (chosen === undefined && ing.partial) {
        // A patch that sets no class leaves the patched Ingress's.
        return undefined;
    }
    return { kind: "ingressClass", className: knownString(chosen) ? chosen : "" };
}

function ingressClaims(ing: StackObject): Claim[] {
    const scope = ingressScope(ing);
    if (!scope) {
        return [];
    }
    const out: Claim[] = [];
    (asArray(at(ing.props, "spec", "rules")) ?? []).forEach((rule, ri) => {
        const host = at(rule, "host");
        if (isUnknown(host)) {
            return;
        }
        (asArray(at(rule, "http", "paths")) ?? []).forEach((p, pi) => {
            const path = at(p, "path") ?? "/";
            const pathType = at(p, "pathType") ?? "ImplementationSpecific";
            if (!knownString(path) || !knownString(pathType)) {
                return;
            }
            const match: PathMatch = pathType === "Exact" ? "exact" : "prefix";
            out.push({
                obj: ing,
                where: `spec.rules[${ri}].http.paths[${pi}]`,
                scope,
                host: knownString(host) && host !== "" ? host.toLowerCase() : "*",
                match,
                path: normalPath(match, path),
            });
        });
    });
    return out;
}

/** The Gateways (and listeners) an HTTPRoute attaches to; refs with an unknown part are left out. */
function routeScopes(route: StackObject): Scope[] {
    return (asArray(at(route.props, "spec", "parentRefs")) ?? []).flatMap((ref): Scope[] => {
        const r = asRecord(ref);
        if (!r || (r.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (r.kind ?? "Gateway") !== "Gateway") {
            return [];
        }
        const namespace = r.namespace ?? route.namespace;
        const sectionName = r.sectionName;
        const port = r.port;
        if (
            !knownString(r.name) ||
            !knownString(namespace) ||
            isUnknown(sectionName) ||
            isUnknown(port) ||
            (sectionName !== undefined && !knownString(sectionName)) ||
            (port !== undefined && typeof port !== "number")
        ) {
            return [];
        }
        return [{ kind: "gateway", namespace, name: r.name, sectionName, port }];
    });
}

function httpRouteClaims(route: StackObject): Claim[] {
    const scopes = routeScopes(route);
    const rawHosts = at(route.props, "spec", "hostnames");
    // A patch that sets no hostnames leaves the patched route's.
    if (scopes.length === 0 || isUnknown(rawHosts) || (rawHosts === undefined && route.partial)) {
        return [];
    }
    const listed = asArray(rawHosts) ?? [];
    const hosts = listed.length === 0 ? ["*"] : listed.filter(knownString).map((h) => h.toLowerCase());
    const out: Claim[] = [];
    (asArray(at(route.props, "spec", "rules")) ?? []).forEach((rule, ri) => {
        const matches = at(rule, "matches");
        if (isUnknown(matches)) {
            return;
        }
        // No matches: the rule takes every path (a PathPrefix "/" match).
        const list = asArray(matches) ?? [];
        (list.length === 0 ? [{}] : list).forEach((m, mi) => {
            const narrowed = ["headers", "queryParams", "method"].some((f) => {
                const v = at(m, f);
                return v !== undefined && !(Array.isArray(v) && v.length === 0);
            });
            const type = at(m, "path", "type") ?? "PathPrefix";
            const value = at(m, "path", "value") ?? "/";
            // A match on headers, query or method takes only some requests of the path.
            if (narrowed || !knownString(type) || !knownString(value)) {
                return;
            }
            const match: PathMatch = type === "PathPrefix" ? "prefix" : type === "Exact" ? "exact" : "regex";
            for (const scope of scopes) {
                for (const host of hosts) {
                    out.push({
                        obj: route,
                        where: `spec.rules[${ri}]${list.length === 0 ? "" : `.matches[${mi}]`}`,
                        scope,
                        host,
                        match,
                        path: normalPath(match, value),
                    });
                }
            }
        });
    });
    return out;
}

/** Do two routes served by these scopes compete for the same requests? */
function sameServer(a: Scope, b: Scope): boolean {
    if (a.kind === "ingressClass" || b.kind === "ingressClass") {
        // The default class ("") may or may not be the named one: only a sure overlap counts.
        return a.kind === "ingressClass" && b.kind === "ingressClass" && a.className === b.className;
    }
    const overlap = <T>(x: T | undefined, y: T | undefined) => x === undefined || y === undefined || x === y;
    return (
        a.namespace === b.namespace &&
        a.name === b.name &&
        overlap(a.sectionName, b.sectionName) &&
        overlap(a.port, b.port)
    );
}

const conflict = (a: Claim, b: Claim): boolean =>
    a.obj.urn !== b.obj.urn &&
    a.obj.cluster === b.obj.cluster &&
    a.host === b.host &&
    a.match === b.match &&
    a.path === b.path &&
    sameServer(a.scope, b.scope);

const scopeText = (s: Scope): string =>
    s.kind === "ingressClass"
        ? s.className === ""
            ? "the default IngressClass"
            : `IngressClass "${s.className}"`
        : `Gateway "${s.namespace}/${s.name}"${s.sectionName === undefined ? "" : ` listener "${s.sectionName}"`}`;

const claimText = (c: Claim): string =>
    `${c.host === "*" ? "any host" : `host "${c.host}"`} ${c.match === "prefix" ? "path prefix" : c.match === "exact" ? "exact path" : "path regex"} "${c.path}"`;

/** No two Ingresses (of one IngressClass) or HTTPRoutes (on one Gateway) take the same host and path. */
export const routeHostPathUnique = stackPolicy({
    name: "route-host-path-unique",
    description:
        "No two Ingresses of the same IngressClass, and no two HTTPRoutes attached to the same Gateway listener, on " +
        "one cluster may claim the same host and path (same match type, a trailing / aside): the controller would " +
        "send the requests to only one of them.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Give each route its own host or path, or merge the two into one Ingress / HTTPRoute; if they are meant for " +
        "different controllers, give them different ingressClassName / parentRefs.",
    check: (objs, _config, report) => {
        // In URN order, not the engine's, which varies from one preview to the next: the same
        // stack always gets its violation on the same object of a conflicting pair.
        const byUrn = [...objs].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
        const claims = byUrn.flatMap((o) =>
            isIngress(o.t) ? ingressClaims(o) : isHttpRoute(o.t) ? httpRouteClaims(o) : [],
        );
        const reported = new Set<string>();
        claims.forEach((claim, i) => {
            const earlier = claims.slice(0, i).find((other) => conflict(other, claim));
            const key = earlier && `${claim.obj.urn} ${earlier.obj.urn} ${claim.host} ${claim.match} ${claim.path}`;
            if (!earlier || !key || reported.has(key)) {
                return;
            }
            reported.add(key);
            report(
                `${describe(claim.obj)} ${claim.where} claims ${claimText(claim)} on ${scopeText(claim.scope)}, which ` +
                    `${describe(earlier.obj)} ${earlier.where} claims too: the controller sends those requests to only ` +
                    `one of them. Fix: give one of them another host or path, or merge them into one ` +
                    `${claim.obj.t.kind}.`,
                claim.obj,
            );
        });
    },
});
