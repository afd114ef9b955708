import * as assert from "node:assert/strict";
import { Secret } from "@pulumi/policy";
import { serviceClusterIpByDefault as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { deployment, exchangeService, mutate, patch, service } from "../testing/fixtures";
import { runPolicyPack, runRemediation, runResourcePolicy, secret, unknown } from "../testing/harness";

const lb = () =>
    exchangeService("router", "external", {
        spec: {
            externalTrafficPolicy: "Local",
            loadBalancerSourceRanges: ["10.0.0.0/8"],
            loadBalancerClass: "internal",
            allocateLoadBalancerNodePorts: true,
            healthCheckNodePort: 32001,
            ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 31080 }],
        },
    });
const nodePort = () => service({ metadata: { name: "exchange-router-nodeport" }, spec: { type: "NodePort" } });

describe("service-clusterip-by-default", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-clusterip-by-default", "mandatory", "ClusterIP");
        const props = policy.configSchema!.properties;
        assert.deepEqual(props.allowedLoadBalancers.default, []);
        assert.deepEqual(props.allowedNodePorts.default, []);
        assert.equal(typeof policy.remediateResource, "function");
    });

    it("passes a ClusterIP Service (type omitted, or explicit)", async () => {
        assertClean(await runResourcePolicy(policy, service()));
        assertClean(await runResourcePolicy(policy, service({ spec: { type: "ClusterIP" } })));
    });

    it("passes a headless Service and an ExternalName Service", async () => {
        assertClean(await runResourcePolicy(policy, exchangeService("router", "headless")));
        assertClean(
            await runResourcePolicy(policy, service({ spec: { type: "ExternalName", externalName: "db.internal" } })),
        );
    });

    it("flags a LoadBalancer Service that is not allowlisted", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, lb()),
            'Service "exchange-router-external" is of type LoadBalancer',
            "allowedLoadBalancers",
            "remove spec.type",
        );
    });

    it("flags a NodePort Service, pointing at allowedNodePorts", async () => {
        assertOneViolation(await runResourcePolicy(policy, nodePort()), "is of type NodePort", "allowedNodePorts");
    });

    it("names the namespace of a Service outside the default namespace", async () => {
        const svc = mutate(lb(), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(await runResourcePolicy(policy, svc), 'in namespace "trading"');
    });

    it("allows a LoadBalancer whose metadata.name is on allowedLoadBalancers", async () => {
        const config = { "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-external"] } };
        assertClean(await runResourcePolicy(policy, lb(), config));
    });

    it("matches the allowlist on metadata.name, not on the Pulumi logical name", async () => {
        const svc = { ...lb(), name: "logical-name" };
        const config = { "service-clusterip-by-default": { allowedLoadBalancers: ["logical-name"] } };
        assertOneViolation(await runResourcePolicy(policy, svc, config), "exchange-router-external");
    });

    it("supports namespace/name allowlist entries", async () => {
        const config = {
            "service-clusterip-by-default": { allowedLoadBalancers: ["trading/exchange-router-external"] },
        };
        const inTrading = mutate(lb(), (p) => (p.metadata.namespace = "trading"));
        assertClean(await runResourcePolicy(policy, inTrading, config));
        assertOneViolation(await runResourcePolicy(policy, lb(), config), "LoadBalancer");
    });

    it("does not let allowedLoadBalancers exempt a NodePort Service (and vice versa)", async () => {
        const np = nodePort();
        assertOneViolation(
            await runResourcePolicy(policy, np, {
                "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-nodeport"] },
            }),
            "NodePort",
        );
        assertClean(
            await runResourcePolicy(policy, np, {
                "service-clusterip-by-default": { allowedNodePorts: ["exchange-router-nodeport"] },
            }),
        );
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, deployment());
        assert.deepEqual(r.violations, []);
        assert.match(r.notApplicable ?? "", /Services/);
    });

    describe("during preview", () => {
        it("reports nothing when spec.type is unknown", async () => {
            assertClean(await runResourcePolicy(policy, service({ spec: { type: unknown.string } })));
        });

        it("reports nothing when the whole spec is unknown", async () => {
            assertClean(await runResourcePolicy(policy, service({ spec: unknown.object })));
        });

        const unnamed = () => mutate(lb(), (p) => (p.metadata.name = unknown.string));
        const allow = (...entries: string[]) => ({ "service-clusterip-by-default": { allowedLoadBalancers: entries } });

        it("flags a LoadBalancer whose name is unknown when the allowlist is empty (a violation for any name)", async () => {
            assertOneViolation(
                await runResourcePolicy(policy, unnamed()),
                "Service (name unknown during preview) is of type LoadBalancer",
            );
        });

        it("reports nothing for a LoadBalancer whose name is unknown when the allowlist could match it", async () => {
            assertClean(await runResourcePolicy(policy, unnamed(), allow("exchange-router-external")));
        });

        it("reports nothing when the namespace is unknown and a namespace/name entry has the name", async () => {
            const svc = mutate(lb(), (p) => (p.metadata.namespace = unknown.string));
            assertClean(await runResourcePolicy(policy, svc, allow("trading/exchange-router-external")));
            // Whatever the namespace, an entry for another name cannot match.
            assertOneViolation(await runResourcePolicy(policy, svc, allow("trading/other")), "LoadBalancer");
        });

        it("reports nothing when the provider's namespace is unknown and a namespace/name entry has the name", async () => {
            const svc = { ...lb(), provider: { props: { namespace: unknown.string } } };
            assertClean(await runResourcePolicy(policy, svc, allow("trading/exchange-router-external")));
        });

        it("still flags a known LoadBalancer whose other fields are unknown", async () => {
            const svc = mutate(lb(), (p) => {
                p.spec.ports = unknown.array;
                p.spec.selector = unknown.object;
            });
            assertOneViolation(await runResourcePolicy(policy, svc), "LoadBalancer");
        });
    });

    describe("generateName", () => {
        const generated = (prefix: string) =>
            mutate(lb(), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = prefix;
            });
        const allowLogicalName = {
            "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-external"] },
        };

        it("does not take the Pulumi logical name for the name of a Service with generateName only", async () => {
            // Logical name "exchange-router-external"; the API server names it "edge-<5 random characters>".
            assertOneViolation(
                await runResourcePolicy(policy, generated("edge-"), allowLogicalName),
                'Service "edge-<random suffix>" is of type LoadBalancer',
            );
        });

        it("does not take a logical name that merely starts with the prefix for the generated name", async () => {
            // "exchange-router-" plus 5 characters without vowels is never "exchange-router-external".
            assertOneViolation(
                await runResourcePolicy(policy, generated("exchange-router-"), allowLogicalName),
                "is of type LoadBalancer",
            );
        });

        it("reports nothing when an allowlist entry may be the generated name", async () => {
            const allowGenerated = { "service-clusterip-by-default": { allowedLoadBalancers: ["edge-x7k2p"] } };
            assertClean(await runResourcePolicy(policy, generated("edge-"), allowGenerated));
        });
    });

    describe("ServicePatch", () => {
        const servicePatch = (spec: Record<string, unknown>) =>
            patch("ServicePatch", "router-lb-patch", {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "exchange-router-service" },
                spec,
            });

        it("flags a ServicePatch that turns an existing Service into a LoadBalancer or a NodePort", async () => {
            assertOneViolation(
                await runResourcePolicy(policy, servicePatch({ type: "LoadBalancer" })),
                'ServicePatch "exchange-router-service" is of type LoadBalancer',
            );
            assertOneViolation(await runResourcePolicy(policy, servicePatch({ type: "NodePort" })), "NodePort");
        });

        it("passes a ServicePatch that sets other fields only, or ClusterIP, or an allowlisted name", async () => {
            assertClean(await runResourcePolicy(policy, servicePatch({ sessionAffinity: "None" })));
            assertClean(await runResourcePolicy(policy, servicePatch({ type: "ClusterIP" })));
            const config = { "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-service"] } };
            assertClean(await runResourcePolicy(policy, servicePatch({ type: "LoadBalancer" }), config));
        });

        it("remediates a ServicePatch like a Service", async () => {
            const r = await runRemediation(
                policy,
                servicePatch({ type: "LoadBalancer", externalTrafficPolicy: "Local" }),
            );
            assert.deepEqual(r.props?.spec, { type: "ClusterIP" });
        });
    });

    describe("remediation", () => {
        it("rewrites a LoadBalancer to ClusterIP and drops the fields only NodePort/LoadBalancer use", async () => {
            const r = await runRemediation(policy, lb());
            assert.ok(r.props, "expected remediated props");
            const spec = r.props!.spec;
            assert.equal(spec.type, "ClusterIP");
            for (const f of [
                "externalTrafficPolicy",
                "loadBalancerSourceRanges",
                "loadBalancerClass",
                "allocateLoadBalancerNodePorts",
                "healthCheckNodePort",
            ]) {
                assert.equal(f in spec, false, `${f} should be removed`);
            }
            assert.deepEqual(spec.ports, [{ name: "http", port: 80, targetPort: 8080 }]);
            assert.deepEqual(spec.selector, { app: "exchange-router" });
            assert.equal(spec.sessionAffinity, "ClientIP");
            assert.equal(r.props!.metadata.name, "exchange-router-external");
        });

        it("rewrites a NodePort Service", async () => {
            const r = await runRemediation(policy, nodePort());
            assert.equal(r.props?.spec.type, "ClusterIP");
        });

        it("leaves compliant and allowlisted Services alone", async () => {
            assert.equal((await runRemediation(policy, service())).props, undefined);
            const config = { "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-external"] } };
            assert.equal((await runRemediation(policy, lb(), config)).props, undefined);
        });

        it("keeps secret values secret", async () => {
            const svc = mutate(lb(), (p) => (p.metadata.annotations = { "exchange/owner-token": secret("s3cr3t") }));
            const r = await runRemediation(policy, svc);
            const annotation = r.props!.metadata.annotations["exchange/owner-token"];
            assert.ok(annotation instanceof Secret, "the annotation should still be a Secret");
            assert.equal((annotation as Secret).value, "s3cr3t");
            assert.equal(r.props!.spec.type, "ClusterIP");
        });

        it("remediates with unknown ports without tripping over them", async () => {
            const svc = mutate(lb(), (p) => (p.spec.ports = unknown.array));
            const r = await runRemediation(policy, svc);
            assert.equal(r.previewSkip, undefined);
            assert.equal(r.props!.spec.type, "ClusterIP");
            assert.equal(r.props!.spec.ports, unknown.array);
        });

        it("at level remediate, the pack run reports no violation for the rewritten Service", async () => {
            const config = { "service-clusterip-by-default": { enforcementLevel: "remediate" as const } };
            const violations = await runPolicyPack([deployment(), lb()], config);
            assert.deepEqual(
                violations.filter((v) => v.policyName === "service-clusterip-by-default"),
                [],
            );
            const mandatoryByDefault = await runPolicyPack([deployment(), lb()]);
            assert.equal(
                mandatoryByDefault.filter(
                    (v) => v.policyName === "service-clusterip-by-default" && v.enforcementLevel === "mandatory",
                ).length,
                1,
            );
        });
    });
});
