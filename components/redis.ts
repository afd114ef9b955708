/**
 * Redis for caching and pub/sub: one writer on a persistent claim, persisted as the config says
 * (by default an append-only file fsynced once a second).
 *
 * With `auth` (the default; dev turns it off), Redis asks for a password that Pulumi generates:
 * it lives in the Secret that also holds the clients' `REDIS_URL`, reaches the server and its
 * probes only as references to that Secret, and is a secret in the Pulumi state. Without it,
 * the contract's password-less URL is published in a ConfigMap and NetworkPolicy is the guard.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { RedisSettings } from "../config";
import { CONNECTION_ENV, OBJECT_NAMES, REDIS, redisUrl } from "@exchange/contract";
import { configMapKeyEnv, generatedPassword, secretKeyEnv } from "./credentials";
import { claimVolume, dataClaim } from "./data-volume";
import { fixedNameOptions, platformMetadata } from "./metadata";
import { ServiceDeployment } from "./service-deployment";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface RedisArgs {
    namespace: pulumi.Input<string>;
    settings: RedisSettings;
}

/** The official image's `redis` user on Alpine. */
const REDIS_UID = 999;
/** Where the append-only file lives: the official image's working directory. */
const DATA_MOUNT = "/data";
/** The Secret's key for the password, also the server's env name for it. */
const PASSWORD_KEY = "REDIS_PASSWORD";
/** redis-cli authenticates with this variable when it is set (no password on its command line). */
const CLI_PASSWORD_ENV = "REDISCLI_AUTH";
/**
 * The server options of each persistence mode (config `redis.persistence`). `appendOnly` states
 * `everysec` although it is Redis's default: it is the promise docs/backups.md makes (a hard kill
 * loses at most about a second of writes; a stop with SIGTERM loses nothing), so it is written
 * down. Snapshots: Redis's own default save points (after 1 h with 1 change, 5 min with 100,
 * 1 min with 10000). `none` also turns snapshots off: Redis would otherwise save on a stop.
 */
const PERSISTENCE_OPTIONS: Record<RedisSettings["persistence"], string[]> = {
    appendOnly: ["--appendonly", "yes", "--appendfsync", "everysec"],
    snapshots: ["--appendonly", "no", "--save", "3600 1 300 100 60 10000"],
    none: ["--appendonly", "no", "--save", ""],
};
/** The probes' check: Redis answers PING with PONG, as the client it authenticated as. */
const PING_ANSWERS_PONG = `redis-cli -p ${REDIS.containerPort} ping | grep -qx PONG`;

export class Redis extends pulumi.ComponentResource {
    public readonly workload: ServiceDeployment;
    /** Holds `REDIS_URL`: a Secret with `auth`, a ConfigMap without. */
    public readonly connection: k8s.core.v1.Secret | k8s.core.v1.ConfigMap;
    public readonly dataClaim: k8s.core.v1.PersistentVolumeClaim;
    /** `REDIS_URL` for clients, as a reference to the connection object. */
    public readonly redisUrlEnv: pulumi.Output<EnvVar>;
    /** The URL clients use; with `auth` it carries the password and is a secret Output. */
    public readonly connectionString: pulumi.Output<string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:Redis", name, {}, opts);
        const { settings } = args;
        const objectName = OBJECT_NAMES.redisConnection;
        const metadata = platformMetadata(objectName, args.namespace);

        const serverArgs = [
            "redis-server",
            "--port",
            String(REDIS.containerPort),
            "--dir",
            DATA_MOUNT,
            ...PERSISTENCE_OPTIONS[settings.persistence],
        ];
        const serverEnv: EnvVar[] = [];

        if (settings.auth) {
            const password = generatedPassword(OBJECT_NAMES.redisPassword, this);
            this.connectionString = pulumi.secret(password.apply((value) => redisUrl(value)));
            const secret = new k8s.core.v1.Secret(
                objectName,
                {
                    metadata,
                    type: "Opaque",
                    stringData: { [PASSWORD_KEY]: password, [CONNECTION_ENV.redis]: this.connectionString },
                },
                fixedNameOptions(this),
            );
            this.connection = secret;
            this.redisUrlEnv = pulumi.output(secretKeyEnv(secret, CONNECTION_ENV.redis));
            // Kubernetes expands $(REDIS_PASSWORD) from the container's env: no literal in the pod spec.
            serverArgs.push("--requirepass", `$(${PASSWORD_KEY})`);
            serverEnv.push(secretKeyEnv(secret, PASSWORD_KEY), secretKeyEnv(secret, PASSWORD_KEY, CLI_PASSWORD_ENV));
        } else {
            this.connectionString = pulumi.output(redisUrl());
            const configMap = new k8s.core.v1.ConfigMap(
                objectName,
                { metadata, data: { [CONNECTION_ENV.redis]: this.connectionString } },
                fixedNameOptions(this),
            );
            this.connection = configMap;
            this.redisUrlEnv = pulumi.output(configMapKeyEnv(configMap, CONNECTION_ENV.redis));
        }

        this.dataClaim = dataClaim(OBJECT_NAMES.redisData, args.namespace, settings.storage, this);

        this.workload = new ServiceDeployment(
            name,
            {
                namespace: args.namespace,
                contract: REDIS,
                settings,
                containerName: "redis",
                runAsUser: REDIS_UID,
                args: serverArgs,
                env: serverEnv.length > 0 ? serverEnv : undefined,
                // With auth, redis-cli reads the password from REDISCLI_AUTH, so the probe authenticates.
                // redis-cli exits 0 on an error reply (NOAUTH, LOADING): the answer itself must be PONG.
                healthCheck: { exec: { command: ["sh", "-c", PING_ANSWERS_PONG] } },
                probeTimings: {
                    readiness: { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                    liveness: { initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                },
                volumes: [claimVolume(this.dataClaim, DATA_MOUNT)],
            },
            { parent: this },
        );
        this.registerOutputs({ workload: this.workload, connection: this.connection, dataClaim: this.dataClaim });
    }
}
