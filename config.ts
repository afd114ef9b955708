/**
 * Stack configuration as one schema: every `exchange:` key, its type, its default and what is
 * allowed, written once. The TypeScript types are inferred from it, and the Pulumi.yaml `config:`
 * block and the config table of docs/config.md are generated from it (`npm run gen:config-docs`;
 * a unit test fails when either is out of date).
 *
 * `loadConfig` parses the whole stack config once, before the program registers any resource, and
 * reports every problem together, each naming the key, the value and what is allowed, so a bad
 * `Pulumi.<stack>.yaml` never changes the cluster or the state.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
    choice,
    CONFIG_NAMESPACE,
    describe,
    flag,
    innerSchema,
    integer,
    pattern,
    problemsOf,
    section,
    withAllowed,
} from "./config-schema";
import {
    imagePinProblem,
    POSTGRES,
    POSTGRES_DATABASE,
    REDIS,
    ROUTER,
    PlatformService,
    WS_STREAM,
} from "@exchange/contract";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const POSTGRES_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const CPU_QUANTITY = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_UNITS: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
};

function cpuMillicores(quantity: string): number {
    return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}

function memoryBytes(quantity: string): number {
    const unit = /[A-Za-z]+$/.exec(quantity)?.[0] ?? "";
    return Number(quantity.slice(0, quantity.length - unit.length)) * MEMORY_UNITS[unit];
}

const PINNED_IMAGE = "expected a pinned tag (name:1.2.3) or a digest (name@sha256:<hex>)";
const image = withAllowed(
    z.string({ error: PINNED_IMAGE }).superRefine((value, context) => {
        const problem = imagePinProblem(value);
        if (problem !== undefined) {
            context.addIssue({ code: "custom", input: value, message: `${PINNED_IMAGE}; the image ${problem}` });
        }
    }),
    "a tag other than `latest`, or a digest",
);

interface ComputeResources {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

function resources(defaults: ComputeResources) {
    const part = (values: ComputeResources["requests"]) =>
        section({
            cpu: pattern(CPU_QUANTITY, "expected a CPU quantity such as 250m or 1").default(values.cpu),
            memory: pattern(MEMORY_QUANTITY, "expected a memory quantity such as 256Mi or 1Gi").default(values.memory),
        }).prefault({});
    return section(
        { requests: part(defaults.requests), limits: part(defaults.limits) },
        "CPU and memory; requests ≤ limits",
    )
        .superRefine((value, context) => {
            if (cpuMillicores(value.requests.cpu) > cpuMillicores(value.limits.cpu)) {
                const message = `must not exceed limits.cpu (${value.limits.cpu})`;
                context.addIssue({ code: "custom", path: ["requests", "cpu"], input: value.requests.cpu, message });
            }
            if (memoryBytes(value.requests.memory) > memoryBytes(value.limits.memory)) {
                const message = `must not exceed limits.memory (${value.limits.memory})`;
                context.addIssue({
                    code: "custom",
                    path: ["requests", "memory"],
                    input: value.requests.memory,
                    message,
                });
            }
        })
        .prefault({});
}

/** The cluster's own namespaces: the platform never deploys into them. */
const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

const namespace = withAllowed(
    z
        .string({ error: "expected a namespace name" })
        .regex(DNS_LABEL, { error: "expected a namespace name (lowercase DNS label, at most 63 characters)" })
        .refine((name) => !SYSTEM_NAMESPACES.includes(name), {
            error: `${SYSTEM_NAMESPACES.join(", ")} belong to the cluster itself; choose the platform's own namespace`,
        }),
    `a DNS label other than ${SYSTEM_NAMESPACES.join(", ")}`,
    "namespace of every object; any other than `default` is created by the program",
).default("default");

/** Pod Security Standards levels, least to most restrictive. */
const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;

const podSecurity = section(
    {
        enforce: choice(POD_SECURITY_LEVELS, "pods that break this level are refused").default("restricted"),
        audit: choice(POD_SECURITY_LEVELS, "violations are recorded in the audit log").default("restricted"),
        warn: choice(POD_SECURITY_LEVELS, "violations are returned to the client as warnings").default("restricted"),
    },
    "Pod Security Admission labels of a namespace the program creates (not of `default`, which it does not own)",
).prefault({});

/** Kubernetes caps ClientIP affinity at one day; the platform document's value is three hours. */
const SESSION_AFFINITY_TIMEOUT = { min: 1, max: 86400, default: 10800 };

interface ServiceDefaults {
    contract: PlatformService;
    image: string;
    resources: ComputeResources;
    /** Stateless services scale out (100 guards against a typo such as 1000); single writers: 1. */
    maxReplicas: number;
}

/** The keys every service has: image, size, and the Service variants of the platform document. */
function serviceShape(defaults: ServiceDefaults) {
    return {
        image: image.default(defaults.image),
        replicas: integer(1, defaults.maxReplicas).default(1),
        resources: resources(defaults.resources),
        serviceType: choice(["ClusterIP", "LoadBalancer"], "type of the main Service").default("ClusterIP"),
        external: flag("adds `<app>-external`, a LoadBalancer beside the main Service").default(false),
        sessionAffinity: choice(["None", "ClientIP"], "affinity of the main Service").default("None"),
        sessionAffinityTimeoutSeconds: integer(
            SESSION_AFFINITY_TIMEOUT.min,
            SESSION_AFFINITY_TIMEOUT.max,
            "ClientIP affinity timeout",
        ).default(SESSION_AFFINITY_TIMEOUT.default),
        metricsPort: integer(
            1,
            65535,
            "adds a named `metrics` port (N → N) to the container and the main Service; not the service's own port",
        ).optional(),
        headless: flag("adds `<app>-headless` (`clusterIP: None`, port = container port)").default(false),
    };
}

function metricsPortDiffers(contract: PlatformService) {
    return <T extends { metricsPort?: number }>(value: T, context: z.RefinementCtx<T>) => {
        if (value.metricsPort === contract.containerPort) {
            const message = `must differ from the service's own port ${contract.containerPort}`;
            context.addIssue({ code: "custom", path: ["metricsPort"], input: value.metricsPort, message });
        }
    };
}

/** HPA bounds: an HPA's target and bounds; on, it owns `replicas` after the Deployment's creation. */
function autoscaling(maxReplicas: number) {
    return section(
        {
            enabled: flag(
                "a HorizontalPodAutoscaler (autoscaling/v2) scales the Deployment on CPU; `replicas` is then only the count at creation",
            ).default(false),
            minReplicas: integer(1, maxReplicas).default(2),
            maxReplicas: integer(1, maxReplicas).default(10),
            targetCPUUtilizationPercent: integer(
                1,
                100,
                "average CPU use, as a share of the CPU request, that the HPA keeps the pods at",
            ).default(70),
        },
        "CPU-based horizontal autoscaling; needs a metrics API (metrics-server) in the cluster",
    )
        .superRefine((value, context) => {
            if (value.minReplicas > value.maxReplicas) {
                const message = `must not exceed maxReplicas (${value.maxReplicas})`;
                context.addIssue({ code: "custom", path: ["minReplicas"], input: value.minReplicas, message });
            }
        })
        .prefault({});
}

const disruptionBudget = section(
    {
        enabled: flag("a PodDisruptionBudget: a drain evicts at most `maxUnavailable` of the pods at a time").default(
            false,
        ),
        maxUnavailable: integer(1, 100, "pods a voluntary disruption (drain, eviction) may take at once").default(1),
    },
    "protection against voluntary disruptions; a count, never a `minAvailable` that could block every drain",
).prefault({});

/**
 * The router and the WebSocket stream: the service keys, plus what a replicated service needs to
 * survive drains, node loss and load (docs/availability.md).
 */
function statelessService(defaults: ServiceDefaults, description: string) {
    return section(
        {
            ...serviceShape(defaults),
            autoscaling: autoscaling(defaults.maxReplicas),
            disruptionBudget,
            topologySpread: flag(
                "with more than one replica: spread over zones (best effort) and nodes (required)",
            ).default(true),
            terminationGracePeriodSeconds: integer(
                1,
                3600,
                "time between SIGTERM and SIGKILL: the app's drain (readiness failing while it still serves) plus its shutdown",
            ).default(30),
        },
        description,
    )
        .superRefine(metricsPortDiffers(defaults.contract))
        .superRefine((value, context) => {
            const { enabled, minReplicas, maxReplicas } = value.autoscaling;
            // Bounds the wrong way round are autoscaling.minReplicas's problem, reported there.
            const outside = value.replicas < minReplicas || value.replicas > maxReplicas;
            if (enabled && minReplicas <= maxReplicas && outside) {
                const message = `with autoscaling, the count at creation must lie within autoscaling.minReplicas (${minReplicas}) and autoscaling.maxReplicas (${maxReplicas})`;
                context.addIssue({ code: "custom", path: ["replicas"], input: value.replicas, message });
            }
        })
        .prefault({});
}

/** The claim of a single writer; its own resource, so a Deployment change never touches it. */
function storage(defaultSize: string) {
    return section({
        size: pattern(MEMORY_QUANTITY, "expected a storage quantity such as 10Gi").default(defaultSize),
        className: pattern(
            DNS_SUBDOMAIN,
            "expected a StorageClass name (lowercase DNS subdomain)",
            "unset: the cluster's default StorageClass",
        ).optional(),
        protect: flag("`pulumi destroy` and any replacement of the claim fail").default(false),
    }).prefault({});
}

/**
 * Continuous archiving and base backups of PostgreSQL with pgBackRest to an S3-compatible store
 * (docs/backups.md). The store's access keys are never config: they live in a Secret that whoever
 * owns the bucket creates (as prod's TLS certificate), named here.
 */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const backup = section(
    {
        enabled: flag(
            "WAL archiving and scheduled full backups with pgBackRest; an empty data folder is restored from the store before the server starts",
        ).default(false),
        store: section(
            {
                endpoint: pattern(
                    DNS_SUBDOMAIN,
                    "expected the S3 endpoint's host name, without scheme or port",
                    "the S3 endpoint (HTTPS)",
                ).optional(),
                port: integer(1, 65535, "the endpoint's HTTPS port").default(443),
                bucket: pattern(S3_BUCKET, "expected an S3 bucket name").optional(),
                region: pattern(/^[a-z0-9-]{1,32}$/, "expected a region such as eu-central-1").default("us-east-1"),
                path: pattern(
                    /^\/[A-Za-z0-9._/-]*$/,
                    "expected an absolute path such as /exchange/prod",
                    "the repository inside the bucket: one per stack",
                ).default("/exchange"),
                uriStyle: choice(
                    ["host", "path"],
                    "`host`: bucket.endpoint (AWS); `path`: endpoint/bucket (most self-hosted stores)",
                ).default("host"),
                verifyTls: flag(
                    "check the store's certificate; off only for a test store with a self-signed one",
                ).default(true),
                credentialsSecret: pattern(
                    DNS_SUBDOMAIN,
                    "expected a Secret name",
                    "Secret in the platform's namespace with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`",
                ).optional(),
            },
            "where the backups go; endpoint, bucket and credentialsSecret are required when backups are on",
        ).prefault({}),
        fullBackupIntervalHours: integer(1, 744, "a full backup when the newest is this old").default(24),
        retainFullBackups: integer(
            1,
            100,
            "full backups kept; older ones and the WAL only they need are expired",
        ).default(7),
        archiveTimeoutSeconds: integer(
            10,
            3600,
            "a WAL segment is archived at least this often under writes: the most a lost volume costs (RPO)",
        ).default(60),
        ioTimeoutSeconds: integer(
            5,
            600,
            "pgBackRest's io-timeout: a store that accepts no byte for this long, or refuses connections, fails the push, backup or status (after retrying for a multiple of this)",
        ).default(15),
    },
    "PostgreSQL backups and point-in-time restore (docs/backups.md)",
)
    .superRefine((value, context) => {
        if (!value.enabled) {
            return;
        }
        for (const key of ["endpoint", "bucket", "credentialsSecret"] as const) {
            if (value.store[key] === undefined) {
                const message = "required when backups are on (postgres.backup.enabled)";
                context.addIssue({ code: "custom", path: ["store", key], input: undefined, message });
            }
        }
    })
    .prefault({});

/** The official image (Docker Hub's `postgres`), which has no pgBackRest. */
const OFFICIAL_POSTGRES_IMAGE = /^(docker\.io\/)?(library\/)?postgres[:@]/;

/** Postgres and Redis: the service keys plus their data claim. */
function statefulShape(defaults: ServiceDefaults, storageSize: string) {
    return { ...serviceShape(defaults), storage: storage(storageSize) };
}

/**
 * The controllers an Ingress can be written for, and what follows from the choice. Traefik (v3.7
 * and later) reads Ingresses of class `nginx` through its kubernetesIngressNGINX provider, which
 * honours every ingress-nginx annotation the platform uses; see docs/front-doors.md.
 */
export const INGRESS_CONTROLLERS = {
    nginx: { className: "nginx", namespace: "ingress-nginx" },
    traefik: { className: "nginx", namespace: "traefik" },
} as const;
export type IngressController = keyof typeof INGRESS_CONTROLLERS;

/** Where the Gateway API implementation's proxies run (Traefik's kubernetesGateway provider). */
const GATEWAY_CONTROLLER_NAMESPACE = "traefik";

const publicEntry = section(
    {
        controller: choice(
            ["nginx", "traefik"],
            "which controller the Ingresses are written for (`frontDoor: ingress`); the annotations follow it",
        ).default("nginx"),
        host: pattern(
            DNS_SUBDOMAIN,
            "expected a DNS host name such as exchange.example.com",
            "the public host, for either front door; unset: any host",
        ).optional(),
        className: pattern(
            DNS_SUBDOMAIN,
            "expected an IngressClass name",
            "unset: the controller's (`nginx` for both: Traefik serves that class through its NGINX provider)",
        ).optional(),
        tls: section(
            {
                secretName: pattern(DNS_SUBDOMAIN, "expected the name of the Secret that holds the certificate"),
                clusterIssuer: pattern(DNS_SUBDOMAIN, "expected the name of a cert-manager ClusterIssuer"),
            },
            "both keys required; needs `publicEntry.host`",
        ).optional(),
        stickySessions: flag(
            "cookie affinity for `/ws` at the front door (Gateway API: through a Traefik TraefikService, which needs Traefik's kubernetesCRD provider); unset: on when `wsStream.sessionAffinity` is `ClientIP`",
        ).optional(),
    },
    "the public entry, for either `frontDoor`",
)
    .superRefine((value, context) => {
        if (value.tls !== undefined && value.host === undefined) {
            const message = "TLS needs publicEntry.host: a certificate is issued for a host name";
            context.addIssue({ code: "custom", path: ["tls"], input: value.tls, message });
        }
    })
    .prefault({});

const gateway = section(
    {
        name: pattern(DNS_SUBDOMAIN, "expected a Gateway name", "the Gateway the routes attach to").default("exchange"),
        namespace: pattern(DNS_LABEL, "expected a namespace name", "unset: the platform's namespace").optional(),
        create: flag(
            "the program creates the Gateway (with `publicEntry.tls`: an HTTPS listener and cert-manager's annotation)",
        ).default(false),
        className: pattern(
            DNS_SUBDOMAIN,
            "expected a GatewayClass name",
            "class of a Gateway the program creates",
        ).default("traefik"),
        listener: pattern(DNS_SUBDOMAIN, "expected a listener name", "unset: every listener of the Gateway").optional(),
    },
    "the Gateway of `frontDoor: gatewayApi`",
).prefault({});

const networkPolicy = section(
    {
        enabled: flag().default(true),
        ingressControllerNamespace: pattern(
            DNS_LABEL,
            "expected a namespace name",
            "the only client of router and ws-stream; unset: the controller's (`ingress-nginx`, or `traefik` for Traefik and Gateway API)",
        ).optional(),
        monitoringNamespace: pattern(
            DNS_LABEL,
            "expected a namespace name",
            "allowed to reach `metrics` ports",
        ).default("monitoring"),
    },
    "deny all ingress to the platform's pods, then allow the platform's own paths",
).prefault({});

/** Defaults where the platform document says nothing: pinned images and modest resources. */
const ROUTER_DEFAULTS: ServiceDefaults = {
    contract: ROUTER,
    image: "exchange/router:1.0.0",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    maxReplicas: 100,
};

const WS_STREAM_DEFAULTS: ServiceDefaults = {
    contract: WS_STREAM,
    image: "exchange/ws-stream:1.0.0",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    maxReplicas: 100,
};

const POSTGRES_DEFAULTS: ServiceDefaults = {
    contract: POSTGRES,
    image: "postgres:16.6-alpine",
    resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    maxReplicas: 1,
};

const REDIS_DEFAULTS: ServiceDefaults = {
    contract: REDIS,
    image: "redis:7.4.2-alpine",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    maxReplicas: 1,
};

/** Redis persistence modes; components/redis.ts turns each into server options. */
export const REDIS_PERSISTENCE = ["appendOnly", "snapshots", "none"] as const;

/** The schema of everything under `exchange:`. */
export const PlatformConfigSchema = section({
    namespace,
    podSecurity,
    frontDoor: choice(
        ["ingress", "gatewayApi"],
        "the public entry as Ingresses, or as Gateway API HTTPRoutes (gateway.networking.k8s.io/v1)",
    ).default("ingress"),
    publicEntry,
    gateway,
    networkPolicy,
    router: statelessService(ROUTER_DEFAULTS, "the HTTP API"),
    wsStream: statelessService(WS_STREAM_DEFAULTS, "the WebSocket stream"),
    postgres: section(
        {
            ...statefulShape(POSTGRES_DEFAULTS, "10Gi"),
            user: pattern(
                POSTGRES_IDENTIFIER,
                "expected a PostgreSQL role name (lowercase letters, digits, _)",
            ).default("exchange"),
            database: pattern(POSTGRES_IDENTIFIER, "expected a PostgreSQL database name").default(POSTGRES_DATABASE),
            backup,
        },
        "PostgreSQL, a single writer",
    )
        .superRefine(metricsPortDiffers(POSTGRES))
        .superRefine((value, context) => {
            // The server runs pgBackRest as its archive_command: without it every WAL segment
            // would stay in pg_wal until the volume is full.
            if (value.backup.enabled && OFFICIAL_POSTGRES_IMAGE.test(value.image)) {
                const message =
                    "the official postgres images carry no pgBackRest; with backups on, name an image that has it (docs/backups.md)";
                context.addIssue({ code: "custom", path: ["image"], input: value.image, message });
            }
        })
        .prefault({}),
    redis: section(
        {
            ...statefulShape(REDIS_DEFAULTS, "2Gi"),
            auth: flag(
                "Redis asks for a generated password; `REDIS_URL` (with it) comes from a Secret. Off: the contract's password-less URL",
            ).default(true),
            persistence: choice(
                REDIS_PERSISTENCE,
                "how Redis keeps its keys on the claim (docs/backups.md): `appendOnly` logs every write and fsyncs once a second (a hard kill loses at most the last second), `snapshots` writes the whole data set now and then (a hard kill loses what came after the last one), `none` keeps nothing across a restart",
            ).default("appendOnly"),
        },
        "Redis, a single writer",
    )
        .superRefine(metricsPortDiffers(REDIS))
        .prefault({}),
});

type ParsedConfig = z.output<typeof PlatformConfigSchema>;

/** Rules that span sections: each names the key to change. */
function crossSectionProblems(config: ParsedConfig, context: z.RefinementCtx<ParsedConfig>): void {
    const gatewayApi = config.frontDoor === "gatewayApi";
    if (gatewayApi && !config.gateway.create && config.publicEntry.tls !== undefined) {
        context.addIssue({
            code: "custom",
            path: ["publicEntry", "tls"],
            input: config.publicEntry.tls,
            message:
                "the program sets TLS only on a Gateway it creates (gateway.create: true); an existing Gateway's listener holds its own certificate",
        });
    }
}

/** Defaults that follow other keys: the controller's class and namespace, affinity at the front door. */
function withDerivedDefaults(config: ParsedConfig) {
    const controller = INGRESS_CONTROLLERS[config.publicEntry.controller];
    const gatewayApi = config.frontDoor === "gatewayApi";
    return {
        ...config,
        publicEntry: {
            ...config.publicEntry,
            className: config.publicEntry.className ?? controller.className,
            stickySessions: config.publicEntry.stickySessions ?? config.wsStream.sessionAffinity === "ClientIP",
        },
        gateway: { ...config.gateway, namespace: config.gateway.namespace ?? config.namespace },
        networkPolicy: {
            ...config.networkPolicy,
            ingressControllerNamespace:
                config.networkPolicy.ingressControllerNamespace ??
                (gatewayApi ? GATEWAY_CONTROLLER_NAMESPACE : controller.namespace),
        },
    };
}

/** The whole stack config: the schema, the rules across sections, then the derived defaults. */
const StackConfigSchema = PlatformConfigSchema.superRefine(crossSectionProblems).transform(withDerivedDefaults);

export type PlatformConfig = z.output<typeof StackConfigSchema>;
export type StatelessServiceSettings = PlatformConfig["router"];
/** The keys every service has (serviceShape); the stateless and the stateful services add theirs. */
export type ServiceSettings = Pick<StatelessServiceSettings, keyof ReturnType<typeof serviceShape>>;
export type RedisSettings = PlatformConfig["redis"];
export type PostgresSettings = PlatformConfig["postgres"];
export type BackupSettings = PostgresSettings["backup"];
export type StorageSettings = RedisSettings["storage"];
export type PublicEntrySettings = PlatformConfig["publicEntry"];
export type NetworkPolicySettings = PlatformConfig["networkPolicy"];
export type GatewaySettings = PlatformConfig["gateway"];

/** Raised for invalid stack config; `pulumi` prints a RunError's message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/**
 * Sections renamed since stacks were created, old name -> new name. A stack file that still has
 * the old one is refused with the commands that move it: read as the new one it would hide the
 * rename, ignored it would silently drop the stack's host and TLS.
 */
const RENAMED_SECTIONS = new Map<string, keyof typeof PlatformConfigSchema.shape>([
    // It holds the public entry of both front doors (Ingress and Gateway API), not Ingress settings.
    ["ingress", "publicEntry"],
]);

/** WORD as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(word: string): string {
    return /^[\w.:/@=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `pulumi config set` commands that give KEY (`exchange:<section>`) the value VALUE, leaf by leaf. */
function configSetCommands(key: string, value: unknown, stack: string): string[] {
    const leaves = (node: unknown, path: string): [string, unknown][] =>
        typeof node === "object" && node !== null
            ? Object.entries(node).flatMap(([name, child]) =>
                  leaves(child, Array.isArray(node) ? `${path}[${name}]` : `${path}.${name}`),
              )
            : [[path, node]];
    return leaves(value, key).map(([path, leaf]) =>
        [
            "pulumi config set",
            ...(path === key ? [] : ["--path"]),
            shellWord(path),
            shellWord(String(leaf)),
            `--stack ${shellWord(stack)}`,
        ].join(" "),
    );
}

function renamedSectionProblem(oldName: string, newName: string, text: string, stack: string): string {
    const [oldKey, newKey] = [oldName, newName].map((name) => `${CONFIG_NAMESPACE}:${name}`);
    let value: unknown = text;
    try {
        value = JSON.parse(text);
    } catch {
        // Not structured: it moves as the text it is.
    }
    const commands = [
        ...configSetCommands(newKey, value, stack),
        `pulumi config rm ${oldKey} --stack ${shellWord(stack)}`,
    ];
    return [
        `${oldKey} was renamed to ${newKey}, with the same settings; move them: in Pulumi.${stack}.yaml, rename the key ${oldKey} to ${newKey}, or run`,
        ...commands.map((command) => `      ${command}`),
    ].join("\n");
}

/**
 * Parses the raw `exchange:*` config map of STACK (key without namespace -> JSON text for an
 * object key, plain text for a string key, as Pulumi hands them over). Pure, so tests can feed it
 * any input.
 */
export function parseConfig(rawValues: Record<string, string>, stack: string): PlatformConfig {
    const problems: string[] = [];
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(rawValues)) {
        const newName = RENAMED_SECTIONS.get(key);
        if (newName !== undefined) {
            problems.push(renamedSectionProblem(key, newName, text, stack));
            continue;
        }
        const keySchema = PlatformConfigSchema.shape[key as keyof typeof PlatformConfigSchema.shape];
        if (keySchema === undefined || innerSchema(keySchema)._zod.def.type !== "object") {
            values[key] = text;
            continue;
        }
        try {
            values[key] = JSON.parse(text);
        } catch {
            problems.push(
                `${CONFIG_NAMESPACE}:${key}: ${describe(text)} is not allowed; expected a structured (object) value in the stack file`,
            );
        }
    }
    const result = StackConfigSchema.safeParse(values, { reportInput: true });
    if (!result.success || problems.length > 0) {
        throw new ConfigError([...problems, ...(result.success ? [] : problemsOf(result.error.issues))]);
    }
    return result.data;
}

/** Reads this stack's `exchange:*` values from the Pulumi runtime and parses them. */
export function loadConfig(): PlatformConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const rawValues: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            rawValues[key.slice(prefix.length)] = value;
        }
    }
    return parseConfig(rawValues, pulumi.getStack());
}
