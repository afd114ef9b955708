/** Assembles the platform from validated config; index.ts and the unit tests both call it. */
import * as pulumi from "@pulumi/pulumi";
import { GatewayRoutes } from "./components/gateway-routes";
import { PlatformIngress } from "./components/ingress";
import { NetworkPolicies } from "./components/network-policies";
import { Postgres } from "./components/postgres";
import { Redis } from "./components/redis";
import { platformNamespace } from "./components/namespace";
import { passwordProvider } from "./components/credentials";
import { StatelessService } from "./components/stateless-service";
import { PlatformConfig } from "./config";
import { ROUTER, WS_STREAM } from "@exchange/contract";

export interface PlatformOutputs {
    /** In-cluster DNS name of every Service, keyed by Service name. */
    serviceDnsNames: pulumi.Output<Record<string, string>>;
    publicUrls: pulumi.Output<{ api: string; ws: string }>;
    /** Secret: the database URL carries the generated password. */
    connectionStrings: pulumi.Output<{ database: string; redis: string }>;
}

export function deployPlatform(config: PlatformConfig): PlatformOutputs {
    // First, before any Kubernetes object: see passwordProvider.
    const passwords = passwordProvider();
    const namespace = platformNamespace(config);

    const postgres = new Postgres(
        "exchange-postgres",
        { namespace, settings: config.postgres },
        { providers: [passwords] },
    );
    const redis = new Redis("exchange-redis", { namespace, settings: config.redis }, { providers: [passwords] });
    // The HTTP API: serves /api/v1/... and /health on 8080.
    const router = new StatelessService("exchange-router", {
        typeName: "Router",
        contract: ROUTER,
        containerName: "router",
        healthCheck: { httpGet: { path: "/health", port: ROUTER.portName } },
        namespace,
        settings: config.router,
        env: [postgres.databaseUrlEnv, redis.redisUrlEnv],
    });
    // The WebSocket stream: long-lived client connections on 4000, fed from Redis pub/sub.
    const wsStream = new StatelessService("exchange-ws-stream", {
        typeName: "WsStream",
        contract: WS_STREAM,
        containerName: "ws-stream",
        // The stream has no HTTP health route of its own; an accepting socket is its health.
        healthCheck: { tcpSocket: { port: WS_STREAM.portName } },
        namespace,
        settings: config.wsStream,
        env: [redis.redisUrlEnv],
    });

    const backends = {
        routerService: router.workload.service,
        wsStreamService: wsStream.workload.service,
        affinitySeconds: config.wsStream.sessionAffinityTimeoutSeconds,
    };
    const frontDoor =
        config.frontDoor === "gatewayApi"
            ? new GatewayRoutes("exchange", {
                  namespace,
                  settings: config.publicEntry,
                  gateway: config.gateway,
                  ...backends,
              })
            : new PlatformIngress("exchange", {
                  namespace,
                  settings: config.publicEntry,
                  ...backends,
              });

    if (config.networkPolicy.enabled) {
        new NetworkPolicies("exchange", {
            namespace,
            settings: config.networkPolicy,
            allowed: [
                { to: router.workload, from: [], fromIngressController: true },
                { to: wsStream.workload, from: [], fromIngressController: true },
                { to: postgres.workload, from: [router.workload], fromIngressController: false },
                { to: redis.workload, from: [router.workload, wsStream.workload], fromIngressController: false },
            ],
        });
    }

    const workloads = [router.workload, wsStream.workload, postgres.workload, redis.workload];
    return {
        serviceDnsNames: pulumi
            .all(workloads.map((w) => w.dnsNames))
            .apply((maps) => Object.fromEntries(maps.flatMap((map) => Object.entries(map)))),
        publicUrls: frontDoor.urls,
        connectionStrings: pulumi.secret(
            pulumi
                .all([postgres.connectionString, redis.connectionString])
                .apply(([database, redisUrl]) => ({ database, redis: redisUrl })),
        ),
    };
}
