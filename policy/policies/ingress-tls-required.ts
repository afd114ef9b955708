import { describe, isIngress } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asArray, at, isUnknown } from "../lib/values";

/** Does a TLS host entry ("exchange.test" or "*.exchange.test") cover `host`? */
export function tlsHostCovers(pattern: string, host: string): boolean {
    const p = pattern.toLowerCase();
    const h = host.toLowerCase();
    if (p === h) {
        return true;
    }
    if (p.startsWith("*.")) {
        const suffix = p.slice(1); // ".exchange.test"
        return h.endsWith(suffix) && !h.slice(0, h.length - suffix.length).includes(".") && h.length > suffix.length;
    }
    return false;
}

/** Ingresses terminate TLS for all their hosts. */
export const ingressTlsRequired = resourcePolicy({
    name: "ingress-tls-required",
    description:
        "Every Ingress must have spec.tls, and every host named in its rules must be listed in a spec.tls[].hosts " +
        "entry (exactly or by a *.wildcard).",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps: "Add spec.tls entries (hosts + secretName of a TLS Secret) covering every rule host.",
    appliesTo: { types: isIngress, text: "Kubernetes Ingresses (and IngressPatches)" },
    check: (ing, _config, report) => {
        const tls = at(ing.props, "spec", "tls");
        const rules = at(ing.props, "spec", "rules");
        if (isUnknown(tls) || (ing.partial && (tls === undefined || rules === undefined))) {
            // Unknown, or a patch that leaves the TLS entries or the rules as they are.
            return;
        }
        const entries = asArray(tls) ?? [];
        if (entries.length === 0) {
            report(
                `${describe(ing)} has no spec.tls, so clients reach it over plain HTTP. Fix: add spec.tls with the ` +
                    `Ingress hosts and the secretName of a kubernetes.io/tls Secret (e.g. issued by cert-manager).`,
            );
            return;
        }
        if (isUnknown(rules)) {
            return;
        }
        const patterns: string[] = [];
        for (const e of entries) {
            const hosts = at(e, "hosts");
            if (isUnknown(hosts) || (Array.isArray(hosts) && hosts.some(isUnknown))) {
                return; // a TLS host is unknown during preview: cannot tell what is covered
            }
            patterns.push(...(asArray(hosts) ?? []).map(String));
        }
        const uncovered: string[] = [];
        for (const rule of asArray(rules) ?? []) {
            const host = at(rule, "host");
            if (typeof host !== "string" || host === "") {
                continue; // unknown, or a host-less rule (served with whatever certificate the TLS entries provide)
            }
            if (!patterns.some((p) => tlsHostCovers(p, host)) && !uncovered.includes(host)) {
                uncovered.push(host);
            }
        }
        if (uncovered.length > 0) {
            report(
                `${describe(ing)} serves host(s) ${uncovered.map((h) => `"${h}"`).join(", ")} that no spec.tls[].hosts ` +
                    `entry covers (TLS hosts: ${patterns.length ? patterns.map((p) => `"${p}"`).join(", ") : "none"}). ` +
                    `Fix: add them to a spec.tls[].hosts list whose secretName holds a certificate for them.`,
            );
        }
    },
});
