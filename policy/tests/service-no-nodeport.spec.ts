import * as assert from "node:assert/strict";
import { serviceNoNodeport as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { deployment, exchangeService, mutate, patch, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const nodePort = () => service({ metadata: { name: "exchange-router-nodeport" }, spec: { type: "NodePort" } });
const lbPinned = () => mutate(exchangeService("router", "external"), (p) => (p.spec.ports[0].nodePort = 31080));
const allow = (...entries: string[]) => ({ "service-no-nodeport": { allowedNodePorts: entries } });
const servicePatch = (spec: Record<string, unknown>) =>
    patch("ServicePatch", "router-patch", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "exchange-router-service" },
        spec,
    });

describe("service-no-nodeport", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-no-nodeport", "mandatory", "NodePort");
        assert.deepEqual(policy.configSchema!.properties.allowedNodePorts.default, []);
    });

    it("passes ClusterIP, headless and ExternalName Services, and a LoadBalancer that pins no node port", async () => {
        assertClean(await runResourcePolicy(policy, service()));
        assertClean(await runResourcePolicy(policy, exchangeService("router", "headless")));
        assertClean(
            await runResourcePolicy(policy, service({ spec: { type: "ExternalName", externalName: "db.internal" } })),
        );
        assertClean(await runResourcePolicy(policy, exchangeService("router", "external")));
    });

    it("flags a NodePort Service", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, nodePort()),
            'Service "exchange-router-nodeport" opens a port on every node',
            "spec.type is NodePort",
            "allowedNodePorts",
        );
    });

    it("flags a LoadBalancer that pins ports[].nodePort or healthCheckNodePort", async () => {
        assertOneViolation(await runResourcePolicy(policy, lbPinned()), "spec.ports[0].nodePort is 31080");
        const healthCheck = mutate(exchangeService("router", "external"), (p) => {
            p.spec.externalTrafficPolicy = "Local";
            p.spec.healthCheckNodePort = 32001;
        });
        assertOneViolation(await runResourcePolicy(policy, healthCheck), "spec.healthCheckNodePort is 32001");
    });

    it("allows a Service on allowedNodePorts (by name or namespace/name), not by its logical name", async () => {
        assertClean(await runResourcePolicy(policy, nodePort(), allow("exchange-router-nodeport")));
        assertClean(await runResourcePolicy(policy, lbPinned(), allow("default/exchange-router-external")));
        assertOneViolation(
            await runResourcePolicy(policy, lbPinned(), allow("trading/exchange-router-external")),
            "31080",
        );
        const renamed = { ...nodePort(), name: "logical-name" };
        assertOneViolation(await runResourcePolicy(policy, renamed, allow("logical-name")), "NodePort");
    });

    it("does not take the logical name of a Service with generateName only for its name", async () => {
        const generated = mutate(nodePort(), (p) => {
            delete p.metadata.name;
            p.metadata.generateName = "edge-";
        });
        assertOneViolation(
            await runResourcePolicy(
                policy,
                { ...generated, name: "exchange-router-nodeport" },
                allow("exchange-router-nodeport"),
            ),
            'Service "edge-<random suffix>"',
        );
        assertClean(await runResourcePolicy(policy, generated, allow("edge-x7k2p")));
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, deployment());
        assert.deepEqual(r.violations, []);
        assert.match(r.notApplicable ?? "", /Services/);
    });

    describe("ServicePatch", () => {
        it("flags a patch that makes a Service NodePort, or pins a node port while leaving the type alone", async () => {
            assertOneViolation(
                await runResourcePolicy(policy, servicePatch({ type: "NodePort" })),
                'ServicePatch "exchange-router-service"',
            );
            // The API server takes a node port only on a NodePort or LoadBalancer: the patched Service is one.
            assertOneViolation(
                await runResourcePolicy(policy, servicePatch({ ports: [{ port: 80, nodePort: 30080 }] })),
                "spec.ports[0].nodePort is 30080",
            );
        });

        it("passes a patch that sets other fields", async () => {
            assertClean(await runResourcePolicy(policy, servicePatch({ sessionAffinity: "None" })));
            assertClean(await runResourcePolicy(policy, servicePatch({ type: "ClusterIP", ports: [{ port: 80 }] })));
        });
    });

    describe("during preview", () => {
        it("reports nothing when the type, the ports, a nodePort or the spec are unknown", async () => {
            assertClean(await runResourcePolicy(policy, service({ spec: { type: unknown.string } })));
            assertClean(await runResourcePolicy(policy, service({ spec: unknown.object })));
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(lbPinned(), (p) => (p.spec.ports[0].nodePort = unknown.number)),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(lbPinned(), (p) => (p.spec.ports = unknown.array)),
                ),
            );
        });

        it("reports nothing when an unknown name may be on the allowlist", async () => {
            const unnamed = mutate(nodePort(), (p) => (p.metadata.name = unknown.string));
            assertClean(await runResourcePolicy(policy, unnamed, allow("exchange-router-nodeport")));
            assertOneViolation(await runResourcePolicy(policy, unnamed), "Service (name unknown during preview)");
        });

        it("flags a pinned node port whatever an unknown type turns out to be", async () => {
            const pinned = mutate(lbPinned(), (p) => (p.spec.type = unknown.string));
            assertOneViolation(await runResourcePolicy(policy, pinned), "spec.ports[0].nodePort is 31080");
        });
    });
});
