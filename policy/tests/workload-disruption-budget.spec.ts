import * as assert from "node:assert/strict";
import { workloadDisruptionBudget as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    deployment,
    exchangeStack,
    horizontalPodAutoscaler,
    mutate,
    onCluster,
    patch,
    podDisruptionBudget,
    statefulSet,
    workload,
} from "../testing/fixtures";
import { runStackPolicies, runStackPolicy, unknown } from "../testing/harness";

const replicated = (replicas: unknown = 3) => deployment({ spec: { replicas } });
const budget = (spec: Record<string, unknown>) => podDisruptionBudget("router", { spec });
/** The router's budget with only `field` = `value` (no maxUnavailable unless that is the field). */
const budgetWith = (field: "minAvailable" | "maxUnavailable", value: unknown) =>
    mutate(podDisruptionBudget(), (p) => {
        delete p.spec.maxUnavailable;
        p.spec[field] = value;
    });

describe("workload-disruption-budget", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "workload-disruption-budget", "advisory", "PodDisruptionBudget");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes the exchange platform (a maxUnavailable: 1 budget per replicated service)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a Deployment of 3 replicas that no budget selects, attached to the Deployment", async () => {
        const r = await runStackPolicy(policy, [replicated()]);
        assertOneViolation(
            r,
            'Deployment "exchange-router" runs 3 replicas, and no PodDisruptionBudget',
            "{app=exchange-router}",
            "maxUnavailable: 1",
        );
        assert.match(r.urns[0] ?? "", /Deployment::exchange-router$/);
    });

    it("is raised to mandatory by the pack's config, like any policy's level", async () => {
        const levels = async (config = {}) =>
            (await runStackPolicies([replicated()], config))
                .filter((v) => v.policyName === policy.name)
                .map((v) => v.enforcementLevel);
        assert.deepEqual(await levels(), ["advisory"]);
        assert.deepEqual(await levels({ [policy.name]: "mandatory" }), ["mandatory"]);
        assert.deepEqual(await levels({ [policy.name]: { enforcementLevel: "mandatory" } }), ["mandatory"]);
        assert.deepEqual(await levels({ [policy.name]: "disabled" }), []);
    });

    it("leaves single-replica workloads alone, and DaemonSets, Jobs and Pods", async () => {
        assertClean(await runStackPolicy(policy, [replicated(1)]));
        assertClean(await runStackPolicy(policy, [mutate(deployment(), (p) => delete p.spec.replicas)]));
        for (const kind of ["DaemonSet", "Job", "CronJob", "Pod"] as const) {
            assertClean(await runStackPolicy(policy, [workload(kind)]));
        }
    });

    it("counts a workload an HPA of the stack scales to more than one pod as replicated", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [replicated(1), horizontalPodAutoscaler()]),
            'is scaled up to 10 pods by HorizontalPodAutoscaler "exchange-router"',
        );
        const upToOne = mutate(horizontalPodAutoscaler(), (p) =>
            Object.assign(p.spec, { minReplicas: 1, maxReplicas: 1 }),
        );
        assertClean(await runStackPolicy(policy, [replicated(1), upToOne]));
    });

    it("checks StatefulSets and ReplicaSets", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [statefulSet({ spec: { replicas: 3 } })]),
            'StatefulSet "exchange-postgres" runs 3 replicas',
        );
        assertClean(
            await runStackPolicy(policy, [statefulSet({ spec: { replicas: 3 } }), podDisruptionBudget("postgres")]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [workload("ReplicaSet", "router", { spec: { replicas: 2 } })]),
            'ReplicaSet "exchange-router" runs 2 replicas',
        );
    });

    it("matches the budget's selector (matchLabels, matchExpressions) against the pods' labels", async () => {
        assertClean(await runStackPolicy(policy, [replicated(), podDisruptionBudget()]));
        assertOneViolation(
            await runStackPolicy(policy, [
                replicated(),
                budget({ selector: { matchLabels: { app: "exchange-routr" } } }),
            ]),
            "no PodDisruptionBudget",
        );
        const expr = { matchExpressions: [{ key: "app", operator: "In", values: ["exchange-router"] }] };
        assertClean(await runStackPolicy(policy, [replicated(), budget({ selector: expr })]));
    });

    it("takes an empty selector as every pod in policy/v1, as none in policy/v1beta1, and an absent one as none", async () => {
        const empty = mutate(podDisruptionBudget(), (p) => (p.spec.selector = {}));
        assertClean(await runStackPolicy(policy, [replicated(), empty]));
        const beta = { ...empty, type: "kubernetes:policy/v1beta1:PodDisruptionBudget" };
        assertOneViolation(await runStackPolicy(policy, [replicated(), beta]), "no PodDisruptionBudget");
        const absent = mutate(podDisruptionBudget(), (p) => delete p.spec.selector);
        assertOneViolation(await runStackPolicy(policy, [replicated(), absent]), "no PodDisruptionBudget");
    });

    it("needs the budget in the workload's namespace and on its cluster", async () => {
        const elsewhere = mutate(podDisruptionBudget(), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(await runStackPolicy(policy, [replicated(), elsewhere]), 'in namespace "default"');
        assertOneViolation(
            await runStackPolicy(policy, [replicated(), onCluster(podDisruptionBudget(), "eu-cluster")]),
            "on the same cluster",
        );
        assertClean(
            await runStackPolicy(policy, [
                onCluster(replicated(), "eu-cluster"),
                onCluster(podDisruptionBudget(), "eu-cluster"),
            ]),
        );
    });

    describe("a budget that allows no eviction", () => {
        it("flags minAvailable equal to the replicas, attached to the budget, also with one replica", async () => {
            const r = await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", 3)]);
            assertOneViolation(
                r,
                'PodDisruptionBudget "exchange-router" (minAvailable 3) allows no eviction of the pods of Deployment "exchange-router" at 3 replica(s) (spec.replicas)',
                "every node drain",
            );
            assert.match(r.urns[0] ?? "", /PodDisruptionBudget::exchange-router$/);
            assertOneViolation(
                await runStackPolicy(policy, [replicated(1), budgetWith("minAvailable", 1)]),
                "at 1 replica(s)",
            );
            assertClean(await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", 2)]));
        });

        it("scales percentages to the count, rounding up as the disruption controller does", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", "100%")]),
                'minAvailable "100%"',
            );
            // ceil(90% of 3) = 3: nothing may go.
            assertOneViolation(
                await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", "90%")]),
                'minAvailable "90%"',
            );
            assertClean(await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", "50%")]));
            // ceil(10% of 3) = 1: one may go.
            assertClean(await runStackPolicy(policy, [replicated(), budgetWith("maxUnavailable", "10%")]));
            assertOneViolation(
                await runStackPolicy(policy, [replicated(), budgetWith("maxUnavailable", "0%")]),
                'maxUnavailable "0%"',
            );
            assertOneViolation(
                await runStackPolicy(policy, [replicated(), budgetWith("maxUnavailable", 0)]),
                "maxUnavailable 0",
            );
        });

        it("judges an autoscaled workload at the HPA's minReplicas", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [replicated(5), horizontalPodAutoscaler(), budgetWith("minAvailable", 3)]),
                'at 3 replica(s) (the minReplicas of HorizontalPodAutoscaler "exchange-router")',
            );
            assertClean(
                await runStackPolicy(policy, [replicated(5), horizontalPodAutoscaler(), budgetWith("minAvailable", 2)]),
            );
        });

        it("flags two budgets that select the same pods (the eviction API refuses such pods)", async () => {
            const second = mutate(podDisruptionBudget(), (p) => (p.metadata.name = "exchange-router-extra"));
            const r = await runStackPolicy(policy, [replicated(), podDisruptionBudget(), { ...second, name: "extra" }]);
            assertOneViolation(
                r,
                'Deployment "exchange-router" runs pods that 2 PodDisruptionBudgets of this stack select',
                '"exchange-router-extra"',
                "refuses to evict",
            );
            assert.match(r.urns[0] ?? "", /Deployment::exchange-router$/);
        });

        it("does not judge a budget with neither field", async () => {
            const neither = mutate(podDisruptionBudget(), (p) => delete p.spec.maxUnavailable);
            assertClean(await runStackPolicy(policy, [replicated(), neither]));
        });
    });

    describe("patches", () => {
        it("sees the replicas a DeploymentPatch gives a Deployment of the stack", async () => {
            const p = patch("DeploymentPatch", "scale-up", {
                metadata: { name: "exchange-router" },
                spec: { replicas: 4 },
            });
            assertOneViolation(
                await runStackPolicy(policy, [replicated(1), p]),
                'as patched by "scale-up"',
                "4 replicas",
            );
        });

        it("does not flag a workload patch of a workload outside the stack", async () => {
            const p = patch("DeploymentPatch", "outside", { metadata: { name: "legacy" }, spec: { replicas: 4 } });
            assertClean(await runStackPolicy(policy, [p]));
        });

        it("takes a PodDisruptionBudgetPatch of a budget outside the stack that sets no selector as possibly selecting", async () => {
            const p = patch("PodDisruptionBudgetPatch", "loosen", {
                metadata: { name: "shared" },
                spec: { maxUnavailable: 2 },
            });
            assertClean(await runStackPolicy(policy, [replicated(), p]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while the replicas, the selector, a label, the namespace or the bounds are unknown", async () => {
            assertClean(await runStackPolicy(policy, [replicated(unknown.number)]));
            assertClean(
                await runStackPolicy(policy, [
                    replicated(),
                    budget({ selector: { matchLabels: { app: unknown.string } } }),
                ]),
            );
            assertClean(await runStackPolicy(policy, [replicated(), budget({ selector: unknown.object })]));
            assertClean(
                await runStackPolicy(policy, [
                    replicated(),
                    mutate(podDisruptionBudget(), (p) => (p.metadata.namespace = unknown.string)),
                ]),
            );
            assertClean(await runStackPolicy(policy, [replicated(), budgetWith("minAvailable", unknown.number)]));
            assertClean(
                await runStackPolicy(policy, [
                    replicated(1),
                    mutate(horizontalPodAutoscaler(), (p) => (p.spec.maxReplicas = unknown.number)),
                ]),
            );
        });

        it("still flags a workload of unknown labels when no budget is on its cluster", async () => {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [
                    mutate(replicated(), (p) => (p.spec.template.metadata.labels = unknown.object)),
                    onCluster(podDisruptionBudget(), "eu-cluster"),
                ]),
                "selects its pods (unknown during preview)",
            );
            assert.doesNotMatch(msg, /dd056dcd/);
        });
    });
});
