/**
 * End to end over real traffic: the dev stack, deployed with the real `pulumi` CLI and the policy
 * pack onto a local cluster with a real node, its images built here (images/build.sh). Requests
 * go from inside the node's network namespace or from a pod, never from the host's own network.
 * Here: pods Ready on the node, each Service reached by name from a pod that its NetworkPolicy
 * admits (network-policies.test.ts has the refusals), the connection strings used from the
 * router, data kept across a PostgreSQL pod's replacement, a rolling update that loses no
 * request. front-doors.test.ts has the prefix rewrite and the WebSocket upgrade through each front
 * door, variants.test.ts the production variants (affinity, headless, metrics port).
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { eventually, httpGet, localImagesConfig, nodeImages, PulumiWorkspace } from "../support";
import { PLATFORM_SERVICES, POSTGRES, REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import {
    asWorkloadClient,
    e2eKubectl,
    execInPod,
    httpLoop,
    INGRESS_CONTROLLER_NAMESPACE,
    readyPods,
    sleeperPod,
    startPod,
    startProbePod,
    e2eDevWorkspace,
    destroyDev,
} from "./cluster";

/** How each Service's port 80 is checked from inside a pod: the protocol its container speaks. */
const PORT_CHECKS: Record<string, (host: string) => string> = {
    [ROUTER.serviceName]: (host) =>
        `exec 3<>/dev/tcp/${host}/80 && printf 'GET /health HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' >&3 && head -n 1 <&3`,
    [WS_STREAM.serviceName]: (host) =>
        `exec 3<>/dev/tcp/${host}/80 && printf 'GET /ws HTTP/1.1\\r\\nHost: ${host}\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n' >&3 && head -n 1 <&3`,
    [POSTGRES.serviceName]: (host) => `pg_isready -h ${host} -p 80 -t 5`,
    [REDIS.serviceName]: (host) => `exec 3<>/dev/tcp/${host}/80 && printf 'PING\\r\\n' >&3 && head -n 1 <&3`,
};
/** A client with the router's labels, and one in the ingress controller's namespace. */
const ROUTER_CLIENT_POD = "exchange-e2e-router-client";
const INGRESS_CLIENT_POD = "exchange-e2e-ingress-client";
const PORT_ANSWERS: Record<string, RegExp> = {
    [ROUTER.serviceName]: /^HTTP\/1\.[01] 200/,
    [WS_STREAM.serviceName]: /^HTTP\/1\.1 101/,
    [POSTGRES.serviceName]: /accepting connections/,
    [REDIS.serviceName]: /^\+PONG/,
};

describe("end to end over real traffic: the dev stack on a real node", function () {
    this.timeout(20 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let images: Record<string, string>;
    let probe: string;
    /** Clients the NetworkPolicies let in, by Service: see the test that uses them. */
    let allowedClients: Record<string, { kubectl: Kubectl; pod: string }>;
    let ingressAddress: string;
    let routerAddress: string;

    before(async () => {
        kubectl = e2eKubectl();
        images = await nodeImages();
        workspace = await e2eDevWorkspace();
        workspace.writeStackConfig("dev", localImagesConfig(images, { router: { replicas: 2 } }));
        const upStarted = Date.now();
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        const upSeconds = (Date.now() - upStarted) / 1000;
        const ingress = await kubectl.json(["get", "ingress", "exchange-backend"]);
        ingressAddress = ingress.status.loadBalancer.ingress[0].ip;
        routerAddress = (await kubectl.json(["get", "service", ROUTER.serviceName])).spec.clusterIP;
        await eventually(
            "a first request through the ingress",
            60_000,
            async () => ((await httpGet(`http://${ingressAddress}/backend/health`)).status === 200 ? true : undefined),
            250,
        );
        console.log(
            `      pulumi up took ${upSeconds.toFixed(1)} s; first request served ${((Date.now() - upStarted) / 1000).toFixed(1)} s after it started`,
        );
        probe = await startProbePod(kubectl, images.postgres);
        // The e2e cluster enforces the program's NetworkPolicies: PostgreSQL and Redis answer only
        // the router's pods (Redis also ws-stream's), router and ws-stream only the ingress
        // controller's namespace. So each Service is checked from a probe that such a client
        // would be, on purpose: one with the router's labels, one in the controller's namespace.
        const ingressKubectl = e2eKubectl(INGRESS_CONTROLLER_NAMESPACE);
        const routerClient = {
            kubectl,
            pod: await startPod(
                kubectl,
                asWorkloadClient(sleeperPod(ROUTER_CLIENT_POD, "default", images.postgres), {
                    app: ROUTER.appName,
                }),
            ),
        };
        const ingressClient = {
            kubectl: ingressKubectl,
            pod: await startPod(
                ingressKubectl,
                sleeperPod(INGRESS_CLIENT_POD, INGRESS_CONTROLLER_NAMESPACE, images.postgres),
            ),
        };
        allowedClients = {
            [POSTGRES.serviceName]: routerClient,
            [REDIS.serviceName]: routerClient,
            [ROUTER.serviceName]: ingressClient,
            [WS_STREAM.serviceName]: ingressClient,
        };
    });

    after(async () => {
        // Leave the cluster as found even when a test failed half-way.
        await kubectl?.run(["delete", "pod", probe ?? "exchange-e2e-probe", "--ignore-not-found", "--wait=false"]);
        await kubectl?.run(["delete", "pod", ROUTER_CLIENT_POD, "--ignore-not-found", "--wait=false"]);
        await e2eKubectl(INGRESS_CONTROLLER_NAMESPACE).run([
            "delete",
            "pod",
            INGRESS_CLIENT_POD,
            "--ignore-not-found",
            "--wait=false",
        ]);
        if (workspace) {
            await destroyDev(workspace);
            workspace.remove();
        }
    });

    it("every pod runs on the real node and became Ready through its own readiness probe", async () => {
        for (const expected of PLATFORM_SERVICES) {
            // The platform's own pods: ROUTER_CLIENT_POD carries the router's app label too.
            const selector = `app=${expected.appName},app.kubernetes.io/part-of=exchange`;
            const pods = (await kubectl.json(["get", "pods", "-l", selector])).items;
            assert.ok(pods.length >= 1, `${expected.appName} has pods`);
            for (const pod of pods) {
                const node = await kubectl.json(["get", "node", pod.spec.nodeName]);
                assert.match(
                    node.status.nodeInfo.containerRuntimeVersion,
                    /^containerd:\/\//,
                    `${pod.metadata.name} runs under containerd`,
                );
                assert.ok(pod.spec.containers[0].readinessProbe, `${pod.metadata.name} has a readiness probe`);
                const status = pod.status.containerStatuses[0];
                assert.ok(status.state.running, `${pod.metadata.name} is running: ${JSON.stringify(status.state)}`);
                assert.strictEqual(status.ready, true, `${pod.metadata.name} is ready`);
                assert.ok((pod.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
            }
        }
    });

    it("from a pod the NetworkPolicies let in: each Service name resolves through CoreDNS and its port 80 reaches the container", async () => {
        for (const expected of PLATFORM_SERVICES) {
            const fqdn = `${expected.serviceName}.default.svc.cluster.local`;
            const clusterIp = (await kubectl.json(["get", "service", expected.serviceName])).spec.clusterIP;
            const client = allowedClients[expected.serviceName];
            // The suites before this one deployed and destroyed the same stack, so the name had
            // another address a minute ago; CoreDNS (cluster/addons/coredns.yaml: ttl 30, cache 30)
            // may answer that one for up to 30 s, as it would for any client after a Service is
            // re-created. So the name must come to the new address within that, not at once.
            await eventually(`${fqdn} resolves to the Service's address ${clusterIp}`, 45_000, async () => {
                const resolved = await execInPod(client.kubectl, client.pod, `getent hosts ${fqdn}`);
                assert.strictEqual(resolved.code, 0, `${fqdn} resolves:\n${resolved.output}`);
                const address = resolved.stdout.trim().split(/\s+/)[0];
                assert.strictEqual(address, clusterIp, `${fqdn} is the Service's address`);
                return address;
            });
            const answer = await execInPod(
                client.kubectl,
                client.pod,
                `timeout 10 bash -c "${PORT_CHECKS[expected.serviceName](fqdn).replace(/"/g, '\\"')}"`,
            );
            assert.strictEqual(answer.code, 0, `${fqdn}:80 answers:\n${answer.output}`);
            assert.match(
                answer.stdout.trim(),
                PORT_ANSWERS[expected.serviceName],
                `${fqdn}:80 speaks ${expected.portName}`,
            );
        }
    });

    it("a client pod gets each Service's <NAME>_SERVICE_HOST (its ClusterIP) and <NAME>_SERVICE_PORT (80), NAME the whole Service name", async () => {
        const printed = await execInPod(kubectl, probe, "env -0");
        assert.strictEqual(printed.code, 0, printed.output);
        const environment = new Map(
            printed.stdout
                .split("\0")
                .filter((entry) => entry.includes("="))
                .map((entry): [string, string] => [
                    entry.slice(0, entry.indexOf("=")),
                    entry.slice(entry.indexOf("=") + 1),
                ]),
        );
        for (const expected of PLATFORM_SERVICES) {
            // The probe pod started after the Services, in their namespace, with service links on
            // (the default). exchange-router-service -> EXCHANGE_ROUTER_SERVICE_SERVICE_HOST.
            const prefix = expected.serviceName.toUpperCase().replace(/-/g, "_");
            const clusterIp = (await kubectl.json(["get", "service", expected.serviceName])).spec.clusterIP;
            assert.strictEqual(environment.get(`${prefix}_SERVICE_HOST`), clusterIp, `${prefix}_SERVICE_HOST`);
            assert.strictEqual(environment.get(`${prefix}_SERVICE_PORT`), "80", `${prefix}_SERVICE_PORT`);
            // The named port's variable and the docker-link form that docs/platform-services.md lists.
            const named = `${prefix}_SERVICE_PORT_${expected.portName.toUpperCase().replace(/-/g, "_")}`;
            assert.strictEqual(environment.get(named), "80", named);
            assert.strictEqual(environment.get(`${prefix}_PORT`), `tcp://${clusterIp}:80`, `${prefix}_PORT`);
            assert.strictEqual(
                environment.get(`${prefix}_HOST`),
                undefined,
                `${prefix}_HOST: no Service has that name`,
            );
        }
    });

    it("from the router pod, DATABASE_URL (the contract's form, port 80) runs SELECT 1 and REDIS_URL answers PING", async () => {
        const secret = await kubectl.json(["get", "secret", "exchange-postgres-credentials"]);
        const databaseUrl = Buffer.from(secret.data.DATABASE_URL, "base64").toString();
        assert.match(
            databaseUrl,
            /^postgresql:\/\/exchange:[A-Za-z0-9]{32}@exchange-postgres-service:80\/exchange$/,
            "the contract's connection string",
        );
        const deps = await httpGet(`http://${routerAddress}/deps`);
        assert.strictEqual(deps.status, 200, deps.body);
        const report = JSON.parse(deps.body);
        assert.deepStrictEqual(
            report.postgres,
            { ok: true, result: "SELECT 1 = 1" },
            "PostgreSQL through DATABASE_URL",
        );
        assert.deepStrictEqual(report.redis, { ok: true, result: "PONG" }, "Redis through REDIS_URL");
        const routerPods = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name);
        assert.ok(routerPods.includes(report.pod), `checked from a router pod (${report.pod})`);
    });

    it("a row written to PostgreSQL survives its pod being deleted and re-created", async () => {
        const written = await httpGet(`http://${routerAddress}/rows`, ["--request", "POST"]);
        assert.strictEqual(written.status, 201, written.body);
        const rowId = JSON.parse(written.body).id as number;
        const stored = JSON.parse((await httpGet(`http://${routerAddress}/rows`)).body) as {
            count: number;
            lastId: number;
        };
        assert.strictEqual(stored.lastId, rowId);
        const [before] = await readyPods(kubectl, POSTGRES.appName);
        await kubectl.run(["delete", "pod", before.name, "--wait=true"]);
        // A StatefulSet's new pod has the old one's name (`<name>-0`): told apart by uid.
        const after = await eventually("a new PostgreSQL pod Ready", 180_000, async () => {
            const pods = await readyPods(kubectl, POSTGRES.appName);
            return pods.find((pod) => pod.uid !== before.uid);
        });
        assert.notStrictEqual(after.uid, before.uid);
        const readBack = await eventually("the rows read back through the router", 60_000, async () => {
            const answer = await httpGet(`http://${routerAddress}/rows`);
            return answer.status === 200 ? (JSON.parse(answer.body) as { count: number; lastId: number }) : undefined;
        });
        assert.deepStrictEqual(
            { count: readBack.count, lastId: readBack.lastId },
            { count: stored.count, lastId: stored.lastId },
        );
    });

    it("a rolling update of the 2 router replicas loses no request of a bounded loop", async () => {
        const before = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name).sort();
        assert.strictEqual(before.length, 2);
        // 60 s of requests, one every 100 ms, through the ingress as a user's would come: longer
        // than the update takes. Not /health: a router that has been told to stop answers it 503
        // on purpose (its readiness signal) while it still serves requests for a few seconds.
        const loop = httpLoop(`http://${ingressAddress}/backend/api/v1/orders`, 600, 100);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        // A changed CPU request changes the pod template: the Deployment rolls.
        workspace.writeStackConfig(
            "dev",
            localImagesConfig(images, {
                router: {
                    replicas: 2,
                    resources: { requests: { cpu: "110m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                },
            }),
        );
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        const result = await loop;
        const after = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name).sort();
        assert.strictEqual(after.length, 2);
        assert.ok(
            after.every((name) => !before.includes(name)),
            `both pods were replaced: ${before} -> ${after}`,
        );
        assert.deepStrictEqual(result.failures, [], `${result.failures.length} of ${result.total} requests failed`);
        assert.strictEqual(result.ok, result.total);
    });
});
