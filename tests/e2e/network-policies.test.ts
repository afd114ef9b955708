/**
 * End to end over real traffic: the program's NetworkPolicies as the real node enforces them
 * (kube-network-policies; the e2e cluster starts with --network-policies, docs/local-cluster.md).
 * The dev stack, with the router's metrics port on, and four probe pods built alike, that differ
 * only in where they stand: one with no platform label (any workload of the namespace), its twin
 * with the router's labels, one in the ingress controller's namespace, one in the monitoring
 * namespace. Each probe tries every platform port by Service address and by pod address, all at
 * once, each attempt bounded; the policies decide which answer and which get no answer at all.
 * Every refused port answers another probe of the same set-up (its allowed twin), and answers the
 * refused probe itself once the policies are removed (networkPolicy.enabled false): neither a
 * broken network nor a dead port can pass for a refusal. Every attempt is printed with its time.
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import {
    eventually,
    httpGet,
    LOCAL_CLUSTER,
    localImagesConfig,
    nodeImages,
    PulumiWorkspace,
    runCommand,
} from "../support";
import { PLATFORM_SERVICES, POSTGRES, REDIS, ROUTER, SERVICE_PORT, WS_STREAM } from "@exchange/contract";
import { nonEmpty } from "../assertions";
import {
    apply,
    asWorkloadClient,
    attemptsFromPod,
    destroyDev,
    e2eDevWorkspace,
    e2eKubectl,
    execInPod,
    INGRESS_CONTROLLER_NAMESPACE,
    ProbeAttempt,
    readyPods,
    sleeperPod,
    startPod,
    TIMED_OUT,
    webSocketExchanges,
} from "./cluster";
import { helloPod } from "./netns-client";

const METRICS_PORT = 9090;
/** The dev stack's networkPolicy.monitoringNamespace (its default); the suite creates it. */
const MONITORING_NAMESPACE = "monitoring";

type ProbeKey = "no platform label" | "router's labels" | "ingress controller's namespace" | "monitoring namespace";

interface Probe {
    key: ProbeKey;
    kubectl: Kubectl;
    name: string;
}

const PROBES: { key: ProbeKey; namespace: string; name: string; labels: Record<string, string> }[] = [
    { key: "no platform label", namespace: "default", name: "exchange-e2e-np-unlabelled", labels: {} },
    {
        key: "router's labels",
        namespace: "default",
        name: "exchange-e2e-np-router-twin",
        labels: { app: ROUTER.appName },
    },
    {
        key: "ingress controller's namespace",
        namespace: INGRESS_CONTROLLER_NAMESPACE,
        name: "exchange-e2e-np-ingress-ns",
        labels: {},
    },
    { key: "monitoring namespace", namespace: MONITORING_NAMESPACE, name: "exchange-e2e-np-monitoring", labels: {} },
];

/**
 * One request per protocol, as bash functions run with the connection on fd 3 and the host as $1,
 * each printing the answer's first line (PostgreSQL: its one-byte answer to an SSLRequest).
 */
const PROTOCOLS = {
    postgresql: {
        request: String.raw`printf '\x00\x00\x00\x08\x04\xd2\x16\x2f' >&3 && head -c 1 <&3`,
        answer: /^[NS]$/,
    },
    redis: { request: String.raw`printf 'PING\r\n' >&3 && head -n 1 <&3`, answer: /^\+PONG/ },
    http: {
        request: String.raw`printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && head -n 1 <&3`,
        answer: /^HTTP\/1\.[01] 200/,
    },
    websocket: {
        request:
            String.raw`printf 'GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            String.raw`Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' "$1" >&3 && head -n 1 <&3`,
        answer: /^HTTP\/1\.1 101/,
    },
    metrics: {
        request: String.raw`printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && head -n 1 <&3`,
        answer: /^HTTP\/1\.[01] 200/,
    },
} as const;
type Protocol = keyof typeof PROTOCOLS;

/** A platform port, what speaks on it and the one probe the policies let in. */
interface PlatformPort {
    title: string;
    app: string;
    serviceName: string;
    servicePort: number;
    containerPort: number;
    protocol: Protocol;
    allowed: ProbeKey;
}

const PLATFORM_PORTS: PlatformPort[] = [
    { ...portOf(POSTGRES), protocol: "postgresql", allowed: "router's labels" },
    { ...portOf(REDIS), protocol: "redis", allowed: "router's labels" },
    { ...portOf(ROUTER), protocol: "http", allowed: "ingress controller's namespace" },
    { ...portOf(WS_STREAM), protocol: "websocket", allowed: "ingress controller's namespace" },
    {
        title: "router metrics",
        app: ROUTER.appName,
        serviceName: ROUTER.serviceName,
        servicePort: METRICS_PORT,
        containerPort: METRICS_PORT,
        protocol: "metrics",
        allowed: "monitoring namespace",
    },
];

function portOf(service: (typeof PLATFORM_SERVICES)[number]) {
    return {
        title: service.appName.replace(/^exchange-/, ""),
        app: service.appName,
        serviceName: service.serviceName,
        servicePort: SERVICE_PORT,
        containerPort: service.containerPort,
    };
}

/** A port at one of its addresses: the Service's, or a pod's. */
interface Target {
    port: PlatformPort;
    label: string;
    host: string;
    portNumber: number;
}

interface Attempt extends ProbeAttempt {
    probe: ProbeKey;
    target: Target;
}

/**
 * Every target at once from one probe, each attempt bounded: a connection to the target, then its
 * protocol's request (PROTOCOLS' functions, exported to each attempt's shell).
 */
async function attemptAll(probe: Probe, targets: Target[]): Promise<Attempt[]> {
    const preamble = [
        ...Object.entries(PROTOCOLS).map(([name, { request }]) => `${name}() { ${request}; }`),
        `export -f ${Object.keys(PROTOCOLS).join(" ")}`,
    ];
    const scripts = targets.map((t) => `exec 3<>/dev/tcp/${t.host}/${t.portNumber} && ${t.port.protocol} ${t.host}`);
    const attempts = await attemptsFromPod(probe.kubectl, probe.name, scripts, preamble);
    return attempts.map((attempt, index) => ({ probe: probe.key, target: targets[index], ...attempt }));
}

function answered(attempt: Attempt): boolean {
    return attempt.code === 0 && PROTOCOLS[attempt.target.port.protocol].answer.test(attempt.answer);
}

function outcomeOf(attempt: Attempt): string {
    const outcome = answered(attempt)
        ? `answered ${JSON.stringify(attempt.answer)}`
        : attempt.code === TIMED_OUT
          ? "no answer"
          : `failed (exit ${attempt.code}: ${attempt.answer})`;
    return `${attempt.probe} -> ${attempt.target.label}: ${outcome} in ${attempt.ms} ms`;
}

function printAttempts(title: string, attempts: Attempt[]): void {
    console.log(`      ${title}:`);
    for (const attempt of attempts) {
        console.log(`        ${outcomeOf(attempt)}`);
    }
}

/** kubectl exec of the router image's client mode (it has no shell), bounded by its own 5 s. */
function routerClient(kubectl: Kubectl, pod: string, args: string[]) {
    return runCommand(
        "kubectl",
        ["--kubeconfig", kubectl.kubeconfig, "--namespace", kubectl.namespace, "exec", pod, "--", "/router", ...args],
        { timeoutMs: 30_000 },
    );
}

describe("end to end over real traffic: the NetworkPolicies enforced on the real node", function () {
    this.timeout(20 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let images: Record<string, string>;
    let probes: Probe[];
    let targets: Target[];
    let ingressAddress: string;

    const stackWith = (enabled: boolean) =>
        localImagesConfig(images, { router: { metricsPort: METRICS_PORT }, networkPolicy: { enabled } });

    /** The platform's ports at their Service addresses and at one ready pod's address each. */
    async function resolveTargets(): Promise<Target[]> {
        const resolved: Target[] = [];
        for (const port of PLATFORM_PORTS) {
            const clusterIp = (await kubectl.json(["get", "service", port.serviceName])).spec.clusterIP;
            const [pod] = nonEmpty(await readyPods(kubectl, port.app), `ready ${port.app} pod`);
            resolved.push(
                {
                    port,
                    label: `${port.title} Service ${clusterIp}:${port.servicePort}`,
                    host: clusterIp,
                    portNumber: port.servicePort,
                },
                {
                    port,
                    label: `${port.title} pod ${pod.ip}:${port.containerPort}`,
                    host: pod.ip,
                    portNumber: port.containerPort,
                },
            );
        }
        return resolved;
    }

    const allowed = (probe: ProbeKey, target: Target) => target.port.allowed === probe;

    before(async () => {
        const status = await runCommand(LOCAL_CLUSTER, ["status"], { timeoutMs: 60_000 });
        assert.match(
            status.stdout,
            /^kube-network-policies\s+up /m,
            `the e2e cluster must enforce NetworkPolicies (start --network-policies):\n${status.output}`,
        );
        kubectl = e2eKubectl();
        images = await nodeImages();
        workspace = await e2eDevWorkspace();
        workspace.writeStackConfig("dev", stackWith(true));
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        ingressAddress = (await kubectl.json(["get", "ingress", "exchange-backend"])).status.loadBalancer.ingress[0].ip;
        await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: MONITORING_NAMESPACE } });
        // Built alike (asWorkloadClient's readiness gate on every one): only labels and namespace differ.
        probes = await Promise.all(
            PROBES.map(async ({ key, namespace, name, labels }) => {
                const probeKubectl = e2eKubectl(namespace);
                await startPod(probeKubectl, asWorkloadClient(sleeperPod(name, namespace, images.postgres), labels));
                return { key, kubectl: probeKubectl, name };
            }),
        );
        targets = await resolveTargets();
    });

    after(async () => {
        for (const { namespace, name } of PROBES) {
            await e2eKubectl(namespace).run(["delete", "pod", name, "--ignore-not-found", "--wait=false"]);
        }
        await e2eKubectl().run(["delete", "namespace", MONITORING_NAMESPACE, "--ignore-not-found", "--wait=false"]);
        if (workspace) {
            await destroyDev(workspace);
            workspace.remove();
        }
    });

    it("each probe reaches exactly the ports its policies admit, by Service and by pod address; every other attempt gets no answer", async () => {
        // The enforcer learns a new pod from the API server: wait until it lets the twin in.
        const twin = probes.find((probe) => probe.key === "router's labels")!;
        await eventually("the router's twin reaching PostgreSQL", 30_000, async () => {
            const [attempt] = await attemptAll(twin, targets.slice(0, 1));
            return answered(attempt) ? true : undefined;
        });
        const attempts = (await Promise.all(probes.map((probe) => attemptAll(probe, targets)))).flat();
        printAttempts("with the NetworkPolicies", attempts);
        for (const attempt of attempts) {
            if (allowed(attempt.probe, attempt.target)) {
                assert.ok(answered(attempt), `admitted, so answered: ${outcomeOf(attempt)}`);
            } else {
                // A dropped SYN: the attempt waited its whole bound. A port nobody listens on would
                // have answered at once with a reset (another exit status).
                assert.strictEqual(attempt.code, TIMED_OUT, `refused, so no answer: ${outcomeOf(attempt)}`);
            }
        }
        for (const target of targets) {
            assert.ok(
                attempts.some((a) => a.target === target && answered(a)),
                `${target.label} answers its allowed twin`,
            );
            assert.ok(
                attempts.some((a) => a.target === target && !allowed(a.probe, a.target)),
                `${target.label} is refused to someone`,
            );
        }
    });

    it("from a router pod: PostgreSQL and Redis answer by Service and pod address and through its connection strings; ws-stream does not", async () => {
        const [router] = nonEmpty(await readyPods(kubectl, ROUTER.appName), "ready router pod");
        const reachable = targets.filter((t) => t.port.app === POSTGRES.appName || t.port.app === REDIS.appName);
        const refused = targets.filter((t) => t.port.app === WS_STREAM.appName);
        for (const target of [...reachable, ...refused]) {
            const started = Date.now();
            const result = await routerClient(kubectl, router.name, ["tcp", `${target.host}:${target.portNumber}`]);
            const outcome = result.code === 0 ? result.stdout.trim() : result.stderr.trim().split("\n").pop();
            console.log(`      router ${router.name} -> ${target.label}: ${outcome} in ${Date.now() - started} ms`);
            if (reachable.includes(target)) {
                assert.strictEqual(result.code, 0, `${target.label} from the router:\n${result.output}`);
            } else {
                assert.notStrictEqual(result.code, 0, `${target.label} is not the router's to reach`);
                assert.match(result.output, /i\/o timeout|deadline exceeded/, "no answer rather than a reset");
            }
        }
        // /deps asked from the node's namespace: the router opens DATABASE_URL and REDIS_URL.
        const routerAddress = (await kubectl.json(["get", "service", ROUTER.serviceName])).spec.clusterIP;
        const deps = await httpGet(`http://${routerAddress}/deps`);
        console.log(`      router /deps: HTTP ${deps.status} ${deps.body.trim()}`);
        assert.strictEqual(deps.status, 200, deps.body);
        const report = JSON.parse(deps.body);
        assert.deepStrictEqual(report.postgres, { ok: true, result: "SELECT 1 = 1" });
        assert.deepStrictEqual(report.redis, { ok: true, result: "PONG" });
    });

    it("through the front door, the ingress controller reaches the router (/backend/health) and ws-stream (/ws)", async () => {
        const started = Date.now();
        const health = await httpGet(`http://${ingressAddress}/backend/health`);
        console.log(`      /backend/health through the ingress: HTTP ${health.status} in ${Date.now() - started} ms`);
        assert.strictEqual(health.status, 200, health.body);
        const wsPods = (await readyPods(kubectl, WS_STREAM.appName)).map((pod) => pod.name);
        const [exchange] = await webSocketExchanges(`ws://${ingressAddress}/ws`, 1);
        console.log(
            `      /ws through the ingress: ${exchange.error ?? `hello ${exchange.first}, echoed ${exchange.echoed}`}`,
        );
        assert.strictEqual(exchange.error, undefined, JSON.stringify(exchange));
        assert.ok(wsPods.includes(helloPod(exchange)), `a ws-stream pod answered: ${exchange.first}`);
        assert.strictEqual(exchange.echoed, exchange.sent);
    });

    it("DNS answers every probe, the router and the PostgreSQL and Redis pods, each Service name its address", async () => {
        const names = await Promise.all(
            PLATFORM_SERVICES.map(async (service) => ({
                fqdn: `${service.serviceName}.default.svc.cluster.local`,
                address: (await kubectl.json(["get", "service", service.serviceName])).spec.clusterIP as string,
            })),
        );
        const lookup = `for name in ${names.map((n) => n.fqdn).join(" ")}; do getent hosts "$name" || exit 1; done`;
        // The probes, and the platform's pods whose images have a shell (PostgreSQL's, Redis's).
        const shells: { title: string; kubectl: Kubectl; pod: string }[] = probes.map((probe) => ({
            title: probe.key,
            kubectl: probe.kubectl,
            pod: probe.name,
        }));
        for (const service of [POSTGRES, REDIS]) {
            const [pod] = nonEmpty(await readyPods(kubectl, service.appName), `ready ${service.appName} pod`);
            shells.push({ title: service.appName, kubectl, pod: pod.name });
        }
        for (const shell of shells) {
            const resolved = await execInPod(shell.kubectl, shell.pod, lookup);
            assert.strictEqual(resolved.code, 0, `${shell.title} resolves:\n${resolved.output}`);
            const addresses = resolved.stdout
                .trim()
                .split("\n")
                .map((line) => line.split(/\s+/)[0]);
            console.log(`      DNS from ${shell.title} (${shell.pod}): ${addresses.join(", ")}`);
            assert.deepStrictEqual(
                addresses,
                names.map((n) => n.address),
                shell.title,
            );
        }
        // The router's image has no shell: its own client mode resolves.
        const [router] = nonEmpty(await readyPods(kubectl, ROUTER.appName), "ready router pod");
        for (const { fqdn, address } of names) {
            const resolved = await routerClient(kubectl, router.name, ["resolve", fqdn]);
            assert.strictEqual(resolved.code, 0, `${fqdn} from the router:\n${resolved.output}`);
            assert.deepStrictEqual(resolved.stdout.trim().split("\n"), [address], fqdn);
        }
        console.log(`      DNS from ${router.name}: ${names.map((n) => n.address).join(", ")}`);
    });

    it("negative control: with the NetworkPolicies removed (networkPolicy.enabled false), every refused attempt answers", async () => {
        workspace.writeStackConfig("dev", stackWith(false));
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        assert.deepStrictEqual((await kubectl.json(["get", "networkpolicies"])).items, [], "no NetworkPolicy left");
        assert.deepStrictEqual(
            await resolveTargets().then((t) => t.map((x) => x.label)),
            targets.map((t) => t.label),
        );
        // The enforcer drops the removed policies from its informers within moments; each probe's
        // refused attempts are repeated until they all answer, at most 30 s.
        const attempts = (
            await Promise.all(
                probes.map((probe) => {
                    const refused = targets.filter((target) => !allowed(probe.key, target));
                    // Past the bound, one last round: it is what gets printed and judged.
                    return eventually(`${probe.key}: every refused port answering`, 30_000, async () => {
                        const again = await attemptAll(probe, refused);
                        return again.every(answered) ? again : undefined;
                    }).catch(() => attemptAll(probe, refused));
                }),
            )
        ).flat();
        printAttempts("without the NetworkPolicies, the attempts refused above", attempts);
        for (const attempt of attempts) {
            assert.ok(answered(attempt), `answered without the policies: ${outcomeOf(attempt)}`);
        }
    });
});
