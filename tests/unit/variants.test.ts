/** Each Service variant of the config contract, switched on over the dev stack. */
import * as assert from "assert";
import { POSTGRES, REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import { nonEmpty } from "../assertions";
import { stackConfig, withConfig } from "../support";
import { named, ofType, runProgram, TYPES, workloadNamed } from "./harness";

const dev = stackConfig("dev");

async function devWith(overrides: Record<string, unknown>) {
    const run = await runProgram(withConfig(dev, overrides));
    assert.ifError(run.error);
    return run;
}

describe("variants", () => {
    const redisArgs = async (overrides: Record<string, unknown>) =>
        workloadNamed(await devWith(overrides), REDIS.appName).inputs.spec.template.spec.containers[0].args as string[];
    const option = (args: string[], name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

    it("Redis persists by default with an append-only file fsynced every second", async () => {
        const args = await redisArgs({});
        assert.strictEqual(option(args, "--appendonly"), "yes");
        assert.strictEqual(option(args, "--appendfsync"), "everysec");
        assert.strictEqual(option(args, "--dir"), "/data", "on the claim's mount");
    });

    it("redis.persistence: snapshots writes RDB snapshots only; none keeps nothing", async () => {
        const snapshots = await redisArgs({ redis: { persistence: "snapshots" } });
        assert.strictEqual(option(snapshots, "--appendonly"), "no");
        assert.strictEqual(option(snapshots, "--save"), "3600 1 300 100 60 10000");
        const none = await redisArgs({ redis: { persistence: "none" } });
        assert.strictEqual(option(none, "--appendonly"), "no");
        assert.strictEqual(option(none, "--save"), "", "no save points: nothing is written on a stop either");
    });

    for (const [key, platformService] of [
        ["router", ROUTER],
        ["wsStream", WS_STREAM],
        ["postgres", POSTGRES],
        ["redis", REDIS],
    ] as const) {
        it(`${key}.serviceType LoadBalancer switches ${platformService.serviceName} itself`, async () => {
            const run = await devWith({ [key]: { serviceType: "LoadBalancer" } });
            const service = named(run, TYPES.service, platformService.serviceName).inputs;
            assert.strictEqual(service.spec.type, "LoadBalancer");
            assert.deepStrictEqual(service.spec.selector, { app: platformService.appName });
            const others = ofType(run, TYPES.service).filter(
                (s) => s.inputs.metadata.name !== platformService.serviceName,
            );
            assert.ok(nonEmpty(others, "other Service").every((s) => s.inputs.spec.type === "ClusterIP"));
        });
    }

    it("router.external adds exchange-router-external, a LoadBalancer like the contract's example", async () => {
        const run = await devWith({ router: { external: true } });
        const external = named(run, TYPES.service, "exchange-router-external");
        assert.deepStrictEqual(external.inputs.spec, {
            type: "LoadBalancer",
            selector: { app: "exchange-router" },
            ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
        });
        assert.strictEqual(external.deleteBeforeReplace, true);
        assert.strictEqual(
            named(run, TYPES.service, ROUTER.serviceName).inputs.spec.type,
            "ClusterIP",
            "the main Service stays ClusterIP",
        );
        assert.strictEqual(
            (run.outputs.serviceDnsNames as Record<string, string>)["exchange-router-external"],
            "exchange-router-external.default.svc.cluster.local:80",
        );
    });

    it("an externally reachable router is opened to any source on its own port only", async () => {
        const run = await devWith({ router: { external: true } });
        const rules = named(run, TYPES.networkPolicy, "exchange-router-allow-ingress").inputs.spec.ingress;
        assert.ok(rules.some((rule: any) => rule.from === undefined && rule.ports[0].port === 8080));
        const closed = await devWith({});
        const closedRules = named(closed, TYPES.networkPolicy, "exchange-router-allow-ingress").inputs.spec.ingress;
        assert.ok(
            nonEmpty(closedRules, "ingress rule").every((rule: any) => rule.from !== undefined),
            "ClusterIP: no rule without a source",
        );
    });

    it("router.sessionAffinity ClientIP uses the default timeout of 10800 s", async () => {
        const run = await devWith({ router: { sessionAffinity: "ClientIP" } });
        const spec = named(run, TYPES.service, ROUTER.serviceName).inputs.spec;
        assert.strictEqual(spec.sessionAffinity, "ClientIP");
        assert.deepStrictEqual(spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
    });

    it("sessionAffinityTimeoutSeconds is applied as given", async () => {
        const run = await devWith({ wsStream: { sessionAffinity: "ClientIP", sessionAffinityTimeoutSeconds: 600 } });
        assert.deepStrictEqual(named(run, TYPES.service, WS_STREAM.serviceName).inputs.spec.sessionAffinityConfig, {
            clientIP: { timeoutSeconds: 600 },
        });
    });

    it("redis.metricsPort gives container and Service two named ports", async () => {
        const run = await devWith({ redis: { metricsPort: 9121 } });
        assert.deepStrictEqual(named(run, TYPES.service, REDIS.serviceName).inputs.spec.ports, [
            { name: "redis", port: 80, targetPort: 6379, protocol: "TCP" },
            { name: "metrics", port: 9121, targetPort: 9121, protocol: "TCP" },
        ]);
        const container = workloadNamed(run, REDIS.appName).inputs.spec.template.spec.containers[0];
        assert.deepStrictEqual(
            container.ports.map((p: any) => p.name),
            ["redis", "metrics"],
        );
        // The server learns the same number: nothing would listen on the port otherwise.
        assert.deepStrictEqual(
            container.env.filter((e: any) => e.name === "METRICS_PORT"),
            [{ name: "METRICS_PORT", value: "9121" }],
        );
    });

    it("no metricsPort, no METRICS_PORT", async () => {
        const run = await devWith({});
        const container = workloadNamed(run, REDIS.appName).inputs.spec.template.spec.containers[0];
        assert.ok(!(container.env ?? []).some((e: any) => e.name === "METRICS_PORT"));
    });

    it("postgres.headless adds exchange-postgres-headless; the main Service is unchanged", async () => {
        const run = await devWith({ postgres: { headless: true } });
        assert.strictEqual(named(run, TYPES.service, "exchange-postgres-headless").inputs.spec.clusterIP, "None");
        assert.strictEqual(named(run, TYPES.service, POSTGRES.serviceName).inputs.spec.clusterIP, undefined);
    });

    it("up waits for a LoadBalancer's address only: every other Service skips the provider's settle", async () => {
        const run = await devWith({
            router: { external: true, headless: true },
            redis: { serviceType: "LoadBalancer" },
        });
        const skipsAwait = (name: string) =>
            named(run, TYPES.service, name).inputs.metadata.annotations?.["pulumi.com/skipAwait"] === "true";
        const services = ofType(run, TYPES.service).map((s) => s.inputs.metadata.name as string);
        assert.deepStrictEqual(
            services.filter(skipsAwait).sort(),
            [ROUTER.serviceName, "exchange-router-headless", WS_STREAM.serviceName, POSTGRES.serviceName].sort(),
        );
        assert.deepStrictEqual(services.filter((name) => !skipsAwait(name)).sort(), [
            REDIS.serviceName,
            "exchange-router-external",
        ]);
    });

    it("up does not wait for a data claim to bind: its workload's await covers it", async () => {
        const run = await devWith({});
        const claims = nonEmpty(ofType(run, TYPES.claim), "PersistentVolumeClaim");
        assert.ok(claims.every((claim) => claim.inputs.metadata.annotations?.["pulumi.com/skipAwait"] === "true"));
    });

    it("router.headless names its Service after the router and uses port 8080", async () => {
        const run = await devWith({ router: { headless: true } });
        assert.deepStrictEqual(named(run, TYPES.service, "exchange-router-headless").inputs.spec.ports, [
            { name: "http", port: 8080, targetPort: 8080, protocol: "TCP" },
        ]);
    });

    it("a namespace other than default is created and used by every object and DNS name", async () => {
        const run = await devWith({ namespace: "trading" });
        assert.deepStrictEqual(
            ofType(run, TYPES.namespace).map((n) => n.inputs.metadata.name),
            ["trading"],
        );
        const namespaced = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== TYPES.namespace);
        assert.ok(namespaced.length > 10);
        assert.ok(namespaced.every((r) => r.inputs.metadata.namespace === "trading"));
        assert.strictEqual(
            (run.outputs.serviceDnsNames as Record<string, string>)["exchange-redis-service"],
            "exchange-redis-service.trading.svc.cluster.local:80",
        );
    });

    it("networkPolicy.enabled false registers no NetworkPolicy", async () => {
        const run = await devWith({ networkPolicy: { enabled: false } });
        assert.strictEqual(ofType(run, TYPES.networkPolicy).length, 0);
    });

    it("the ingress controller namespace is configurable", async () => {
        const run = await devWith({ networkPolicy: { ingressControllerNamespace: "traefik" } });
        const rules = named(run, TYPES.networkPolicy, "exchange-ws-stream-allow-ingress").inputs.spec.ingress;
        assert.deepStrictEqual(rules[0].from, [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } },
        ]);
    });

    it("image, replicas, resources and storage are taken from config", async () => {
        const run = await devWith({
            router: {
                image: "registry.local:5000/exchange/router:2.3.1",
                replicas: 4,
                resources: { limits: { memory: "2Gi" } },
            },
            postgres: { storage: { size: "20Gi", className: "fast-ssd" } },
        });
        const deployment = workloadNamed(run, ROUTER.appName).inputs.spec;
        assert.strictEqual(deployment.replicas, 4);
        assert.strictEqual(deployment.template.spec.containers[0].image, "registry.local:5000/exchange/router:2.3.1");
        assert.deepStrictEqual(deployment.template.spec.containers[0].resources, {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { cpu: "500m", memory: "2Gi" },
        });
        const claim = named(run, TYPES.claim, "exchange-postgres-data").inputs.spec;
        assert.strictEqual(claim.storageClassName, "fast-ssd");
        assert.strictEqual(claim.resources.requests.storage, "20Gi");
    });
});
