// Fixture factories: each returns a *good* resource (no violation of any policy) shaped like the
// exchange platform's, as a TestResource for the harness. Overrides are deep-merged (objects merge,
// arrays are replaced, `undefined` removes a key); `mutate` edits a deep copy for finer changes.

import { TestResource } from "./harness";

export type Overrides = { [key: string]: unknown };

const TYPES = {
    Service: "kubernetes:core/v1:Service",
    Deployment: "kubernetes:apps/v1:Deployment",
    StatefulSet: "kubernetes:apps/v1:StatefulSet",
    DaemonSet: "kubernetes:apps/v1:DaemonSet",
    ReplicaSet: "kubernetes:apps/v1:ReplicaSet",
    Job: "kubernetes:batch/v1:Job",
    CronJob: "kubernetes:batch/v1:CronJob",
    Pod: "kubernetes:core/v1:Pod",
    Ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    ConfigMap: "kubernetes:core/v1:ConfigMap",
    ServicePatch: "kubernetes:core/v1:ServicePatch",
    DeploymentPatch: "kubernetes:apps/v1:DeploymentPatch",
    StatefulSetPatch: "kubernetes:apps/v1:StatefulSetPatch",
    IngressPatch: "kubernetes:networking.k8s.io/v1:IngressPatch",
    NetworkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    NetworkPolicyPatch: "kubernetes:networking.k8s.io/v1:NetworkPolicyPatch",
    ConfigMapPatch: "kubernetes:core/v1:ConfigMapPatch",
    PodDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
    PodDisruptionBudgetPatch: "kubernetes:policy/v1:PodDisruptionBudgetPatch",
    HorizontalPodAutoscaler: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    HorizontalPodAutoscalerPatch: "kubernetes:autoscaling/v2:HorizontalPodAutoscalerPatch",
    // Gateway API objects are apiextensions.CustomResource (and CustomResourcePatch) resources:
    // the provider types them "kubernetes:<apiVersion>:<kind>".
    HTTPRoute: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    HTTPRoutePatch: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoutePatch",
    GRPCRoute: "kubernetes:gateway.networking.k8s.io/v1:GRPCRoute",
    Gateway: "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    ReferenceGrant: "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
    TraefikService: "kubernetes:traefik.io/v1alpha1:TraefikService",
} as const;
export const TYPE = TYPES;

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function deepCopy<T>(v: T): T {
    if (Array.isArray(v)) {
        return v.map(deepCopy) as unknown as T;
    }
    if (isPlainObject(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            out[k] = deepCopy(x);
        }
        return out as T;
    }
    return v;
}

/** Deep merge: objects merge, arrays and scalars replace, `undefined` deletes. Returns a new object. */
export function merge<T extends Record<string, any>>(base: T, overrides: Overrides = {}): T {
    const out: Record<string, any> = deepCopy(base);
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) {
            delete out[k];
        } else if (isPlainObject(v) && isPlainObject(out[k])) {
            out[k] = merge(out[k], v);
        } else {
            out[k] = deepCopy(v);
        }
    }
    return out as T;
}

/** A deep copy of the resource, changed by `edit` (which may mutate `props` freely). */
export function mutate(resource: TestResource, edit: (props: any) => void): TestResource {
    const copy: TestResource = { ...resource, props: deepCopy(resource.props) };
    edit(copy.props);
    return copy;
}

// ---------------------------------------------------------------------------------------------
// The exchange platform's services.

export type ExchangeSvc = "router" | "ws-stream" | "postgres" | "redis";

export const EXCHANGE: Record<ExchangeSvc, { containerPort: number; image: string }> = {
    router: { containerPort: 8080, image: "exchange/router:1.4.2" },
    "ws-stream": { containerPort: 4000, image: "exchange/ws-stream:1.4.2" },
    postgres: { containerPort: 5432, image: "postgres:16.4" },
    redis: { containerPort: 6379, image: "redis:7.4.1" },
};

/** A container that satisfies every container policy. */
export function container(overrides: Overrides = {}): Record<string, any> {
    return merge(
        {
            name: "router",
            image: EXCHANGE.router.image,
            ports: [
                { name: "http", containerPort: 8080, protocol: "TCP" },
                { name: "metrics", containerPort: 9090, protocol: "TCP" },
            ],
            readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
            resources: {
                requests: { cpu: "250m", memory: "256Mi" },
                limits: { cpu: "1", memory: "512Mi" },
            },
            securityContext: { allowPrivilegeEscalation: false },
            env: [
                { name: "LOG_LEVEL", value: "info" },
                { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "exchange-postgres", key: "password" } } },
                {
                    name: "DATABASE_URL",
                    value: "postgres://exchange:$(DB_PASSWORD)@exchange-postgres-service:80/exchange",
                },
            ],
        },
        overrides,
    );
}

function exchangeContainer(svc: ExchangeSvc): Record<string, any> {
    const { containerPort, image } = EXCHANGE[svc];
    return container({
        name: svc,
        image,
        ports: [
            { name: "http", containerPort, protocol: "TCP" },
            { name: "metrics", containerPort: 9090, protocol: "TCP" },
        ],
    });
}

type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod";

/** A good workload of any kind running the exchange service `svc` (labels `app: exchange-<svc>`). */
export function workload(kind: WorkloadKind, svc: ExchangeSvc = "router", overrides: Overrides = {}): TestResource {
    const name = `exchange-${svc}`;
    const labels = { app: name };
    const podSpec = {
        securityContext: { runAsNonRoot: true, runAsUser: 10001 },
        containers: [exchangeContainer(svc)],
        ...(kind === "Job" || kind === "CronJob" ? { restartPolicy: "OnFailure" } : {}),
    };
    const template = { metadata: { labels }, spec: podSpec };
    let spec: Record<string, unknown>;
    switch (kind) {
        case "Pod":
            spec = podSpec;
            break;
        case "Job":
            spec = { template };
            break;
        case "CronJob":
            spec = { schedule: "*/5 * * * *", jobTemplate: { spec: { template } } };
            break;
        case "StatefulSet":
            spec = { serviceName: `${name}-headless`, replicas: 1, selector: { matchLabels: labels }, template };
            break;
        case "DaemonSet":
            spec = { selector: { matchLabels: labels }, template };
            break;
        default:
            // One replica: a replicated one needs a PodDisruptionBudget and spread (replicatedService).
            spec = { replicas: 1, selector: { matchLabels: labels }, template };
    }
    const apiVersion = kind === "Pod" ? "v1" : kind === "Job" || kind === "CronJob" ? "batch/v1" : "apps/v1";
    const props = merge(
        { apiVersion, kind, metadata: { name, labels: kind === "Pod" ? labels : { ...labels } }, spec },
        overrides,
    );
    return { type: TYPES[kind], name, props };
}

export function deployment(overrides: Overrides = {}, svc: ExchangeSvc = "router"): TestResource {
    return workload("Deployment", svc, overrides);
}

export function statefulSet(overrides: Overrides = {}, svc: ExchangeSvc = "postgres"): TestResource {
    return workload("StatefulSet", svc, overrides);
}

export function daemonSet(overrides: Overrides = {}, svc: ExchangeSvc = "router"): TestResource {
    return workload("DaemonSet", svc, overrides);
}

export type ServiceVariant = "default" | "external" | "headless" | "multiport";

/**
 * A good Service for the exchange service `svc`: exchange-<svc>-service, port 80 -> container port,
 * selector app: exchange-<svc>, sessionAffinity ClientIP. Variants: exchange-<svc>-external
 * (LoadBalancer; needs the allowlist), exchange-<svc>-headless (clusterIP None, port = targetPort =
 * container port), exchange-<svc>-multiport (http 80 -> container port, metrics 9090 -> 9090). The
 * LoadBalancer admits one client range (loadBalancerSourceRanges).
 */
export function exchangeService(
    svc: ExchangeSvc = "router",
    variant: ServiceVariant = "default",
    overrides: Overrides = {},
): TestResource {
    const base = `exchange-${svc}-service`;
    const { containerPort } = EXCHANGE[svc];
    // Named like the program's: exchange-<svc>-service, exchange-<svc>-external, exchange-<svc>-headless.
    const name = variant === "default" ? base : `exchange-${svc}-${variant}`;
    const spec: Record<string, unknown> = {
        selector: { app: `exchange-${svc}` },
        sessionAffinity: "ClientIP",
        ports: [{ name: "http", port: 80, targetPort: containerPort, protocol: "TCP" }],
    };
    if (variant === "external") {
        spec.type = "LoadBalancer";
        spec.loadBalancerSourceRanges = ["203.0.113.0/24"];
    } else if (variant === "headless") {
        spec.clusterIP = "None";
        spec.ports = [{ name: "http", port: containerPort, targetPort: containerPort, protocol: "TCP" }];
    } else if (variant === "multiport") {
        spec.ports = [
            { name: "http", port: 80, targetPort: containerPort, protocol: "TCP" },
            { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
        ];
    }
    const props = merge(
        { apiVersion: "v1", kind: "Service", metadata: { name, labels: { app: `exchange-${svc}` } }, spec },
        overrides,
    );
    return { type: TYPES.Service, name, props };
}

export function service(overrides: Overrides = {}, svc: ExchangeSvc = "router"): TestResource {
    return exchangeService(svc, "default", overrides);
}

/** A good Ingress: /backend -> exchange-router-service:80, /ws -> exchange-ws-stream-service:80, with TLS. */
export function ingress(overrides: Overrides = {}): TestResource {
    const backend = (svc: string) => ({ service: { name: svc, port: { number: 80 } } });
    const props = merge(
        {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: "exchange-ingress" },
            spec: {
                ingressClassName: "nginx",
                tls: [{ hosts: ["exchange.test"], secretName: "exchange-tls" }],
                rules: [
                    {
                        host: "exchange.test",
                        http: {
                            paths: [
                                { path: "/backend", pathType: "Prefix", backend: backend("exchange-router-service") },
                                { path: "/ws", pathType: "Prefix", backend: backend("exchange-ws-stream-service") },
                            ],
                        },
                    },
                ],
            },
        },
        overrides,
    );
    return { type: TYPES.Ingress, name: "exchange-ingress", props };
}

/**
 * A NetworkPolicy `name` whose podSelector is `podSelector` (default {}: every pod of its
 * namespace), denying all ingress to the pods it selects.
 */
export function networkPolicy(
    name = "exchange-default-deny-ingress",
    podSelector: Record<string, unknown> = {},
    overrides: Overrides = {},
): TestResource {
    const props = merge(
        {
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name },
            spec: { podSelector, policyTypes: ["Ingress"], ingress: [] },
        },
        overrides,
    );
    return { type: TYPES.NetworkPolicy, name, props };
}

/**
 * A PodDisruptionBudget (policy/v1) for the pods of exchange-<svc>: at most one of them evicted at
 * a time, as the program's.
 */
export function podDisruptionBudget(svc: ExchangeSvc = "router", overrides: Overrides = {}): TestResource {
    const name = `exchange-${svc}`;
    const props = merge(
        {
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: { name },
            spec: {
                maxUnavailable: 1,
                selector: { matchLabels: { app: name } },
                unhealthyPodEvictionPolicy: "AlwaysAllow",
            },
        },
        overrides,
    );
    return { type: TYPES.PodDisruptionBudget, name, props };
}

/** A HorizontalPodAutoscaler (autoscaling/v2) of the Deployment exchange-<svc>: 3 to 10 pods on CPU. */
export function horizontalPodAutoscaler(svc: ExchangeSvc = "router", overrides: Overrides = {}): TestResource {
    const name = `exchange-${svc}`;
    const props = merge(
        {
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: { name },
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
                minReplicas: 3,
                maxReplicas: 10,
                metrics: [
                    {
                        type: "Resource",
                        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
                    },
                ],
            },
        },
        overrides,
    );
    return { type: TYPES.HorizontalPodAutoscaler, name, props };
}

/** Spread constraints over nodes and zones that count the pods labelled `labels`, as the program's. */
export function topologySpread(labels: Record<string, string>): Record<string, unknown>[] {
    return ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
        topologyKey,
        maxSkew: 1,
        whenUnsatisfiable: topologyKey === "kubernetes.io/hostname" ? "DoNotSchedule" : "ScheduleAnyway",
        labelSelector: { matchLabels: labels },
        matchLabelKeys: ["pod-template-hash"],
    }));
}

/**
 * exchange-<svc> as prod runs it: a Deployment of 3 replicas spread over nodes and zones, which
 * leaves `spec.replicas` to its HorizontalPodAutoscaler (ignoreChanges), the HPA and a
 * PodDisruptionBudget.
 */
export function replicatedService(svc: ExchangeSvc = "router"): TestResource[] {
    const labels = { app: `exchange-${svc}` };
    const deploy = deployment(
        { spec: { replicas: 3, template: { spec: { topologySpreadConstraints: topologySpread(labels) } } } },
        svc,
    );
    return [
        { ...deploy, opts: { ignoreChanges: ["spec.replicas"] } },
        horizontalPodAutoscaler(svc),
        podDisruptionBudget(svc),
    ];
}

/**
 * The whole platform: router and ws-stream replicated (replicatedService), postgres and redis as
 * single Deployments, their 4 Services, the Ingress and a default-deny NetworkPolicy. Raises no
 * violation at all.
 */
export function exchangeStack(): TestResource[] {
    const svcs: ExchangeSvc[] = ["router", "ws-stream", "postgres", "redis"];
    return [
        ...replicatedService("router"),
        ...replicatedService("ws-stream"),
        deployment({}, "postgres"),
        deployment({}, "redis"),
        ...svcs.map((s) => exchangeService(s)),
        ingress(),
        networkPolicy(),
    ];
}

/** The resource on another cluster: through the explicit provider `provider` (by its logical name). */
export function onCluster(resource: TestResource, provider: string, props: Record<string, any> = {}): TestResource {
    return { ...resource, provider: { name: provider, props } };
}

/** A patch resource (e.g. ServicePatch) of `kind` that sets `props` on an existing object. */
export function patch(
    kind: keyof typeof TYPES & `${string}Patch`,
    name: string,
    props: Record<string, any>,
): TestResource {
    return { type: TYPES[kind], name, props };
}

/** A ConfigMap with `data`. */
export function configMap(name: string, data: Record<string, unknown>, overrides: Overrides = {}): TestResource {
    return {
        type: TYPES.ConfigMap,
        name,
        props: merge({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data }, overrides),
    };
}

/** A Gateway with an HTTPS listener "https" (routes from its own namespace) and an HTTP one "http". */
export function gateway(overrides: Overrides = {}): TestResource {
    const props = merge(
        {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "Gateway",
            metadata: { name: "exchange-gateway" },
            spec: {
                gatewayClassName: "traefik",
                listeners: [
                    { name: "http", protocol: "HTTP", port: 80 },
                    {
                        name: "https",
                        protocol: "HTTPS",
                        port: 443,
                        hostname: "exchange.test",
                        tls: { certificateRefs: [{ name: "exchange-tls" }] },
                    },
                ],
            },
        },
        overrides,
    );
    return { type: TYPES.Gateway, name: String(props.metadata.name), props };
}

/** Traefik's TraefikService that pins a client's WebSockets to one ws-stream pod (a sticky cookie). */
export function traefikService(overrides: Overrides = {}): TestResource {
    const props = merge(
        {
            apiVersion: "traefik.io/v1alpha1",
            kind: "TraefikService",
            metadata: { name: "exchange-ws-sticky" },
            spec: {
                weighted: {
                    services: [
                        {
                            kind: "Service",
                            name: "exchange-ws-stream-service",
                            port: 80,
                            sticky: { cookie: { name: "exchange-ws-affinity", path: "/ws" } },
                        },
                    ],
                },
            },
        },
        overrides,
    );
    return { type: TYPES.TraefikService, name: String(props.metadata.name), props };
}

/**
 * A good HTTPRoute attached to the "https" listener of exchange-gateway: /backend (prefix rewritten)
 * -> exchange-router-service:80, /ws -> exchange-ws-stream-service:80.
 */
export function httpRoute(overrides: Overrides = {}): TestResource {
    const props = merge(
        {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: "exchange-routes" },
            spec: {
                parentRefs: [{ name: "exchange-gateway", sectionName: "https" }],
                hostnames: ["exchange.test"],
                rules: [
                    {
                        matches: [{ path: { type: "PathPrefix", value: "/backend" } }],
                        filters: [
                            {
                                type: "URLRewrite",
                                urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } },
                            },
                        ],
                        backendRefs: [{ name: "exchange-router-service", port: 80 }],
                    },
                    {
                        matches: [{ path: { type: "PathPrefix", value: "/ws" } }],
                        backendRefs: [{ name: "exchange-ws-stream-service", port: 80 }],
                    },
                ],
            },
        },
        overrides,
    );
    return { type: TYPES.HTTPRoute, name: String(props.metadata.name), props };
}
