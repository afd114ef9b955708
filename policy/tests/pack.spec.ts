// The pack as a whole, and the public test API (runPolicyPack / runResourcePolicies / runStackPolicies)
// that the root project's tests use.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Policy, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN_SENTINELS } from "../lib/values";
import { readConfig } from "../lib/policy";
import { policies } from "../policies";
import { nonEmpty } from "./assertions";
import {
    deployment,
    exchangeService,
    exchangeStack,
    mutate,
    networkPolicy,
    service,
    statefulSet,
} from "../testing/fixtures";
import {
    HarnessConfig,
    TestResource,
    formatViolations,
    mandatory,
    policyConfig,
    runPolicyPack,
    runResourcePolicies,
    runResourcePolicy,
    runStackPolicies,
    unknown,
} from "../testing/harness";

const PACK_DIR = path.resolve(__dirname, "..", "..");

const kindOf = (p: Policy): "stack" | "resource" =>
    typeof (p as StackValidationPolicy).validateStack === "function" ? "stack" : "resource";

/** Every leaf value replaced by the engine's unknown sentinel of its type (a fully unknown preview). */
function allLeavesUnknown(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(allLeavesUnknown);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, allLeavesUnknown(x)]));
    }
    return typeof v === "number" ? unknown.number : typeof v === "boolean" ? unknown.boolean : unknown.string;
}

function platformWithVariants(): TestResource[] {
    return [
        ...exchangeStack(),
        ...(["router", "ws-stream", "postgres", "redis"] as const).flatMap((s) => [
            exchangeService(s, "headless"),
            exchangeService(s, "multiport"),
        ]),
        exchangeService("router", "external"),
    ];
}

const allowRouterLb: HarnessConfig = {
    "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-external"] },
};

describe("policy pack", () => {
    it("serves each policy from policies/<policy name>.ts, mandatory ones first, names unique", () => {
        for (const p of policies) {
            assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, p.name);
            assert.ok(fs.existsSync(path.join(PACK_DIR, "policies", `${p.name}.ts`)), `policies/${p.name}.ts`);

            assert.ok(
                Object.values(require(`../policies/${p.name}`)).includes(p),
                `policies/${p.name}.ts exports ${p.name}`,
            );
        }
        const levels = policies.map((p) => p.enforcementLevel);
        assert.deepEqual(
            levels,
            [...levels].sort((a, b) => (a === b ? 0 : a === "mandatory" ? -1 : 1)),
        );
        assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
        const files = fs.readdirSync(path.join(PACK_DIR, "policies")).filter((f) => f !== "index.ts");
        assert.deepEqual(files.sort(), policies.map((p) => `${p.name}.ts`).sort());
    });

    it("documents every policy with its kind and default level, and every config key, in README.md", () => {
        const readme = fs.readFileSync(path.join(PACK_DIR, "README.md"), "utf8");
        for (const p of nonEmpty(policies, "policy")) {
            assert.match(
                readme,
                new RegExp(`\\| \`${p.name}\` \\| ${kindOf(p)} \\| ${p.enforcementLevel} \\|`),
                `README row for ${p.name}`,
            );
            for (const key of Object.keys(p.configSchema?.properties ?? {})) {
                assert.ok(readme.includes(`\`${key}\``), `README should document ${p.name}'s config key ${key}`);
            }
        }
        assert.ok(readme.includes("policy.exchange.internal/external-workload"));
    });

    it("accepts the example config file (policy-config.example.json)", async () => {
        const config = JSON.parse(
            fs.readFileSync(path.join(PACK_DIR, "policy-config.example.json"), "utf8"),
        ) as HarnessConfig;
        for (const p of nonEmpty(policies, "policy")) {
            policyConfig(p, config); // throws on an unknown key or a wrongly typed value
        }
        assert.deepEqual(await runPolicyPack(platformWithVariants(), config), []);
    });

    it("uses the engine's own sentinels for unknown values", () => {
        const sdk = require("@pulumi/policy/proxy");
        assert.equal(UNKNOWN_SENTINELS.string, sdk.unknownStringValue);
        assert.equal(UNKNOWN_SENTINELS.number, sdk.unknownNumberValue);
        assert.equal(UNKNOWN_SENTINELS.boolean, sdk.unknownBooleanValue);
        assert.equal(UNKNOWN_SENTINELS.array, sdk.unknownArrayValue);
        assert.equal(UNKNOWN_SENTINELS.object, sdk.unknownObjectValue);
        assert.equal(UNKNOWN_SENTINELS.asset, sdk.unknownAssetValue);
        assert.equal(UNKNOWN_SENTINELS.archive, sdk.unknownArchiveValue);

        assert.equal(UNKNOWN_SENTINELS.string, require("@pulumi/pulumi/runtime/rpc").unknownValue);
    });

    describe("on the exchange platform", () => {
        it("raises no violation at all (mandatory or advisory) for the platform and its allowlisted variants", async () => {
            const v = await runPolicyPack(platformWithVariants(), allowRouterLb);
            assert.deepEqual(v, [], formatViolations(v));
        });

        it("raises exactly one mandatory violation for the unlisted LoadBalancer", async () => {
            const v = await runPolicyPack(platformWithVariants());
            assert.deepEqual(
                v.map((x) => [x.policyName, x.enforcementLevel, x.resourceName]),
                [["service-clusterip-by-default", "mandatory", "exchange-router-external"]],
            );
        });

        it("raises a mandatory violation for a selector typo, attributed to the Service", async () => {
            const resources = exchangeStack().map((r) =>
                r.name === "exchange-redis-service"
                    ? mutate(r, (p) => (p.spec.selector = { app: "exchange-rdis" }))
                    : r,
            );
            const v = mandatory(await runStackPolicies(resources));
            assert.deepEqual(
                v.map((x) => [x.policyName, x.resourceName, x.resourceType]),
                [["service-selector-matches-workload", "exchange-redis-service", "kubernetes:core/v1:Service"]],
            );
            assert.match(v[0].message, /\{app=exchange-rdis\}/);
        });

        it("raises nothing while every value of every resource is unknown (a first preview)", async () => {
            const resources = platformWithVariants().map((r) => ({
                ...r,
                props: allLeavesUnknown(r.props) as Record<string, unknown>,
            }));
            const v = await runPolicyPack(resources);
            assert.deepEqual(v, [], formatViolations(v));
        });

        it("raises nothing while the specs are unknown objects", async () => {
            const resources = platformWithVariants().map((r) => mutate(r, (p) => (p.spec = unknown.object)));
            const v = await runPolicyPack(resources);
            assert.deepEqual(v, [], formatViolations(v));
        });
    });

    describe("messages with unknown values anywhere", () => {
        /** Every `step`-th leaf (from `offset`) replaced by the engine's unknown of its type. */
        function someLeavesUnknown(resources: TestResource[], step: number, offset: number): TestResource[] {
            let n = 0;
            const walk = (v: unknown): unknown => {
                if (Array.isArray(v)) {
                    return v.map(walk);
                }
                if (v !== null && typeof v === "object") {
                    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
                }
                return n++ % step === offset ? allLeavesUnknown(v) : v;
            };
            return resources.map((r) => ({ ...r, props: walk(r.props) as Record<string, unknown> }));
        }

        it("never print an internal marker, a sentinel or an object, and never escape as a preview diagnostic", async () => {
            // Broken on purpose so that policies speak: a selector typo, a LoadBalancer, a wrong port, a missing backend.
            const broken = [
                ...platformWithVariants(),
                service({ metadata: { name: "typo" }, spec: { selector: { app: "exchange-routr" } } }),
                service({ metadata: { name: "wrong-port" }, spec: { ports: [{ port: 80, targetPort: 8081 }] } }),
                mutate(exchangeService("redis"), (p) => (p.spec.ports = unknown.array)),
            ];
            let messages = 0;
            let showingUnknown = 0;
            for (const step of [2, 3, 5, 7]) {
                for (let offset = 0; offset < step; offset++) {
                    const v = await runPolicyPack(someLeavesUnknown(broken, step, offset));
                    assert.deepEqual(
                        v.filter((x) => x.previewSkipped),
                        [],
                    );
                    for (const x of v) {
                        assert.doesNotMatch(
                            x.message,
                            /Symbol\(|\[object Object\]|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
                            x.message,
                        );
                        messages++;
                        showingUnknown += x.message.includes("(unknown during preview)") ? 1 : 0;
                    }
                }
            }
            assert.ok(
                messages > 10 && showingUnknown > 0,
                `expected messages, some naming unknown values: ${messages}, ${showingUnknown}`,
            );
        });
    });

    describe("harness", () => {
        it("reproduces the SDK's behaviour for a policy that reads an unknown value directly", async () => {
            const naive: ResourceValidationPolicy = {
                name: "naive",
                description: "reads props directly",
                validateResource: (args, report) => {
                    if (args.props.spec.type === "LoadBalancer") {
                        report("LoadBalancer");
                    }
                },
            };
            const r = await runResourcePolicy(naive, service({ spec: { type: unknown.string } }));
            assert.deepEqual(r.violations, []);
            assert.match(
                r.previewSkip ?? "",
                /can't run policy 'naive' .*during preview: string value at \.spec\.type can't be known during preview/,
            );
            const v = await runResourcePolicies([service({ spec: { type: unknown.string } })], {}, [naive]);
            assert.deepEqual(
                v.map((x) => [x.policyName, x.enforcementLevel, x.previewSkipped]),
                [["naive", "advisory", true]],
            );
        });

        it("resolves levels like the CLI: policy entry, then 'all', then the policy default", async () => {
            const noProbe = mutate(deployment(), (p) => delete p.spec.template.spec.containers[0].readinessProbe);
            const lb = exchangeService("router", "external");
            const levels = async (config: HarnessConfig) =>
                (await runResourcePolicies([noProbe, lb], config)).map((v) => [v.policyName, v.enforcementLevel]);
            assert.deepEqual(await levels({}), [
                ["container-readiness-probe", "advisory"],
                ["service-clusterip-by-default", "mandatory"],
            ]);
            assert.deepEqual(await levels({ "container-readiness-probe": "mandatory" }), [
                ["container-readiness-probe", "mandatory"],
                ["service-clusterip-by-default", "mandatory"],
            ]);
            assert.deepEqual(await levels({ all: "advisory" }), [
                ["container-readiness-probe", "advisory"],
                ["service-clusterip-by-default", "advisory"],
            ]);
            assert.deepEqual(
                await levels({ all: "disabled", "service-clusterip-by-default": { enforcementLevel: "mandatory" } }),
                [["service-clusterip-by-default", "mandatory"]],
            );
        });

        it("reports a stack policy set to remediate as mandatory (stack policies cannot remediate)", async () => {
            const typo = service({ spec: { selector: { app: "x" } } });
            const v = await runStackPolicies([deployment(), typo, networkPolicy()], {
                "service-selector-matches-workload": "remediate",
            });
            assert.deepEqual(
                v.map((x) => x.enforcementLevel),
                ["mandatory"],
            );
        });

        it("rejects config for unknown policies, unknown keys and wrongly typed values", async () => {
            await assert.rejects(runStackPolicies([], { "no-such-policy": "advisory" }), /not in the pack/);
            await assert.rejects(
                runStackPolicies([deployment(), service()], {
                    "service-selector-matches-workload": { externalWorkloads: [] },
                }),
                /unknown property "externalWorkloads"/,
            );
            await assert.rejects(
                runResourcePolicies([service()], {
                    "service-clusterip-by-default": { allowedLoadBalancers: "exchange-router-external" },
                }),
                /must be of type array/,
            );
        });

        it("every policy's config reader refuses keys the policy does not declare (the CLI lets them through)", () => {
            for (const p of nonEmpty(policies, "policy")) {
                const declared = Object.keys(p.configSchema?.properties ?? {});
                const args = (config: Record<string, unknown>) => ({ getConfig: <T extends object>() => config as T });
                assert.doesNotThrow(() =>
                    readConfig(args(Object.fromEntries(declared.map((k) => [k, []]))), p.name, p.configSchema),
                );
                assert.throws(
                    () => readConfig(args({ typoKey: 1 }), p.name, p.configSchema),
                    new RegExp(`"${p.name}": unknown key\\(s\\) "typoKey"`),
                );
            }
        });

        it("applies config schema defaults", () => {
            assert.deepEqual(policyConfig(policies[0]), { allowedLoadBalancers: [], allowedNodePorts: [] });
        });

        it("accepts StatefulSets and the provider's namespace", async () => {
            const sts = { ...statefulSet(), provider: { props: { namespace: "exchange" } } };
            const svc = { ...service({}, "postgres"), provider: { props: { namespace: "exchange" } } };
            const np = { ...networkPolicy(), provider: { props: { namespace: "exchange" } } };
            assert.deepEqual(await runPolicyPack([sts, svc, np]), []);
        });
    });
});
