/** Replicated services under drains, node loss and load: spread, disruption budgets, autoscaling. */
import * as assert from "assert";
import { POSTGRES, REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import { ConfigError } from "../../config";
import { stackConfig, withConfig } from "../support";
import { named, ofType, ProgramRun, runProgram, TYPES, workloads, workloadNamed } from "./harness";

const dev = stackConfig("dev");

async function run(config: Record<string, string>, stack = "dev"): Promise<ProgramRun> {
    const result = await runProgram(config, stack);
    assert.ifError(result.error);
    return result;
}

async function refusal(overrides: Record<string, unknown>): Promise<string[]> {
    const result = await runProgram(withConfig(dev, overrides));
    assert.ok(result.error instanceof ConfigError, `expected a ConfigError, got ${result.error}`);
    assert.strictEqual(result.resources.length, 0, "nothing is registered");
    return result.error.problems;
}

const deploymentOf = (result: ProgramRun, appName: string) => workloadNamed(result, appName);

describe("availability: prod's replicated services", () => {
    let prod: ProgramRun;
    before(async () => {
        prod = await run(stackConfig("prod"), "prod");
    });

    for (const service of [ROUTER, WS_STREAM]) {
        it(`${service.appName}: a PodDisruptionBudget of one pod at a time, selecting exactly the Service's pods`, () => {
            const budget = named(prod, TYPES.disruptionBudget, service.appName);
            assert.deepStrictEqual(budget.inputs.spec, {
                maxUnavailable: 1,
                selector: { matchLabels: named(prod, TYPES.service, service.serviceName).inputs.spec.selector },
                unhealthyPodEvictionPolicy: "AlwaysAllow",
            });
            assert.strictEqual(budget.deleteBeforeReplace, true, "fixed name");
        });

        it(`${service.appName}: an HPA (3 to 10 pods, 70% CPU) owns replicas, which updates leave alone`, () => {
            const autoscaler = named(prod, TYPES.autoscaler, service.appName).inputs.spec;
            assert.deepStrictEqual(autoscaler.scaleTargetRef, {
                apiVersion: "apps/v1",
                kind: "Deployment",
                name: service.appName,
            });
            assert.strictEqual(autoscaler.minReplicas, 3);
            assert.strictEqual(autoscaler.maxReplicas, 10);
            assert.deepStrictEqual(autoscaler.metrics, [
                {
                    type: "Resource",
                    resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
                },
            ]);
            const deployment = deploymentOf(prod, service.appName);
            assert.strictEqual(deployment.inputs.spec.replicas, 3, "the count at creation");
            assert.deepStrictEqual(deployment.ignoreChanges, ["spec.replicas"]);
        });

        it(`${service.appName}: pods spread over nodes (required) and zones (preferred), per ReplicaSet`, () => {
            const pod = deploymentOf(prod, service.appName).inputs.spec.template.spec;
            const byKey = Object.fromEntries(
                pod.topologySpreadConstraints.map((c: any) => [c.topologyKey, c.whenUnsatisfiable]),
            );
            assert.deepStrictEqual(byKey, {
                "kubernetes.io/hostname": "DoNotSchedule",
                "topology.kubernetes.io/zone": "ScheduleAnyway",
            });
            for (const constraint of pod.topologySpreadConstraints) {
                assert.strictEqual(constraint.maxSkew, 1);
                assert.deepStrictEqual(constraint.labelSelector.matchLabels, { app: service.appName });
                assert.deepStrictEqual(constraint.matchLabelKeys, ["pod-template-hash"]);
                assert.strictEqual(constraint.nodeTaintsPolicy, "Honor", "a cordoned node never blocks a drain");
            }
            assert.strictEqual(pod.terminationGracePeriodSeconds, 30);
        });
    }

    for (const service of [POSTGRES, REDIS]) {
        it(`${service.appName}, a single writer: no budget, no autoscaler, no spread, replicas managed`, () => {
            assert.ok(!ofType(prod, TYPES.disruptionBudget).some((r) => r.inputs.metadata.name === service.appName));
            assert.ok(!ofType(prod, TYPES.autoscaler).some((r) => r.inputs.metadata.name === service.appName));
            const deployment = deploymentOf(prod, service.appName);
            assert.strictEqual(deployment.inputs.spec.template.spec.topologySpreadConstraints, undefined);
            assert.deepStrictEqual(deployment.ignoreChanges, []);
        });
    }
});

describe("availability: config", () => {
    it("dev (one replica each) has no budget, no autoscaler and no spread; the program manages replicas", async () => {
        const result = await run(dev);
        assert.deepStrictEqual(ofType(result, TYPES.disruptionBudget), []);
        assert.deepStrictEqual(ofType(result, TYPES.autoscaler), []);
        for (const deployment of workloads(result)) {
            assert.strictEqual(deployment.inputs.spec.template.spec.topologySpreadConstraints, undefined);
            assert.deepStrictEqual(deployment.ignoreChanges, []);
        }
    });

    it("more than one replica spreads by default; topologySpread: false turns it off", async () => {
        const spread = await run(withConfig(dev, { wsStream: { replicas: 3 } }));
        assert.strictEqual(
            deploymentOf(spread, WS_STREAM.appName).inputs.spec.template.spec.topologySpreadConstraints.length,
            2,
        );
        const unspread = await run(withConfig(dev, { wsStream: { replicas: 3, topologySpread: false } }));
        assert.strictEqual(
            deploymentOf(unspread, WS_STREAM.appName).inputs.spec.template.spec.topologySpreadConstraints,
            undefined,
        );
    });

    it("disruptionBudget.maxUnavailable is applied as given", async () => {
        const result = await run(
            withConfig(dev, { router: { replicas: 4, disruptionBudget: { enabled: true, maxUnavailable: 2 } } }),
        );
        assert.strictEqual(named(result, TYPES.disruptionBudget, ROUTER.appName).inputs.spec.maxUnavailable, 2);
    });

    it("refuses autoscaling bounds the wrong way round, naming the key", async () => {
        const problems = await refusal({ router: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 4 } } });
        assert.deepStrictEqual(problems, [
            "exchange:router.autoscaling.minReplicas: 5 is not allowed; must not exceed maxReplicas (4)",
        ]);
    });

    it("refuses a count at creation outside the autoscaling bounds", async () => {
        const problems = await refusal({ wsStream: { replicas: 1, autoscaling: { enabled: true, minReplicas: 2 } } });
        assert.strictEqual(problems.length, 1);
        assert.match(
            problems[0],
            /^exchange:wsStream\.replicas: 1 is not allowed; with autoscaling, .*minReplicas \(2\)/,
        );
    });

    it("refuses a budget of zero pods, which would block every drain", async () => {
        const problems = await refusal({ router: { disruptionBudget: { enabled: true, maxUnavailable: 0 } } });
        assert.deepStrictEqual(problems, [
            "exchange:router.disruptionBudget.maxUnavailable: 0 is not allowed; expected an integer from 1 to 100",
        ]);
    });

    it("the single writers have none of these keys", async () => {
        const problems = await refusal({ postgres: { autoscaling: { enabled: true } } });
        assert.match(problems[0], /^exchange:postgres\.autoscaling: unknown key/);
    });
});
