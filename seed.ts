/**
 * The platform's own service document (kubernetes-services.md), as code: the fixed names and
 * ports every other module derives from. Nothing here is configurable, because other systems
 * (connection strings, Ingress routes, dashboards, runbooks) address these names directly.
 */

/** Every Service of the platform listens on port 80 and maps it to the container's own port. */
export const SERVICE_PORT = 80;

export interface SeedService {
    /** Deployment name and the value of the pod label `app`. */
    readonly appName: string;
    /** Name of the main (ClusterIP by default) Service. */
    readonly serviceName: string;
    /** The port the application listens on inside the pod. */
    readonly containerPort: number;
    /** Name of that port on the container and on every Service port that targets it. */
    readonly portName: string;
    /** `app.kubernetes.io/component` label value. */
    readonly component: string;
}

export const ROUTER: SeedService = {
    appName: "exchange-router",
    serviceName: "exchange-router-service",
    containerPort: 8080,
    portName: "http",
    component: "api",
};

export const WS_STREAM: SeedService = {
    appName: "exchange-ws-stream",
    serviceName: "exchange-ws-stream-service",
    containerPort: 4000,
    // WebSocket runs over HTTP: the upgrade request is plain HTTP on this port.
    portName: "http",
    component: "stream",
};

export const POSTGRES: SeedService = {
    appName: "exchange-postgres",
    serviceName: "exchange-postgres-service",
    containerPort: 5432,
    portName: "postgresql",
    component: "database",
};

export const REDIS: SeedService = {
    appName: "exchange-redis",
    serviceName: "exchange-redis-service",
    containerPort: 6379,
    portName: "redis",
    component: "cache",
};

/** Every service of the platform, in the document's order. */
export const PLATFORM_SERVICES: readonly SeedService[] = [ROUTER, WS_STREAM, POSTGRES, REDIS];

export const POSTGRES_DATABASE = "exchange";

/** `<service-name>.<namespace>.svc.cluster.local:<port>`, the seed's DNS format. */
export function clusterDnsName(serviceName: string, namespace: string, port: number = SERVICE_PORT): string {
    return `${serviceName}.${namespace}.svc.cluster.local:${port}`;
}

/** Short-name connection strings, as the seed writes them: they resolve inside the namespace. */
export function redisUrl(): string {
    return `redis://${REDIS.serviceName}:${SERVICE_PORT}`;
}

export function postgresUrl(user: string, password: string, database: string): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${POSTGRES.serviceName}:${SERVICE_PORT}/${database}`;
}
