/**
 * The platform's service contract: every name, port, label, DNS name and connection string that
 * other systems (clients, Ingress routes, dashboards, runbooks) address directly, so none of it
 * is configurable. Every other module derives these facts from here; docs/platform-services.md
 * explains them.
 */

/** Every Service of the platform listens on port 80 and maps it to the container's own port. */
export const SERVICE_PORT = 80;

/**
 * The controller that runs a service's pods: stateless services roll as Deployments; a single
 * writer of data (PostgreSQL, Redis) is a StatefulSet, so that no second server ever starts on
 * its volume while the first is still stopping (docs/backups.md).
 */
export type WorkloadKind = "Deployment" | "StatefulSet";

export interface PlatformService {
    /** Workload (Deployment or StatefulSet) name and the value of the pod label `app`, the only label Services select on. */
    readonly appName: string;
    /** The kind of that workload. */
    readonly workloadKind: WorkloadKind;
    /** Name of the main (ClusterIP by default) Service. */
    readonly serviceName: string;
    /** The port the application listens on inside the pod. */
    readonly containerPort: number;
    /** Name of that port on the container and on every Service port that targets it. */
    readonly portName: string;
    /** `app.kubernetes.io/component` label value. */
    readonly component: string;
}

export const ROUTER: PlatformService = {
    appName: "exchange-router",
    workloadKind: "Deployment",
    serviceName: "exchange-router-service",
    containerPort: 8080,
    portName: "http",
    component: "api",
};

export const WS_STREAM: PlatformService = {
    appName: "exchange-ws-stream",
    workloadKind: "Deployment",
    serviceName: "exchange-ws-stream-service",
    containerPort: 4000,
    // WebSocket runs over HTTP: the upgrade request is plain HTTP on this port.
    portName: "http",
    component: "stream",
};

export const POSTGRES: PlatformService = {
    appName: "exchange-postgres",
    workloadKind: "StatefulSet",
    serviceName: "exchange-postgres-service",
    containerPort: 5432,
    portName: "postgresql",
    component: "database",
};

export const REDIS: PlatformService = {
    appName: "exchange-redis",
    workloadKind: "StatefulSet",
    serviceName: "exchange-redis-service",
    containerPort: 6379,
    portName: "redis",
    component: "cache",
};

/** Every service of the platform, in the document's order. */
export const PLATFORM_SERVICES: readonly PlatformService[] = [ROUTER, WS_STREAM, POSTGRES, REDIS];

/** The variants' Services: a LoadBalancer beside the main one, and one for direct pod addressing. */
export const externalServiceName = (service: PlatformService): string => `${service.appName}-external`;
export const headlessServiceName = (service: PlatformService): string => `${service.appName}-headless`;

/** The platform's objects beside the Deployments and Services. */
export const OBJECT_NAMES = {
    postgresCredentials: `${POSTGRES.appName}-credentials`,
    postgresPassword: `${POSTGRES.appName}-password`,
    postgresData: `${POSTGRES.appName}-data`,
    redisConnection: `${REDIS.appName}-connection`,
    redisPassword: `${REDIS.appName}-password`,
    redisData: `${REDIS.appName}-data`,
} as const;

/** The public entry: `/backend/<rest>` reaches the router as `/<rest>`; `/ws` reaches the stream unchanged. */
export const PUBLIC_ROUTES = {
    api: { objectName: "exchange-backend", pathPrefix: "/backend", service: ROUTER },
    stream: {
        objectName: "exchange-ws",
        pathPrefix: "/ws",
        service: WS_STREAM,
        /** A WebSocket may stay open this long without traffic before the front door closes it. */
        idleTimeoutSeconds: 3600,
        /** With sticky sessions, the cookie that keeps a client's reconnects on one ws-stream pod. */
        affinityCookie: "exchange-ws-affinity",
    },
} as const;

export const POSTGRES_DATABASE = "exchange";

/** The environment variables through which clients get their connection strings. */
export const CONNECTION_ENV = { database: "DATABASE_URL", redis: "REDIS_URL" } as const;

/** `<service-name>.<namespace>.svc.cluster.local:<port>`, the document's DNS format. */
export function clusterDnsName(serviceName: string, namespace: string, port: number = SERVICE_PORT): string {
    return `${serviceName}.${namespace}.svc.cluster.local:${port}`;
}

/** Short-name connection strings, as the document writes them: they resolve inside the namespace. */
export function redisUrl(password?: string): string {
    const credentials = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
    return `redis://${credentials}${REDIS.serviceName}:${SERVICE_PORT}`;
}

export function postgresUrl(user: string, password: string, database: string): string {
    const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return `postgresql://${credentials}@${POSTGRES.serviceName}:${SERVICE_PORT}/${database}`;
}
