// The list of policies of the pack, in one place. `../index.ts` serves exactly this list, and the
// test harness (testing/harness.ts) runs exactly this list, so tests see what `pulumi preview` sees.
// Each policy lives in policies/<policy name>.ts.
//
// Importing this module has no side effect (unlike ../index.ts, which starts the policy server),
// and loads no SDK code: the policies import only types from @pulumi/policy.

import type { Policies } from "@pulumi/policy";
import { configmapNoLiteralCredentials } from "./configmap-no-literal-credentials";
import { containerEnvNoLiteralCredentials } from "./container-env-no-literal-credentials";
import { containerImageTagPinned } from "./container-image-tag-pinned";
import { containerProbePortResolves } from "./container-probe-port-resolves";
import { containerReadinessProbe } from "./container-readiness-probe";
import { containerResourceRequestsLimits } from "./container-resource-requests-limits";
import { containerRunsAsNonRoot } from "./container-runs-as-non-root";
import { hpaTargetExists } from "./hpa-target-exists";
import { httprouteBackendExists } from "./httproute-backend-exists";
import { httprouteParentGatewayExists } from "./httproute-parent-gateway-exists";
import { ingressBackendExists } from "./ingress-backend-exists";
import { ingressClassNameSet } from "./ingress-class-name-set";
import { ingressNginxNoSnippets } from "./ingress-nginx-no-snippets";
import { ingressTlsRequired } from "./ingress-tls-required";
import { podNoHostAccess } from "./pod-no-host-access";
import { replicatedWorkloadSpread } from "./replicated-workload-spread";
import { routeHostPathUnique } from "./route-host-path-unique";
import { serviceClusterIpByDefault } from "./service-clusterip-by-default";
import { serviceLoadbalancerSourceRanges } from "./service-loadbalancer-source-ranges";
import { serviceNoExternalIps } from "./service-no-external-ips";
import { serviceNoNodeport } from "./service-no-nodeport";
import { serviceSelectorMatchesWorkload } from "./service-selector-matches-workload";
import { serviceTargetPortResolves } from "./service-target-port-resolves";
import { workloadDisruptionBudget } from "./workload-disruption-budget";
import { workloadReplicasLeftToHpa } from "./workload-replicas-left-to-hpa";
import { workloadSelectedByNetworkPolicy } from "./workload-selected-by-network-policy";
import { workloadSelectorMatchesTemplate } from "./workload-selector-matches-template";

export {
    configmapNoLiteralCredentials,
    containerEnvNoLiteralCredentials,
    containerImageTagPinned,
    containerProbePortResolves,
    containerReadinessProbe,
    containerResourceRequestsLimits,
    containerRunsAsNonRoot,
    hpaTargetExists,
    httprouteBackendExists,
    httprouteParentGatewayExists,
    ingressBackendExists,
    ingressClassNameSet,
    ingressNginxNoSnippets,
    ingressTlsRequired,
    podNoHostAccess,
    replicatedWorkloadSpread,
    routeHostPathUnique,
    serviceClusterIpByDefault,
    serviceLoadbalancerSourceRanges,
    serviceNoExternalIps,
    serviceNoNodeport,
    serviceSelectorMatchesWorkload,
    serviceTargetPortResolves,
    workloadDisruptionBudget,
    workloadReplicasLeftToHpa,
    workloadSelectedByNetworkPolicy,
    workloadSelectorMatchesTemplate,
};

/** Name of the policy pack (as shown by `pulumi preview`). */
export const POLICY_PACK_NAME = "exchange-platform-policies";

/** Every policy of the pack: mandatory ones first, then advisory ones. */
export const policies: Policies = [
    serviceClusterIpByDefault,
    serviceSelectorMatchesWorkload,
    serviceTargetPortResolves,
    ingressBackendExists,
    httprouteBackendExists,
    httprouteParentGatewayExists,
    workloadSelectorMatchesTemplate,
    serviceNoNodeport,
    serviceNoExternalIps,
    routeHostPathUnique,
    ingressNginxNoSnippets,
    containerProbePortResolves,
    podNoHostAccess,
    hpaTargetExists,
    workloadReplicasLeftToHpa,
    containerReadinessProbe,
    containerResourceRequestsLimits,
    containerImageTagPinned,
    containerEnvNoLiteralCredentials,
    configmapNoLiteralCredentials,
    ingressTlsRequired,
    containerRunsAsNonRoot,
    serviceLoadbalancerSourceRanges,
    ingressClassNameSet,
    workloadSelectedByNetworkPolicy,
    workloadDisruptionBudget,
    replicatedWorkloadSpread,
];
