/**
 * The real-node cluster the end-to-end tests run on (scripts/test.sh starts it with
 * `local-cluster.sh start --node real` and exports EXCHANGE_E2E_KUBECONFIG and the cluster's
 * EXCHANGE_CLUSTER_STATE), and the only ways the tests reach what runs there: the API server on
 * 127.0.0.1, and processes started inside the node's network namespace (`local-cluster.sh
 * netns-exec`). Nothing here opens a connection to a pod or Service address itself.
 */
import * as assert from "assert";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { CommandResult, eventually, LOCAL_CLUSTER, PulumiWorkspace, runCommand } from "../support";
import type { HeldClient, HttpLoopResult, WsExchange } from "./netns-client";

const NETNS_CLIENT = path.join(__dirname, "netns-client.js");

export function e2eKubeconfig(): string {
    const kubeconfig = process.env.EXCHANGE_E2E_KUBECONFIG;
    assert.ok(
        kubeconfig,
        "EXCHANGE_E2E_KUBECONFIG must point at a local cluster with a real node (scripts/test.sh starts it)",
    );
    return kubeconfig;
}

/** A workspace of its own (throw-away backend and stack files) with a dev stack on the e2e cluster. */
export async function e2eDevWorkspace(): Promise<PulumiWorkspace> {
    const workspace = new PulumiWorkspace(e2eKubeconfig());
    await workspace.initStack("dev");
    return workspace;
}

/** Destroys the dev stack, which must succeed, so the next suite finds the cluster as it was. */
export async function destroyDev(workspace: PulumiWorkspace): Promise<void> {
    const destroyed = await workspace.destroy("dev");
    assert.strictEqual(destroyed.code, 0, destroyed.output);
}

/** CMD inside the node's network namespace, bounded by timeoutMs; `input` goes to its stdin. */
export function inNamespace(command: string[], timeoutMs = 60_000, input?: string): Promise<CommandResult> {
    return runCommand(LOCAL_CLUSTER, ["netns-exec", ...command], { timeoutMs, input });
}

/** CMD inside real node INDEX's network namespace (1 is the node inNamespace uses). */
export function onNode(index: number, command: string[], timeoutMs = 60_000): Promise<CommandResult> {
    return runCommand(LOCAL_CLUSTER, ["netns-exec", "--node", String(index), ...command], { timeoutMs });
}

/**
 * Until HOST:PORT accepts a TCP connection from inside the node's network namespace. A Service
 * whose pod was just replaced refuses connections ("no route to host", kube-proxy's answer for a
 * Service without endpoints) until kube-proxy has its new endpoint, a moment after the pod is Ready.
 */
export async function reachable(host: string, port: number, timeoutMs = 30_000): Promise<void> {
    await eventually(
        `${host}:${port} accepting connections`,
        timeoutMs,
        async () => {
            const result = await inNamespace(
                ["timeout", "5", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`],
                15_000,
            );
            return result.code === 0 ? true : undefined;
        },
        250,
    );
}

/**
 * Sends REQUEST (raw bytes, e.g. RESP commands) to HOST:PORT from inside the node's network
 * namespace and returns the first `lines` lines of the answer. The request travels on stdin, so
 * a password in it never lands on a command line.
 */
export async function tcpExchange(host: string, port: number, request: string, lines: number): Promise<string[]> {
    const script = `exec 3<>/dev/tcp/${host}/${port} && cat >&3 && head -n ${lines} <&3`;
    const result = await inNamespace(["timeout", "10", "bash", "-c", script], 30_000, request);
    assert.strictEqual(
        result.code,
        0,
        `TCP exchange with ${host}:${port} from the node's namespace:\n${result.output}`,
    );
    return result.stdout.split("\r\n").filter((line) => line.trim());
}

async function client<T>(args: string[], timeoutMs: number): Promise<T> {
    const result = await inNamespace(["node", NETNS_CLIENT, ...args], timeoutMs);
    assert.strictEqual(result.code, 0, `netns-client ${args.join(" ")}:\n${result.output}`);
    return JSON.parse(result.stdout) as T;
}

/** netns-client's --host (and, to verify the certificate for it, --ca FILE) options. */
function hostOption(host: string | undefined, ca: string | undefined): string[] {
    assert.ok(ca === undefined || host !== undefined, "a CA verifies the certificate for a host name: give both");
    return [...(host ? ["--host", host] : []), ...(ca ? ["--ca", ca] : [])];
}

/** COUNT WebSocket connections to URL, one after another, each with its own timeout. */
export function webSocketExchanges(url: string, count: number, timeoutMs = 10_000): Promise<WsExchange[]> {
    return client<WsExchange[]>(["ws", url, String(count), String(timeoutMs)], count * timeoutMs + 30_000);
}

/**
 * COUNT WebSocket connections to URL by one client that, as a browser does, sends back the
 * cookies the earlier upgrade responses set (a front door's affinity cookie among them).
 */
export function webSocketSession(url: string, count: number, timeoutMs = 10_000): Promise<WsExchange[]> {
    return client<WsExchange[]>(
        ["ws", url, String(count), String(timeoutMs), "keep-cookies"],
        count * timeoutMs + 30_000,
    );
}

/**
 * COUNT GET requests to URL, one every intervalMs, each with its own timeout; `host` is their Host
 * header and TLS name, `ca` the file of the only CA their certificate may come from.
 */
export function httpLoop(
    url: string,
    count: number,
    intervalMs: number,
    timeoutMs = 5_000,
    host?: string,
    ca?: string,
): Promise<HttpLoopResult> {
    return client<HttpLoopResult>(
        [...hostOption(host, ca), "http-loop", url, String(count), String(intervalMs), String(timeoutMs)],
        count * (intervalMs + timeoutMs) + 30_000,
    );
}

/**
 * CLIENTS WebSocket clients held open on URL for durationMs, each connecting again at once when
 * its connection is closed (trying for up to reconnectTimeoutMs).
 */
export function heldWebSocketClients(
    url: string,
    clients: number,
    durationMs: number,
    reconnectTimeoutMs: number,
    host?: string,
    ca?: string,
): Promise<HeldClient[]> {
    return client<HeldClient[]>(
        [...hostOption(host, ca), "ws-hold", url, String(clients), String(durationMs), String(reconnectTimeoutMs)],
        durationMs + reconnectTimeoutMs + 30_000,
    );
}

/** kubectl on the e2e cluster. */
export function e2eKubectl(namespace = "default"): Kubectl {
    return new Kubectl(e2eKubeconfig(), namespace);
}

/** The pods of APP that are Ready and not being deleted; uid tells a re-created pod from its namesake (a StatefulSet's). */
export async function readyPods(kubectl: Kubectl, app: string): Promise<{ name: string; ip: string; uid: string }[]> {
    const pods = await kubectl.json(["get", "pods", "-l", `app=${app}`]);
    return pods.items
        .filter(
            (pod: any) =>
                !pod.metadata.deletionTimestamp &&
                (pod.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
        )
        .map((pod: any) => ({ name: pod.metadata.name, ip: pod.status.podIP, uid: pod.metadata.uid }));
}

/** `kubectl create` or `apply` of one object (JSON) on the e2e cluster, its result whether admitted or not. */
export function submitObject(verb: "create" | "apply", object: object): Promise<CommandResult> {
    return runCommand("kubectl", ["--kubeconfig", e2eKubeconfig(), verb, "-f", "-"], {
        input: JSON.stringify(object),
        timeoutMs: 60_000,
    });
}

/** `kubectl apply` of one object (JSON), on the e2e cluster. */
export async function apply(object: object): Promise<void> {
    const result = await submitObject("apply", object);
    assert.strictEqual(result.code, 0, `kubectl apply:\n${result.output}`);
}

/** A pod that sleeps for lifetimeSeconds, then ends by itself in case a run is killed before its cleanup. */
export function sleeperPod(
    name: string,
    namespace: string,
    image: string,
    container: Record<string, unknown> = {},
    lifetimeSeconds = 900,
): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { "app.kubernetes.io/name": name } },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 1,
            containers: [
                {
                    name: "probe",
                    image,
                    imagePullPolicy: "Never",
                    command: ["sleep", String(lifetimeSeconds)],
                    ...container,
                },
            ],
        },
    };
}

/**
 * Replaces pod NAME with `pod` (in kubectl's namespace) and waits until its containers are ready:
 * not the pod's Ready condition, which a workload client (asWorkloadClient) never reaches.
 */
export async function startPod(kubectl: Kubectl, pod: Record<string, any>): Promise<string> {
    const name: string = pod.metadata.name;
    await kubectl.run(["delete", "pod", name, "--ignore-not-found", "--wait=true"]);
    await apply(pod);
    await kubectl.run(["wait", "--for=condition=ContainersReady", `pod/${name}`, "--timeout=120s"]);
    return name;
}

/**
 * The namespace of the local cluster's ingress controller (Traefik, cluster/addons/traefik.yaml),
 * which the dev stack's NetworkPolicies admit to router and ws-stream (Pulumi.dev.yaml).
 */
export const INGRESS_CONTROLLER_NAMESPACE = "traefik";

/**
 * `pod` as a client the NetworkPolicies let in where they let a platform workload in: it carries
 * that workload's selector labels. Those also match the workload's Service, so the pod never turns
 * Ready (a readiness gate nobody sets) and no Service ever sends it traffic.
 */
export function asWorkloadClient(
    pod: Record<string, any>,
    selectorLabels: Record<string, string>,
): Record<string, any> {
    return {
        ...pod,
        metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, ...selectorLabels } },
        spec: { ...pod.spec, readinessGates: [{ conditionType: "e2e.exchange.internal/never-ready" }] },
    };
}

/**
 * A pod the tests run commands in, as any other workload of the namespace would: the PostgreSQL
 * image (Debian: bash, getent, pg_isready), not part of the platform. It ends by itself after
 * lifetimeSeconds in case a test run is killed before its cleanup.
 */
export function startProbePod(kubectl: Kubectl, image: string, lifetimeSeconds = 900): Promise<string> {
    return startPod(kubectl, sleeperPod("exchange-e2e-probe", kubectl.namespace, image, {}, lifetimeSeconds));
}

/**
 * A sleeper pod that Pod Security "restricted" admits (sleeperPod's sets no security context):
 * uid `runAsUser`, RuntimeDefault seccomp, no privilege escalation, every capability dropped.
 * `container` adds fields (env) to its only container.
 */
export function restrictedSleeperPod(
    name: string,
    namespace: string,
    image: string,
    runAsUser: number,
    container: Record<string, unknown> = {},
): Record<string, any> {
    const pod = sleeperPod(name, namespace, image, {
        securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
        ...container,
    });
    pod.spec.securityContext = { runAsUser, runAsGroup: runAsUser, seccompProfile: { type: "RuntimeDefault" } };
    return pod;
}

/** bash -c SCRIPT inside a pod's first container, bounded by timeoutMs. */
export function execInPod(kubectl: Kubectl, pod: string, script: string, timeoutMs = 30_000): Promise<CommandResult> {
    return runCommand(
        "kubectl",
        ["--kubeconfig", kubectl.kubeconfig, "--namespace", kubectl.namespace, "exec", pod, "--", "bash", "-c", script],
        { timeoutMs },
    );
}

/** How long a probe's attempt may take: an answer comes in milliseconds, a dropped SYN never does. */
export const ATTEMPT_SECONDS = 3;
/** `timeout`'s exit status when the attempt was still waiting for an answer. */
export const TIMED_OUT = 124;

/** One bounded attempt from a probe pod: 0 answered, TIMED_OUT no answer, else it failed. */
export interface ProbeAttempt {
    code: number;
    ms: number;
    /** The first line it printed, printable characters only. */
    answer: string;
}

/**
 * From POD, every bash script of SCRIPTS at once, each bounded by ATTEMPT_SECONDS, after PREAMBLE
 * (bash lines that define, and export, what the scripts call): each one's exit code, time and
 * first line of output, in the order of SCRIPTS.
 */
export async function attemptsFromPod(
    kubectl: Kubectl,
    pod: string,
    scripts: string[],
    preamble: string[] = [],
): Promise<ProbeAttempt[]> {
    const script = [
        ...preamble,
        "attempt() {",
        "  local started answer code",
        "  started=$(date +%s%N)",
        `  answer=$(timeout ${ATTEMPT_SECONDS} bash -c "$2" 2>&1)`,
        "  code=$?",
        `  printf '%s %s %s %s\\n' "$1" "$code" "$(( ($(date +%s%N) - started) / 1000000 ))" "$(head -n 1 <<<"$answer" | tr -cd '[:print:]')"`,
        "}",
        ...scripts.map((attempt, index) => `attempt ${index} ${shellQuoted(attempt)} &`),
        "wait",
    ].join("\n");
    const result = await execInPod(kubectl, pod, script, 60_000);
    assert.strictEqual(result.code, 0, `attempts from ${pod}:\n${result.output}`);
    const attempts: ProbeAttempt[] = [];
    for (const line of result.stdout.split("\n").filter((text) => text.trim())) {
        const [index, code, ms, ...answer] = line.split(" ");
        attempts[Number(index)] = { code: Number(code), ms: Number(ms), answer: answer.join(" ") };
    }
    assert.strictEqual(attempts.filter(Boolean).length, scripts.length, `one line per attempt:\n${result.stdout}`);
    return attempts;
}

/** TEXT as one single-quoted shell word. */
function shellQuoted(text: string): string {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}
