// The pack over realistic manifests written elsewhere (tests/real-world-manifests.ts): valid ones
// raise no mandatory violation, and the credential policies, which read free text, raise nothing.

import * as assert from "node:assert/strict";
import { REAL_WORLD_MANIFESTS, asResources } from "./real-world-manifests";
import { HarnessConfig, formatViolations, mandatory, runPolicyPack } from "../testing/harness";

const everything = () => Object.values(REAL_WORLD_MANIFESTS).flat();

/** The node exporter reads the node (hostPID, the host's root mounted): a node agent a team allowlists. */
const config: HarnessConfig = { "pod-no-host-access": { allowedWorkloads: ["monitoring/node-exporter"] } };

describe("real-world manifests", () => {
    for (const [name, manifests] of Object.entries(REAL_WORLD_MANIFESTS)) {
        it(`${name}: no mandatory violation, no credential finding (with the rest of the stack)`, async () => {
            const own = new Set(asResources(manifests).map((r) => r.name));
            const v = (await runPolicyPack(asResources(everything()), config)).filter(
                (x) => x.resourceName !== undefined && own.has(x.resourceName),
            );
            assert.deepEqual(mandatory(v), [], formatViolations(v));
            assert.deepEqual(
                v.filter((x) => /credentials/.test(x.policyName)),
                [],
                formatViolations(v),
            );
        });
    }

    it("the same stack on two clusters (default provider and an explicit one) raises no mandatory violation", async () => {
        const v = await runPolicyPack(
            [
                ...asResources(everything()),
                ...asResources(everything(), "dr-cluster").map((r) => ({ ...r, name: `dr-${r.name}` })),
            ],
            config,
        );
        assert.deepEqual(mandatory(v), [], formatViolations(v));
    });

    it("without its allowlist entry, the node agent's host access is a mandatory violation", async () => {
        const v = mandatory(await runPolicyPack(asResources(everything())));
        assert.deepEqual(
            v.map((x) => [x.policyName, x.resourceName]),
            [["pod-no-host-access", "monitoring-daemonset-node-exporter"]],
        );
        assert.match(v[0].message, /hostPID is true; .*hostPath volume of "\/"/);
    });

    it("raises no preview diagnostic and no violation-free run is vacuous: one broken reference is found", async () => {
        const broken = asResources(everything()).map((r) =>
            r.props.kind === "Service" && r.props.metadata.name === "dns"
                ? {
                      ...r,
                      props: {
                          ...r.props,
                          spec: {
                              ...r.props.spec,
                              ports: [{ name: "dns", port: 53, targetPort: "dns-tcp", protocol: "UDP" }],
                          },
                      },
                  }
                : r,
        );
        const v = mandatory(await runPolicyPack(broken, config));
        assert.deepEqual(
            v.map((x) => [x.policyName, x.resourceName]),
            [["service-target-port-resolves", "kube-system-service-dns"]],
        );
    });
});
