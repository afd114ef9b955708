import { ingressNginxNoSnippets } from "../policies";
import { INGRESSES, admissionPolicy, describeObject } from "./admission-policy";

/** No non-empty ingress-nginx `*-snippet` annotation (CVE-2021-25742). */
export const ingressNginxNoSnippetsAdmission = admissionPolicy(ingressNginxNoSnippets, {
    resources: [INGRESSES],
    variables: {
        snippets:
            "has(object.metadata.annotations) ? object.metadata.annotations.filter(k, " +
            "k.startsWith('nginx.ingress.kubernetes.io/') && k.endsWith('-snippet') && " +
            "object.metadata.annotations[k].trim() != '') : []",
    },
    admits: "size(variables.snippets) == 0",
    message:
        `${describeObject("Ingress")} + ' carries ingress-nginx snippet annotation(s) ' + ` +
        `variables.snippets.join(', ') + ': their text goes verbatim into the nginx configuration of the ` +
        `controller shared by every Ingress of the cluster, where it can read the TLS keys of other Ingresses and ` +
        `the credentials of the controller. Fix: remove the annotation(s) and use the dedicated annotations (e.g. ` +
        `nginx.ingress.kubernetes.io/rewrite-target, auth-url) or the ConfigMap of the controller.'`,
});
