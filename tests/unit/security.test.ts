/**
 * Least privilege in the program: system namespaces refused, Pod Security labels on a namespace
 * the program creates, every pod admissible under the "restricted" profile, Redis with a password.
 */
import * as assert from "assert";
import { REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import { ConfigError } from "../../config";
import { stackConfig, withConfig } from "../support";
import {
    isSecretValue,
    mockPassword,
    named,
    ofType,
    ProgramRun,
    runProgram,
    TYPES,
    workloads,
    workloadNamed,
} from "./harness";

/**
 * What the Pod Security "restricted" profile (Kubernetes 1.36) refuses in a pod spec, checked the
 * way the admission controller does: pod-level settings count for every container unless a
 * container overrides them.
 */
function restrictedProblems(pod: any): string[] {
    const problems: string[] = [];
    const podContext = pod.securityContext ?? {};
    for (const hostField of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (pod[hostField]) {
            problems.push(`${hostField} is set`);
        }
    }
    const allowedVolumeSources = [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    for (const volume of pod.volumes ?? []) {
        const sources = Object.keys(volume).filter((key) => key !== "name");
        if (!sources.every((source) => allowedVolumeSources.includes(source))) {
            problems.push(`volume ${volume.name} uses ${sources.join(", ")}`);
        }
    }
    if (podContext.runAsUser === 0) {
        problems.push("the pod runs as user 0");
    }
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const context = container.securityContext ?? {};
        const where = `container ${container.name}`;
        if (context.privileged) {
            problems.push(`${where} is privileged`);
        }
        if (context.allowPrivilegeEscalation !== false) {
            problems.push(`${where} does not set allowPrivilegeEscalation: false`);
        }
        if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) {
            problems.push(`${where} does not set runAsNonRoot: true`);
        }
        if (context.runAsUser === 0) {
            problems.push(`${where} runs as user 0`);
        }
        const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
            problems.push(`${where} has seccomp profile ${seccomp}`);
        }
        if (!(context.capabilities?.drop ?? []).includes("ALL")) {
            problems.push(`${where} does not drop ALL capabilities`);
        }
        const added = (context.capabilities?.add ?? []).filter(
            (capability: string) => capability !== "NET_BIND_SERVICE",
        );
        if (added.length > 0) {
            problems.push(`${where} adds ${added.join(", ")}`);
        }
        if ((container.ports ?? []).some((port: any) => port.hostPort)) {
            problems.push(`${where} uses a host port`);
        }
    }
    return problems;
}

describe("Pod Security: every pod of the platform is admitted under restricted", () => {
    const variants: [string, Record<string, string>][] = [
        ["dev", stackConfig("dev")],
        ["prod", stackConfig("prod")],
        [
            "dev with Redis auth, every Service variant",
            withConfig(stackConfig("dev"), {
                redis: { auth: true, metricsPort: 9121, headless: true },
                router: { external: true },
            }),
        ],
    ];
    for (const [title, config] of variants) {
        it(title, async () => {
            const run = await runProgram(config);
            assert.ifError(run.error);
            const deployments = workloads(run);
            assert.strictEqual(deployments.length, 4);
            for (const deployment of deployments) {
                assert.deepStrictEqual(restrictedProblems(deployment.inputs.spec.template.spec), [], deployment.name);
            }
        });
    }

    it("the check itself refuses what restricted refuses", () => {
        const pod = {
            hostNetwork: true,
            volumes: [{ name: "host", hostPath: { path: "/var/run" } }],
            containers: [
                {
                    name: "app",
                    ports: [{ containerPort: 80, hostPort: 80 }],
                    securityContext: { capabilities: { add: ["NET_ADMIN"] } },
                },
            ],
        };
        assert.deepStrictEqual(restrictedProblems(pod), [
            "hostNetwork is set",
            "volume host uses hostPath",
            "container app does not set allowPrivilegeEscalation: false",
            "container app does not set runAsNonRoot: true",
            "container app has seccomp profile undefined",
            "container app does not drop ALL capabilities",
            "container app adds NET_ADMIN",
            "container app uses a host port",
        ]);
    });
});

describe("the platform's namespace", () => {
    for (const system of ["kube-system", "kube-public", "kube-node-lease"]) {
        it(`${system} is refused, naming the key, with nothing registered`, async () => {
            const run = await runProgram(withConfig(stackConfig("dev"), { namespace: system }));
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
            assert.match(
                run.error.message,
                new RegExp(`exchange:namespace: "${system}" is not allowed; .*belong to the cluster`),
            );
            assert.deepStrictEqual(run.resources, []);
        });
    }

    it("a namespace the program creates enforces, audits and warns at restricted by default", async () => {
        const run = await runProgram(withConfig(stackConfig("dev"), { namespace: "trading" }));
        assert.ifError(run.error);
        const labels = named(run, TYPES.namespace, "trading").inputs.metadata.labels;
        assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.strictEqual(labels["pod-security.kubernetes.io/audit"], "restricted");
        assert.strictEqual(labels["pod-security.kubernetes.io/warn"], "restricted");
        assert.strictEqual(labels["app.kubernetes.io/part-of"], "exchange");
    });

    it("the levels are configurable per mode", async () => {
        const run = await runProgram(
            withConfig(stackConfig("dev"), {
                namespace: "trading",
                podSecurity: { enforce: "baseline", warn: "restricted" },
            }),
        );
        assert.ifError(run.error);
        const labels = named(run, TYPES.namespace, "trading").inputs.metadata.labels;
        assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert.strictEqual(labels["pod-security.kubernetes.io/warn"], "restricted");
    });

    it("an unknown level is refused with the allowed values", async () => {
        const run = await runProgram(withConfig(stackConfig("dev"), { podSecurity: { enforce: "strict" } }));
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /exchange:podSecurity\.enforce: "strict" is not allowed; allowed values: privileged, baseline, restricted/,
        );
    });

    it("default is left as it is: no Namespace object, no labels on it", async () => {
        const run = await runProgram(stackConfig("dev"));
        assert.deepStrictEqual(ofType(run, TYPES.namespace), []);
        assert.ok(!run.resources.some((r) => r.type.startsWith("kubernetes:core/v1:Namespace")));
    });
});

describe("Redis authentication (prod: on)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(stackConfig("prod"), "prod");
        assert.ifError(run.error);
    });
    const redisContainer = () => workloadNamed(run, REDIS.appName).inputs.spec.template.spec.containers[0];
    const fromSecret = (name: string, key: string) => ({
        name,
        valueFrom: { secretKeyRef: { name: "exchange-redis-connection", key } },
    });

    it("a generated password and the URL with it live in Secret exchange-redis-connection, sent as secrets", () => {
        const password = mockPassword("exchange-redis-password");
        const secret = named(run, TYPES.secret, "exchange-redis-connection");
        assert.deepStrictEqual(secret.inputs.stringData, {
            REDIS_PASSWORD: password,
            REDIS_URL: `redis://:${password}@exchange-redis-service:80`,
        });
        assert.ok(
            isSecretValue(secret.rawInputs.stringData) || isSecretValue(secret.rawInputs.stringData.REDIS_PASSWORD),
        );
        assert.ok(isSecretValue(secret.rawInputs.stringData) || isSecretValue(secret.rawInputs.stringData.REDIS_URL));
        assert.strictEqual(ofType(run, TYPES.configMap).length, 0, "no ConfigMap holds a Redis URL");
        assert.deepStrictEqual(
            ofType(run, TYPES.password)
                .map((p) => p.name)
                .sort(),
            ["exchange-postgres-password", "exchange-redis-password"],
        );
    });

    it("the server is started with --requirepass from its env, which comes from the Secret", () => {
        const container = redisContainer();
        const flag = container.args.indexOf("--requirepass");
        assert.ok(flag > 0, container.args.join(" "));
        assert.strictEqual(container.args[flag + 1], "$(REDIS_PASSWORD)");
        assert.deepStrictEqual(container.env, [
            fromSecret("REDIS_PASSWORD", "REDIS_PASSWORD"),
            fromSecret("REDISCLI_AUTH", "REDIS_PASSWORD"),
        ]);
    });

    it("the probes pass only on PONG from redis-cli, which authenticates with REDISCLI_AUTH; no password in the pod spec", () => {
        const container = redisContainer();
        for (const probe of [container.readinessProbe, container.livenessProbe]) {
            assert.deepStrictEqual(probe.exec.command, ["sh", "-c", "redis-cli -p 6379 ping | grep -qx PONG"]);
        }
        const podSpec = JSON.stringify(workloadNamed(run, REDIS.appName).inputs);
        assert.ok(
            !podSpec.includes(mockPassword("exchange-redis-password")),
            "the password is no literal in the Deployment",
        );
    });

    it("router and ws-stream read REDIS_URL from the Secret", () => {
        for (const app of [ROUTER.appName, WS_STREAM.appName]) {
            const env = workloadNamed(run, app).inputs.spec.template.spec.containers[0].env;
            assert.deepStrictEqual(
                env.find((variable: any) => variable.name === "REDIS_URL"),
                fromSecret("REDIS_URL", "REDIS_URL"),
            );
        }
    });

    it("the stack output carries the authenticated URL, and only as a secret", () => {
        assert.ok(run.secretOutputs.includes("connectionStrings"));
        const { redis } = run.outputs.connectionStrings as { redis: string };
        assert.strictEqual(redis, `redis://:${mockPassword("exchange-redis-password")}@exchange-redis-service:80`);
    });
});

describe("Redis without authentication (dev: off)", () => {
    it("the password-less URL in a ConfigMap, no password, no --requirepass, no env on the server", async () => {
        const run: ProgramRun = await runProgram(stackConfig("dev"));
        assert.ifError(run.error);
        assert.deepStrictEqual(named(run, TYPES.configMap, "exchange-redis-connection").inputs.data, {
            REDIS_URL: "redis://exchange-redis-service:80",
        });
        assert.ok(!ofType(run, TYPES.password).some((p) => p.name === "exchange-redis-password"));
        const container = workloadNamed(run, REDIS.appName).inputs.spec.template.spec.containers[0];
        assert.ok(!container.args.includes("--requirepass"));
        assert.strictEqual(container.env, undefined);
        assert.strictEqual(
            (run.outputs.connectionStrings as { redis: string }).redis,
            "redis://exchange-redis-service:80",
        );
    });
});
