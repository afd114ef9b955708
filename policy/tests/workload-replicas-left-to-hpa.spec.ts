import * as assert from "node:assert/strict";
import { workloadReplicasLeftToHpa as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    deployment,
    exchangeStack,
    horizontalPodAutoscaler,
    mutate,
    onCluster,
    patch,
    statefulSet,
} from "../testing/fixtures";
import { TestResource, runStackPolicy, unknown } from "../testing/harness";

const ignoring = (r: TestResource, ...ignoreChanges: string[]): TestResource => ({ ...r, opts: { ignoreChanges } });
const scaled = (replicas: unknown = 3) => deployment({ spec: { replicas } });

describe("workload-replicas-left-to-hpa", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "workload-replicas-left-to-hpa", "mandatory", "ignoreChanges");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes the exchange platform (the autoscaled Deployments ignore changes to spec.replicas)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a Deployment that sets spec.replicas beside its HPA without ignoreChanges, attached to it", async () => {
        const r = await runStackPolicy(policy, [scaled(), horizontalPodAutoscaler()]);
        assertOneViolation(
            r,
            'Deployment "exchange-router" sets spec.replicas to 3 while HorizontalPodAutoscaler "exchange-router" scales it',
            "it has no ignoreChanges option",
            'ignoreChanges: ["spec.replicas"]',
        );
        assert.match(r.urns[0] ?? "", /Deployment::exchange-router$/);
    });

    it("accepts ignoreChanges on spec.replicas in any property-path spelling, or on a parent", async () => {
        for (const path of ["spec.replicas", 'spec["replicas"]', '["spec"].replicas', "spec", "spec.*", "*"]) {
            assertClean(await runStackPolicy(policy, [ignoring(scaled(), path), horizontalPodAutoscaler()]));
        }
        for (const path of ["spec.replica", "spec.template", "metadata", "spec.replicas.x", "spec..replicas"]) {
            assertOneViolation(
                await runStackPolicy(policy, [ignoring(scaled(), path), horizontalPodAutoscaler()]),
                `its ignoreChanges (${JSON.stringify(path)}) do not cover it`,
            );
        }
    });

    it("passes a Deployment that leaves spec.replicas out, and one no HPA scales", async () => {
        const noCount = mutate(deployment(), (p) => delete p.spec.replicas);
        assertClean(await runStackPolicy(policy, [noCount, horizontalPodAutoscaler()]));
        assertClean(await runStackPolicy(policy, [scaled()]));
        assertClean(await runStackPolicy(policy, [scaled(), horizontalPodAutoscaler("ws-stream")]));
    });

    it("checks StatefulSets too", async () => {
        const sts = statefulSet({ metadata: { name: "exchange-router" }, spec: { replicas: 3 } });
        const hpa = mutate(horizontalPodAutoscaler(), (p) => (p.spec.scaleTargetRef.kind = "StatefulSet"));
        assertOneViolation(
            await runStackPolicy(policy, [sts, hpa]),
            'StatefulSet "exchange-router" sets spec.replicas',
        );
        assertClean(await runStackPolicy(policy, [ignoring(sts, "spec.replicas"), hpa]));
    });

    it("needs the HPA on the workload's cluster", async () => {
        assertClean(await runStackPolicy(policy, [scaled(), onCluster(horizontalPodAutoscaler(), "eu-cluster")]));
        assertOneViolation(
            await runStackPolicy(policy, [
                onCluster(scaled(), "eu-cluster"),
                onCluster(horizontalPodAutoscaler(), "eu-cluster"),
            ]),
            "sets spec.replicas",
        );
    });

    describe("patches", () => {
        it("flags a DeploymentPatch that sets replicas on a workload an HPA of the stack scales", async () => {
            const p = patch("DeploymentPatch", "legacy-size", { metadata: { name: "legacy" }, spec: { replicas: 4 } });
            const hpa = mutate(horizontalPodAutoscaler(), (h) => (h.spec.scaleTargetRef.name = "legacy"));
            assertOneViolation(
                await runStackPolicy(policy, [p, hpa]),
                'DeploymentPatch "legacy" sets spec.replicas to 4',
            );
            assertClean(await runStackPolicy(policy, [ignoring(p, "spec.replicas"), hpa]));
        });

        it("judges a patch merged into a Deployment of the stack with the Deployment's options", async () => {
            const p = patch("DeploymentPatch", "resize", {
                metadata: { name: "exchange-router" },
                spec: { replicas: 5 },
            });
            const base = mutate(deployment(), (d) => delete d.spec.replicas);
            assertOneViolation(
                await runStackPolicy(policy, [base, p, horizontalPodAutoscaler()]),
                'Deployment "exchange-router" (as patched by "resize") sets spec.replicas to 5',
            );
            assertClean(await runStackPolicy(policy, [ignoring(base, "spec.replicas"), p, horizontalPodAutoscaler()]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while the spec or the HPA's target is unknown", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    mutate(scaled(), (p) => (p.spec = unknown.object)),
                    horizontalPodAutoscaler(),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    scaled(),
                    mutate(horizontalPodAutoscaler(), (p) => (p.spec.scaleTargetRef.name = unknown.string)),
                ]),
            );
        });

        it("still flags a count that is unknown but set, when the HPA surely scales the Deployment", async () => {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [scaled(unknown.number), horizontalPodAutoscaler()]),
                "sets spec.replicas to (unknown during preview)",
            );
            assert.doesNotMatch(msg, /3eeb2bf0/);
        });
    });
});
