// The pack's rules that the API server enforces too, as ValidatingAdmissionPolicies: one file per
// policy, admission/<pack policy name>.ts, beside the list. What a rule needs beyond one object
// (selectors matching workloads, backends that exist, routes that collide) stays in the pack only.

import { AdmissionPolicy } from "./admission-policy";
import { ingressNginxNoSnippetsAdmission } from "./ingress-nginx-no-snippets";
import { serviceClusterIpByDefaultAdmission } from "./service-clusterip-by-default";
import { serviceLoadbalancerSourceRangesAdmission } from "./service-loadbalancer-source-ranges";
import { serviceNoExternalIpsAdmission } from "./service-no-external-ips";
import { serviceNoNodeportAdmission } from "./service-no-nodeport";

export * from "./admission-policy";
export { admissionManifests, validationActions } from "./manifests";

export const admissionPolicies: AdmissionPolicy[] = [
    serviceClusterIpByDefaultAdmission,
    serviceNoNodeportAdmission,
    serviceNoExternalIpsAdmission,
    ingressNginxNoSnippetsAdmission,
    serviceLoadbalancerSourceRangesAdmission,
];
