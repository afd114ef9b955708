import * as assert from "node:assert/strict";
import { workloadSelectorMatchesTemplate as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { daemonSet, deployment, mutate, patch, service, statefulSet, workload } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const withSelector = (selector: unknown) => mutate(deployment(), (p) => (p.spec.selector = selector));

describe("workload-selector-matches-template", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "workload-selector-matches-template", "mandatory", "spec.selector");
    });

    it("passes matching Deployments, StatefulSets, DaemonSets and ReplicaSets", async () => {
        for (const r of [deployment(), statefulSet(), daemonSet(), workload("ReplicaSet")]) {
            assertClean(await runResourcePolicy(policy, r));
        }
    });

    it("flags a matchLabels value that differs from the template label", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, withSelector({ matchLabels: { app: "exchange-routr" } })),
            'Deployment "exchange-router" spec.selector does not match its own pod template labels {app=exchange-router}',
            'matchLabels "app=exchange-routr" differs from the template label "app=exchange-router"',
        );
    });

    it("flags a matchLabels key missing from the template", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, withSelector({ matchLabels: { app: "exchange-router", tier: "backend" } })),
            'matchLabels "tier=backend" is missing from the template labels',
        );
    });

    it("flags StatefulSets and DaemonSets too", async () => {
        const sts = mutate(statefulSet(), (p) => (p.spec.template.metadata.labels = { app: "postgres" }));
        assertOneViolation(await runResourcePolicy(policy, sts), 'StatefulSet "exchange-postgres"');
        const ds = mutate(daemonSet(), (p) => (p.spec.selector.matchLabels = { app: "x" }));
        assertOneViolation(await runResourcePolicy(policy, ds), 'DaemonSet "exchange-router"');
    });

    it("flags a missing or empty selector", async () => {
        assertOneViolation(await runResourcePolicy(policy, withSelector(undefined)), "has no spec.selector");
        assertOneViolation(
            await runResourcePolicy(policy, withSelector({})),
            "has no spec.selector",
            "{app=exchange-router}",
        );
    });

    it("evaluates matchExpressions", async () => {
        const ok = [
            { key: "app", operator: "In", values: ["exchange-router", "x"] },
            { key: "app", operator: "NotIn", values: ["x"] },
            { key: "app", operator: "Exists" },
            { key: "tier", operator: "DoesNotExist" },
        ];
        assertClean(
            await runResourcePolicy(
                policy,
                withSelector({ matchLabels: { app: "exchange-router" }, matchExpressions: ok }),
            ),
        );
        const cases: [unknown, string][] = [
            [{ key: "app", operator: "In", values: ["x"] }, 'requires label "app" to be one of [x]'],
            [{ key: "app", operator: "NotIn", values: ["exchange-router"] }, 'excludes "app=exchange-router"'],
            [{ key: "tier", operator: "Exists" }, 'requires label "tier"'],
            [{ key: "app", operator: "DoesNotExist" }, 'forbids label "app"'],
        ];
        for (const [expr, fragment] of cases) {
            assertOneViolation(await runResourcePolicy(policy, withSelector({ matchExpressions: [expr] })), fragment);
        }
    });

    it("is not applicable to Services, Pods or Jobs", async () => {
        for (const r of [service(), workload("Pod"), workload("Job")]) {
            const result = await runResourcePolicy(policy, r);
            assert.deepEqual(result.violations, []);
            assert.ok(result.notApplicable, `${r.type} should be not applicable`);
        }
    });

    describe("during preview", () => {
        it("reports nothing when the selector, a selector value or the template labels are unknown", async () => {
            assertClean(await runResourcePolicy(policy, withSelector(unknown.object)));
            assertClean(await runResourcePolicy(policy, withSelector({ matchLabels: { app: unknown.string } })));
            assertClean(await runResourcePolicy(policy, withSelector({ matchLabels: unknown.object })));
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(deployment(), (p) => (p.spec.template.metadata.labels = unknown.object)),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(deployment(), (p) => (p.spec.template = unknown.object)),
                ),
            );
        });

        it("still flags the known mismatches", async () => {
            const d = mutate(deployment(), (p) => {
                p.spec.selector.matchLabels = { app: "x", version: unknown.string };
            });
            assertOneViolation(await runResourcePolicy(policy, d), 'matchLabels "app=x"');
        });
    });

    describe("inherited JavaScript properties are not labels", () => {
        it("flags Exists on a key such as constructor that the template lacks", async () => {
            assertOneViolation(
                await runResourcePolicy(
                    policy,
                    withSelector({
                        matchLabels: { app: "exchange-router" },
                        matchExpressions: [{ key: "constructor", operator: "Exists" }],
                    }),
                ),
                'requires label "constructor", which the template lacks',
            );
        });

        it("passes DoesNotExist and NotIn on keys such as toString that the template lacks", async () => {
            const expressions = [
                { key: "toString", operator: "DoesNotExist" },
                { key: "valueOf", operator: "NotIn", values: ["x"] },
            ];
            assertClean(
                await runResourcePolicy(
                    policy,
                    withSelector({ matchLabels: { app: "exchange-router" }, matchExpressions: expressions }),
                ),
            );
        });

        it("says a matchLabels key such as hasOwnProperty is missing, not that it differs", async () => {
            assertOneViolation(
                await runResourcePolicy(
                    policy,
                    withSelector({ matchLabels: { app: "exchange-router", hasOwnProperty: "x" } }),
                ),
                'matchLabels "hasOwnProperty=x" is missing from the template labels',
            );
        });
    });

    describe("patches", () => {
        const deploymentPatch = (spec: Record<string, unknown>) =>
            patch("DeploymentPatch", "router-patch", { metadata: { name: "exchange-router" }, spec });

        it("leaves alone a patch that sets neither the selector nor the template labels, or only one of them", async () => {
            assertClean(await runResourcePolicy(policy, deploymentPatch({ replicas: 3 })));
            assertClean(
                await runResourcePolicy(
                    policy,
                    deploymentPatch({ template: { metadata: { labels: { track: "canary" } } } }),
                ),
            );
            assertClean(await runResourcePolicy(policy, deploymentPatch({ selector: { matchLabels: { app: "x" } } })));
        });

        it("flags a patch whose selector contradicts the template labels it sets, not labels it leaves alone", async () => {
            const both = (labels: Record<string, string>) =>
                deploymentPatch({
                    selector: { matchLabels: { app: "exchange-router", track: "stable" } },
                    template: { metadata: { labels } },
                });
            assertOneViolation(
                await runResourcePolicy(policy, both({ track: "canary" })),
                '"track=stable" differs from the template label "track=canary"',
            );
            assertClean(await runResourcePolicy(policy, both({ track: "stable" })));
        });
    });
});
