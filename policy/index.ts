// Entry point of the policy pack. The Pulumi CLI runs its bundle, bin/bundle.js (package.json
// "main", built from the compiled bin/index.js by ../tools/bundle.js), when `--policy-pack policy` is given; constructing the PolicyPack starts the policy
// server. Policies live in ./policies; this is the only place a PolicyPack is created.

import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, policies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
    description:
        "Guardrails for the exchange platform's Kubernetes resources (Services, workloads, ConfigMaps, Ingress, Gateway API routes).",
    provider: "kubernetes",
    tags: ["kubernetes", "exchange-platform"],
    // Policies without their own level fall back to this; every policy of the pack sets its own.
    enforcementLevel: "advisory",
    policies,
});
