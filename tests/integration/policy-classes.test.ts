/**
 * One case of every rule of the policy pack (the defect classes of the policy issue, and the
 * Gateway API checks) through a real `pulumi preview --policy-pack policy`, driven with the
 * Automation API: an inline program registers a good and a bad resource per rule, and the engine's
 * policy events must name exactly the bad ones.
 *
 * No cluster is contacted: the resources go through Kubernetes providers with
 * `renderYamlToDirectory` (two explicit providers, and the default provider configured the same way
 * through stack config), except the generateName case, which the provider refuses in render mode
 * and with Server-Side Apply: it goes through a client-side-apply provider whose cluster is a closed
 * loopback port, and is planned from its inputs. The provider still runs its Check (auto-naming, defaults), so the pack sees
 * the inputs it would see against a cluster, and unknown values come from a real resource output
 * (a ConfigMap's ID, known only once it exists). A provider pointed at a cluster would also work,
 * but would make the test depend on one being up and add its discovery round-trips to every
 * resource; render mode keeps the case independent and quick.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EngineEvent, PolicyEvent, Stack } from "@pulumi/pulumi/automation";
import { nonEmpty } from "../assertions";
import { inlineTestStack } from "../support";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");
const POLICY_PACK = path.join(PROJECT_ROOT, "policy");
const EXTERNAL_WORKLOAD_ANNOTATION = "policy.exchange.internal/external-workload";
/** A value shaped like a credential, for the credential rules to find. It protects nothing. */
const FAKE_CREDENTIAL = "not-a-real-password";

type Labels = Record<string, string>;

/** A cluster that cannot be reached (a closed loopback port), with a placeholder token. */
const UNREACHABLE_KUBECONFIG = JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "unreachable", cluster: { server: "https://127.0.0.1:9" } }],
    users: [{ name: "nobody", user: { token: "none" } }],
    contexts: [{ name: "unreachable", context: { cluster: "unreachable", user: "nobody" } }],
    "current-context": "unreachable",
});

/** A container that satisfies every container rule, unless `overrides` says otherwise. */
function container(
    name: string,
    ports: k8s.types.input.core.v1.ContainerPort[],
    overrides: Partial<k8s.types.input.core.v1.Container> = {},
) {
    return {
        name,
        image: "registry.example.test/app:1.0.0",
        ports,
        readinessProbe: { tcpSocket: { port: 8080 } },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
        ...overrides,
    };
}

function podTemplate(
    labels: Labels,
    containers: k8s.types.input.core.v1.Container[],
    spec: Partial<k8s.types.input.core.v1.PodSpec> = {},
) {
    return {
        metadata: { labels },
        spec: { securityContext: { runAsNonRoot: true, runAsUser: 10001 }, containers, ...spec },
    };
}

function deployment(
    name: string,
    labels: Labels,
    containers: k8s.types.input.core.v1.Container[],
    opts: pulumi.CustomResourceOptions,
    extra: Partial<k8s.types.input.apps.v1.DeploymentSpec> = {},
) {
    return new k8s.apps.v1.Deployment(
        name,
        {
            metadata: { name },
            spec: { selector: { matchLabels: labels }, template: podTemplate(labels, containers), ...extra },
        },
        opts,
    );
}

/** An Ingress of the nginx class with TLS for its one host, unless `extra` says otherwise. */
function ingress(
    name: string,
    service: string,
    port: k8s.types.input.networking.v1.ServiceBackendPort | undefined,
    opts: pulumi.CustomResourceOptions,
    extra: { annotations?: Record<string, string>; spec?: Partial<k8s.types.input.networking.v1.IngressSpec> } = {},
) {
    return new k8s.networking.v1.Ingress(
        name,
        {
            metadata: { name, annotations: extra.annotations },
            spec: {
                ingressClassName: "nginx",
                tls: [{ hosts: [`${name}.example.test`], secretName: "tls" }],
                rules: [
                    {
                        host: `${name}.example.test`,
                        http: {
                            paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service, port } } }],
                        },
                    },
                ],
                ...extra.spec,
            },
        },
        opts,
    );
}

/** The program: per rule, resources that must pass and one that must fail (named in EXPECTED). */
function program(renderDirs: { a: string; b: string }) {
    return async () => {
        const a = { provider: new k8s.Provider("cluster-a", { renderYamlToDirectory: renderDirs.a }) };
        const b = { provider: new k8s.Provider("cluster-b", { renderYamlToDirectory: renderDirs.b }) };
        // The ID of a resource about to be created is unknown during a preview: so is what derives from it.
        const seed = new k8s.core.v1.ConfigMap("seed", { metadata: { name: "seed" }, data: { a: "b" } }, a);
        const later = <T>(value: T) => seed.id.apply(() => value);

        // 1. Named ports resolve by name and protocol.
        deployment(
            "dns",
            { app: "dns" },
            [
                container("dns", [
                    { name: "dns", containerPort: 5353, protocol: "UDP" },
                    { name: "dns-tcp", containerPort: 5353 },
                ]),
            ],
            a,
        );
        const dnsPorts = [
            { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
            { name: "dns-tcp", port: 53, targetPort: "dns-tcp" },
        ];
        new k8s.core.v1.Service(
            "dns-good",
            { metadata: { name: "dns-good" }, spec: { selector: { app: "dns" }, ports: dnsPorts } },
            a,
        );
        new k8s.core.v1.Service(
            "dns-bad",
            {
                metadata: { name: "dns-bad" },
                spec: { selector: { app: "dns" }, ports: [{ port: 53, targetPort: "dns-tcp", protocol: "UDP" }] },
            },
            a,
        );

        // 2. Patch kinds: a ServicePatch that makes a LoadBalancer; one that only sets affinity.
        new k8s.core.v1.ServicePatch(
            "lb-patch",
            { metadata: { name: "legacy-api" }, spec: { type: "LoadBalancer" } },
            a,
        );
        new k8s.core.v1.ServicePatch(
            "affinity-patch",
            { metadata: { name: "legacy-api" }, spec: { sessionAffinity: "None" } },
            a,
        );

        // 3. Unknown values: a LoadBalancer is a violation whatever its unknown name (empty allowlist);
        // unknown annotations may carry the external-workload exemption.
        // (In a namespace of its own: a Service whose name is unknown may be any Service its namespace
        // is asked for, so Ingresses and routes of that namespace could not be judged.)
        new k8s.core.v1.Service(
            "lb-unknown-name",
            {
                metadata: { name: later("lb-later"), namespace: "unknown-names" },
                spec: { type: "LoadBalancer", ports: [{ port: 443 }] },
            },
            a,
        );
        new k8s.core.v1.Service(
            "exempt-unknown",
            {
                metadata: { name: "exempt-unknown", annotations: later({ [EXTERNAL_WORKLOAD_ANNOTATION]: "true" }) },
                spec: { selector: { app: "elsewhere" }, ports: [{ port: 80 }] },
            },
            a,
        );

        // 4. Labels that controllers add: StatefulSet pod names.
        new k8s.apps.v1.StatefulSet(
            "kv",
            {
                metadata: { name: "kv" },
                spec: {
                    serviceName: "kv",
                    replicas: 3,
                    selector: { matchLabels: { app: "kv" } },
                    template: podTemplate({ app: "kv" }, [container("kv", [{ name: "client", containerPort: 2379 }])]),
                },
            },
            a,
        );
        new k8s.core.v1.Service(
            "kv-0",
            {
                metadata: { name: "kv-0" },
                spec: {
                    selector: { "statefulset.kubernetes.io/pod-name": "kv-0" },
                    ports: [{ port: 2379, targetPort: "client" }],
                },
            },
            a,
        );
        new k8s.core.v1.Service(
            "kv-5",
            {
                metadata: { name: "kv-5" },
                spec: {
                    selector: { "statefulset.kubernetes.io/pod-name": "kv-5" },
                    ports: [{ port: 2379, targetPort: "client" }],
                },
            },
            a,
        );

        // 5. Credentials in URLs (empty user), not placeholders.
        deployment(
            "url-creds",
            { app: "url-creds" },
            [container("app", [], { env: [{ name: "REDIS_URL", value: `redis://:${FAKE_CREDENTIAL}@redis:6379/0` }] })],
            a,
        );
        deployment(
            "url-placeholder",
            { app: "url-placeholder" },
            [container("app", [], { env: [{ name: "REDIS_URL", value: "redis://:$(REDIS_PASSWORD)@redis:6379/0" }] })],
            a,
        );

        // 6. Credentials in a ConfigMap that pods read.
        new k8s.core.v1.ConfigMap(
            "db-config",
            { metadata: { name: "db-config" }, data: { POSTGRES_DB: "app", POSTGRES_PASSWORD: FAKE_CREDENTIAL } },
            a,
        );
        deployment(
            "db-client",
            { app: "db-client" },
            [container("app", [], { envFrom: [{ configMapRef: { name: "db-config" } }] })],
            a,
        );

        // 7. Several clusters: a Service finds workloads, an Ingress Services, only on its own cluster.
        deployment("web", { app: "web" }, [container("web", [{ name: "http", containerPort: 8080 }])], b);
        new k8s.core.v1.Service(
            "web-b",
            {
                metadata: { name: "web" },
                spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
            },
            b,
        );
        new k8s.core.v1.Service(
            "web-a",
            {
                metadata: { name: "web" },
                spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
            },
            a,
        );
        ingress("default-cluster-ingress", "web", { number: 80 }, {});

        // 8. generateName: the Service's name is the API server's, not the logical name. The provider
        // accepts generateName neither with Server-Side Apply nor when rendering YAML, so these go through
        // a client-side-apply provider whose cluster is a closed loopback port: it plans from the inputs.
        const c = {
            provider: new k8s.Provider("cluster-c", {
                kubeconfig: UNREACHABLE_KUBECONFIG,
                enableServerSideApply: false,
            }),
        };
        deployment("dns-c", { app: "dns" }, [container("dns", [{ name: "dns-tcp", containerPort: 5353 }])], c);
        new k8s.core.v1.Service(
            "generated",
            {
                metadata: { generateName: "gen-" },
                spec: { selector: { app: "dns" }, ports: [{ port: 53, targetPort: "dns-tcp" }] },
            },
            c,
        );
        ingress("gen-ingress", "generated", { number: 53 }, c);

        // 9. Inherited JavaScript properties are not labels.
        deployment("proto", { app: "proto" }, [container("app", [])], a, {
            selector: { matchLabels: { app: "proto" }, matchExpressions: [{ key: "constructor", operator: "Exists" }] },
        });

        // 10. A message about a Service whose ports are unknown says so in words.
        new k8s.core.v1.Service(
            "unknown-ports",
            {
                metadata: { name: "unknown-ports" },
                spec: { selector: { app: "dns" }, ports: later([{ port: 53, targetPort: "dns-tcp" }]) },
            },
            a,
        );
        ingress("marker-ingress", "unknown-ports", undefined, a);

        // 11. The pinned-image rule: "LATEST" and an empty tag fail.
        deployment(
            "images",
            { app: "images" },
            [container("app", [], { image: "redis:LATEST" }), container("sidecar", [], { image: "busybox:" })],
            a,
        );

        // Gateway API: routes reach Services and Gateways of the stack (CustomResource objects).
        new k8s.apiextensions.CustomResource(
            "gw",
            {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "Gateway",
                metadata: { name: "gw" },
                spec: { gatewayClassName: "traefik", listeners: [{ name: "https", protocol: "HTTPS", port: 443 }] },
            },
            a,
        );
        const route = (name: string, gateway: string, service: string, port: number) =>
            new k8s.apiextensions.CustomResource(
                name,
                {
                    apiVersion: "gateway.networking.k8s.io/v1",
                    kind: "HTTPRoute",
                    metadata: { name },
                    spec: {
                        parentRefs: [{ name: gateway, sectionName: "https" }],
                        rules: [{ backendRefs: [{ name: service, port }] }],
                    },
                },
                a,
            );
        route("route-good", "gw", "dns-good", 53);
        route("route-bad", "missing-gw", "missing-svc", 80);

        // 12. Two routes on one Gateway listener that claim the same host and path (both take any host
        // and the prefix "/"): reported on the one whose URN sorts later, route-same-path.
        route("route-same-path", "gw", "dns-good", 53);

        // 13. Services that open the nodes: a NodePort (also no ClusterIP), externalIPs on a ClusterIP.
        new k8s.core.v1.Service(
            "nodeport",
            { metadata: { name: "nodeport" }, spec: { type: "NodePort", ports: [{ port: 80 }] } },
            a,
        );
        new k8s.core.v1.Service(
            "external-ips",
            { metadata: { name: "external-ips" }, spec: { externalIPs: ["192.0.2.10"], ports: [{ port: 80 }] } },
            a,
        );

        // 14. A LoadBalancer that limits its clients passes the source-range rule (it is still no
        // ClusterIP); lb-unknown-name, which sets no ranges, fails it.
        new k8s.core.v1.Service(
            "lb-ranged",
            {
                metadata: { name: "lb-ranged" },
                spec: { type: "LoadBalancer", loadBalancerSourceRanges: ["203.0.113.0/24"], ports: [{ port: 443 }] },
            },
            a,
        );

        // 15. Ingresses: every other one names its class; this one does not, and one carries an
        // ingress-nginx snippet.
        ingress("no-class-ingress", "dns-good", { number: 53 }, a, { spec: { ingressClassName: undefined } });
        ingress("snippet-ingress", "dns-good", { number: 53 }, a, {
            annotations: { "nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers 'X-From: snippet';" },
        });

        // 16. Named probe ports: one the container declares, one it does not.
        deployment(
            "probe-named",
            { app: "probe-named" },
            [
                container("app", [{ name: "http", containerPort: 8080 }], {
                    readinessProbe: { httpGet: { path: "/ready", port: "http" } },
                }),
            ],
            a,
        );
        deployment(
            "probe-unnamed",
            { app: "probe-unnamed" },
            [
                container("app", [{ name: "http", containerPort: 8080 }], {
                    readinessProbe: { httpGet: { path: "/ready", port: "health" } },
                }),
            ],
            a,
        );

        // 17. A pod on the node's network with a privileged container.
        new k8s.core.v1.Pod(
            "host-agent",
            podTemplate({ app: "host-agent" }, [container("agent", [], { securityContext: { privileged: true } })], {
                hostNetwork: true,
            }),
            a,
        );

        // 18. NetworkPolicies: every pod of the default namespace of clusters a and c (default deny);
        // on cluster b only the web pods, so another workload there is selected by none.
        const defaultDeny = { podSelector: {}, policyTypes: ["Ingress"] };
        new k8s.networking.v1.NetworkPolicy(
            "default-deny-a",
            { metadata: { name: "default-deny" }, spec: defaultDeny },
            a,
        );
        new k8s.networking.v1.NetworkPolicy(
            "default-deny-c",
            { metadata: { name: "default-deny" }, spec: defaultDeny },
            c,
        );
        new k8s.networking.v1.NetworkPolicy(
            "web-only-b",
            {
                metadata: { name: "web-only" },
                spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"] },
            },
            b,
        );
        deployment("unselected", { app: "unselected" }, [container("app", [])], b);

        // 19. Replicas, budgets, spread and autoscalers. The StatefulSet kv of case 4 runs 3 pods with
        // neither a budget nor a spread: the two advisory rules speak for it. "scaled" is as the
        // platform runs its services; "resized" sets a count its HPA owns, without ignoreChanges (which
        // the engine hands the pack), and its budget lets none of its 2 pods go.
        const spread = (labels: Labels) => [
            {
                topologyKey: "kubernetes.io/hostname",
                maxSkew: 1,
                whenUnsatisfiable: "DoNotSchedule",
                labelSelector: { matchLabels: labels },
            },
        ];
        const replicated = (name: string, replicas: number, opts: pulumi.CustomResourceOptions) => {
            const labels = { app: name };
            deployment(name, labels, [container("app", [])], opts, {
                replicas,
                template: podTemplate(labels, [container("app", [])], { topologySpreadConstraints: spread(labels) }),
            });
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-hpa`,
                {
                    metadata: { name },
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
                        minReplicas: replicas,
                        maxReplicas: 10,
                    },
                },
                a,
            );
        };
        replicated("scaled", 3, { ...a, ignoreChanges: ["spec.replicas"] });
        new k8s.policy.v1.PodDisruptionBudget(
            "scaled-pdb",
            { metadata: { name: "scaled" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "scaled" } } } },
            a,
        );
        replicated("resized", 2, a);
        new k8s.policy.v1.PodDisruptionBudget(
            "resized-pdb",
            { metadata: { name: "resized" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "resized" } } } },
            a,
        );
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            "hpa-typo",
            {
                metadata: { name: "hpa-typo" },
                spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "scaeld" }, maxReplicas: 3 },
            },
            a,
        );
    };
}

/** [policy, logical name of the resource the event is attached to] for every policy event expected. */
const EXPECTED: [string, string][] = [
    ["service-target-port-resolves", "dns-bad"],
    ["service-clusterip-by-default", "lb-patch"],
    ["service-clusterip-by-default", "lb-unknown-name"],
    ["service-selector-matches-workload", "kv-5"],
    ["container-env-no-literal-credentials", "url-creds"],
    ["configmap-no-literal-credentials", "db-config"],
    ["service-selector-matches-workload", "web-a"],
    ["ingress-backend-exists", "default-cluster-ingress"],
    ["ingress-backend-exists", "gen-ingress"],
    ["workload-selector-matches-template", "proto"],
    ["ingress-backend-exists", "marker-ingress"],
    ["container-image-tag-pinned", "images"],
    ["container-image-tag-pinned", "images"],
    ["httproute-backend-exists", "route-bad"],
    ["httproute-parent-gateway-exists", "route-bad"],
    // Of the two routes that claim the same host and path, the one whose URN sorts later.
    ["route-host-path-unique", "route-same-path"],
    ["service-no-nodeport", "nodeport"],
    ["service-clusterip-by-default", "nodeport"],
    ["service-no-external-ips", "external-ips"],
    ["service-loadbalancer-source-ranges", "lb-unknown-name"],
    ["service-clusterip-by-default", "lb-ranged"],
    ["ingress-class-name-set", "no-class-ingress"],
    ["ingress-nginx-no-snippets", "snippet-ingress"],
    ["container-probe-port-resolves", "probe-unnamed"],
    ["pod-no-host-access", "host-agent"],
    ["workload-selected-by-network-policy", "unselected"],
    ["workload-disruption-budget", "kv"],
    ["replicated-workload-spread", "kv"],
    ["workload-replicas-left-to-hpa", "resized"],
    ["workload-disruption-budget", "resized-pdb"],
    ["hpa-target-exists", "hpa-typo"],
];

const logicalName = (urn: string | undefined) => (urn ?? "").split("::").pop() ?? "";
const sorted = (pairs: [string, string][]) => [...pairs].sort((x, y) => x.join(" ").localeCompare(y.join(" ")));

describe("every rule of the policy pack through a real `pulumi preview`", function () {
    this.timeout(10 * 60 * 1000);
    let dir: string;
    let stack: Stack;
    const events: PolicyEvent[] = [];
    let previewError: unknown;

    // The test command exports the test cluster's KUBECONFIG, and the inline program runs in
    // this process, where a Provider takes it as its kubeconfig, which renderYamlToDirectory
    // refuses. Nothing here reaches a cluster: it is set aside for this file and put back after.
    const callersKubeconfig = process.env.KUBECONFIG;
    before(() => {
        delete process.env.KUBECONFIG;
    });
    after(() => {
        if (callersKubeconfig !== undefined) {
            process.env.KUBECONFIG = callersKubeconfig;
        }
    });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-policy-classes-"));
        const renderDirs = { a: path.join(dir, "render-a"), b: path.join(dir, "render-b") };
        stack = await inlineTestStack(dir, "policy-classes", "classes", program(renderDirs));
        // The default provider renders too, so nothing here ever reaches a cluster.
        await stack.setConfig("kubernetes:renderYamlToDirectory", { value: path.join(dir, "render-default") });
        try {
            await stack.preview({
                policyPacks: [POLICY_PACK],
                onEvent: (event: EngineEvent) => {
                    if (event.policyEvent) {
                        events.push(event.policyEvent);
                    }
                },
            });
        } catch (e) {
            previewError = e;
        }
    });

    after(() => {
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("fails the preview on the mandatory violations, and on nothing else", () => {
        assert.ok(previewError, "the preview should fail");
        assert.match(String(previewError), /\[mandatory\]/);
        // A resource error (e.g. the provider refusing an input) would also fail it: there must be none.
        assert.doesNotMatch(String(previewError), /\berror: (?!preview failed)/);
    });

    it("reports exactly the bad resource of each rule, and none of the good ones", () => {
        const actual = events.map((e): [string, string] => [e.policyName, logicalName(e.resourceUrn)]);
        assert.deepStrictEqual(
            sorted(actual),
            sorted(EXPECTED),
            events.map((e) => `${e.policyName} ${e.resourceUrn}: ${e.message}`).join("\n"),
        );
        assert.ok(events.every((e) => e.policyPackName === "exchange-platform-policies"));
    });

    it("reports mandatory rules as mandatory and advisory ones as advisory", () => {
        const advisory = new Set([
            "container-env-no-literal-credentials",
            "configmap-no-literal-credentials",
            "container-image-tag-pinned",
            "service-loadbalancer-source-ranges",
            "ingress-class-name-set",
            "workload-selected-by-network-policy",
            "workload-disruption-budget",
            "replicated-workload-spread",
        ]);
        for (const e of nonEmpty(events, "policy event")) {
            // The CLI sends "advisory" (the event type declares "warning").
            assert.strictEqual(
                String(e.enforcementLevel),
                advisory.has(e.policyName) ? "advisory" : "mandatory",
                e.policyName,
            );
        }
    });

    it("says what is wrong in words, never with an internal marker or the credential", () => {
        // An Ingress may break several rules: each message is looked up by its rule as well.
        const eventOf = (policy: string, resource: string) =>
            events.find((e) => e.policyName === policy && logicalName(e.resourceUrn) === resource);
        const marker = eventOf("ingress-backend-exists", "marker-ingress");
        assert.ok(marker);
        assert.match(marker.message, /without a port.*ports unknown during preview/s);
        for (const e of events) {
            assert.doesNotMatch(e.message, /Symbol\(|\[object Object\]|04da6b54-80e4-46f7-96ec-b56ff0331ba9/);
            assert.ok(!e.message.includes(FAKE_CREDENTIAL), e.message);
        }
        const resized = eventOf("workload-replicas-left-to-hpa", "resized");
        assert.match(
            resized?.message ?? "",
            /sets spec\.replicas to 2 while HorizontalPodAutoscaler "resized".*no ignoreChanges/,
        );
        const generated = eventOf("ingress-backend-exists", "gen-ingress");
        assert.match(generated?.message ?? "", /routes to Service "generated"/);
        // The conflict is reported once, on route-same-path, naming route-good.
        const conflicts = events.filter((e) => e.policyName === "route-host-path-unique");
        assert.strictEqual(conflicts.length, 1);
        assert.match(conflicts[0].message, /HTTPRoute "route-good" .*claims too/);
    });
});
