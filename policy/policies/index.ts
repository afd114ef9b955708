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
import { containerReadinessProbe } from "./container-readiness-probe";
import { containerResourceRequestsLimits } from "./container-resource-requests-limits";
import { containerRunsAsNonRoot } from "./container-runs-as-non-root";
import { httprouteBackendExists } from "./httproute-backend-exists";
import { httprouteParentGatewayExists } from "./httproute-parent-gateway-exists";
import { ingressBackendExists } from "./ingress-backend-exists";
import { ingressTlsRequired } from "./ingress-tls-required";
import { serviceClusterIpByDefault } from "./service-clusterip-by-default";
import { serviceSelectorMatchesWorkload } from "./service-selector-matches-workload";
import { serviceTargetPortResolves } from "./service-target-port-resolves";
import { workloadSelectorMatchesTemplate } from "./workload-selector-matches-template";

export {
    configmapNoLiteralCredentials,
    containerEnvNoLiteralCredentials,
    containerImageTagPinned,
    containerReadinessProbe,
    containerResourceRequestsLimits,
    containerRunsAsNonRoot,
    httprouteBackendExists,
    httprouteParentGatewayExists,
    ingressBackendExists,
    ingressTlsRequired,
    serviceClusterIpByDefault,
    serviceSelectorMatchesWorkload,
    serviceTargetPortResolves,
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
    containerReadinessProbe,
    containerResourceRequestsLimits,
    containerImageTagPinned,
    containerEnvNoLiteralCredentials,
    configmapNoLiteralCredentials,
    ingressTlsRequired,
    containerRunsAsNonRoot,
];
