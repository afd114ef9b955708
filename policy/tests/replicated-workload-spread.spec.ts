import * as assert from "node:assert/strict";
import { replicatedWorkloadSpread as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    deployment,
    exchangeStack,
    horizontalPodAutoscaler,
    mutate,
    patch,
    statefulSet,
    topologySpread,
    workload,
} from "../testing/fixtures";
import { runStackPolicies, runStackPolicy, unknown } from "../testing/harness";

const OWN = { app: "exchange-router" };
/** The router's Deployment with 3 replicas and `podSpec` merged into its pod spec. */
const replicated = (podSpec: Record<string, unknown> = {}) =>
    deployment({ spec: { replicas: 3, template: { spec: podSpec } } });
/** A spread constraint; a null labelSelector leaves it out. */
const constraint = (topologyKey: string, labelSelector: unknown = { matchLabels: OWN }) => ({
    topologyKey,
    maxSkew: 1,
    whenUnsatisfiable: "ScheduleAnyway",
    ...(labelSelector === null ? {} : { labelSelector }),
});
const antiAffinityTerm = (extra: Record<string, unknown> = {}) => ({
    topologyKey: "kubernetes.io/hostname",
    labelSelector: { matchLabels: OWN },
    ...extra,
});

describe("replicated-workload-spread", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "replicated-workload-spread", "advisory", "topologySpreadConstraint");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes the exchange platform (spread over nodes and zones, per ReplicaSet)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a Deployment of 3 replicas with no spread, attached to the Deployment", async () => {
        const r = await runStackPolicy(policy, [replicated()]);
        assertOneViolation(
            r,
            'Deployment "exchange-router" runs 3 replicas, but no topologySpreadConstraint or podAntiAffinity term',
            "{app=exchange-router}",
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
    });

    it("accepts a spread constraint on hostname or zone that counts the workload's own pods", async () => {
        assertClean(await runStackPolicy(policy, [replicated({ topologySpreadConstraints: topologySpread(OWN) })]));
        for (const key of ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]) {
            assertClean(await runStackPolicy(policy, [replicated({ topologySpreadConstraints: [constraint(key)] })]));
        }
        const expr = { matchExpressions: [{ key: "app", operator: "In", values: ["exchange-router"] }] };
        assertClean(
            await runStackPolicy(policy, [
                replicated({ topologySpreadConstraints: [constraint("kubernetes.io/hostname", expr)] }),
            ]),
        );
    });

    it("flags constraints on another key, on other pods, or without a labelSelector", async () => {
        const flagged = async (c: unknown) =>
            assertOneViolation(
                await runStackPolicy(policy, [replicated({ topologySpreadConstraints: [c] })]),
                "runs 3",
            );
        await flagged(constraint("example.com/rack"));
        await flagged(constraint("kubernetes.io/hostname", { matchLabels: { app: "exchange-redis" } }));
        await flagged(constraint("kubernetes.io/hostname", null));
    });

    it("accepts a podAntiAffinity term (required or preferred) that counts its own pods in its namespace", async () => {
        const required = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [antiAffinityTerm()] } };
        assertClean(await runStackPolicy(policy, [replicated({ affinity: required })]));
        const preferred = {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: antiAffinityTerm() }],
            },
        };
        assertClean(await runStackPolicy(policy, [replicated({ affinity: preferred })]));
        const inNamespaces = (extra: Record<string, unknown>) =>
            replicated({
                affinity: {
                    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [antiAffinityTerm(extra)] },
                },
            });
        assertClean(await runStackPolicy(policy, [inNamespaces({ namespaces: ["default"] })]));
        assertClean(await runStackPolicy(policy, [inNamespaces({ namespaceSelector: {} })]));
        assertOneViolation(await runStackPolicy(policy, [inNamespaces({ namespaces: ["trading"] })]), "runs 3");
    });

    it("does not count pod affinity (which packs pods together) as spread", async () => {
        const affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [antiAffinityTerm()] } };
        assertOneViolation(await runStackPolicy(policy, [replicated({ affinity })]), "runs 3");
    });

    it("leaves single-replica workloads alone; counts HPA-scaled ones and StatefulSets", async () => {
        assertClean(await runStackPolicy(policy, [deployment()]));
        assertClean(await runStackPolicy(policy, [workload("DaemonSet")]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), horizontalPodAutoscaler()]),
            "is scaled up to 10 pods",
        );
        assertOneViolation(
            await runStackPolicy(policy, [statefulSet({ spec: { replicas: 3 } })]),
            'StatefulSet "exchange-postgres" runs 3 replicas',
        );
    });

    describe("patches", () => {
        it("sees a spread a DeploymentPatch gives a Deployment of the stack", async () => {
            const p = patch("DeploymentPatch", "spread", {
                metadata: { name: "exchange-router" },
                spec: { template: { spec: { topologySpreadConstraints: topologySpread(OWN) } } },
            });
            assertClean(await runStackPolicy(policy, [replicated(), p]));
        });

        it("does not flag a workload patch of a workload outside the stack", async () => {
            const p = patch("DeploymentPatch", "outside", { metadata: { name: "legacy" }, spec: { replicas: 4 } });
            assertClean(await runStackPolicy(policy, [p]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while the constraints, a key, a selector, the affinity or the pod spec are unknown", async () => {
            for (const podSpec of [
                { topologySpreadConstraints: unknown.array },
                { topologySpreadConstraints: [constraint(unknown.string)] },
                { topologySpreadConstraints: [constraint("kubernetes.io/hostname", unknown.object)] },
                {
                    topologySpreadConstraints: [
                        constraint("kubernetes.io/hostname", { matchLabels: { app: unknown.string } }),
                    ],
                },
                { affinity: unknown.object },
                { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: unknown.array } } },
            ]) {
                assertClean(await runStackPolicy(policy, [replicated(podSpec)]));
            }
            assertClean(
                await runStackPolicy(policy, [mutate(replicated(), (p) => (p.spec.template.spec = unknown.object))]),
            );
            assertClean(await runStackPolicy(policy, [deployment({ spec: { replicas: unknown.number } })]));
        });

        it("still flags a replicated workload of unknown labels with no constraint at all", async () => {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [
                    mutate(replicated(), (p) => (p.spec.template.metadata.labels = unknown.object)),
                ]),
                "counts its own pods (unknown during preview)",
            );
            assert.doesNotMatch(msg, /dd056dcd/);
        });
    });
});
