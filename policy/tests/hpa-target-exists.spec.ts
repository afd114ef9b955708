import * as assert from "node:assert/strict";
import { hpaTargetExists as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    deployment,
    exchangeStack,
    horizontalPodAutoscaler,
    mutate,
    onCluster,
    patch,
    statefulSet,
    workload,
} from "../testing/fixtures";
import { runStackPolicy, unknown } from "../testing/harness";

/** The router's HPA with its scaleTargetRef changed. */
const hpaTo = (ref: Record<string, unknown>) =>
    mutate(horizontalPodAutoscaler(), (p) => Object.assign(p.spec.scaleTargetRef, ref));

describe("hpa-target-exists", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "hpa-target-exists", "mandatory", "scaleTargetRef");
        assert.deepEqual(policy.configSchema!.properties.externalScaleTargets.default, []);
    });

    it("passes the exchange platform (router and ws-stream HPAs on their Deployments)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags an HPA whose target name is no workload of the stack, attached to the HPA", async () => {
        const r = await runStackPolicy(policy, [deployment(), hpaTo({ name: "exchange-routr" })]);
        assertOneViolation(
            r,
            'HorizontalPodAutoscaler "exchange-router" scales Deployment "exchange-routr"',
            'no Deployment of this stack in namespace "default" on the same cluster',
            "FailedGetScale",
        );
        assert.match(r.urns[0] ?? "", /HorizontalPodAutoscaler::exchange-router$/);
    });

    it("resolves the kind: a StatefulSet or ReplicaSet target, not a Deployment of that name", async () => {
        const sts = statefulSet({ metadata: { name: "exchange-router" } });
        assertClean(await runStackPolicy(policy, [sts, hpaTo({ kind: "StatefulSet" })]));
        assertClean(await runStackPolicy(policy, [workload("ReplicaSet"), hpaTo({ kind: "ReplicaSet" })]));
        assertOneViolation(
            await runStackPolicy(policy, [sts, horizontalPodAutoscaler()]),
            'scales Deployment "exchange-router"',
            'This stack has StatefulSet "exchange-router"',
        );
    });

    it("resolves the API group of apiVersion as the controller does (any version of apps; absent is the core group)", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), hpaTo({ apiVersion: "apps/v1beta2" })]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), hpaTo({ apiVersion: "v1" })]),
            'apiVersion "v1"',
            'is not of the API group "apps"',
        );
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), hpaTo({ apiVersion: undefined })]),
            "apiVersion (not set)",
        );
    });

    it("needs the target in the HPA's namespace (the provider's counts) and on its cluster", async () => {
        const elsewhere = mutate(deployment(), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(await runStackPolicy(policy, [elsewhere, horizontalPodAutoscaler()]), 'namespace "default"');
        const viaProvider = { ...horizontalPodAutoscaler(), provider: { props: { namespace: "trading" } } };
        assertClean(await runStackPolicy(policy, [elsewhere, viaProvider]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), onCluster(horizontalPodAutoscaler(), "eu-cluster")]),
            "on the same cluster",
        );
        assertClean(
            await runStackPolicy(policy, [
                onCluster(deployment(), "eu-cluster"),
                onCluster(horizontalPodAutoscaler(), "eu-cluster"),
            ]),
        );
    });

    it("takes workloads outside the stack from externalScaleTargets (name or namespace/name)", async () => {
        const legacy = hpaTo({ name: "legacy" });
        assertOneViolation(await runStackPolicy(policy, [legacy]), "externalScaleTargets");
        assertClean(await runStackPolicy(policy, [legacy], { [policy.name]: { externalScaleTargets: ["legacy"] } }));
        assertClean(
            await runStackPolicy(policy, [legacy], { [policy.name]: { externalScaleTargets: ["default/legacy"] } }),
        );
        assertOneViolation(
            await runStackPolicy(policy, [legacy], { [policy.name]: { externalScaleTargets: ["trading/legacy"] } }),
            '"legacy"',
        );
    });

    it("does not judge targets of other kinds (custom resources with a scale subresource)", async () => {
        assertClean(
            await runStackPolicy(policy, [hpaTo({ apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: "x" })]),
        );
    });

    describe("generateName", () => {
        const generated = () =>
            mutate(deployment(), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = "exchange-router-";
            });

        it("never matches a workload that has only generateName by its prefix or its logical name", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [generated(), horizontalPodAutoscaler()]),
                'scales Deployment "exchange-router"',
            );
        });

        it("possibly matches a name the API server may have generated from the prefix (its name output)", async () => {
            assertClean(await runStackPolicy(policy, [generated(), hpaTo({ name: "exchange-router-x7k2p" })]));
            assertOneViolation(
                await runStackPolicy(policy, [generated(), hpaTo({ name: "exchange-ws-x7k2p" })]),
                '"exchange-ws-x7k2p"',
            );
        });
    });

    describe("patches", () => {
        it("counts a workload patch as a workload that exists outside the stack", async () => {
            const p = patch("DeploymentPatch", "legacy-patch", { metadata: { name: "legacy" }, spec: { replicas: 2 } });
            assertClean(await runStackPolicy(policy, [p, hpaTo({ name: "legacy" })]));
        });

        it("checks the target an HPA patch sets, and leaves one that sets no target alone", async () => {
            const retarget = patch("HorizontalPodAutoscalerPatch", "retarget", {
                metadata: { name: "shared" },
                spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "exchange-routr" } },
            });
            assertOneViolation(
                await runStackPolicy(policy, [deployment(), retarget]),
                'HorizontalPodAutoscalerPatch "shared"',
            );
            const bounds = patch("HorizontalPodAutoscalerPatch", "bounds", {
                metadata: { name: "shared" },
                spec: { maxReplicas: 20 },
            });
            assertClean(await runStackPolicy(policy, [deployment(), bounds]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while the target's name, kind, apiVersion or the HPA's namespace are unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), hpaTo({ name: unknown.string })]));
            assertClean(await runStackPolicy(policy, [deployment(), hpaTo({ kind: unknown.string })]));
            assertClean(await runStackPolicy(policy, [deployment(), hpaTo({ apiVersion: unknown.string })]));
            assertClean(
                await runStackPolicy(policy, [
                    mutate(deployment(), (p) => (p.metadata.namespace = "trading")),
                    mutate(horizontalPodAutoscaler(), (p) => (p.metadata.namespace = unknown.string)),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    mutate(horizontalPodAutoscaler(), (p) => (p.spec = unknown.object)),
                ]),
            );
        });

        it("still flags an unknown name when the stack has no Deployment at all on the HPA's cluster", async () => {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [onCluster(deployment(), "eu-cluster"), hpaTo({ name: unknown.string })]),
                "Deployment (unknown during preview)",
            );
            assert.doesNotMatch(msg, /04da6b54/);
        });
    });
});
