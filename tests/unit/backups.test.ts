/** PostgreSQL's backups (docs/backups.md): what the pod gets with them on, and nothing with them off. */
import * as assert from "assert";
import { POSTGRES } from "@exchange/contract";
import { ConfigError } from "../../config";
import { stackConfig, withConfig } from "../support";
import { ofType, ProgramRun, runProgram, TYPES, workloadNamed } from "./harness";

const dev = stackConfig("dev");
const store = { endpoint: "store.example.com", bucket: "exchange-backups", credentialsSecret: "backup-store" };

async function run(config: Record<string, string>, stack = "dev"): Promise<ProgramRun> {
    const result = await runProgram(config, stack);
    assert.ifError(result.error);
    return result;
}

const podOf = (result: ProgramRun) => workloadNamed(result, POSTGRES.appName).inputs.spec.template.spec;
const envOf = (container: any) => new Map<string, any>(container.env.map((e: any) => [e.name, e]));

describe("PostgreSQL backups", () => {
    it("off (dev): the pod is as before, one container, no server arguments, no pgBackRest variable", async () => {
        const pod = podOf(await run(dev));
        assert.strictEqual(pod.containers.length, 1);
        assert.strictEqual(pod.initContainers, undefined);
        assert.strictEqual(pod.containers[0].args, undefined);
        assert.ok(!pod.containers[0].env.some((e: any) => e.name.startsWith("PGBACKREST_")));
    });

    it("on (prod): archive_command pushes each WAL segment with pgBackRest, at least every archiveTimeoutSeconds", async () => {
        const server = podOf(await run(stackConfig("prod"), "prod")).containers[0];
        assert.deepStrictEqual(server.args, [
            "postgres",
            "-c",
            "archive_mode=on",
            "-c",
            "archive_command=pgbackrest archive-push %p",
            "-c",
            "archive_timeout=60",
        ]);
    });

    it("on (prod): an init container restores an empty data folder; a sidecar takes the scheduled backups", async () => {
        const pod = podOf(await run(stackConfig("prod"), "prod"));
        assert.deepStrictEqual(
            pod.initContainers.map((c: any) => [c.name, c.command]),
            [["restore", ["pgbackrest-restore", "if-empty"]]],
        );
        assert.deepStrictEqual(
            pod.containers.map((c: any) => [c.name, c.command]),
            [
                ["postgres", undefined],
                ["backup", ["pgbackrest-scheduler"]],
            ],
        );
        // Same image, variables, volumes and restrictions as the server: one pgBackRest configuration.
        for (const companion of [...pod.initContainers, pod.containers[1]]) {
            assert.strictEqual(companion.image, pod.containers[0].image);
            assert.deepStrictEqual(companion.env, pod.containers[0].env);
            assert.deepStrictEqual(companion.volumeMounts, pod.containers[0].volumeMounts);
            assert.deepStrictEqual(companion.securityContext, pod.containers[0].securityContext);
        }
    });

    it("on (prod): the store, schedule and retention from config; the access keys only by reference to the Secret", async () => {
        const env = envOf(podOf(await run(stackConfig("prod"), "prod")).containers[0]);
        const value = (name: string) => env.get(name)?.value;
        assert.strictEqual(value("PGBACKREST_REPO1_TYPE"), "s3");
        assert.strictEqual(value("PGBACKREST_REPO1_S3_ENDPOINT"), "s3.eu-central-1.amazonaws.com");
        assert.strictEqual(value("PGBACKREST_REPO1_S3_BUCKET"), "exchange-prod-postgres-backups");
        assert.strictEqual(value("PGBACKREST_REPO1_PATH"), "/exchange/prod");
        assert.strictEqual(value("PGBACKREST_REPO1_STORAGE_VERIFY_TLS"), "y");
        assert.strictEqual(value("PGBACKREST_REPO1_RETENTION_FULL"), "14");
        assert.strictEqual(value("BACKUP_FULL_INTERVAL_HOURS"), "24");
        assert.strictEqual(value("PGBACKREST_IO_TIMEOUT"), "15", "an unreachable store fails within a minute");
        assert.strictEqual(value("PGBACKREST_PG1_PATH"), "/var/lib/postgresql/data/pgdata");
        assert.strictEqual(value("PGBACKREST_PG1_USER"), "exchange");
        for (const [name, key] of [
            ["PGBACKREST_REPO1_S3_KEY", "AWS_ACCESS_KEY_ID"],
            ["PGBACKREST_REPO1_S3_KEY_SECRET", "AWS_SECRET_ACCESS_KEY"],
        ]) {
            assert.deepStrictEqual(env.get(name), {
                name,
                valueFrom: { secretKeyRef: { name: "exchange-backup-store", key } },
            });
        }
    });

    it("no ConfigMap or Secret of the program holds the store's keys: the bucket's owner creates that Secret", async () => {
        const result = await run(stackConfig("prod"), "prod");
        const names = [...ofType(result, TYPES.configMap), ...ofType(result, TYPES.secret)].map(
            (r) => r.inputs.metadata.name,
        );
        assert.ok(!names.includes("exchange-backup-store"), names.join(", "));
    });

    it("refuses backups without a store, and on the official image (no pgBackRest)", async () => {
        const problems = async (backup: Record<string, unknown>, image?: string) => {
            const result = await runProgram(withConfig(dev, { postgres: { backup, ...(image ? { image } : {}) } }));
            assert.ok(result.error instanceof ConfigError, `expected a ConfigError, got ${result.error}`);
            assert.strictEqual(result.resources.length, 0);
            return result.error.problems.join("\n");
        };
        const missing = await problems({ enabled: true });
        for (const key of ["endpoint", "bucket", "credentialsSecret"]) {
            assert.match(
                missing,
                new RegExp(`exchange:postgres\\.backup\\.store\\.${key}.*required when backups are on`),
            );
        }
        assert.match(
            await problems({ enabled: true, store }, "postgres:16.6-alpine"),
            /exchange:postgres\.image.*no pgBackRest/,
        );
        // The same image with backups off is the program's default, and fine.
        await run(withConfig(dev, { postgres: { image: "postgres:16.6-alpine", backup: { store } } }));
    });
});
