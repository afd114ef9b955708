/**
 * The policy pack against what the real program registers under mocks: the dev and prod stacks
 * raise no mandatory violation; a selector typo, an unlisted LoadBalancer and an autoscaled
 * Deployment whose replicas updates would take back do.
 */
import * as assert from "assert";
import * as pack from "exchange-platform-policy/testing";
import { stackConfig, withConfig } from "../support";
import { ProgramRun, runProgram, TYPES } from "./harness";

function asPolicyResources(run: ProgramRun) {
    return run.resources
        .filter((r) => r.type.startsWith("kubernetes:"))
        .map((r) => ({ type: r.type, name: r.name, props: r.inputs, opts: { ignoreChanges: r.ignoreChanges } }));
}

async function violationsOf(
    config: Record<string, string>,
    policyConfig = {},
    mutate = (_: ReturnType<typeof asPolicyResources>) => {},
) {
    const run = await runProgram(config);
    assert.ifError(run.error);
    const resources = asPolicyResources(run);
    mutate(resources);
    return pack.runPolicyPack(resources, policyConfig);
}

describe("the policy pack on the program's resources", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: no mandatory violation`, async () => {
            const violations = await violationsOf(stackConfig(stack));
            assert.deepStrictEqual(pack.mandatory(violations), [], pack.formatViolations(violations));
        });
    }

    it("prod: no advisory violation either", async () => {
        const violations = await violationsOf(stackConfig("prod"));
        assert.deepStrictEqual(violations, [], pack.formatViolations(violations));
    });

    it("dev: only the advisory TLS policy speaks, for the two Ingresses", async () => {
        const violations = await violationsOf(stackConfig("dev"));
        assert.deepStrictEqual(
            violations.map((v) => [v.policyName, v.enforcementLevel]),
            [
                ["ingress-tls-required", "advisory"],
                ["ingress-tls-required", "advisory"],
            ],
        );
    });

    it("prod: an autoscaled Deployment registered without ignoreChanges on spec.replicas is a mandatory violation", async () => {
        const violations = await violationsOf(stackConfig("prod"), {}, (resources) => {
            for (const r of resources.filter((r) => r.type === TYPES.deployment)) {
                r.opts = { ignoreChanges: [] };
            }
        });
        assert.deepStrictEqual(
            violations.map((v) => [v.policyName, v.enforcementLevel, v.resourceName]).sort(),
            [
                ["workload-replicas-left-to-hpa", "mandatory", "exchange-router"],
                ["workload-replicas-left-to-hpa", "mandatory", "exchange-ws-stream"],
            ],
            pack.formatViolations(violations),
        );
    });

    it("prod without its disruption budgets: the advisory budget policy names router and ws-stream", async () => {
        const violations = await violationsOf(stackConfig("prod"), {}, (resources) => {
            resources.splice(0, resources.length, ...resources.filter((r) => !r.type.endsWith(":PodDisruptionBudget")));
        });
        assert.deepStrictEqual(
            violations.map((v) => [v.policyName, v.enforcementLevel, v.resourceName]).sort(),
            [
                ["workload-disruption-budget", "advisory", "exchange-router"],
                ["workload-disruption-budget", "advisory", "exchange-ws-stream"],
            ],
            pack.formatViolations(violations),
        );
    });

    it("a selector typo is a mandatory violation naming the Service", async () => {
        const violations = await violationsOf(stackConfig("dev"), {}, (resources) => {
            const service = resources.find(
                (r) => r.type === TYPES.service && r.props.metadata.name === "exchange-redis-service",
            )!;
            service.props.spec.selector = { app: "exchange-rdis" };
        });
        const mandatory = pack.mandatory(violations);
        // Only the selector policy: with no workload selected there is no port to resolve against.
        assert.deepStrictEqual(
            mandatory.map((v) => v.policyName),
            ["service-selector-matches-workload"],
        );
        assert.match(mandatory[0].message, /exchange-redis-service/);
        assert.match(mandatory[0].message, /exchange-rdis/);
    });

    it("an unlisted LoadBalancer is a mandatory violation; the allowlist clears it", async () => {
        const config = withConfig(stackConfig("dev"), { router: { external: true } });
        const violations = pack.mandatory(await violationsOf(config));
        assert.deepStrictEqual(
            violations.map((v) => v.policyName),
            ["service-clusterip-by-default"],
        );
        assert.match(violations[0].message, /exchange-router-external/);
        const allowed = await violationsOf(config, {
            "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-external"] },
        });
        assert.deepStrictEqual(pack.mandatory(allowed), []);
    });

    it("Gateway API routes on a Gateway of the stack: no mandatory violation", async () => {
        const config = withConfig(stackConfig("dev"), { frontDoor: "gatewayApi", gateway: { create: true } });
        const violations = await violationsOf(config);
        assert.deepStrictEqual(pack.mandatory(violations), [], pack.formatViolations(violations));
    });

    it("prod through Gateway API with sticky WebSockets: the TraefikService passes; a typo in its Service is refused", async () => {
        const config = withConfig(stackConfig("prod"), { frontDoor: "gatewayApi", gateway: { create: true } });
        const violations = await violationsOf(config);
        assert.deepStrictEqual(pack.mandatory(violations), [], pack.formatViolations(violations));
        const typo = pack.mandatory(
            await violationsOf(config, {}, (resources) => {
                const sticky = resources.find((r) => r.type === TYPES.traefikService)!;
                sticky.props.spec.weighted.services[0].name = "exchange-ws-strem-service";
            }),
        );
        assert.deepStrictEqual(
            typo.map((v) => v.policyName),
            ["httproute-backend-exists"],
        );
        assert.match(typo[0].message, /TraefikService "exchange-ws-sticky".*"exchange-ws-strem-service"/);
    });

    it("Gateway API routes on a Gateway outside the stack: refused until the pack's config names it", async () => {
        const config = withConfig(stackConfig("dev"), {
            frontDoor: "gatewayApi",
            gateway: { name: "traefik", namespace: "traefik" },
        });
        const unlisted = pack.mandatory(await violationsOf(config));
        assert.deepStrictEqual(
            unlisted.map((v) => v.policyName),
            ["httproute-parent-gateway-exists", "httproute-parent-gateway-exists"],
        );
        const listed = await violationsOf(config, {
            "httproute-parent-gateway-exists": { externalGateways: ["traefik/traefik"] },
        });
        assert.deepStrictEqual(pack.mandatory(listed), [], pack.formatViolations(listed));
    });
});
