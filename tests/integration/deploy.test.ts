/**
 * End to end on the embedded local cluster: `pulumi up` of the dev stack with the policy pack,
 * then what an operator checks with kubectl, idempotence, every Service variant on and off,
 * forced replacement of fixed-name Services, image changes that keep the data, and destroy.
 * Nothing here connects to a pod or Service address: only the API server on 127.0.0.1.
 */
import * as assert from "assert";
import { PLATFORM_SERVICES, POSTGRES, ROUTER, WS_STREAM } from "@exchange/contract";
import { changeSummary, PulumiWorkspace, stackConfig, steps, withConfig } from "../support";
import { devStackForSuite } from "./dev-stack";
import { Kubectl } from "./kubectl";

describe("end to end on the local cluster", function () {
    this.timeout(20 * 60 * 1000);
    const dev = devStackForSuite();
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let policyConfig: string;

    before(() => {
        ({ workspace, kubectl } = dev);
        policyConfig = workspace.writePolicyConfig({
            "service-clusterip-by-default": {
                allowedLoadBalancers: ["exchange-router-service", "exchange-router-external"],
            },
        });
    });

    it("pulumi up of dev from empty succeeds with the policy pack", async () => {
        assert.deepStrictEqual(
            await kubectl.platformObjects(),
            [],
            "the namespace must start without platform objects",
        );
        const result = await workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
    });

    it("every workload (Deployment or StatefulSet) is ready and every Service has ready endpoints", async () => {
        for (const expected of PLATFORM_SERVICES) {
            assert.ok(await kubectl.workloadReady(expected), `${expected.appName} ready`);
            assert.ok(
                (await kubectl.readyEndpoints(expected.serviceName)) >= 1,
                `${expected.serviceName} has a ready endpoint`,
            );
        }
    });

    it("kubectl shows the contract's Services: names, 80 -> target ports, selectors, ClusterIP", async () => {
        for (const expected of PLATFORM_SERVICES) {
            const service = await kubectl.json(["get", "service", expected.serviceName]);
            assert.strictEqual(service.spec.type, "ClusterIP");
            assert.deepStrictEqual(service.spec.selector, { app: expected.appName });
            assert.strictEqual(service.spec.ports[0].port, 80);
            assert.strictEqual(service.spec.ports[0].targetPort, expected.containerPort);
            assert.strictEqual(service.spec.ports[0].protocol, "TCP");
            const pods = await kubectl.json(["get", "pods", "-l", `app=${expected.appName}`]);
            assert.strictEqual(pods.items.length, 1, `one pod behind ${expected.serviceName}`);
        }
    });

    it("kubectl shows the Ingress routes and the bound data claims", async () => {
        const backend = await kubectl.json(["get", "ingress", "exchange-backend"]);
        const backendPath = backend.spec.rules[0].http.paths[0];
        assert.strictEqual(backendPath.backend.service.name, "exchange-router-service");
        assert.strictEqual(backendPath.backend.service.port.number, 80);
        assert.ok(
            backend.status.loadBalancer.ingress.length > 0,
            "the ingress controller stand-in published an address",
        );
        const ws = await kubectl.json(["get", "ingress", "exchange-ws"]);
        assert.deepStrictEqual(ws.spec.rules[0].http.paths[0].backend.service, {
            name: "exchange-ws-stream-service",
            port: { number: 80 },
        });
        for (const claim of ["exchange-postgres-data", "exchange-redis-data"]) {
            assert.strictEqual((await kubectl.json(["get", "pvc", claim])).status.phase, "Bound");
        }
    });

    it("a second pulumi up changes nothing", async () => {
        const result = await workspace.up("dev", { expectNoChanges: true });
        assert.strictEqual(result.code, 0, result.output);
    });

    it("the variants apply together: LoadBalancer, external, ClientIP affinity, headless, metrics port", async () => {
        workspace.writeStackConfig(
            "dev",
            withConfig(stackConfig("dev"), {
                router: { serviceType: "LoadBalancer", external: true, metricsPort: 9090 },
                wsStream: { sessionAffinity: "ClientIP" },
                postgres: { headless: true },
            }),
        );
        const result = await workspace.up("dev", { policyPackConfigs: [policyConfig] });
        assert.strictEqual(result.code, 0, result.output);

        const router = await kubectl.json(["get", "service", ROUTER.serviceName]);
        assert.strictEqual(router.spec.type, "LoadBalancer");
        assert.ok(router.status.loadBalancer.ingress.length > 0, "the load balancer stand-in published an address");
        assert.deepStrictEqual(
            router.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]),
            [
                ["http", 80, 8080],
                ["metrics", 9090, 9090],
            ],
        );
        const external = await kubectl.json(["get", "service", "exchange-router-external"]);
        assert.strictEqual(external.spec.type, "LoadBalancer");
        assert.deepStrictEqual(external.spec.selector, { app: ROUTER.appName });
        const ws = await kubectl.json(["get", "service", WS_STREAM.serviceName]);
        assert.strictEqual(ws.spec.sessionAffinity, "ClientIP");
        assert.strictEqual(ws.spec.sessionAffinityConfig.clientIP.timeoutSeconds, 10800);
        const headless = await kubectl.json(["get", "service", "exchange-postgres-headless"]);
        assert.strictEqual(headless.spec.clusterIP, "None");
        assert.strictEqual(headless.spec.ports[0].port, 5432);
    });

    it("and switch back cleanly to the dev stack's Services", async () => {
        workspace.writeStackConfig("dev", stackConfig("dev"));
        const result = await workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
        const services = (await kubectl.platformObjects("services")).map((s) => s.replace("Service/", ""));
        assert.deepStrictEqual(services, PLATFORM_SERVICES.map((s) => s.serviceName).sort());
        const router = await kubectl.json(["get", "service", ROUTER.serviceName]);
        assert.strictEqual(router.spec.type, "ClusterIP");
        assert.deepStrictEqual(
            router.spec.ports.map((p: any) => p.name),
            ["http"],
        );
        assert.strictEqual(
            (await kubectl.json(["get", "service", WS_STREAM.serviceName])).spec.sessionAffinity,
            "None",
        );
        assert.strictEqual((await workspace.up("dev", { expectNoChanges: true })).code, 0, "converged");
    });

    it("a forced replacement of a fixed-name Service deletes it first and succeeds", async () => {
        const before = await kubectl.json(["get", "service", ROUTER.serviceName]);
        const urn: string | undefined = (await workspace.exportState("dev")).deployment.resources
            .map((r: { urn: string }) => r.urn)
            .find((candidate: string) => candidate.endsWith(`::${ROUTER.serviceName}`));
        assert.ok(urn, `URN of ${ROUTER.serviceName} in the state`);
        const result = await workspace.up("dev", { replace: [urn!] });
        assert.strictEqual(result.code, 0, result.output);
        assert.strictEqual(changeSummary(result).replace, 1, "one resource replaced");
        assert.deepStrictEqual(
            steps(result)
                .filter((step) => step.op === "replace")
                .map((step) => step.urn),
            [urn],
            "the replaced resource is the Service",
        );
        const after = await kubectl.json(["get", "service", ROUTER.serviceName]);
        assert.notStrictEqual(after.metadata.uid, before.metadata.uid, "a new object with the same name");
        assert.ok((await kubectl.readyEndpoints(ROUTER.serviceName)) >= 1);
    });

    it("an image change rolls the workloads and leaves the data claims untouched", async () => {
        const claimUids = async () =>
            Promise.all(
                ["exchange-postgres-data", "exchange-redis-data"].map(
                    async (claim) => (await kubectl.json(["get", "pvc", claim])).metadata.uid,
                ),
            );
        const before = await claimUids();
        workspace.writeStackConfig(
            "dev",
            withConfig(stackConfig("dev"), {
                postgres: { image: "postgres:16.7-alpine" },
                redis: { image: "redis:7.4.3-alpine" },
                router: { image: "exchange/router:1.0.1" },
            }),
        );
        const result = await workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
        assert.deepStrictEqual(await claimUids(), before);
        const postgres = await kubectl.json(["get", POSTGRES.workloadKind.toLowerCase(), POSTGRES.appName]);
        assert.strictEqual(postgres.spec.template.spec.containers[0].image, "postgres:16.7-alpine");
        assert.ok(await kubectl.workloadReady(POSTGRES));
    });

    it("pulumi destroy leaves none of the stack's objects behind", async () => {
        const result = await workspace.destroy("dev");
        assert.strictEqual(result.code, 0, result.output);
        assert.deepStrictEqual(await kubectl.platformObjects(), []);
    });
});
