/**
 * Monitoring on several real nodes: the prod stack (./prod-stack.ts) scraped by the cluster's
 * Prometheus, which runs monitoring/prometheus.yml and monitoring/rules.yaml as they are
 * (scripts/test.sh starts the cluster with --prometheus; cluster/lib/prometheus.sh). Prometheus'
 * HTTP API is asked from node 1's network namespace; requests reach the platform through its
 * front door (HTTPS for the stack's host); the NetworkPolicy on the metrics port is tried from
 * two probe pods built alike, one in the monitoring namespace and one in a namespace of its own.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { eventually, nodeImages, PROJECT_ROOT, PulumiWorkspace, runCommand, toolchainVersions } from "../support";
import { ROUTER } from "@exchange/contract";
import {
    apply,
    attemptsFromPod,
    e2eKubectl,
    inNamespace,
    onNode,
    ProbeAttempt,
    readyPods,
    sleeperPod,
    startPod,
    TIMED_OUT,
} from "../e2e/cluster";
import { ProdStack, prodStack } from "./prod-stack";

/** Prometheus' Deployment and Service (cluster/addons/prometheus.yaml), and the files it runs. */
const PROMETHEUS = "prometheus";
const MONITORING_DIR = path.join(PROJECT_ROOT, "monitoring");
/** The scrape job of monitoring/prometheus.yml. */
const JOB = "exchange";
const ERROR_RATIO_ALERT = "ExchangeHighErrorRatio";
const TARGET_DOWN_ALERT = "ExchangeTargetDown";
/** The front door requests that the router answers 500 (images/router: GET /fail). */
const FAILED_REQUESTS = 30;
/** A namespace of the suite's own: neither the platform's, the ingress controller's nor monitoring. */
const OUTSIDE_NAMESPACE = "exchange-monitoring-outsider";

interface Target {
    labels: Record<string, string>;
    scrapeUrl: string;
    health: string;
    lastScrapeDuration: number;
    lastError: string;
}

interface AlertingRule {
    name: string;
    query: string;
    duration: number;
    state: string;
    alerts: { labels: Record<string, string>; state: string; activeAt: string; value: string }[];
}

interface Attempt extends ProbeAttempt {
    what: string;
}

describe("several real nodes: Prometheus scrapes the prod stack's router pods, and its alert rules", function () {
    this.timeout(20 * 60 * 1000);
    let kubectl: Kubectl;
    let workspace: PulumiWorkspace;
    let monitoring: Kubectl;
    let host: string;
    let ingressAddress: string;
    let metricsPort: number;
    /** Prometheus' Service address and port, reached from node 1's namespace only. */
    let prometheusAddress: string;

    /** GET /api/v1/PATH of Prometheus with PARAMS, from node 1's namespace: its `data`. */
    async function prometheusApi(apiPath: string, params: Record<string, string> = {}): Promise<any> {
        const query = Object.entries(params).flatMap(([name, value]) => ["--data-urlencode", `${name}=${value}`]);
        const result = await inNamespace(
            [
                "curl",
                "--silent",
                "--show-error",
                "--max-time",
                "10",
                "--get",
                ...query,
                `http://${prometheusAddress}/api/v1/${apiPath}`,
            ],
            30_000,
        );
        assert.strictEqual(result.code, 0, `Prometheus /api/v1/${apiPath}: ${result.output}`);
        const body = JSON.parse(result.stdout);
        assert.strictEqual(body.status, "success", result.stdout);
        return body.data;
    }

    /** An instant query's result: one value per series, keyed by the series' LABEL. */
    async function instant(expr: string, label: string): Promise<Map<string, number>> {
        const data = await prometheusApi("query", { query: expr });
        return new Map(data.result.map((series: any) => [series.metric[label], Number(series.value[1])]));
    }

    async function alertingRule(name: string): Promise<AlertingRule> {
        const data = await prometheusApi("rules", { type: "alert" });
        const rule = data.groups.flatMap((group: any) => group.rules).find((r: any) => r.name === name);
        assert.ok(rule, `the rule ${name} is loaded`);
        return rule;
    }

    /** GET /backend/fail through the front door COUNT times from node 1: the pod of each 500. */
    async function failThroughFrontDoor(count: number): Promise<string[]> {
        // Each answer is the router's JSON line, then its status on a line of its own.
        const curl =
            `curl --silent --insecure --max-time 5 --resolve ${host}:443:${ingressAddress} ` +
            `--write-out '%{http_code}\\n' https://${host}/backend/fail`;
        const result = await onNode(
            1,
            ["timeout", "120", "bash", "-c", `for i in $(seq ${count}); do ${curl}; done`],
            150_000,
        );
        assert.strictEqual(result.code, 0, result.output);
        const lines = result.stdout.split("\n").filter((line) => line.trim());
        assert.strictEqual(lines.length, 2 * count, result.stdout);
        return Array.from({ length: count }, (_, index) => {
            const [body, status] = lines.slice(2 * index, 2 * index + 2);
            assert.strictEqual(status, "500", `the router answered /fail with 500: ${body} ${status}`);
            return JSON.parse(body).pod as string;
        });
    }

    /** From a probe pod, every script (bash, named by what it tries) at once, each bounded. */
    async function attempts(probe: Kubectl, pod: string, scripts: Record<string, string>): Promise<Attempt[]> {
        const whats = Object.keys(scripts);
        return (await attemptsFromPod(probe, pod, Object.values(scripts))).map((attempt, index) => ({
            what: whats[index],
            ...attempt,
        }));
    }

    before(async () => {
        let config: ProdStack["config"];
        ({ kubectl, workspace, host, ingressAddress, config } = await prodStack());
        assert.ok(config.router.metricsPort, "Pulumi.prod.yaml gives the router a metrics port");
        metricsPort = config.router.metricsPort;
        monitoring = e2eKubectl(config.networkPolicy.monitoringNamespace);
        const service = await monitoring.json(["get", "service", PROMETHEUS]);
        prometheusAddress = `${service.spec.clusterIP}:${service.spec.ports[0].port}`;
    });

    after(async () => {
        await e2eKubectl().run(["delete", "namespace", OUTSIDE_NAMESPACE, "--ignore-not-found", "--wait=false"]);
    });

    it("Prometheus runs the repository's configuration and rules, of the pinned release; the rules' unit tests pass with its promtool", async () => {
        const configMap = await monitoring.json(["get", "configmap", PROMETHEUS]);
        for (const file of ["prometheus.yml", "rules.yaml", "rules.test.yaml"]) {
            assert.strictEqual(
                configMap.data[file],
                fs.readFileSync(path.join(MONITORING_DIR, file), "utf8"),
                `the cluster's ${file} is monitoring/${file}`,
            );
        }
        const build = await prometheusApi("status/buildinfo");
        assert.strictEqual(build.version, toolchainVersions().PROMETHEUS_VERSION);
        const promtool = (args: string[]) =>
            runCommand(
                "kubectl",
                [
                    "--kubeconfig",
                    monitoring.kubeconfig,
                    "--namespace",
                    monitoring.namespace,
                    "exec",
                    `deploy/${PROMETHEUS}`,
                    "--",
                    "/promtool",
                    ...args,
                ],
                { timeoutMs: 60_000 },
            );
        const checked = await promtool(["check", "config", "/etc/prometheus/prometheus.yml"]);
        assert.strictEqual(checked.code, 0, checked.output);
        const tested = await promtool(["test", "rules", "/etc/prometheus/rules.test.yaml"]);
        console.log(
            `      Prometheus ${build.version}; promtool test rules: ${tested.output.trim().split("\n").join(" / ")}`,
        );
        assert.strictEqual(tested.code, 0, tested.output);
        assert.match(tested.stdout, /SUCCESS/);
    });

    it("every ready router pod is a target of its own, up, with its pod, namespace and Service as labels", async () => {
        const pods = await readyPods(kubectl, ROUTER.appName);
        assert.ok(pods.length >= 3, `the prod stack's router pods: ${pods.map((pod) => pod.name)}`);
        const targets = await eventually("a scraped target up for every ready router pod", 120_000, async () => {
            const active: Target[] = (await prometheusApi("targets", { state: "active" })).activeTargets.filter(
                (target: Target) => target.labels.job === JOB,
            );
            return pods.every((pod) => active.some((t) => t.labels.pod === pod.name && t.health === "up"))
                ? active
                : undefined;
        });
        for (const pod of pods) {
            const own = targets.filter((target) => target.labels.pod === pod.name);
            assert.strictEqual(own.length, 1, `one target for ${pod.name}`);
            const [target] = own;
            console.log(
                `      ${target.labels.namespace}/${target.labels.pod} (Service ${target.labels.service}): ` +
                    `${target.scrapeUrl} ${target.health}, last scrape ${(target.lastScrapeDuration * 1000).toFixed(1)} ms`,
            );
            assert.strictEqual(target.scrapeUrl, `http://${pod.ip}:${metricsPort}/metrics`);
            assert.strictEqual(target.labels.namespace, kubectl.namespace);
            assert.strictEqual(target.labels.service, ROUTER.serviceName);
        }
        // Only the platform's `metrics` ports: no other Service, no other port of the router's.
        assert.deepStrictEqual([...new Set(targets.map((target) => target.labels.service))], [ROUTER.serviceName]);
        const up = await instant(`up{job="${JOB}"}`, "pod");
        for (const pod of pods) {
            assert.strictEqual(up.get(pod.name), 1, `up{pod="${pod.name}"}`);
        }
    });

    it("the 5xx-ratio alert: quiet before; 500s through the front door move the answering pods' counters by exactly their number, and the alert turns pending", async () => {
        // Negative control: the rule is loaded and evaluated, its expression finds nothing, no alert.
        const quiet = await alertingRule(ERROR_RATIO_ALERT);
        console.log(
            `      ${ERROR_RATIO_ALERT} before: ${quiet.state}, for ${quiet.duration} s, expression: ${quiet.query.replace(/\s+/g, " ")}`,
        );
        assert.strictEqual(quiet.state, "inactive");
        assert.deepStrictEqual(quiet.alerts, []);
        assert.strictEqual((await instant(quiet.query, "service")).size, 0, "the expression finds nothing yet");

        // Every router pod exports its 5xx counter from the start (at 0), so the first 500 counts.
        const pods = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name);
        const failures = `router_requests_total{job="${JOB}", code="500"}`;
        const before = await eventually("a 500 counter for every ready router pod", 60_000, async () => {
            const counters = await instant(failures, "pod");
            return pods.every((pod) => counters.has(pod)) ? counters : undefined;
        });
        const sentAt = Date.now();
        const answeredBy = await failThroughFrontDoor(FAILED_REQUESTS);
        const sent = new Map(pods.map((pod) => [pod, answeredBy.filter((p) => p === pod).length]));
        assert.strictEqual(
            [...sent.values()].reduce((a, b) => a + b, 0),
            FAILED_REQUESTS,
            `answered by ready pods: ${answeredBy}`,
        );

        const after = await eventually("each pod's 500 counter moved by the requests it answered", 90_000, async () => {
            const counters = await instant(failures, "pod");
            return pods.every((pod) => counters.get(pod) === before.get(pod)! + sent.get(pod)!) ? counters : undefined;
        });
        for (const pod of pods) {
            console.log(
                `      ${pod}: answered ${sent.get(pod)} of the ${FAILED_REQUESTS} 500s; router_requests_total{code="500"} ${before.get(pod)} -> ${after.get(pod)}`,
            );
        }

        const pending = await eventually(`${ERROR_RATIO_ALERT} pending or firing`, 120_000, async () => {
            const rule = await alertingRule(ERROR_RATIO_ALERT);
            return rule.alerts.find((alert) => alert.state === "pending" || alert.state === "firing");
        });
        console.log(
            `      ${ERROR_RATIO_ALERT}: ${pending.state} ${((Date.now() - sentAt) / 1000).toFixed(1)} s after the first 500, ` +
                `for ${pending.labels.namespace}/${pending.labels.service}, ratio ${Number(pending.value).toFixed(3)}`,
        );
        assert.strictEqual(pending.labels.namespace, kubectl.namespace);
        assert.strictEqual(pending.labels.service, ROUTER.serviceName);
        assert.ok(Number(pending.value) > 0.05, `ratio ${pending.value}`);
    });

    it("the metrics port admits the monitoring namespace only: a twin probe elsewhere gets no answer there, nor on 8080, and reaches the router through the front door", async () => {
        const image = (await nodeImages()).postgres;
        await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: OUTSIDE_NAMESPACE } });
        const outside = e2eKubectl(OUTSIDE_NAMESPACE);
        const probeName = "exchange-monitoring-probe";
        // Built alike: the same image and pod, only the namespace differs.
        const [inside, outsider] = await Promise.all(
            [monitoring, outside].map(async (probe) => {
                await startPod(probe, sleeperPod(probeName, probe.namespace, image, {}, 300));
                return probe;
            }),
        );
        try {
            const pods = await readyPods(kubectl, ROUTER.appName);
            const get = (address: string, requestPath: string) =>
                `exec 3<>/dev/tcp/${address} && printf 'GET ${requestPath} HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3`;
            const scripts: Record<string, string> = {};
            for (const pod of pods) {
                scripts[`${pod.name} ${pod.ip}:${metricsPort}`] = get(`${pod.ip}/${metricsPort}`, "/metrics");
                scripts[`${pod.name} ${pod.ip}:${ROUTER.containerPort}`] = get(
                    `${pod.ip}/${ROUTER.containerPort}`,
                    "/health",
                );
            }
            // The front door: TLS for the stack's host, then the answer's body (the router's echo).
            const frontDoor = `front door https://${host}/backend/api/v1/orders`;
            const viaFrontDoor =
                `printf 'GET /backend/api/v1/orders HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | ` +
                `openssl s_client -quiet -connect ${ingressAddress}:443 -servername ${host} 2>/dev/null | grep -o '"pod":"[^"]*"'`;
            // The enforcer learns a new pod from the API server: until the inside probe is let in.
            await eventually("the monitoring probe answered on a metrics port", 30_000, async () => {
                const [first] = await attempts(inside, probeName, { first: Object.values(scripts)[0] });
                return first.code === 0 ? true : undefined;
            });
            const fromInside = await attempts(inside, probeName, scripts);
            const fromOutside = await attempts(outsider, probeName, { ...scripts, [frontDoor]: viaFrontDoor });
            for (const [where, list] of [
                [monitoring.namespace, fromInside],
                [OUTSIDE_NAMESPACE, fromOutside],
            ] as const) {
                for (const attempt of list) {
                    const outcome =
                        attempt.code === 0
                            ? `answered ${JSON.stringify(attempt.answer)}`
                            : attempt.code === TIMED_OUT
                              ? "no answer"
                              : `failed (exit ${attempt.code}: ${attempt.answer})`;
                    console.log(`      from ${where}: ${attempt.what}: ${outcome} in ${attempt.ms} ms`);
                }
            }
            for (const attempt of fromInside) {
                if (attempt.what.endsWith(`:${metricsPort}`)) {
                    assert.strictEqual(attempt.code, 0, `monitoring is admitted to ${attempt.what}`);
                    assert.match(attempt.answer, /^HTTP\/1\.[01] 200/);
                } else {
                    assert.strictEqual(
                        attempt.code,
                        TIMED_OUT,
                        `only the metrics port admits monitoring: ${attempt.what}`,
                    );
                }
            }
            for (const attempt of fromOutside) {
                if (attempt.what === frontDoor) {
                    assert.strictEqual(attempt.code, 0, attempt.answer);
                    assert.ok(
                        pods.some((pod) => attempt.answer.includes(`"pod":"${pod.name}"`)),
                        `a router pod answered: ${attempt.answer}`,
                    );
                } else {
                    // A dropped SYN: the attempt waited its whole bound (a closed port resets at once).
                    assert.strictEqual(attempt.code, TIMED_OUT, `refused outside monitoring: ${attempt.what}`);
                }
            }
        } finally {
            for (const probe of [inside, outsider]) {
                await probe.run(["delete", "pod", probeName, "--ignore-not-found", "--wait=false"]);
            }
        }
    });
    it("negative control of the scrape: without the policy's monitoring rule a new Prometheus cannot scrape, and ExchangeTargetDown turns pending; pulumi up puts the rule back", async () => {
        const policyName = `${ROUTER.appName}-allow-ingress`;
        const policy = await kubectl.json(["get", "networkpolicy", policyName]);
        const index = policy.spec.ingress.findIndex((rule: any) =>
            (rule.ports ?? []).some((port: any) => port.port === metricsPort),
        );
        assert.ok(index >= 0, `${policyName} admits someone to ${metricsPort}`);
        const quiet = await alertingRule(TARGET_DOWN_ALERT);
        assert.strictEqual(quiet.state, "inactive", `${TARGET_DOWN_ALERT} before`);
        await kubectl.run([
            "patch",
            "networkpolicy",
            policyName,
            "--type",
            "json",
            "-p",
            JSON.stringify([{ op: "remove", path: `/spec/ingress/${index}` }]),
        ]);
        // The enforcer judges new connections only, and Prometheus keeps its scrape connections
        // open: a new Prometheus (its data is scratch) has to connect again.
        const restarted = Date.now();
        await monitoring.run(["rollout", "restart", `deployment/${PROMETHEUS}`]);
        await monitoring.run(["rollout", "status", `deployment/${PROMETHEUS}`, "--timeout=120s"]);
        const pods = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name);
        const down = await eventually(`${TARGET_DOWN_ALERT} pending for every router pod`, 120_000, async () => {
            const rule = await alertingRule(TARGET_DOWN_ALERT);
            const active = rule.alerts.filter((alert) => alert.state === "pending" || alert.state === "firing");
            return pods.every((pod) => active.some((alert) => alert.labels.pod === pod)) ? active : undefined;
        });
        const up = await instant(`up{job="${JOB}"}`, "pod");
        const targets: Target[] = (await prometheusApi("targets", { state: "active" })).activeTargets;
        console.log(
            `      ${policyName} without its rule for ${metricsPort}; Prometheus restarted; ${TARGET_DOWN_ALERT} pending for ${down.length} pods ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart`,
        );
        for (const pod of pods) {
            const target = targets.find((t) => t.labels.pod === pod);
            console.log(`      ${pod}: up ${up.get(pod)}, ${target?.lastError}`);
            assert.strictEqual(up.get(pod), 0, `${pod} cannot be scraped`);
        }

        const repaired = await workspace.up("prod", { refresh: true });
        assert.strictEqual(repaired.code, 0, repaired.output);
        const back = await eventually("every router pod scraped again", 120_000, async () => {
            const now = await instant(`up{job="${JOB}"}`, "pod");
            return pods.every((pod) => now.get(pod) === 1) ? now : undefined;
        });
        console.log(`      after pulumi up --refresh: up ${pods.map((pod) => back.get(pod)).join(", ")}`);
    });
});
