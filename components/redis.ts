/** Redis for caching and pub/sub: one writer with an append-only file on a persistent claim. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StatefulServiceSettings } from "../config";
import { CONNECTION_ENV, OBJECT_NAMES, REDIS, redisUrl } from "../contract";
import { dataClaim } from "./data-volume";
import { platformMetadata } from "./metadata";
import { ServiceDeployment } from "./service-deployment";

export interface RedisArgs {
    namespace: pulumi.Input<string>;
    settings: StatefulServiceSettings;
}

/** The official image's `redis` user on Alpine. */
const REDIS_UID = 999;
/** Where the append-only file lives: the official image's working directory. */
const DATA_MOUNT = "/data";

export class Redis extends pulumi.ComponentResource {
    public readonly workload: ServiceDeployment;
    public readonly connection: k8s.core.v1.ConfigMap;
    public readonly dataClaim: k8s.core.v1.PersistentVolumeClaim;
    /** `REDIS_URL` for clients, read from the connection ConfigMap. */
    public readonly redisUrlEnv: pulumi.Output<k8s.types.input.core.v1.EnvVar>;
    public readonly connectionString: string = redisUrl();

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:Redis", name, {}, opts);
        const { settings } = args;

        // The contract's URL carries no password: access is limited by NetworkPolicy instead.
        const configMapName = OBJECT_NAMES.redisConnection;
        this.connection = new k8s.core.v1.ConfigMap(
            configMapName,
            {
                metadata: platformMetadata(configMapName, args.namespace),
                data: { [CONNECTION_ENV.redis]: this.connectionString },
            },
            { parent: this, deleteBeforeReplace: true },
        );
        this.redisUrlEnv = pulumi.output({
            name: CONNECTION_ENV.redis,
            valueFrom: { configMapKeyRef: { name: this.connection.metadata.name, key: CONNECTION_ENV.redis } },
        });

        this.dataClaim = dataClaim(OBJECT_NAMES.redisData, args.namespace, settings.storage, this);

        this.workload = new ServiceDeployment(
            name,
            {
                namespace: args.namespace,
                contract: REDIS,
                settings,
                containerName: "redis",
                runAsUser: REDIS_UID,
                args: [
                    "redis-server",
                    "--port",
                    String(REDIS.containerPort),
                    "--dir",
                    DATA_MOUNT,
                    "--appendonly",
                    "yes",
                ],
                healthCheck: { exec: { command: ["redis-cli", "-p", String(REDIS.containerPort), "ping"] } },
                probeTimings: {
                    readiness: { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                    liveness: { initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                },
                volumes: [
                    {
                        name: "data",
                        mountPath: DATA_MOUNT,
                        source: { persistentVolumeClaim: { claimName: this.dataClaim.metadata.name } },
                    },
                ],
                strategy: "Recreate",
            },
            { parent: this },
        );
        this.registerOutputs({ workload: this.workload, connection: this.connection, dataClaim: this.dataClaim });
    }
}
