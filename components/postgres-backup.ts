/**
 * What PostgreSQL's pod gets when backups are on (docs/backups.md): pgBackRest, configured only
 * by environment (every container of the pod has the same), archiving each finished WAL segment
 * from the server's own `archive_command`; an init container that restores an empty data folder
 * from the store before the server starts; a sidecar that takes the scheduled full backups.
 * Both run where the data is: the claim has one pod and no other mounter (the StatefulSet), and
 * the pods have no API access, so no Job could reach the data folder.
 */
import * as k8s from "./k8s";
import { BackupSettings, PostgresSettings } from "../config";
import { Companion, HealthCheck } from "./service-deployment";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** pgBackRest's name for the database cluster in the repository: one per repository path. */
export const BACKUP_STANZA = "exchange";
/** The server's socket folder, shared by the containers (an emptyDir). */
export const SOCKET_DIR = "/var/run/postgresql";
/** The keys of the store's credentials Secret (the names AWS tools use). */
export const STORE_CREDENTIAL_KEYS = { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" };

/** pgBackRest's options as its PGBACKREST_* variables; the access keys by reference only. */
function pgBackRestEnv(backup: BackupSettings, user: string, dataPath: string): EnvVar[] {
    const { store } = backup;
    const option = (name: string, value: string | number): EnvVar => ({
        name: `PGBACKREST_${name}`,
        value: String(value),
    });
    const secretKey = (name: string, key: string): EnvVar => ({
        name: `PGBACKREST_${name}`,
        valueFrom: { secretKeyRef: { name: store.credentialsSecret!, key } },
    });
    return [
        option("STANZA", BACKUP_STANZA),
        option("PG1_PATH", dataPath),
        option("PG1_SOCKET_PATH", SOCKET_DIR),
        option("PG1_USER", user),
        option("REPO1_TYPE", "s3"),
        option("REPO1_S3_ENDPOINT", store.endpoint!),
        option("REPO1_STORAGE_PORT", store.port),
        option("REPO1_S3_BUCKET", store.bucket!),
        option("REPO1_S3_REGION", store.region),
        option("REPO1_S3_URI_STYLE", store.uriStyle),
        option("REPO1_STORAGE_VERIFY_TLS", store.verifyTls ? "y" : "n"),
        option("REPO1_PATH", store.path),
        secretKey("REPO1_S3_KEY", STORE_CREDENTIAL_KEYS.accessKeyId),
        secretKey("REPO1_S3_KEY_SECRET", STORE_CREDENTIAL_KEYS.secretAccessKey),
        option("REPO1_RETENTION_FULL", backup.retainFullBackups),
        // lz4: a fraction of gzip's CPU for a little more space; the pod's CPU serves the database.
        option("COMPRESS_TYPE", "lz4"),
        // The backup starts at once (an immediate checkpoint), not after the next scheduled one.
        option("START_FAST", "y"),
        // pgBackRest's default (60 s) retries a refused connection for about four minutes before a
        // push fails: so long that a store outage stays invisible in pg_stat_archiver and a backup
        // or status command hangs. No progress for this long on a healthy store does not happen.
        option("IO_TIMEOUT", backup.ioTimeoutSeconds),
        // The root filesystem is read-only: logs go to the container's output, locks to /tmp.
        option("LOG_LEVEL_CONSOLE", "info"),
        option("LOG_LEVEL_FILE", "off"),
        option("LOCK_PATH", "/tmp/pgbackrest"),
        { name: "BACKUP_FULL_INTERVAL_HOURS", value: String(backup.fullBackupIntervalHours) },
    ];
}

export interface BackupPodParts {
    env: EnvVar[];
    /** The server's command line: archiving on. */
    serverArgs: string[];
    companions: Companion[];
}

/**
 * The pod's parts for SETTINGS' backups, the data folder at DATA_PATH, SERVER_READY the server's
 * own check (the sidecar's readiness too: it is ready when the server it backs up answers, and
 * serves nothing itself); undefined when backups are off.
 */
export function backupPodParts(
    settings: PostgresSettings,
    dataPath: string,
    serverReady: HealthCheck,
): BackupPodParts | undefined {
    const { backup } = settings;
    if (!backup.enabled) {
        return undefined;
    }
    const small = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } };
    return {
        env: pgBackRestEnv(backup, settings.user, dataPath),
        serverArgs: [
            "postgres",
            "-c",
            "archive_mode=on",
            // A failed push leaves the segment in pg_wal and is retried: nothing is lost while the
            // store is away, and pg_stat_archiver counts the failures.
            "-c",
            "archive_command=pgbackrest archive-push %p",
            "-c",
            `archive_timeout=${backup.archiveTimeoutSeconds}`,
        ],
        companions: [
            { name: "restore", init: true, command: ["pgbackrest-restore", "if-empty"], resources: small },
            {
                name: "backup",
                init: false,
                command: ["pgbackrest-scheduler"],
                resources: small,
                readiness: serverReady,
            },
        ],
    };
}
