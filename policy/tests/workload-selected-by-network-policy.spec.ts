import * as assert from "node:assert/strict";
import { workloadSelectedByNetworkPolicy as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    deployment,
    exchangeStack,
    mutate,
    networkPolicy,
    onCluster,
    patch,
    service,
    statefulSet,
    workload,
} from "../testing/fixtures";
import { runStackPolicy, unknown } from "../testing/harness";

const onlyFor = (matchLabels: Record<string, unknown>, matchExpressions?: unknown[]) =>
    networkPolicy("only", { matchLabels, ...(matchExpressions ? { matchExpressions } : {}) });

describe("workload-selected-by-network-policy", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "workload-selected-by-network-policy", "advisory", "NetworkPolicy");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes the exchange platform (a default-deny policy with an empty podSelector)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a workload when the stack has no NetworkPolicy, attached to the workload", async () => {
        const r = await runStackPolicy(policy, [deployment(), service()]);
        assertOneViolation(
            r,
            'Deployment "exchange-router" runs pods with labels {app=exchange-router} that no NetworkPolicy',
            'in namespace "default"',
        );
        assert.match(r.urns[0] ?? "", /Deployment::exchange-router$/);
    });

    it("matches podSelector.matchLabels against the pod template labels", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), onlyFor({ app: "exchange-router" })]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onlyFor({ app: "exchange-routr" })]),
            "exchange-router",
        );
    });

    it("evaluates matchExpressions (In, NotIn, Exists, DoesNotExist)", async () => {
        const expr = (operator: string, values?: string[]) => [{ key: "app", operator, ...(values ? { values } : {}) }];
        assertClean(await runStackPolicy(policy, [deployment(), onlyFor({}, expr("In", ["exchange-router", "x"]))]));
        assertClean(await runStackPolicy(policy, [deployment(), onlyFor({}, expr("NotIn", ["x"]))]));
        assertClean(await runStackPolicy(policy, [deployment(), onlyFor({}, expr("Exists"))]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onlyFor({}, expr("In", ["x"]))]),
            "no NetworkPolicy",
        );
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onlyFor({}, expr("NotIn", ["exchange-router"]))]),
            "no NetworkPolicy",
        );
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onlyFor({}, expr("DoesNotExist"))]),
            "no NetworkPolicy",
        );
    });

    it("counts labels the controller adds to the pods", async () => {
        const sts = statefulSet({ spec: { replicas: 3 } });
        assertClean(
            await runStackPolicy(policy, [
                sts,
                onlyFor({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-1" }),
            ]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [
                sts,
                onlyFor({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-7" }),
            ]),
            'StatefulSet "exchange-postgres"',
        );
    });

    it("checks every workload kind", async () => {
        for (const kind of ["StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"] as const) {
            assertOneViolation(await runStackPolicy(policy, [workload(kind)]), `${kind} "exchange-router"`);
            assertClean(await runStackPolicy(policy, [workload(kind), networkPolicy()]));
        }
    });

    it("needs the NetworkPolicy in the workload's namespace (the provider's namespace counts)", async () => {
        const elsewhere = mutate(networkPolicy(), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(await runStackPolicy(policy, [deployment(), elsewhere]), 'namespace "default"');
        const viaProvider = { ...networkPolicy(), provider: { props: { namespace: "trading" } } };
        const inTrading = mutate(deployment(), (p) => (p.metadata.namespace = "trading"));
        assertClean(await runStackPolicy(policy, [inTrading, viaProvider]));
    });

    it("needs the NetworkPolicy on the workload's cluster (provider)", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onCluster(networkPolicy(), "eu-cluster")]),
            "on the same cluster",
        );
        assertClean(
            await runStackPolicy(policy, [
                onCluster(deployment(), "eu-cluster"),
                onCluster(networkPolicy(), "eu-cluster"),
            ]),
        );
    });

    describe("patches", () => {
        it("sees labels a DeploymentPatch gives a Deployment of the stack", async () => {
            const p = patch("DeploymentPatch", "tier", {
                metadata: { name: "exchange-router" },
                spec: { template: { metadata: { labels: { tier: "edge" } } } },
            });
            assertClean(await runStackPolicy(policy, [deployment(), p, onlyFor({ tier: "edge" })]));
        });

        it("does not flag a workload patch of a workload outside the stack", async () => {
            const p = patch("DeploymentPatch", "outside", {
                metadata: { name: "legacy" },
                spec: { template: { spec: { containers: [{ name: "app", image: "legacy:1.0.0" }] } } },
            });
            assertClean(await runStackPolicy(policy, [p]));
        });

        it("takes a NetworkPolicyPatch of a policy outside the stack that sets no podSelector as possibly selecting", async () => {
            const p = patch("NetworkPolicyPatch", "widen", {
                metadata: { name: "shared-policy" },
                spec: { ingress: [{}] },
            });
            assertClean(await runStackPolicy(policy, [deployment(), p]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while the podSelector, a selector value, the labels or a namespace are unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), networkPolicy("np", unknown.object as any)]));
            assertClean(await runStackPolicy(policy, [deployment(), onlyFor({ app: unknown.string })]));
            assertClean(
                await runStackPolicy(policy, [
                    mutate(deployment(), (p) => (p.spec.template.metadata.labels = unknown.object)),
                    onlyFor({ app: "x" }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    mutate(networkPolicy(), (p) => (p.metadata.namespace = unknown.string)),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    onlyFor({}, [{ key: "app", operator: "In", values: unknown.array }]),
                ]),
            );
        });

        it("still flags a workload of unknown labels when no NetworkPolicy is on its cluster", async () => {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [
                    mutate(deployment(), (p) => (p.spec.template.metadata.labels = unknown.object)),
                    onCluster(networkPolicy(), "eu-cluster"),
                ]),
                "labels (unknown during preview)",
            );
            assert.doesNotMatch(msg, /04da6b54/);
        });
    });
});
