/**
 * Several real nodes: the prod stack as written (./prod-stack.ts), disrupted as a platform team's
 * cluster is: a drain under load, a drain that a PodDisruptionBudget holds back, a CPU load that
 * its HPA answers, a node lost. Requests go from inside the nodes' network namespaces.
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { eventually, LOCAL_CLUSTER, nodeImages, PulumiWorkspace, runCommand, withConfig } from "../support";
import { headlessServiceName, POSTGRES, REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import {
    e2eKubeconfig,
    e2eKubectl,
    execInPod,
    heldWebSocketClients,
    httpLoop,
    INGRESS_CONTROLLER_NAMESPACE,
    onNode,
    readyPods,
    sleeperPod,
    startPod,
    startProbePod,
} from "../e2e/cluster";
import { ProdStack, prodStack } from "./prod-stack";

/** How long a WebSocket client may be without a connection after the server closed it. */
const RECONNECT_BOUND_MS = 5_000;
/** How long the front door may fail after a node is lost (see the node-loss test). */
const NODE_LOSS_BOUND_S = 120;
const WS_CLIENT_POD = "exchange-nodes-ws-client";

/**
 * A shell line that opens a WebSocket to ws-stream's Service and prints what comes back in 2 s:
 * the 101 answer, then the hello frame (a server's frames are not masked: its JSON is readable).
 */
function webSocketHello(address: string): string {
    const upgrade =
        `GET /ws HTTP/1.1\\r\\nHost: ${address}\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n`;
    return `exec 3<>/dev/tcp/${address}/80 && printf '${upgrade}' >&3 && timeout 2 cat <&3; true`;
}

/** A Kubernetes CPU quantity ("250m", "1", "12345n") in millicores. */
function cpuMillicores(quantity: string): number {
    const units: Record<string, number> = { n: 1e-6, u: 1e-3, m: 1, "": 1000 };
    const match = /^(\d+(?:\.\d+)?)([num]?)$/.exec(quantity);
    assert.ok(match, `a CPU quantity: ${quantity}`);
    return Number(match[1]) * units[match[2]];
}

function millicores(cpu: Map<string, number>): string {
    return [...cpu.values()].map((value) => `${value.toFixed(0)}m`).join(", ");
}

interface PodPlacement {
    name: string;
    node: string;
    zone: string;
}

describe("several real nodes: the prod stack as written, under drains and the loss of a node", function () {
    this.timeout(30 * 60 * 1000);
    let kubectl: Kubectl;
    let workspace: PulumiWorkspace;
    let host: string;
    let ingressAddress: string;
    let config: ProdStack["config"];
    let deployedConfig: ProdStack["deployedConfig"];
    let zones: ProdStack["zones"];
    let indexes: ProdStack["indexes"];

    async function placement(app: string): Promise<PodPlacement[]> {
        const ready = new Set((await readyPods(kubectl, app)).map((pod) => pod.name));
        const pods = (await kubectl.json(["get", "pods", "-l", `app=${app}`])).items;
        return pods
            .filter((pod: any) => ready.has(pod.metadata.name))
            .map((pod: any) => ({
                name: pod.metadata.name,
                node: pod.spec.nodeName,
                zone: zones.get(pod.spec.nodeName) ?? "?",
            }));
    }

    /** The router's and ws-stream's Ready pods. */
    async function statelessPlacement(): Promise<PodPlacement[]> {
        return [...(await placement(ROUTER.appName)), ...(await placement(WS_STREAM.appName))];
    }

    /** `kubectl drain NODE` with ARGS, bounded by its own --timeout; its result and seconds. */
    async function drain(node: string, timeoutSeconds: number, args: string[] = []) {
        const started = Date.now();
        const result = await runCommand(
            "kubectl",
            [
                "--kubeconfig",
                e2eKubeconfig(),
                "drain",
                node,
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                `--timeout=${timeoutSeconds}s`,
                ...args,
            ],
            { timeoutMs: (timeoutSeconds + 30) * 1000 },
        );
        return { result, seconds: (Date.now() - started) / 1000 };
    }

    /**
     * The nodes of the ingress controller's pod, never drained or lost here: the local cluster runs
     * one, so that would measure its outage, not the platform's.
     */
    async function frontDoorNodes(): Promise<Set<string>> {
        // Its own pods only: the namespace also holds the suites' clients (in the ingress
        // controller's namespace so that the NetworkPolicies admit them), maybe still terminating.
        const pods = (await e2eKubectl(INGRESS_CONTROLLER_NAMESPACE).json(["get", "pods", "-l", "app=traefik"])).items;
        return new Set(pods.map((pod: any) => pod.spec.nodeName));
    }

    /**
     * A node to disrupt: not node 1 (the API server's way in), no front door, a router or
     * ws-stream pod on it, preferably no data.
     */
    async function nodeToDisrupt(): Promise<string> {
        const avoid = await frontDoorNodes();
        const stateless = new Set((await statelessPlacement()).map((pod) => pod.node));
        const data = new Set(
            [...(await placement(POSTGRES.appName)), ...(await placement(REDIS.appName))].map((pod) => pod.node),
        );
        const candidates = [...indexes.keys()].filter(
            (node) => indexes.get(node)! > 1 && !avoid.has(node) && stateless.has(node),
        );
        assert.ok(
            candidates.length > 0,
            `a node other than node 1 with a router or ws-stream pod and without Traefik (${[...avoid]})`,
        );
        return candidates.find((node) => !data.has(node)) ?? candidates[0];
    }

    /** The router's CPU use per pod, in millicores, from the metrics API (through the API server). */
    async function routerCpu(): Promise<Map<string, number>> {
        const list = JSON.parse(
            await kubectl.run([
                "get",
                "--raw",
                `/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3D${ROUTER.appName}`,
            ]),
        );
        return new Map(
            list.items.map((pod: any) => [
                pod.metadata.name,
                pod.containers.reduce((sum: number, container: any) => sum + cpuMillicores(container.usage.cpu), 0),
            ]),
        );
    }

    /** What the router's HPA last decided, and the CPU use (% of the request) it decided on. */
    async function routerHpa() {
        const { status } = await kubectl.json(["get", "hpa", ROUTER.appName]);
        const cpu = (status.currentMetrics ?? []).find((metric: any) => metric.resource?.name === "cpu");
        return {
            currentReplicas: status.currentReplicas as number,
            desiredReplicas: status.desiredReplicas as number,
            utilization: (cpu?.resource.current.averageUtilization ?? NaN) as number,
        };
    }

    function describeHpa(hpa: Awaited<ReturnType<typeof routerHpa>>): string {
        return `CPU ${hpa.utilization}% of the request, ${hpa.currentReplicas} pods, HPA wants ${hpa.desiredReplicas}`;
    }

    function frontDoorLoop(count: number, intervalMs: number) {
        // Not /health: a router told to stop answers it 503 on purpose while it still serves.
        return httpLoop(`https://${ingressAddress}/backend/api/v1/orders`, count, intervalMs, 5_000, host);
    }

    before(async () => {
        ({ kubectl, workspace, host, ingressAddress, zones, indexes, config, deployedConfig } = await prodStack());
    });

    it("every pod Ready; 3 router and 3 ws-stream pods, one per node and one per zone", async () => {
        for (const app of [ROUTER.appName, WS_STREAM.appName]) {
            const pods = await eventually(`3 ready ${app} pods`, 120_000, async () => {
                const ready = await placement(app);
                return ready.length === 3 ? ready : undefined;
            });
            console.log(`      ${app}: ${pods.map((pod) => `${pod.name} on ${pod.node} (${pod.zone})`).join(", ")}`);
            assert.strictEqual(new Set(pods.map((pod) => pod.node)).size, 3, `${app} on 3 nodes`);
            assert.strictEqual(new Set(pods.map((pod) => pod.zone)).size, 3, `${app} in 3 zones`);
        }
        for (const app of [POSTGRES.appName, REDIS.appName]) {
            const [pod] = await placement(app);
            assert.ok(pod, `${app} is Ready`);
            console.log(`      ${app}: ${pod.name} on ${pod.node} (${pod.zone})`);
        }
    });

    it("from every node's namespace the front door answers HTTPS for the stack's host, and redirects HTTP there", async () => {
        for (const index of [...indexes.values()].sort()) {
            // The certificate is the controller's own until cert-manager issues the stack's
            // (exchange-tls): not verified here.
            const answer = await onNode(index, [
                "curl",
                "--silent",
                "--insecure",
                "--max-time",
                "10",
                "--resolve",
                `${host}:443:${ingressAddress}`,
                `https://${host}/backend/api/v1/orders`,
            ]);
            assert.strictEqual(answer.code, 0, answer.output);
            const echoed = JSON.parse(answer.stdout) as { pod: string; host: string };
            const redirect = await onNode(index, [
                "curl",
                "--silent",
                "--max-time",
                "10",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code} %{redirect_url}",
                "--resolve",
                `${host}:80:${ingressAddress}`,
                `http://${host}/backend/api/v1/orders`,
            ]);
            console.log(`      node ${index}: HTTPS answered by ${echoed.pod}; HTTP: ${redirect.stdout}`);
            assert.strictEqual(echoed.host, host);
            assert.strictEqual(redirect.stdout, `308 https://${host}/backend/api/v1/orders`);
        }
    });

    it("ws-stream keeps one client on one pod (ClientIP), the headless name gives the PostgreSQL pod, metrics answer on each router pod, Redis asks for its password", async () => {
        // Each from a client the NetworkPolicies admit: ws-stream from the ingress controller's
        // namespace; the metrics ports and Redis from their own node's namespace, whose root
        // processes the enforcer lets through (the kubelet's probes are such), as it does not
        // another node's: that is traffic from outside the platform's pods.
        const image = (await nodeImages()).postgres;
        const ingressKubectl = e2eKubectl(INGRESS_CONTROLLER_NAMESPACE);
        const wsClient = await startPod(ingressKubectl, sleeperPod(WS_CLIENT_POD, INGRESS_CONTROLLER_NAMESPACE, image));
        const probe = await startProbePod(kubectl, image, 300);
        try {
            const wsService = (await kubectl.json(["get", "service", WS_STREAM.serviceName])).spec.clusterIP;
            const pods: string[] = [];
            for (let i = 0; i < 6; i++) {
                const hello = await execInPod(ingressKubectl, wsClient, webSocketHello(wsService));
                pods.push(/"pod":"([^"]+)"/.exec(hello.stdout)?.[1] ?? `none: ${hello.output}`);
            }
            console.log(`      6 WebSocket connections from one client: ${[...new Set(pods)].join(", ")}`);
            assert.strictEqual(new Set(pods).size, 1, `6 connections, one pod: ${pods}`);

            const [postgres] = await readyPods(kubectl, POSTGRES.appName);
            const resolved = await execInPod(
                kubectl,
                probe,
                `getent hosts ${headlessServiceName(POSTGRES)}.default.svc.cluster.local`,
            );
            assert.strictEqual(resolved.code, 0, resolved.output);
            assert.strictEqual(resolved.stdout.trim().split(/\s+/)[0], postgres.ip, "the headless name is the pod");
        } finally {
            await kubectl.run(["delete", "pod", probe, "--ignore-not-found", "--wait=false"]);
            await ingressKubectl.run(["delete", "pod", WS_CLIENT_POD, "--ignore-not-found", "--wait=false"]);
        }

        for (const pod of await readyPods(kubectl, ROUTER.appName)) {
            const node = (await kubectl.json(["get", "pod", pod.name])).spec.nodeName;
            const metrics = await onNode(indexes.get(node)!, [
                "curl",
                "--silent",
                "--max-time",
                "10",
                `http://${pod.ip}:9090/metrics`,
            ]);
            assert.strictEqual(metrics.code, 0, `${pod.name}: ${metrics.output}`);
            assert.match(metrics.stdout, /^# (HELP|TYPE) /m);
        }

        const redisNode = (await placement(REDIS.appName))[0].node;
        const redis = (await kubectl.json(["get", "service", REDIS.serviceName])).spec.clusterIP;
        const ping = await onNode(indexes.get(redisNode)!, [
            "timeout",
            "10",
            "bash",
            "-c",
            `exec 3<>/dev/tcp/${redis}/80 && printf 'PING\\r\\n' >&3 && head -n 1 <&3`,
        ]);
        assert.strictEqual(ping.code, 0, ping.output);
        assert.match(ping.stdout, /^-NOAUTH/);
    });

    it("a drain under load: no HTTP request fails; each WebSocket client gets a close frame and reconnects", async () => {
        const node = await nodeToDisrupt();
        const evicted = (await statelessPlacement()).filter((pod) => pod.node === node);
        // 20 requests a second and 20 WebSocket clients for 60 s, through the front door; the
        // drain starts 10 s in.
        const requests = frontDoorLoop(1_200, 50);
        const clients = heldWebSocketClients(`wss://${ingressAddress}/ws`, 20, 60_000, RECONNECT_BOUND_MS, host);
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        const { result: drained, seconds: drainSeconds } = await drain(node, 120);
        const [http, held] = await Promise.all([requests, clients]);
        await kubectl.run(["uncordon", node]);
        assert.strictEqual(drained.code, 0, drained.output);

        const closes = held.flatMap((client) => client.closes);
        const reconnects = closes.map((close) => close.reconnectMs ?? Infinity);
        console.log(
            `      drained ${node} (${evicted.map((pod) => pod.name).join(", ")}) in ${drainSeconds.toFixed(1)} s; ` +
                `HTTP ${http.ok}/${http.total} ok; WebSocket: ${closes.length} closes ` +
                `(codes ${[...new Set(closes.map((close) => close.code))].join(", ") || "none"}), ` +
                `longest reconnect ${closes.length ? Math.max(...reconnects) : 0} ms, ` +
                `${held.reduce((sum, client) => sum + client.errors.length, 0)} failed attempts`,
        );
        assert.ok(evicted.length > 0, `${node} had router or ws-stream pods`);
        assert.deepStrictEqual(http.failures, [], `${http.failures.length} of ${http.total} requests failed`);
        const onDrained = held.filter((client) => client.pods.some((pod) => evicted.some((e) => e.name === pod)));
        assert.ok(onDrained.length > 0, "some clients were on the drained node's ws-stream pod");
        for (const close of closes) {
            assert.strictEqual(close.code, 1001, `${close.pod} closed with a close frame (1001), not ${close.code}`);
            assert.ok(
                close.reconnectMs !== undefined && close.reconnectMs <= RECONNECT_BOUND_MS,
                `reconnected within ${RECONNECT_BOUND_MS} ms: ${close.reconnectMs}`,
            );
        }
    });

    it("negative control: a ws-stream pod stopped without its grace period leaves its clients without a close frame", async () => {
        // The same clients, and one ws-stream pod deleted with --grace-period=0: the kubelet kills
        // it within its 2 s minimum, before the app's drain and close frames (5 s in).
        const clients = heldWebSocketClients(`wss://${ingressAddress}/ws`, 20, 20_000, RECONNECT_BOUND_MS, host);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const [victim] = await placement(WS_STREAM.appName);
        await kubectl.run(["delete", "pod", victim.name, "--grace-period=0", "--force", "--wait=false"]);
        const closes = (await clients).flatMap((client) => client.closes).filter((close) => close.pod === victim.name);
        console.log(
            `      ${victim.name} killed: ${closes.length} of its clients' connections closed, codes ${[
                ...new Set(closes.map((close) => close.code)),
            ].join(", ")}`,
        );
        assert.ok(closes.length > 0, `clients were on ${victim.name}`);
        assert.ok(
            closes.every((close) => close.code !== 1001),
            "no close frame: what the drain drill checks can fail",
        );
        await eventually("3 ready ws-stream pods again", 120_000, async () =>
            (await placement(WS_STREAM.appName)).length === 3 ? true : undefined,
        );
    });

    it("a drain that would take a router below its budget waits; without the budget it evicts at once (negative control)", async () => {
        // Two nodes with router pods, the one with fewer drained first.
        const perNode = new Map<string, number>();
        for (const pod of await placement(ROUTER.appName)) {
            perNode.set(pod.node, (perNode.get(pod.node) ?? 0) + 1);
        }
        const [first, second] = [...perNode.keys()].sort((a, b) => perNode.get(a)! - perNode.get(b)!);
        assert.ok(second, `router pods on two nodes: ${[...perNode]}`);
        const nodes = [...indexes.keys()];
        // Nothing can take an evicted pod's place: every node is cordoned. The first drain
        // evicts its router pod (one disruption is allowed); its replacement stays Pending.
        for (const node of nodes) {
            await kubectl.run(["cordon", node]);
        }
        try {
            const podSelector = [`--pod-selector=app=${ROUTER.appName}`];
            const { result: firstDrain } = await drain(first, 60, podSelector);
            assert.strictEqual(firstDrain.code, 0, firstDrain.output);
            const onSecond = (await placement(ROUTER.appName)).filter((pod) => pod.node === second);
            assert.ok(onSecond.length > 0, `router pods on ${second}`);

            const { result: held, seconds: heldSeconds } = await drain(second, 20, podSelector);
            assert.notStrictEqual(held.code, 0, "the drain gave up: the budget never allowed the eviction");
            assert.match(held.output, /disruption budget/);
            assert.deepStrictEqual(
                (await placement(ROUTER.appName)).filter((pod) => pod.node === second).map((pod) => pod.name),
                onSecond.map((pod) => pod.name),
                "the router pod still runs",
            );

            await kubectl.run(["delete", "poddisruptionbudget", ROUTER.appName]);
            const { result: unguarded, seconds: unguardedSeconds } = await drain(second, 60, podSelector);
            console.log(
                `      with the budget: the drain of ${second} waited ${heldSeconds.toFixed(1)} s and gave up; ` +
                    `without it: evicted in ${unguardedSeconds.toFixed(1)} s`,
            );
            assert.strictEqual(unguarded.code, 0, unguarded.output);
            assert.strictEqual(
                (await placement(ROUTER.appName)).filter((pod) => pod.node === second).length,
                0,
                "without the budget the pod was evicted",
            );
        } finally {
            for (const node of nodes) {
                await kubectl.run(["uncordon", node]);
            }
        }
        // The budget back, as the stack declares it; the Pending pods schedule again.
        const up = await workspace.up("prod", { refresh: true });
        assert.strictEqual(up.code, 0, up.output);
        await kubectl.json(["get", "poddisruptionbudget", ROUTER.appName]);
        await eventually("3 ready router pods again", 120_000, async () =>
            (await placement(ROUTER.appName)).length === 3 ? true : undefined,
        );
    });

    it("the HPA scales the router up under CPU load through the front door and back after it; the metrics API answers through the API server's egress", async () => {
        const { minReplicas, targetCPUUtilizationPercent: target } = config.router.autoscaling;
        // metrics.k8s.io is an aggregated API: the API server proxies it to metrics-server's
        // Service, through its egress proxy in node 1's namespace (cluster/lib/metrics-server.sh),
        // whose log names each address it was asked to reach.
        const idleCpu = await eventually("the metrics API lists every ready router pod", 120_000, async () => {
            const [cpu, pods] = await Promise.all([routerCpu(), readyPods(kubectl, ROUTER.appName)]);
            return pods.every((pod) => cpu.has(pod.name)) ? cpu : undefined;
        });
        const metricsService = (await e2eKubectl("kube-system").json(["get", "service", "metrics-server"])).spec
            .clusterIP;
        const egress = await runCommand(LOCAL_CLUSTER, ["log", "kubelet-egress"]);
        assert.strictEqual(egress.code, 0, egress.output);
        assert.ok(
            egress.stdout.includes(` CONNECT ${metricsService}:443\n`),
            `the API server reached metrics-server (${metricsService}:443) through its egress proxy`,
        );
        console.log(
            `      metrics.k8s.io answered through the API server's egress (CONNECT ${metricsService}:443); ` +
                `router CPU at rest: ${millicores(idleCpu)}`,
        );

        // Control: at rest, over two of the HPA's syncs (15 s each), it keeps the minimum.
        await new Promise((resolve) => setTimeout(resolve, 30_000));
        const idle = await routerHpa();
        console.log(`      at rest: ${describeHpa(idle)}`);
        assert.strictEqual(idle.desiredReplicas, minReplicas, "at rest the HPA keeps the minimum");
        assert.ok(idle.utilization < target, `at rest the CPU use (${idle.utilization}%) is below ${target}%`);

        // The load: 2 clients, each 4 requests a second of 100 ms of CPU, for 180 s, through the
        // front door: about 0.8 CPU over 3 pods that request 0.25 each, above the target.
        const loadStarted = Date.now();
        const load = Promise.all(
            [1, 2].map(() => httpLoop(`https://${ingressAddress}/backend/work?ms=100`, 720, 250, 5_000, host)),
        );
        const scaledUp = await eventually(
            `the HPA asks for more than ${minReplicas} router pods`,
            120_000,
            async () => {
                const hpa = await routerHpa();
                return hpa.desiredReplicas > minReplicas ? hpa : undefined;
            },
            5_000,
        );
        const scaledUpAfter = (Date.now() - loadStarted) / 1000;
        const underLoad = await eventually(
            `${scaledUp.desiredReplicas} ready router pods`,
            120_000,
            async () => {
                const pods = await placement(ROUTER.appName);
                return pods.length >= scaledUp.desiredReplicas ? pods : undefined;
            },
            2_000,
        );
        console.log(
            `      under load: ${describeHpa(scaledUp)} after ${scaledUpAfter.toFixed(0)} s; ` +
                `${underLoad.length} ready on ${new Set(underLoad.map((pod) => pod.node)).size} nodes`,
        );

        // A release while scaled out (pulumi-kubernetes #2491): an update of the Deployment's
        // template, here its grace period, must leave the HPA's count alone. Read right after the
        // update, before the HPA's next sync could put a reset count back.
        workspace.writeStackConfig(
            "prod",
            withConfig(deployedConfig, {
                router: { terminationGracePeriodSeconds: config.router.terminationGracePeriodSeconds + 1 },
            }),
        );
        const release = await workspace.up("prod");
        assert.strictEqual(release.code, 0, release.output);
        const [deployment, afterRelease] = await Promise.all([
            kubectl.json(["get", "deployment", ROUTER.appName]),
            routerHpa(),
        ]);
        console.log(
            `      pulumi up of a release while scaled out: the Deployment's replicas ${deployment.spec.replicas} ` +
                `(the HPA's ${afterRelease.desiredReplicas}; the stack declares ${config.router.replicas})`,
        );
        assert.strictEqual(
            deployment.spec.template.spec.terminationGracePeriodSeconds,
            config.router.terminationGracePeriodSeconds + 1,
            "the release was applied",
        );
        assert.ok(deployment.spec.replicas > minReplicas, "the update kept the HPA's count");

        const [first, second] = await load;
        const loadEnded = Date.now();
        console.log(`      requests under load ok: ${first.ok + second.ok}/${first.total + second.total}`);
        assert.deepStrictEqual([...first.failures, ...second.failures], [], "no request failed under load");

        const settled = await eventually(
            `back to ${minReplicas} router pods after the load`,
            300_000,
            async () => {
                const hpa = await routerHpa();
                return hpa.desiredReplicas === minReplicas && hpa.currentReplicas === minReplicas ? hpa : undefined;
            },
            5_000,
        );
        console.log(
            `      after the load: ${describeHpa(settled)}, ${((Date.now() - loadEnded) / 1000).toFixed(0)} s after it ended ` +
                "(30 s of the cluster's scale-down stabilization)",
        );
    });

    it(`a node lost: the front door serves every request again within ${NODE_LOSS_BOUND_S} s`, async () => {
        // The drains above left some nodes without router or ws-stream pods, as drains do: a
        // restart (what a team runs after maintenance) spreads each new ReplicaSet anew.
        for (const app of [ROUTER.appName, WS_STREAM.appName]) {
            await kubectl.run(["rollout", "restart", `deployment/${app}`]);
        }
        for (const app of [ROUTER.appName, WS_STREAM.appName]) {
            await kubectl.run(["rollout", "status", `deployment/${app}`, "--timeout=180s"]);
        }
        const node = await nodeToDisrupt();
        const lost = (await statelessPlacement()).filter((pod) => pod.node === node);
        const killed = await runCommand(LOCAL_CLUSTER, ["kill-node", String(indexes.get(node))]);
        assert.strictEqual(killed.code, 0, killed.output);
        const lostAt = Date.now();
        // Served again: 20 requests in a row (1 s) answered, checked from the loss on.
        let recovered: number | undefined;
        let failedBefore = 0;
        while (recovered === undefined && Date.now() - lostAt < NODE_LOSS_BOUND_S * 1000) {
            const window = await frontDoorLoop(20, 50);
            if (window.failures.length === 0) {
                recovered = (Date.now() - lostAt) / 1000;
            } else {
                failedBefore += window.failures.length;
            }
        }
        const nodeReady = (await kubectl.json(["get", "node", node])).status.conditions.find(
            (condition: any) => condition.type === "Ready",
        );
        console.log(
            `      lost ${node} (${lost.map((pod) => pod.name).join(", ")}): ${failedBefore} requests failed, ` +
                `served again after ${recovered?.toFixed(1) ?? "never"} s; the node is Ready=${nodeReady.status} (${nodeReady.reason})`,
        );
        assert.ok(lost.length > 0, `${node} had router or ws-stream pods`);
        assert.ok(recovered !== undefined, `the front door served again within ${NODE_LOSS_BOUND_S} s`);
    });
});
