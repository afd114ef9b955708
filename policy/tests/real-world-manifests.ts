// Realistic, valid manifests of applications other than the exchange platform, written the way
// teams commonly write them (not shaped by this pack's fixtures): a replicated key-value store on a
// StatefulSet with headless and client Services, a cluster DNS server with UDP and TCP ports, a node
// agent on a DaemonSet, a database migration Job and a backup CronJob, an Indexed Job whose pods find
// each other, a web app with a proxy sidecar behind an Ingress with a default backend, a primary-only
// Service, a Gateway API front door across namespaces, and the same app on a second cluster. Each
// manifest is what a program would pass to the Kubernetes provider; `asResources` types them as the
// provider does.

import { TestResource } from "../testing/harness";

type Manifest = Record<string, any>;

const probe = (port: string | number) => ({ tcpSocket: { port }, periodSeconds: 10 });
const small = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
const nonRoot = { runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 };

const kvStore: Manifest[] = [
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kv-peers", namespace: "storage" },
        spec: {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector: { "app.kubernetes.io/name": "kv" },
            ports: [
                { name: "client", port: 2379 },
                { name: "peer", port: 2380 },
            ],
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kv", namespace: "storage" },
        spec: {
            selector: { "app.kubernetes.io/name": "kv" },
            ports: [{ name: "client", port: 2379, targetPort: "client" }],
        },
    },
    {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "kv", namespace: "storage" },
        spec: {
            serviceName: "kv-peers",
            replicas: 3,
            podManagementPolicy: "Parallel",
            selector: { matchLabels: { "app.kubernetes.io/name": "kv" } },
            template: {
                metadata: { labels: { "app.kubernetes.io/name": "kv", "app.kubernetes.io/part-of": "storage" } },
                spec: {
                    securityContext: nonRoot,
                    containers: [
                        {
                            name: "kv",
                            image: "quay.io/coreos/etcd:v3.5.17",
                            command: ["etcd", "--name=$(POD_NAME)", "--data-dir=/var/lib/etcd"],
                            env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                            ports: [
                                { name: "client", containerPort: 2379 },
                                { name: "peer", containerPort: 2380 },
                            ],
                            readinessProbe: probe("client"),
                            resources: small,
                            volumeMounts: [{ name: "data", mountPath: "/var/lib/etcd" }],
                        },
                    ],
                },
            },
            volumeClaimTemplates: [
                {
                    metadata: { name: "data" },
                    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
                },
            ],
        },
    },
    {
        // One member, for a debugging port-forward: selected by the label the StatefulSet controller adds.
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kv-0", namespace: "storage" },
        spec: {
            selector: { "statefulset.kubernetes.io/pod-name": "kv-0" },
            ports: [{ name: "client", port: 2379, targetPort: "client" }],
        },
    },
];

const clusterDns: Manifest[] = [
    {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "dns", namespace: "kube-system", labels: { "k8s-app": "dns" } },
        spec: {
            replicas: 2,
            selector: { matchLabels: { "k8s-app": "dns" } },
            template: {
                metadata: { labels: { "k8s-app": "dns" } },
                spec: {
                    securityContext: nonRoot,
                    containers: [
                        {
                            name: "coredns",
                            image: "registry.k8s.io/coredns/coredns:v1.11.3",
                            args: ["-conf", "/etc/coredns/Corefile"],
                            ports: [
                                { name: "dns", containerPort: 5353, protocol: "UDP" },
                                { name: "dns-tcp", containerPort: 5353, protocol: "TCP" },
                                { name: "metrics", containerPort: 9153, protocol: "TCP" },
                            ],
                            readinessProbe: { httpGet: { path: "/ready", port: 8181 } },
                            resources: small,
                            volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
                        },
                    ],
                    volumes: [
                        { name: "config", configMap: { name: "dns", items: [{ key: "Corefile", path: "Corefile" }] } },
                    ],
                },
            },
        },
    },
    {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "dns", namespace: "kube-system" },
        data: {
            Corefile:
                ".:5353 {\n    errors\n    health\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n",
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "dns", namespace: "kube-system" },
        spec: {
            selector: { "k8s-app": "dns" },
            ports: [
                { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
                { name: "dns-tcp", port: 53, targetPort: "dns-tcp", protocol: "TCP" },
                { name: "metrics", port: 9153, targetPort: 9153 },
            ],
        },
    },
];

const nodeAgent: Manifest[] = [
    {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "node-exporter", namespace: "monitoring" },
        spec: {
            selector: { matchLabels: { app: "node-exporter" } },
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
            template: {
                metadata: { labels: { app: "node-exporter" } },
                spec: {
                    hostPID: true,
                    securityContext: nonRoot,
                    tolerations: [{ operator: "Exists" }],
                    containers: [
                        {
                            name: "node-exporter",
                            image: "quay.io/prometheus/node-exporter:v1.8.2",
                            args: ["--path.rootfs=/host"],
                            ports: [{ name: "metrics", containerPort: 9100 }],
                            readinessProbe: { httpGet: { path: "/", port: "metrics" } },
                            resources: small,
                            volumeMounts: [{ name: "root", mountPath: "/host", readOnly: true }],
                        },
                    ],
                    volumes: [{ name: "root", hostPath: { path: "/" } }],
                },
            },
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "node-exporter", namespace: "monitoring" },
        spec: {
            clusterIP: "None",
            selector: { app: "node-exporter" },
            ports: [{ name: "metrics", port: 9100, targetPort: "metrics" }],
        },
    },
];

const batchJobs: Manifest[] = [
    {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "migrate", namespace: "shop" },
        data: {
            DB_HOST: "shop-db.storage.svc.cluster.local",
            DB_NAME: "shop",
            DB_USER: "shop",
            DATABASE_URL: "postgres://shop:$(DB_PASSWORD)@shop-db.storage.svc.cluster.local:5432/shop?sslmode=require",
            POSTGRES_PASSWORD_FILE: "/run/secrets/db/password",
            TOKEN_URL: "https://auth.shop.test/oauth/token",
        },
    },
    {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "migrate-2024-11", namespace: "shop" },
        spec: {
            backoffLimit: 2,
            ttlSecondsAfterFinished: 3600,
            template: {
                spec: {
                    restartPolicy: "Never",
                    securityContext: nonRoot,
                    containers: [
                        {
                            name: "migrate",
                            image: "ghcr.io/shop/migrations:2024.11.3",
                            envFrom: [{ configMapRef: { name: "migrate" } }],
                            env: [
                                {
                                    name: "DB_PASSWORD",
                                    valueFrom: { secretKeyRef: { name: "shop-db", key: "password" } },
                                },
                            ],
                            resources: small,
                        },
                    ],
                },
            },
        },
    },
    {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "backup", namespace: "shop" },
        spec: {
            schedule: "15 3 * * *",
            concurrencyPolicy: "Forbid",
            jobTemplate: {
                spec: {
                    template: {
                        metadata: { labels: { app: "backup" } },
                        spec: {
                            restartPolicy: "OnFailure",
                            securityContext: nonRoot,
                            containers: [
                                {
                                    name: "backup",
                                    image: "ghcr.io/shop/backup:1.2.0@sha256:" + "0123456789abcdef".repeat(4),
                                    env: [
                                        {
                                            name: "PGPASSWORD",
                                            valueFrom: { secretKeyRef: { name: "shop-db", key: "password" } },
                                        },
                                        { name: "S3_ENDPOINT", value: "https://s3.storage.test" },
                                    ],
                                    resources: small,
                                },
                            ],
                        },
                    },
                },
            },
        },
    },
    {
        // Workers of an Indexed Job reach each other through a headless Service on the Job's name label.
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "train", namespace: "ml" },
        spec: {
            clusterIP: "None",
            selector: { "batch.kubernetes.io/job-name": "train" },
            ports: [{ name: "rendezvous", port: 29500 }],
        },
    },
    {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "train", namespace: "ml" },
        spec: {
            completionMode: "Indexed",
            completions: 4,
            parallelism: 4,
            template: {
                spec: {
                    subdomain: "train",
                    restartPolicy: "Never",
                    securityContext: nonRoot,
                    containers: [
                        {
                            name: "worker",
                            image: "ghcr.io/ml/trainer:0.9.1",
                            ports: [{ name: "rendezvous", containerPort: 29500 }],
                            env: [{ name: "MASTER_ADDR", value: "train-0.train" }],
                            resources: small,
                        },
                    ],
                },
            },
        },
    },
];

const webApp: Manifest[] = [
    {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "storefront", namespace: "shop" },
        spec: {
            replicas: 3,
            selector: { matchLabels: { app: "storefront", component: "web" } },
            template: {
                metadata: { labels: { app: "storefront", component: "web", version: "4.2.0" } },
                spec: {
                    securityContext: nonRoot,
                    // A native sidecar (init container that keeps running) terminates TLS in front of the app.
                    initContainers: [
                        {
                            name: "tls-proxy",
                            image: "ghcr.io/shop/tls-proxy:2.1.0",
                            restartPolicy: "Always",
                            ports: [{ name: "https", containerPort: 8443 }],
                            readinessProbe: probe("https"),
                            resources: small,
                            volumeMounts: [{ name: "settings", mountPath: "/etc/proxy" }],
                        },
                    ],
                    containers: [
                        {
                            name: "web",
                            image: "ghcr.io/shop/storefront:4.2.0",
                            ports: [{ name: "http", containerPort: 8080 }],
                            readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
                            resources: small,
                            env: [
                                {
                                    name: "SESSION_SECRET",
                                    valueFrom: { secretKeyRef: { name: "storefront", key: "session" } },
                                },
                            ],
                        },
                    ],
                    volumes: [
                        {
                            name: "settings",
                            projected: {
                                sources: [
                                    { configMap: { name: "storefront" } },
                                    { secret: { name: "storefront-tls" } },
                                ],
                            },
                        },
                    ],
                },
            },
        },
    },
    {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "storefront", namespace: "shop" },
        data: {
            "proxy.yaml":
                "listen: 8443\nupstream: http://127.0.0.1:8080\ntls:\n  certFile: /etc/proxy/tls.crt\n  keyFile: /etc/proxy/tls.key\n",
            "app.properties":
                "catalog.url=http://catalog.shop.svc:8080\ncache.ttl=300\npayment.api_key=${PAYMENT_API_KEY}\n",
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "storefront", namespace: "shop" },
        spec: {
            selector: { app: "storefront", component: "web" },
            ports: [
                { name: "http", port: 80, targetPort: "http", appProtocol: "http" },
                { name: "https", port: 443, targetPort: "https" },
            ],
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "not-found", namespace: "shop" },
        spec: { selector: { app: "storefront", component: "web" }, ports: [{ port: 8080 }] },
    },
    {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
            name: "storefront",
            namespace: "shop",
            annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
        },
        spec: {
            ingressClassName: "traefik",
            defaultBackend: { service: { name: "not-found", port: { number: 8080 } } },
            tls: [{ hosts: ["shop.test", "www.shop.test"], secretName: "storefront-tls" }],
            rules: [
                {
                    host: "shop.test",
                    http: {
                        paths: [
                            {
                                path: "/",
                                pathType: "Prefix",
                                backend: { service: { name: "storefront", port: { name: "http" } } },
                            },
                        ],
                    },
                },
                {
                    host: "www.shop.test",
                    http: {
                        paths: [
                            {
                                path: "/",
                                pathType: "Prefix",
                                backend: { service: { name: "storefront", port: { number: 80 } } },
                            },
                        ],
                    },
                },
            ],
        },
    },
    {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "payments", namespace: "shop" },
        spec: { type: "ExternalName", externalName: "payments.example.test" },
    },
];

const gatewayFrontDoor: Manifest[] = [
    {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: "public", namespace: "infra" },
        spec: {
            gatewayClassName: "traefik",
            listeners: [
                {
                    name: "https",
                    protocol: "HTTPS",
                    port: 443,
                    hostname: "*.shop.test",
                    tls: { certificateRefs: [{ name: "wildcard-tls" }] },
                    allowedRoutes: { namespaces: { from: "All" } },
                },
            ],
        },
    },
    {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "storefront", namespace: "shop" },
        spec: {
            parentRefs: [{ name: "public", namespace: "infra", sectionName: "https" }],
            hostnames: ["api.shop.test"],
            rules: [
                {
                    matches: [{ path: { type: "PathPrefix", value: "/kv" } }],
                    backendRefs: [{ name: "kv", namespace: "storage", port: 2379 }],
                },
                {
                    matches: [{ path: { type: "PathPrefix", value: "/" } }],
                    backendRefs: [
                        { name: "storefront", port: 80, weight: 90 },
                        { name: "storefront", port: 443, weight: 10 },
                    ],
                },
            ],
        },
    },
    {
        apiVersion: "gateway.networking.k8s.io/v1beta1",
        kind: "ReferenceGrant",
        metadata: { name: "shop-routes", namespace: "storage" },
        spec: {
            from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "shop" }],
            to: [{ group: "", kind: "Service", name: "kv" }],
        },
    },
];

/** The manifests above as the provider types them; `provider` puts them on another cluster. */
export function asResources(manifests: Manifest[], provider?: string): TestResource[] {
    return manifests.map((m) => {
        const [group, version] = String(m.apiVersion).includes("/")
            ? String(m.apiVersion).split("/")
            : ["core", m.apiVersion];
        const type = `kubernetes:${group}/${version}:${m.kind}`;
        const name = `${m.metadata.namespace ?? "default"}-${m.kind.toLowerCase()}-${m.metadata.name}`;
        return { type, name, props: m, ...(provider ? { provider: { name: provider, props: {} } } : {}) };
    });
}

export const REAL_WORLD_MANIFESTS: Record<string, Manifest[]> = {
    "replicated key-value store (StatefulSet, headless and per-pod Services)": kvStore,
    "cluster DNS (UDP and TCP named ports, mounted Corefile)": clusterDns,
    "node agent (DaemonSet without hostPort, headless Service)": nodeAgent,
    "batch (migration Job, backup CronJob, Indexed Job with a headless Service)": batchJobs,
    "web app (native sidecar, projected config, Ingress with a default backend, ExternalName)": webApp,
    "Gateway API front door across namespaces (ReferenceGrant)": gatewayFrontDoor,
};
