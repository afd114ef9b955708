import { describe, isIngress } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { asRecord, at, isUnknown } from "../lib/values";

const NGINX_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/";

/**
 * No ingress-nginx `*-snippet` annotation (configuration-snippet, server-snippet, auth-snippet,
 * stream-snippet, ...): their text goes verbatim into the controller's nginx.conf, which runs with
 * the controller's service account token and sees every Ingress's TLS keys (CVE-2021-25742).
 */
export const ingressNginxNoSnippets = resourcePolicy({
    name: "ingress-nginx-no-snippets",
    description:
        "An Ingress (or IngressPatch) must not carry an ingress-nginx snippet annotation (any " +
        "nginx.ingress.kubernetes.io/*-snippet key, e.g. configuration-snippet, server-snippet, auth-snippet): its " +
        "text becomes raw nginx configuration in the shared controller.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Remove the snippet annotation and use the dedicated ingress-nginx annotations (rewrite-target, " +
        "auth-url, proxy-*, ...) or a setting of the controller's ConfigMap.",
    appliesTo: { types: isIngress, text: "Ingresses and IngressPatches" },
    check: (ing, _config, report) => {
        const annotations = asRecord(at(ing.props, "metadata", "annotations")) ?? {};
        const snippets = Object.keys(annotations).filter((key) => {
            const value = annotations[key];
            // An empty snippet injects nothing; an unknown one may turn out empty.
            return (
                key.startsWith(NGINX_ANNOTATION_PREFIX) &&
                key.endsWith("-snippet") &&
                !isUnknown(value) &&
                String(value ?? "").trim() !== ""
            );
        });
        if (snippets.length > 0) {
            report(
                `${describe(ing)} carries ingress-nginx snippet annotation(s) ${snippets.map((k) => `"${k}"`).join(", ")}: ` +
                    `their text goes verbatim into the nginx configuration of the controller shared by every ` +
                    `Ingress of the cluster, where it can read other Ingresses' TLS keys and the controller's ` +
                    `credentials. Fix: remove the annotation(s) and use the dedicated annotations (e.g. ` +
                    `nginx.ingress.kubernetes.io/rewrite-target, auth-url) or the controller's ConfigMap.`,
            );
        }
    },
});
