import * as assert from "node:assert/strict";
import { serviceLoadbalancerSourceRanges as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { deployment, exchangeService, mutate, patch, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const lb = (ranges?: unknown) =>
    mutate(exchangeService("router", "external"), (p) => {
        if (ranges === undefined) {
            delete p.spec.loadBalancerSourceRanges;
        } else {
            p.spec.loadBalancerSourceRanges = ranges;
        }
    });
const allow = (...entries: string[]) => ({
    "service-loadbalancer-source-ranges": { allowedOpenLoadBalancers: entries },
});
const ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

describe("service-loadbalancer-source-ranges", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-loadbalancer-source-ranges", "advisory", "loadBalancerSourceRanges");
        assert.deepEqual(policy.configSchema!.properties.allowedOpenLoadBalancers.default, []);
    });

    it("passes a LoadBalancer limited to some ranges, and Services of other types", async () => {
        assertClean(await runResourcePolicy(policy, lb(["203.0.113.0/24", "2001:db8::/32"])));
        assertClean(await runResourcePolicy(policy, service()));
        assertClean(await runResourcePolicy(policy, service({ spec: { type: "NodePort" } })));
    });

    it("flags a LoadBalancer without source ranges, or with ranges that admit every address", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, lb()),
            'Service "exchange-router-external" is a LoadBalancer that sets no spec.loadBalancerSourceRanges',
            "allowedOpenLoadBalancers",
        );
        assertOneViolation(await runResourcePolicy(policy, lb([])), "sets no spec.loadBalancerSourceRanges");
        assertOneViolation(
            await runResourcePolicy(policy, lb(["10.0.0.0/8", "0.0.0.0/0"])),
            "admits every address (loadBalancerSourceRanges 0.0.0.0/0)",
        );
        assertOneViolation(await runResourcePolicy(policy, lb([" ::/0"])), "::/0");
    });

    it("reads the cloud providers' source-ranges annotation when the field is empty", async () => {
        const annotated = (value: string) => mutate(lb(), (p) => (p.metadata.annotations = { [ANNOTATION]: value }));
        assertClean(await runResourcePolicy(policy, annotated("203.0.113.0/24, 198.51.100.0/24")));
        assertOneViolation(await runResourcePolicy(policy, annotated("0.0.0.0/0")), "0.0.0.0/0");
    });

    it("allows a LoadBalancer on allowedOpenLoadBalancers (name or namespace/name)", async () => {
        assertClean(await runResourcePolicy(policy, lb(), allow("exchange-router-external")));
        assertClean(await runResourcePolicy(policy, lb(["0.0.0.0/0"]), allow("default/exchange-router-external")));
        assertOneViolation(
            await runResourcePolicy(policy, lb(), allow("trading/exchange-router-external")),
            "LoadBalancer",
        );
    });

    it("does not take the logical name of a Service with generateName only for its name", async () => {
        const generated = mutate(lb(), (p) => {
            delete p.metadata.name;
            p.metadata.generateName = "edge-";
        });
        assertOneViolation(
            await runResourcePolicy(policy, generated, allow("exchange-router-external")),
            'Service "edge-<random suffix>"',
        );
        assertClean(await runResourcePolicy(policy, generated, allow("edge-x7k2p")));
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, deployment());
        assert.match(r.notApplicable ?? "", /Services/);
    });

    describe("ServicePatch", () => {
        const servicePatch = (spec: Record<string, unknown>) =>
            patch("ServicePatch", "router-lb", { metadata: { name: "exchange-router-service" }, spec });

        it("leaves the patched Service's ranges alone when the patch sets none", async () => {
            assertClean(await runResourcePolicy(policy, servicePatch({ type: "LoadBalancer" })));
        });

        it("flags a patch that makes a LoadBalancer open to every address", async () => {
            assertOneViolation(
                await runResourcePolicy(
                    policy,
                    servicePatch({ type: "LoadBalancer", loadBalancerSourceRanges: ["0.0.0.0/0"] }),
                ),
                'ServicePatch "exchange-router-service"',
            );
        });
    });

    describe("during preview", () => {
        it("reports nothing while the type, the ranges or the annotations are unknown", async () => {
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(lb(), (p) => (p.spec.type = unknown.string)),
                ),
            );
            assertClean(await runResourcePolicy(policy, lb(unknown.array)));
            assertClean(await runResourcePolicy(policy, lb([unknown.string])));
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(lb(), (p) => (p.metadata.annotations = unknown.object)),
                ),
            );
        });

        it("still flags an open range beside an unknown one", async () => {
            assertOneViolation(await runResourcePolicy(policy, lb([unknown.string, "0.0.0.0/0"])), "0.0.0.0/0");
        });

        it("reports nothing when an unknown name may be on the allowlist", async () => {
            const unnamed = mutate(lb(), (p) => (p.metadata.name = unknown.string));
            assertClean(await runResourcePolicy(policy, unnamed, allow("exchange-router-external")));
            assertOneViolation(await runResourcePolicy(policy, unnamed), "(name unknown during preview)");
        });
    });
});
