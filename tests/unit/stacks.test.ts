/** The dev and prod stacks, as their stack files configure them, under Pulumi's mocks. */
import * as assert from "assert";
import { PLATFORM_SERVICES, POSTGRES, REDIS, ROUTER, WS_STREAM } from "@exchange/contract";
import { nonEmpty } from "../assertions";
import { stackConfig } from "../support";
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

function podLabelsOf(run: ProgramRun, appName: string): Record<string, string> {
    return workloadNamed(run, appName).inputs.spec.template.metadata.labels;
}

function containerOf(run: ProgramRun, appName: string): any {
    const containers = workloadNamed(run, appName).inputs.spec.template.spec.containers;
    // The service's own container comes first; only PostgreSQL has another (its backup sidecar).
    assert.strictEqual(containers.length, appName === POSTGRES.appName ? containers.length : 1);
    return containers[0];
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** How pods get REDIS_URL: from the Secret when Redis asks for a password, else from the ConfigMap. */
function redisUrlReference(redisAuth: boolean) {
    const ref = { name: "exchange-redis-connection", key: "REDIS_URL" };
    return { name: "REDIS_URL", valueFrom: redisAuth ? { secretKeyRef: ref } : { configMapKeyRef: ref } };
}

function describeCommonFacts(
    stack: string,
    load: () => ProgramRun,
    redisAuth: boolean,
    ingressControllerNamespace: string,
) {
    describe(`${stack}: the contract's Services`, () => {
        for (const platformService of PLATFORM_SERVICES) {
            it(`${platformService.serviceName}: port 80 -> ${platformService.containerPort}/TCP, selecting app=${platformService.appName}`, () => {
                const run = load();
                const service = named(run, TYPES.service, platformService.serviceName).inputs;
                assert.deepStrictEqual(service.spec.selector, { app: platformService.appName });
                assert.ok(
                    selects(service.spec.selector, podLabelsOf(run, platformService.appName)),
                    "selector must match the pod template labels",
                );
                assert.deepStrictEqual(service.spec.ports[0], {
                    name: platformService.portName,
                    port: 80,
                    targetPort: platformService.containerPort,
                    protocol: "TCP",
                });
                assert.strictEqual(service.metadata.namespace, "default");
            });

            it(`${platformService.appName}: named container port ${platformService.portName}=${platformService.containerPort}, pinned image, probes, resources, non-root`, () => {
                const run = load();
                const container = containerOf(run, platformService.appName);
                assert.deepStrictEqual(container.ports[0], {
                    name: platformService.portName,
                    containerPort: platformService.containerPort,
                    protocol: "TCP",
                });
                assert.match(container.image, /:[\w.-]+$/);
                assert.doesNotMatch(container.image, /:latest$/);
                assert.ok(container.readinessProbe, "readiness probe");
                assert.ok(container.livenessProbe, "liveness probe");
                for (const part of ["requests", "limits"]) {
                    assert.ok(
                        container.resources[part].cpu && container.resources[part].memory,
                        `${part} cpu and memory`,
                    );
                }
                assert.strictEqual(container.securityContext.allowPrivilegeEscalation, false);
                assert.strictEqual(container.securityContext.runAsNonRoot, true);
                assert.deepStrictEqual(container.securityContext.capabilities, { drop: ["ALL"] });
                const deployment = workloadNamed(run, platformService.appName).inputs;
                assert.deepStrictEqual(deployment.spec.selector.matchLabels, { app: platformService.appName });
                assert.notStrictEqual(deployment.spec.template.spec.securityContext.runAsUser, 0);
            });

            it(`${platformService.serviceName} and its Deployment have fixed names, so they are replaced delete-before-replace`, () => {
                const run = load();
                assert.strictEqual(named(run, TYPES.service, platformService.serviceName).deleteBeforeReplace, true);
                assert.strictEqual(workloadNamed(run, platformService.appName).deleteBeforeReplace, true);
            });
        }

        it("every object is labelled part-of=exchange and lets Pulumi take back hand-edited fields", () => {
            for (const resource of nonEmpty(
                load().resources.filter((r) => r.type.startsWith("kubernetes:")),
                "Kubernetes object",
            )) {
                assert.strictEqual(
                    resource.inputs.metadata.labels["app.kubernetes.io/part-of"],
                    "exchange",
                    resource.name,
                );
                if (resource.type !== TYPES.namespace) {
                    assert.strictEqual(
                        resource.inputs.metadata.annotations["pulumi.com/patchForce"],
                        "true",
                        resource.name,
                    );
                }
            }
        });

        it("every Kubernetes object is a child of a component, not of the stack", () => {
            const run = load();
            for (const resource of nonEmpty(
                run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== TYPES.namespace),
                "Kubernetes object",
            )) {
                assert.match(
                    resource.parentUrn,
                    /exchange:platform:/,
                    `${resource.type} ${resource.name} parent ${resource.parentUrn}`,
                );
            }
        });
    });

    describe(`${stack}: connection strings reach the pods only as references`, () => {
        const redisSource = redisAuth ? "Secret" : "ConfigMap";
        it(`the router gets DATABASE_URL from the credentials Secret and REDIS_URL from the ${redisSource}`, () => {
            const run = load();
            const env = containerOf(run, ROUTER.appName).env;
            assert.deepStrictEqual(env, [
                {
                    name: "DATABASE_URL",
                    valueFrom: { secretKeyRef: { name: "exchange-postgres-credentials", key: "DATABASE_URL" } },
                },
                redisUrlReference(redisAuth),
                // Prod's router serves metrics; its port number is not a credential.
                ...(stack === "prod" ? [{ name: "METRICS_PORT", value: "9090" }] : []),
            ]);
        });

        it(`the stream gets REDIS_URL from the ${redisSource}`, () => {
            const env = containerOf(load(), WS_STREAM.appName).env;
            assert.deepStrictEqual(env, [redisUrlReference(redisAuth)]);
        });

        it("no container has a literal value that looks like a credential", () => {
            for (const deployment of nonEmpty(workloads(load()), "Deployment")) {
                for (const container of deployment.inputs.spec.template.spec.containers) {
                    for (const variable of container.env ?? []) {
                        if (variable.value !== undefined) {
                            assert.doesNotMatch(
                                variable.name,
                                /PASSWORD|SECRET|TOKEN|URL/i,
                                `${deployment.name}: ${variable.name}`,
                            );
                            assert.doesNotMatch(variable.value, /:\/\/[^/]*:[^/]*@/);
                        }
                    }
                }
            }
        });

        it("the Secret holds the contract's database URL with the generated password, sent as a secret", () => {
            const run = load();
            const secret = named(run, TYPES.secret, "exchange-postgres-credentials");
            const password = ofType(run, TYPES.password).filter((p) => p.name === "exchange-postgres-password");
            assert.strictEqual(password.length, 1);
            assert.strictEqual(
                secret.inputs.stringData.DATABASE_URL,
                `postgresql://exchange:${mockPassword(password[0].name)}@exchange-postgres-service:80/exchange`,
            );
            assert.ok(
                isSecretValue(secret.rawInputs.stringData) ||
                    isSecretValue(secret.rawInputs.stringData.POSTGRES_PASSWORD),
                "the password must travel as a secret",
            );
        });

        it("the connection strings are a secret stack output", () => {
            const run = load();
            assert.ok(run.secretOutputs.includes("connectionStrings"));
            assert.ok(!run.secretOutputs.includes("serviceDnsNames"));
            assert.deepStrictEqual(Object.keys(run.outputs.connectionStrings as object).sort(), ["database", "redis"]);
        });

        it("the passwords' random provider is registered before any Kubernetes object, and makes every password", () => {
            // The engine loads providers in the order resources ask for them: see passwordProvider.
            const run = load();
            const providerAt = run.resources.findIndex((r) => r.type === "pulumi:providers:random");
            const firstObjectAt = run.resources.findIndex((r) => r.type.startsWith("kubernetes:"));
            assert.ok(providerAt >= 0, "an explicit random provider is registered");
            assert.ok(providerAt < firstObjectAt, `the provider is #${providerAt}, the first object #${firstObjectAt}`);
            const provider = run.resources[providerAt];
            for (const password of nonEmpty(ofType(run, TYPES.password), "generated passwords")) {
                assert.strictEqual(password.provider, `${provider.urn}::${provider.name}-id`, password.name);
            }
        });
    });

    describe(`${stack}: data survives`, () => {
        for (const [platformService, claimName] of [
            [POSTGRES, "exchange-postgres-data"],
            [REDIS, "exchange-redis-data"],
        ] as const) {
            it(`${platformService.appName} is a StatefulSet of one pod that mounts the program's own ${claimName}`, () => {
                const run = load();
                const statefulSet = named(run, TYPES.statefulSet, platformService.appName).inputs;
                assert.strictEqual(statefulSet.spec.replicas, 1);
                assert.strictEqual(statefulSet.spec.serviceName, platformService.serviceName);
                assert.strictEqual(
                    statefulSet.spec.volumeClaimTemplates,
                    undefined,
                    "no claim of the StatefulSet's own",
                );
                const volume = statefulSet.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim);
                assert.strictEqual(volume.persistentVolumeClaim.claimName, claimName);
                const claim = named(run, TYPES.claim, claimName).inputs;
                assert.deepStrictEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
            });
        }
    });

    describe(`${stack}: Ingress routes`, () => {
        it("/backend/* goes to exchange-router-service:80 with the prefix stripped", () => {
            const ingress = named(load(), TYPES.ingress, "exchange-backend").inputs;
            const path = ingress.spec.rules[0].http.paths[0];
            assert.deepStrictEqual(path.backend, {
                service: { name: "exchange-router-service", port: { number: 80 } },
            });
            const pattern = new RegExp(`^${path.path}$`);
            const rewrite = ingress.metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"];
            const rewritten = (url: string) => url.replace(pattern, rewrite.replace(/\$(\d)/g, "$$$1"));
            assert.strictEqual(rewritten("/backend/api/v1/orders"), "/api/v1/orders");
            assert.strictEqual(rewritten("/backend/health"), "/health");
            assert.strictEqual(rewritten("/backend"), "/");
            assert.ok(!pattern.test("/backendx/health"), "a longer first segment is not /backend");
        });

        it("/ws goes to exchange-ws-stream-service:80 unchanged, with long proxy timeouts", () => {
            const ingress = named(load(), TYPES.ingress, "exchange-ws").inputs;
            const path = ingress.spec.rules[0].http.paths[0];
            assert.deepStrictEqual(path, {
                path: "/ws",
                pathType: "Prefix",
                backend: { service: { name: "exchange-ws-stream-service", port: { number: 80 } } },
            });
            assert.ok(!("nginx.ingress.kubernetes.io/rewrite-target" in ingress.metadata.annotations));
            assert.strictEqual(ingress.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
        });
    });

    describe(`${stack}: NetworkPolicies`, () => {
        it("deny all ingress to the platform's pods, then allow only the platform's paths", () => {
            const run = load();
            const policies = ofType(run, TYPES.networkPolicy).map((p) => p.inputs);
            const deny = policies.find((p) => p.metadata.name === "exchange-default-deny-ingress");
            assert.deepStrictEqual(deny.spec.ingress, []);
            for (const platformService of PLATFORM_SERVICES) {
                assert.ok(
                    selects(deny.spec.podSelector.matchLabels, podLabelsOf(run, platformService.appName)),
                    `deny-all covers ${platformService.appName}`,
                );
            }
            const allowedClients = (platformService: typeof ROUTER) => {
                const policy = policies.find((p) => p.metadata.name === `${platformService.appName}-allow-ingress`);
                assert.deepStrictEqual(policy.spec.podSelector.matchLabels, { app: platformService.appName });
                return policy.spec.ingress.flatMap((rule: any) =>
                    (rule.from ?? [{ any: true }]).map(
                        (peer: any) =>
                            peer.podSelector?.matchLabels?.app ??
                            peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ??
                            "anywhere",
                    ),
                );
            };
            assert.deepStrictEqual(allowedClients(POSTGRES), ["exchange-router"]);
            assert.deepStrictEqual(allowedClients(REDIS), ["exchange-router", "exchange-ws-stream"]);
            assert.ok(allowedClients(ROUTER).includes(ingressControllerNamespace));
            assert.ok(allowedClients(WS_STREAM).includes(ingressControllerNamespace));
        });
    });
}

describe("dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(stackConfig("dev"), "dev");
        assert.ifError(run.error);
    });
    // The local cluster's controller, Traefik, runs in its own namespace (Pulumi.dev.yaml).
    describeCommonFacts("dev", () => run, false, "traefik");

    it("one replica each, ClusterIP everywhere, no extra Services, no TLS, no host", () => {
        for (const deployment of nonEmpty(workloads(run), "Deployment")) {
            assert.strictEqual(deployment.inputs.spec.replicas, 1, deployment.name);
        }
        const services = ofType(run, TYPES.service).map((s) => s.inputs);
        assert.deepStrictEqual(
            services.map((s) => s.metadata.name).sort(),
            PLATFORM_SERVICES.map((s) => s.serviceName).sort(),
        );
        assert.ok(services.every((s) => s.spec.type === "ClusterIP" && s.spec.sessionAffinity === "None"));
        for (const ingress of nonEmpty(ofType(run, TYPES.ingress), "Ingress")) {
            assert.strictEqual(ingress.inputs.spec.tls, undefined);
            assert.strictEqual(ingress.inputs.spec.rules[0].host, undefined);
        }
    });

    it("claims are not protected in dev, so the stack can be destroyed", () => {
        assert.ok(
            nonEmpty(ofType(run, TYPES.claim), "PersistentVolumeClaim").every((claim) => claim.protect === false),
        );
    });

    it("exports every Service's cluster DNS name and URLs on the ingress address", () => {
        assert.deepStrictEqual(run.outputs.serviceDnsNames, {
            "exchange-router-service": "exchange-router-service.default.svc.cluster.local:80",
            "exchange-ws-stream-service": "exchange-ws-stream-service.default.svc.cluster.local:80",
            "exchange-postgres-service": "exchange-postgres-service.default.svc.cluster.local:80",
            "exchange-redis-service": "exchange-redis-service.default.svc.cluster.local:80",
        });
        assert.deepStrictEqual(run.outputs.publicUrls, { api: "http://192.0.2.10/backend", ws: "ws://192.0.2.10/ws" });
    });

    it("creates no Namespace: default is not the program's to own", () => {
        assert.strictEqual(ofType(run, TYPES.namespace).length, 0);
    });
});

describe("prod stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(stackConfig("prod"), "prod");
        assert.ifError(run.error);
    });
    describeCommonFacts("prod", () => run, true, "ingress-nginx");

    it("runs several router and stream replicas", () => {
        assert.strictEqual(workloadNamed(run, ROUTER.appName).inputs.spec.replicas, 3);
        assert.strictEqual(workloadNamed(run, WS_STREAM.appName).inputs.spec.replicas, 3);
    });

    it("keeps WebSocket clients on one pod with ClientIP affinity for 10800 s", () => {
        const spec = named(run, TYPES.service, WS_STREAM.serviceName).inputs.spec;
        assert.strictEqual(spec.sessionAffinity, "ClientIP");
        assert.deepStrictEqual(spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
    });

    it("exposes the router's metrics on a second named port, as the contract's multi-port example", () => {
        const service = named(run, TYPES.service, ROUTER.serviceName).inputs;
        assert.deepStrictEqual(service.spec.ports, [
            { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
            { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
        ]);
        assert.deepStrictEqual(containerOf(run, ROUTER.appName).ports[1], {
            name: "metrics",
            containerPort: 9090,
            protocol: "TCP",
        });
    });

    it("adds exchange-postgres-headless with clusterIP None on 5432", () => {
        const headless = named(run, TYPES.service, "exchange-postgres-headless");
        assert.strictEqual(headless.inputs.spec.clusterIP, "None");
        assert.deepStrictEqual(headless.inputs.spec.selector, { app: "exchange-postgres" });
        assert.deepStrictEqual(headless.inputs.spec.ports, [
            { name: "postgresql", port: 5432, targetPort: 5432, protocol: "TCP" },
        ]);
        assert.strictEqual(headless.deleteBeforeReplace, true);
    });

    it("serves exchange.jogeshwar.xyz over TLS issued by cert-manager", () => {
        for (const ingress of nonEmpty(ofType(run, TYPES.ingress), "Ingress").map((i) => i.inputs)) {
            assert.strictEqual(ingress.spec.rules[0].host, "exchange.jogeshwar.xyz");
            assert.deepStrictEqual(ingress.spec.tls, [
                { hosts: ["exchange.jogeshwar.xyz"], secretName: "exchange-tls" },
            ]);
            assert.strictEqual(ingress.metadata.annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        }
        assert.deepStrictEqual(run.outputs.publicUrls, {
            api: "https://exchange.jogeshwar.xyz/backend",
            ws: "wss://exchange.jogeshwar.xyz/ws",
        });
    });

    it("protects both data claims from deletion", () => {
        const claims = ofType(run, TYPES.claim);
        assert.deepStrictEqual(claims.map((c) => c.inputs.metadata.name).sort(), [
            "exchange-postgres-data",
            "exchange-redis-data",
        ]);
        assert.ok(claims.every((claim) => claim.protect));
        assert.strictEqual(
            named(run, TYPES.claim, "exchange-postgres-data").inputs.spec.resources.requests.storage,
            "50Gi",
        );
    });

    it("lets the monitoring namespace scrape the router's metrics port", () => {
        const policy = named(run, TYPES.networkPolicy, "exchange-router-allow-ingress").inputs;
        const metricsRule = policy.spec.ingress.find((rule: any) => rule.ports[0].port === 9090);
        assert.deepStrictEqual(metricsRule.from, [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ]);
    });

    it("includes the headless Service in the DNS names output", () => {
        assert.strictEqual(
            (run.outputs.serviceDnsNames as Record<string, string>)["exchange-postgres-headless"],
            "exchange-postgres-headless.default.svc.cluster.local:5432",
        );
    });
});
