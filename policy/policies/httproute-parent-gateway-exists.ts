import {
    GATEWAY_API_GROUP,
    StackObject,
    describe,
    isGateway,
    isRoute,
    objectAt,
    onAllowlist,
    sameNamespace,
} from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { Tri, UNKNOWN, Unknown, allOf, anyOf, asArray, asRecord, at, isUnknown } from "../lib/values";

const NAME = "httproute-parent-gateway-exists";
const CONFIG = {
    externalGateways:
        "Gateways that exist outside this stack and that routes may attach to: namespace/name (or name, any namespace).",
};

interface ParentRef {
    where: string;
    name: string;
    namespace: string | Unknown;
    sectionName: unknown;
    port: unknown;
}

/** The parentRefs of a route that name a Gateway (the default group and kind); unknown names left out. */
function gatewayParents(route: StackObject): ParentRef[] {
    return (asArray(at(route.props, "spec", "parentRefs")) ?? []).flatMap((raw, i): ParentRef[] => {
        const r = asRecord(raw);
        if (!r || (r.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (r.kind ?? "Gateway") !== "Gateway") {
            return [];
        }
        if (typeof r.name !== "string" || r.name === "") {
            return [];
        }
        const namespace =
            r.namespace === undefined ? route.namespace : isUnknown(r.namespace) ? UNKNOWN : String(r.namespace);
        return [{ where: `spec.parentRefs[${i}]`, name: r.name, namespace, sectionName: r.sectionName, port: r.port }];
    });
}

/** May a listener accept `route`: its name/port (when the ref names one) and allowedRoutes.namespaces. */
function listenerAccepts(listener: unknown, ref: ParentRef, route: StackObject, gateway: StackObject): Tri {
    if (isUnknown(listener)) {
        return "maybe";
    }
    const name = at(listener, "name");
    const port = at(listener, "port");
    const from = at(listener, "allowedRoutes", "namespaces", "from");
    const matchesRef = (want: unknown, have: unknown): Tri =>
        want === undefined ? "yes" : isUnknown(want) || isUnknown(have) ? "maybe" : want === have ? "yes" : "no";
    // Same (the default): the route's namespace must be the Gateway's; Selector: namespace labels decide.
    const namespaces: Tri = isUnknown(from)
        ? "maybe"
        : from === "All"
          ? "yes"
          : from === "Selector"
            ? "maybe"
            : sameNamespace(route.namespace, gateway.namespace);
    return allOf([matchesRef(ref.sectionName, name), matchesRef(ref.port, port), namespaces]);
}

function attachProblem(gateway: StackObject, ref: ParentRef, route: StackObject): string | undefined {
    const listeners = at(gateway.props, "spec", "listeners");
    if (isUnknown(listeners) || gateway.partial) {
        return undefined;
    }
    const list = asArray(listeners) ?? [];
    if (anyOf(list.map((l) => listenerAccepts(l, ref, route, gateway))) !== "no") {
        return undefined;
    }
    const described = list
        .map(
            (l) =>
                `${String(at(l, "name"))} (port ${String(at(l, "port"))}, routes from ${String(at(l, "allowedRoutes", "namespaces", "from") ?? "Same")} namespace)`,
        )
        .join(", ");
    const wanted = [
        ref.sectionName !== undefined ? `sectionName "${String(ref.sectionName)}"` : "",
        ref.port !== undefined ? `port ${String(ref.port)}` : "",
    ].filter((x) => x !== "");
    return (
        `${describe(route)} ${ref.where} attaches to ${describe(gateway)}${wanted.length ? ` (${wanted.join(", ")})` : ""}, ` +
        `but no listener of that Gateway accepts it: ${described || "it has no listeners"}. A listener accepts routes from ` +
        `its own namespace only unless allowedRoutes.namespaces.from is All or Selector. Fix: point sectionName/port ` +
        `at a listener of the Gateway, or let the listener accept routes from namespace "${String(route.namespace)}".`
    );
}

/**
 * The Gateway each HTTPRoute (or GRPCRoute) attaches to (parentRefs) exists in the stack, on the
 * route's cluster, with a listener that accepts the route; or is named in externalGateways.
 */
export const httprouteParentGatewayExists = stackPolicy({
    name: NAME,
    description:
        "Every Gateway API HTTPRoute or GRPCRoute must attach (spec.parentRefs) to a Gateway of this stack on the " +
        "same cluster, with a listener that accepts the route (sectionName, port, allowed namespaces), or to a " +
        "Gateway named in externalGateways.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set parentRefs to a Gateway of the stack (name, and namespace when it is in another one), or list a Gateway " +
        "managed elsewhere in externalGateways (namespace/name).",
    config: CONFIG,
    check: (objs, config, report) => {
        const gateways = objs.filter((o) => isGateway(o.t));
        const hint = (name: string, namespace: string | Unknown) =>
            `if it is managed outside this stack, add "${String(isUnknown(namespace) ? "<namespace>" : namespace)}/${name}" to ` +
            `externalGateways in the config of "${NAME}"`;
        for (const route of objs.filter((o) => isRoute(o.t))) {
            const parentRefs = at(route.props, "spec", "parentRefs");
            if (!route.partial && !isUnknown(parentRefs) && (asArray(parentRefs) ?? []).length === 0) {
                report(
                    `${describe(route)} has no spec.parentRefs, so it attaches to no Gateway and routes nothing. ` +
                        `Fix: set spec.parentRefs to the Gateway that serves it; ${hint("<gateway>", "<namespace>")}.`,
                    route,
                );
                continue;
            }
            for (const ref of gatewayParents(route)) {
                if (onAllowlist(config.externalGateways, ref.name, ref.namespace) !== "no") {
                    continue;
                }
                const found = gateways.map((g) => ({ g, at: objectAt(g, route, ref.namespace, ref.name) }));
                const sure = found.find((f) => f.at === "yes");
                if (sure) {
                    const problem = attachProblem(sure.g, ref, route);
                    if (problem) {
                        report(problem, route);
                    }
                    continue;
                }
                if (found.some((f) => f.at === "maybe")) {
                    continue;
                }
                const inStack = gateways.filter((g) => g.cluster === route.cluster).map(describe);
                report(
                    `${describe(route)} ${ref.where} attaches to Gateway "${ref.name}" in namespace "${String(ref.namespace)}", ` +
                        `which is neither a Gateway of this stack on the same cluster nor in externalGateways ` +
                        `(${JSON.stringify(config.externalGateways)}). Gateways of the stack there: ` +
                        `${inStack.length ? inStack.join(", ") : "none"}. Fix: point the parentRef at one of them (set ` +
                        `its namespace if the Gateway is in another one); ${hint(ref.name, ref.namespace)}.`,
                    route,
                );
            }
        }
    },
});
