/**
 * Stack configuration: read once, validated completely, turned into typed values.
 *
 * Every problem found is reported together in one error that names the key, the value and what
 * is allowed, and it is thrown before the program registers any resource, so a bad `Pulumi.<stack>.yaml`
 * never changes the cluster or the state. Defaults come from the platform's service document.
 */
import * as pulumi from "@pulumi/pulumi";
import { POSTGRES, POSTGRES_DATABASE, REDIS, ROUTER, SeedService, WS_STREAM } from "./seed";

export const CONFIG_NAMESPACE = "exchange";

export const SERVICE_TYPES = ["ClusterIP", "LoadBalancer"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];
export const SESSION_AFFINITIES = ["None", "ClientIP"] as const;
export type SessionAffinity = (typeof SESSION_AFFINITIES)[number];

/** Kubernetes caps ClientIP affinity at one day; the seed's value is three hours. */
export const SESSION_AFFINITY_TIMEOUT = { min: 1, max: 86400, default: 10800 };

export interface ComputeResources {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export interface ServiceSettings {
    image: string;
    replicas: number;
    resources: ComputeResources;
    serviceType: ServiceType;
    /** Adds `<app>-external`, a LoadBalancer beside the main Service (the seed's example). */
    external: boolean;
    sessionAffinity: SessionAffinity;
    sessionAffinityTimeoutSeconds: number;
    /** When set, the container and the main Service get a second named port, `metrics`. */
    metricsPort?: number;
    /** Adds `<app>-headless` with `clusterIP: None` for direct pod addressing. */
    headless: boolean;
}

export interface StorageSettings {
    size: string;
    /** Unset means the cluster's default StorageClass. */
    className?: string;
    /** Protects the claim from `pulumi destroy` and from replacement. */
    protect: boolean;
}

export interface StatefulServiceSettings extends ServiceSettings {
    storage: StorageSettings;
}

export interface PostgresSettings extends StatefulServiceSettings {
    user: string;
    database: string;
}

export interface IngressTls {
    secretName: string;
    clusterIssuer: string;
}

export interface IngressSettings {
    /** Unset: the Ingress answers for any host (dev). */
    host?: string;
    className: string;
    tls?: IngressTls;
}

export interface NetworkPolicySettings {
    enabled: boolean;
    /** Namespace of the ingress controller, the only client allowed to reach router and ws-stream. */
    ingressControllerNamespace: string;
    /** Namespace of the metrics scraper, allowed to reach `metrics` ports. */
    monitoringNamespace: string;
}

export interface PlatformConfig {
    namespace: string;
    ingress: IngressSettings;
    networkPolicy: NetworkPolicySettings;
    router: ServiceSettings;
    wsStream: ServiceSettings;
    postgres: PostgresSettings;
    redis: StatefulServiceSettings;
}

/** Defaults per service, where the seed says nothing: pinned images and modest resources. */
const SERVICE_DEFAULTS: Record<"router" | "wsStream" | "postgres" | "redis", { seed: SeedService; image: string; resources: ComputeResources }> = {
    router: {
        seed: ROUTER,
        image: "exchange/router:1.0.0",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    },
    wsStream: {
        seed: WS_STREAM,
        image: "exchange/ws-stream:1.0.0",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    },
    postgres: {
        seed: POSTGRES,
        image: "postgres:16.6-alpine",
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    },
    redis: {
        seed: REDIS,
        image: "redis:7.4.2-alpine",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    },
};

const DEFAULT_STORAGE_SIZE = { postgres: "10Gi", redis: "2Gi" };

const SERVICE_KEYS = [
    "image",
    "replicas",
    "resources",
    "serviceType",
    "external",
    "sessionAffinity",
    "sessionAffinityTimeoutSeconds",
    "metricsPort",
    "headless",
] as const;
const STORAGE_KEYS = ["size", "className", "protect"] as const;

/** Every key the program reads under `exchange:`; anything else is a typo and is refused. */
export const CONFIG_KEYS = ["namespace", "ingress", "networkPolicy", "router", "wsStream", "postgres", "redis"] as const;

/** Raised for invalid stack config; `pulumi` prints a RunError's message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CPU_QUANTITY = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

function describe(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/**
 * Walks one config value, recording every problem with its full key path. Readers return a
 * usable value (the default) even after a problem so that all problems are found in one run.
 */
class ConfigReader {
    readonly problems: string[] = [];

    problem(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${describe(value)} is not allowed; ${allowed}`);
    }

    object(key: string, value: unknown, allowedKeys: readonly string[]): Record<string, unknown> {
        if (value === undefined) {
            return {};
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.problem(key, value, `expected an object with keys ${allowedKeys.join(", ")}`);
            return {};
        }
        const record = value as Record<string, unknown>;
        for (const unknownKey of Object.keys(record).filter((k) => !allowedKeys.includes(k))) {
            this.problems.push(
                `${CONFIG_NAMESPACE}:${key}.${unknownKey}: unknown key; allowed keys: ${allowedKeys.join(", ")}`,
            );
        }
        return record;
    }

    string(key: string, value: unknown, fallback: string, pattern: RegExp, allowed: string): string {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "string" || !pattern.test(value)) {
            this.problem(key, value, allowed);
            return fallback;
        }
        return value;
    }

    requiredString(key: string, value: unknown, pattern: RegExp, allowed: string): string {
        if (value === undefined) {
            this.problems.push(`${CONFIG_NAMESPACE}:${key}: required; ${allowed}`);
            return "";
        }
        return this.string(key, value, "", pattern, allowed);
    }

    optionalString(key: string, value: unknown, pattern: RegExp, allowed: string): string | undefined {
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== "string" || !pattern.test(value)) {
            this.problem(key, value, allowed);
            return undefined;
        }
        return value;
    }

    choice<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "string" || !allowed.includes(value as T)) {
            this.problem(key, value, `allowed values: ${allowed.join(", ")}`);
            return fallback;
        }
        return value as T;
    }

    integer(key: string, value: unknown, min: number, max: number, fallback: number): number {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            this.problem(key, value, `expected an integer from ${min} to ${max}`);
            return fallback;
        }
        return value;
    }

    optionalInteger(key: string, value: unknown, min: number, max: number): number | undefined {
        return value === undefined ? undefined : this.integer(key, value, min, max, min);
    }

    boolean(key: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "boolean") {
            this.problem(key, value, "expected true or false");
            return fallback;
        }
        return value;
    }
}

/** An image reference must carry an explicit tag other than `latest`, or a digest. */
export function imageTagProblem(image: string): string | undefined {
    if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(image)) {
        return "expected an image reference such as postgres:16.6-alpine";
    }
    if (image.includes("@sha256:")) {
        return undefined;
    }
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    if (colon < 0) {
        return "the image needs a pinned tag (name:tag) or a digest (name@sha256:...)";
    }
    if (lastSegment.slice(colon + 1) === "latest") {
        return "the tag 'latest' is not pinned; use a version tag or a digest";
    }
    return undefined;
}

function cpuMillicores(quantity: string): number {
    return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}

function memoryBytes(quantity: string): number {
    const unit = /[A-Za-z]+$/.exec(quantity)?.[0] ?? "";
    return Number(quantity.slice(0, quantity.length - unit.length)) * MEMORY_UNITS[unit];
}

function readResources(reader: ConfigReader, key: string, value: unknown, fallback: ComputeResources): ComputeResources {
    const raw = reader.object(key, value, ["requests", "limits"]);
    const read = (part: "requests" | "limits") => {
        const partKey = `${key}.${part}`;
        const section = reader.object(partKey, raw[part], ["cpu", "memory"]);
        return {
            cpu: reader.string(`${partKey}.cpu`, section.cpu, fallback[part].cpu, CPU_QUANTITY, "expected a CPU quantity such as 250m or 1"),
            memory: reader.string(`${partKey}.memory`, section.memory, fallback[part].memory, MEMORY_QUANTITY, "expected a memory quantity such as 256Mi or 1Gi"),
        };
    };
    const resources = { requests: read("requests"), limits: read("limits") };
    if (cpuMillicores(resources.requests.cpu) > cpuMillicores(resources.limits.cpu)) {
        reader.problem(`${key}.requests.cpu`, resources.requests.cpu, `must not exceed limits.cpu (${resources.limits.cpu})`);
    }
    if (memoryBytes(resources.requests.memory) > memoryBytes(resources.limits.memory)) {
        reader.problem(`${key}.requests.memory`, resources.requests.memory, `must not exceed limits.memory (${resources.limits.memory})`);
    }
    return resources;
}

function readService(
    reader: ConfigReader,
    key: keyof typeof SERVICE_DEFAULTS,
    raw: Record<string, unknown>,
    maxReplicas: number,
): ServiceSettings {
    const defaults = SERVICE_DEFAULTS[key];
    let image = reader.string(`${key}.image`, raw.image, defaults.image, /^\S+$/, "expected an image reference");
    const imageProblem = imageTagProblem(image);
    if (imageProblem) {
        reader.problem(`${key}.image`, image, imageProblem);
        image = defaults.image;
    }
    const metricsPort = reader.optionalInteger(`${key}.metricsPort`, raw.metricsPort, 1, 65535);
    if (metricsPort === defaults.seed.containerPort) {
        reader.problem(`${key}.metricsPort`, metricsPort, `must differ from the service's own port ${defaults.seed.containerPort}`);
    }
    return {
        image,
        replicas: reader.integer(`${key}.replicas`, raw.replicas, 1, maxReplicas, 1),
        resources: readResources(reader, `${key}.resources`, raw.resources, defaults.resources),
        serviceType: reader.choice(`${key}.serviceType`, raw.serviceType, SERVICE_TYPES, "ClusterIP"),
        external: reader.boolean(`${key}.external`, raw.external, false),
        sessionAffinity: reader.choice(`${key}.sessionAffinity`, raw.sessionAffinity, SESSION_AFFINITIES, "None"),
        sessionAffinityTimeoutSeconds: reader.integer(
            `${key}.sessionAffinityTimeoutSeconds`,
            raw.sessionAffinityTimeoutSeconds,
            SESSION_AFFINITY_TIMEOUT.min,
            SESSION_AFFINITY_TIMEOUT.max,
            SESSION_AFFINITY_TIMEOUT.default,
        ),
        metricsPort,
        headless: reader.boolean(`${key}.headless`, raw.headless, false),
    };
}

function readStorage(reader: ConfigReader, key: string, value: unknown, defaultSize: string): StorageSettings {
    const raw = reader.object(key, value, STORAGE_KEYS);
    return {
        size: reader.string(`${key}.size`, raw.size, defaultSize, MEMORY_QUANTITY, "expected a storage quantity such as 10Gi"),
        className: reader.optionalString(`${key}.className`, raw.className, DNS_SUBDOMAIN, "expected a StorageClass name (lowercase DNS subdomain)"),
        protect: reader.boolean(`${key}.protect`, raw.protect, false),
    };
}

/** Postgres and Redis are single writers on a ReadWriteOnce claim: exactly one replica. */
function readStatefulService(reader: ConfigReader, key: "postgres" | "redis", value: unknown, extraKeys: readonly string[]): {
    settings: StatefulServiceSettings;
    raw: Record<string, unknown>;
} {
    const raw = reader.object(key, value, [...SERVICE_KEYS, "storage", ...extraKeys]);
    const settings = {
        ...readService(reader, key, raw, 1),
        storage: readStorage(reader, `${key}.storage`, raw.storage, DEFAULT_STORAGE_SIZE[key]),
    };
    return { settings, raw };
}

/**
 * Parses the raw `exchange:*` config map (key without namespace -> JSON or plain string, as
 * Pulumi stores it). Pure, so tests can feed it any input.
 */
export function parseConfig(rawValues: Record<string, string>): PlatformConfig {
    const reader = new ConfigReader();
    for (const key of Object.keys(rawValues).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k))) {
        reader.problems.push(`${CONFIG_NAMESPACE}:${key}: unknown key; allowed keys: ${CONFIG_KEYS.join(", ")}`);
    }
    const structured = (key: string): unknown => {
        const text = rawValues[key];
        if (text === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(text);
        } catch {
            reader.problem(key, text, "expected a structured (object) value in the stack file");
            return null;
        }
    };

    const namespace = reader.string("namespace", rawValues.namespace, "default", DNS_LABEL, "expected a namespace name (lowercase DNS label, at most 63 characters)");

    const ingressRaw = reader.object("ingress", structured("ingress"), ["host", "className", "tls"]);
    const tlsRaw = ingressRaw.tls === undefined ? undefined : reader.object("ingress.tls", ingressRaw.tls, ["secretName", "clusterIssuer"]);
    const ingress: IngressSettings = {
        host: reader.optionalString("ingress.host", ingressRaw.host, DNS_SUBDOMAIN, "expected a DNS host name such as exchange.example.com"),
        className: reader.string("ingress.className", ingressRaw.className, "nginx", DNS_SUBDOMAIN, "expected an IngressClass name"),
        tls: tlsRaw && {
            secretName: reader.requiredString("ingress.tls.secretName", tlsRaw.secretName, DNS_SUBDOMAIN, "expected the name of the Secret that holds the certificate"),
            clusterIssuer: reader.requiredString("ingress.tls.clusterIssuer", tlsRaw.clusterIssuer, DNS_SUBDOMAIN, "expected the name of a cert-manager ClusterIssuer"),
        },
    };
    if (ingress.tls && !ingress.host) {
        reader.problem("ingress.tls", ingressRaw.tls, "TLS needs ingress.host: a certificate is issued for a host name");
    }

    const policyRaw = reader.object("networkPolicy", structured("networkPolicy"), ["enabled", "ingressControllerNamespace", "monitoringNamespace"]);
    const networkPolicy: NetworkPolicySettings = {
        enabled: reader.boolean("networkPolicy.enabled", policyRaw.enabled, true),
        ingressControllerNamespace: reader.string("networkPolicy.ingressControllerNamespace", policyRaw.ingressControllerNamespace, "ingress-nginx", DNS_LABEL, "expected a namespace name"),
        monitoringNamespace: reader.string("networkPolicy.monitoringNamespace", policyRaw.monitoringNamespace, "monitoring", DNS_LABEL, "expected a namespace name"),
    };

    // Stateless services scale out; 100 is a guard against a typo such as 1000.
    const router = readService(reader, "router", reader.object("router", structured("router"), SERVICE_KEYS), 100);
    const wsStream = readService(reader, "wsStream", reader.object("wsStream", structured("wsStream"), SERVICE_KEYS), 100);
    const postgresRead = readStatefulService(reader, "postgres", structured("postgres"), ["user", "database"]);
    const postgres: PostgresSettings = {
        ...postgresRead.settings,
        user: reader.string("postgres.user", postgresRead.raw.user, "exchange", /^[a-z_][a-z0-9_]{0,62}$/, "expected a PostgreSQL role name (lowercase letters, digits, _)"),
        database: reader.string("postgres.database", postgresRead.raw.database, POSTGRES_DATABASE, /^[a-z_][a-z0-9_]{0,62}$/, "expected a PostgreSQL database name"),
    };
    const redis = readStatefulService(reader, "redis", structured("redis"), []).settings;

    if (reader.problems.length > 0) {
        throw new ConfigError(reader.problems);
    }
    return { namespace, ingress, networkPolicy, router, wsStream, postgres, redis };
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
    return parseConfig(rawValues);
}
