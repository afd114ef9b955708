import * as assert from "node:assert/strict";
import { serviceNoExternalIps as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { deployment, exchangeService, patch, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

describe("service-no-external-ips", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-no-external-ips", "mandatory", "externalIPs");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes Services without externalIPs, or with an empty list", async () => {
        assertClean(await runResourcePolicy(policy, service()));
        assertClean(await runResourcePolicy(policy, exchangeService("router", "external")));
        assertClean(await runResourcePolicy(policy, service({ spec: { externalIPs: [] } })));
    });

    it("flags externalIPs on a Service of any type", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, service({ spec: { externalIPs: ["198.51.100.7"] } })),
            'Service "exchange-router-service" sets spec.externalIPs ["198.51.100.7"]',
            "CVE-2020-8554",
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                exchangeService("router", "external", { spec: { externalIPs: ["198.51.100.7"] } }),
            ),
            "externalIPs",
        );
    });

    it("flags a ServicePatch that sets externalIPs", async () => {
        const p = patch("ServicePatch", "hijack", {
            metadata: { name: "kube-dns", namespace: "kube-system" },
            spec: { externalIPs: ["8.8.8.8"] },
        });
        assertOneViolation(await runResourcePolicy(policy, p), 'ServicePatch "kube-dns" in namespace "kube-system"');
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, deployment());
        assert.match(r.notApplicable ?? "", /Services/);
    });

    describe("during preview", () => {
        it("reports nothing while the list or the spec is unknown", async () => {
            assertClean(await runResourcePolicy(policy, service({ spec: { externalIPs: unknown.array } })));
            assertClean(await runResourcePolicy(policy, service({ spec: unknown.object })));
        });

        it("flags a list whose addresses are unknown: any address is one too many", async () => {
            const msg = assertOneViolation(
                await runResourcePolicy(policy, service({ spec: { externalIPs: [unknown.string] } })),
                "(unknown during preview)",
            );
            assert.doesNotMatch(msg, /04da6b54/);
        });
    });
});
