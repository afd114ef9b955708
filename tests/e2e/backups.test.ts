/**
 * Drills of PostgreSQL's backups end to end on a real node (docs/backups.md), against an
 * S3-compatible store (SeaweedFS, tests/object-store/object-store.sh) in the node's network
 * namespace, each printing what it measured:
 * - point in time: rows written while a base backup runs, a time T, more rows, DROP TABLE,
 *   `scripts/postgres-backup.sh restore --time T`: exactly the rows committed before T are back;
 *   negative control: a target before the first backup is refused and changes nothing;
 * - the store stopped: archiving fails visibly (pg_stat_archiver, the backup command, the
 *   server's log), and catches up when the store is back;
 * - the claim deleted with its volume: `pulumi up --refresh` and the pod's restore init
 *   container bring back every row up to the last archived segment; RPO and RTO printed.
 * Every loop is bounded; requests go from inside the node's network namespace.
 */
import * as assert from "assert";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import {
    CommandResult,
    eventually,
    httpGet,
    localImagesConfig,
    nodeImages,
    PROJECT_ROOT,
    PulumiWorkspace,
    runCommand,
} from "../support";
import { POSTGRES, ROUTER } from "@exchange/contract";
import { destroyDev, e2eDevWorkspace, e2eKubeconfig, e2eKubectl, inNamespace } from "./cluster";
import { objectStore, startObjectStore, storeNodeIp } from "./object-store";

const BACKUP_SCRIPT = path.join(PROJECT_ROOT, "scripts", "postgres-backup.sh");
const POD = `${POSTGRES.appName}-0`;
const STORE_SECRET = "exchange-e2e-backup-store";
const ARCHIVE_TIMEOUT_SECONDS = 10;

/** SQL run by psql in the server's container over its socket; rows as `|`-separated lines. */
async function sql(kubectl: Kubectl, statements: string, timeoutMs = 60_000): Promise<string[]> {
    const result = await runCommand(
        "kubectl",
        [
            "--kubeconfig",
            kubectl.kubeconfig,
            "--namespace",
            kubectl.namespace,
            "exec",
            "-i",
            POD,
            "-c",
            "postgres",
            "--",
            "sh",
            "-c",
            'psql -h /var/run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -XAtq -v ON_ERROR_STOP=1 -f -',
        ],
        { input: statements, timeoutMs },
    );
    assert.strictEqual(result.code, 0, `psql:\n${statements}\n${result.output}`);
    return result.stdout.split("\n").filter((line) => line !== "");
}

/** scripts/postgres-backup.sh with the e2e cluster's kubeconfig. */
function backupScript(args: string[], timeoutMs = 20 * 60_000): Promise<CommandResult> {
    return runCommand("bash", [BACKUP_SCRIPT, ...args], {
        env: { ...process.env, KUBECONFIG: e2eKubeconfig() },
        timeoutMs,
    });
}

interface Archiver {
    archived: number;
    lastArchivedWal: string;
    failed: number;
    lastFailedWal: string;
    failingNow: boolean;
}

async function archiver(kubectl: Kubectl): Promise<Archiver> {
    const [line] = await sql(
        kubectl,
        `SELECT archived_count, coalesce(last_archived_wal, ''), failed_count, coalesce(last_failed_wal, ''),
                coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false)
         FROM pg_stat_archiver;`,
    );
    const [archived, lastArchivedWal, failed, lastFailedWal, failingNow] = line.split("|");
    return {
        archived: Number(archived),
        lastArchivedWal,
        failed: Number(failed),
        lastFailedWal,
        failingNow: failingNow === "t",
    };
}

/** Switches to a new WAL segment and waits until the one it closed is archived; returns its name. */
async function archiveCurrentSegment(kubectl: Kubectl, timeoutMs = 120_000): Promise<string> {
    const [segment] = await sql(kubectl, "SELECT pg_walfile_name(pg_switch_wal());");
    await eventually(`WAL segment ${segment} archived`, timeoutMs, async () => {
        const state = await archiver(kubectl);
        return state.lastArchivedWal >= segment ? true : undefined;
    });
    return segment;
}

describe("end to end: PostgreSQL backup drills (pgBackRest, an S3-compatible store)", function () {
    this.timeout(60 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let images: Record<string, string>;
    let nodeIp: string;
    let routerAddress: string;
    let firstBackupStop: Date;

    before(async () => {
        kubectl = e2eKubectl();
        images = await nodeImages();
        nodeIp = await storeNodeIp(kubectl);
        const { endpoint, port, bucket } = await startObjectStore(kubectl, STORE_SECRET);
        workspace = await e2eDevWorkspace();
        workspace.writeStackConfig(
            "dev",
            localImagesConfig(images, {
                postgres: {
                    backup: {
                        enabled: true,
                        store: {
                            endpoint,
                            port,
                            bucket,
                            // A repository of this run's own: no earlier run's backups to restore.
                            path: `/e2e-${Date.now()}`,
                            uriStyle: "path",
                            verifyTls: false,
                            credentialsSecret: STORE_SECRET,
                        },
                        archiveTimeoutSeconds: ARCHIVE_TIMEOUT_SECONDS,
                    },
                },
            }),
        );
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        routerAddress = (await kubectl.json(["get", "service", ROUTER.serviceName])).spec.clusterIP;
        // The sidecar takes the first full backup by itself: there is none yet.
        const first = await eventually("the sidecar's first full backup", 300_000, async () => {
            const info = await kubectl.run(["exec", POD, "-c", "backup", "--", "pgbackrest", "info", "--output=json"]);
            const stop = /"stop":(\d+)/.exec(info);
            return stop ? new Date(Number(stop[1]) * 1000) : undefined;
        });
        firstBackupStop = first;
        console.log(`      first full backup ended ${first.toISOString()}`);
    });

    after(async () => {
        if (workspace) {
            await destroyDev(workspace);
            workspace.remove();
        }
        await kubectl?.run(["delete", "secret", STORE_SECRET, "--ignore-not-found"]);
        await objectStore(["stop"]);
    });

    it("point in time: rows written during a base backup, T, more rows, DROP TABLE; restored to T, exactly the rows committed before T", async () => {
        await sql(
            kubectl,
            "CREATE TABLE drill (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());",
        );
        // 400 single-row transactions, one every 20 ms or so, while a full backup runs beside them.
        const writer = sql(
            kubectl,
            Array.from({ length: 400 }, () => "INSERT INTO drill DEFAULT VALUES; SELECT pg_sleep(0.02);").join("\n"),
            180_000,
        );
        const backupStarted = Date.now();
        const backup = await backupScript(["backup"]);
        assert.strictEqual(backup.code, 0, backup.output);
        const backupSeconds = (Date.now() - backupStarted) / 1000;
        await writer;
        const [during] = await sql(kubectl, "SELECT count(*) FROM drill;");
        const [target] = await sql(
            kubectl,
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00');",
        );
        const [beforeT] = await sql(kubectl, "SELECT count(*) || '|' || max(id) FROM drill;");
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        await sql(kubectl, Array.from({ length: 50 }, () => "INSERT INTO drill DEFAULT VALUES;").join("\n"));
        const [all] = await sql(kubectl, "SELECT count(*) FROM drill;");
        await archiveCurrentSegment(kubectl);
        await sql(kubectl, "DROP TABLE drill;");
        console.log(
            `      full backup took ${backupSeconds.toFixed(1)} s while ${during} rows were written; T = ${target}; ${beforeT.split("|")[0]} rows before T, ${all} in all; then DROP TABLE`,
        );

        const restore = await backupScript(["restore", "--time", target]);
        assert.strictEqual(restore.code, 0, restore.output);
        console.log(
            `      ${restore.stderr
                .split("\n")
                .filter((l) => / done: /.test(l))[0]
                ?.trim()}`,
        );
        const [restored] = await sql(kubectl, "SELECT count(*) || '|' || max(id) FROM drill;");
        assert.strictEqual(restored, beforeT, "exactly the rows committed before T (count|max id)");
        const [after] = await sql(kubectl, `SELECT count(*) FROM drill WHERE at > '${target}';`);
        assert.strictEqual(after, "0", "no row committed after T");
    });

    it("negative control: a restore to a time before the first backup ended is refused, and nothing changes", async () => {
        const [before] = await sql(kubectl, "SELECT count(*) FROM drill;");
        const serverUid = (await kubectl.json(["get", "pod", POD])).metadata.uid;
        const early = new Date(firstBackupStop.getTime() - 60_000).toISOString().replace("T", " ").replace("Z", "+00");
        const refused = await backupScript(["restore", "--time", early]);
        console.log(`      restore --time '${early}': exit ${refused.code}`);
        assert.strictEqual(refused.code, 2, refused.output);
        assert.match(refused.stderr, /refused: .* is before the end of the first backup/);
        const [after] = await sql(kubectl, "SELECT count(*) FROM drill;");
        assert.strictEqual(after, before, "the data is as it was");
        assert.strictEqual(
            (await kubectl.json(["get", "pod", POD])).metadata.uid,
            serverUid,
            "the server never stopped",
        );
    });

    it("the store stopped: archiving fails visibly, then catches up when the store is back, nothing lost", async () => {
        const stopped = await objectStore(["stop"]);
        assert.strictEqual(stopped.code, 0, stopped.output);
        let pending: string;
        try {
            const before = await archiver(kubectl);
            await sql(
                kubectl,
                "CREATE TABLE outage (id bigserial PRIMARY KEY); INSERT INTO outage SELECT FROM generate_series(1, 100);",
            );
            [pending] = await sql(kubectl, "SELECT pg_walfile_name(pg_switch_wal());");
            const stoppedAt = Date.now();
            const failing = await eventually("pg_stat_archiver reporting failures", 300_000, async () => {
                const state = await archiver(kubectl);
                return state.failed > before.failed && state.failingNow ? state : undefined;
            });
            const visibleAfter = ((Date.now() - stoppedAt) / 1000).toFixed(0);
            const backup = await backupScript(["backup"], 5 * 60_000);
            const status = await backupScript(["status"], 180_000);
            const serverLog = await kubectl.run(["logs", POD, "-c", "postgres", "--tail=200"]);
            console.log(
                `      store stopped: failures visible after ${visibleAfter} s, ${failing.failed - before.failed} failed pushes, last failed ${failing.lastFailedWal}, segment ${pending} waiting; backup command exit ${backup.code}`,
            );
            assert.notStrictEqual(backup.code, 0, "a backup without the store fails");
            assert.match(serverLog, /archive command failed/);
            assert.match(status.stdout, /failed_count\s*\|\s*[1-9]/);
        } finally {
            // Back whatever failed above: the drills after this one need the store.
            const restarted = await objectStore(["start", nodeIp]);
            assert.strictEqual(restarted.code, 0, restarted.output);
        }
        const caughtUp = Date.now();
        await eventually(`segment ${pending} archived after the store came back`, 300_000, async () => {
            const state = await archiver(kubectl);
            return state.lastArchivedWal >= pending && !state.failingNow ? state : undefined;
        });
        console.log(`      store back: archiving caught up in ${((Date.now() - caughtUp) / 1000).toFixed(1)} s`);
        const check = await kubectl.run(["exec", POD, "-c", "backup", "--", "pgbackrest", "check"]);
        assert.match(check, /completed successfully|check command end/);
    });

    it("the claim deleted with its volume: pulumi up --refresh restores every row up to the last archived segment (RPO, RTO)", async () => {
        // Rows through the router, one every 100 ms: each acknowledged id with the time it was
        // acknowledged, each failed write with its time; for 5 s more than the accident comes
        // after (the loop ends by itself).
        const accidentAfter = 2 * ARCHIVE_TIMEOUT_SECONDS + 5;
        const loop =
            `end=$(($(date +%s) + ${accidentAfter + 5})); while [ "$(date +%s)" -lt "$end" ]; do id=$(curl -s --max-time 2 -X POST http://${routerAddress}/rows | sed -n 's/.*"id":\\([0-9]*\\).*/\\1/p'); ` +
            `if [ -n "$id" ]; then echo "ok $(date +%s.%N) $id"; else echo "failed $(date +%s.%N)"; fi; sleep 0.1; done`;
        const writes = inNamespace(["bash", "-c", loop], 120_000);
        // Long enough for at least one forced switch of WAL segment (archive_timeout) under the
        // writes: with less, the accident could come before any of them was archived, and the
        // drill would measure nothing.
        await new Promise((resolve) => setTimeout(resolve, accidentAfter * 1000));
        // The accident: the claim deleted and the pod force-deleted. The kubelet still gives the
        // server a moment to stop, and writes go on being acknowledged until it does; so the
        // writes that count are those acknowledged before the first one that failed after the
        // accident (later ones could only reach a new, restored server).
        const accident = Date.now();
        await kubectl.run(["delete", "pvc", "exchange-postgres-data", "--wait=false"]);
        await kubectl.run(["delete", "pod", POD, "--grace-period=0", "--force", "--wait=false"]);
        const attempts = (await writes).stdout
            .split("\n")
            .filter((line) => line.trim())
            .map((line) => line.split(" "))
            .map(([outcome, at, id]) => ({ ok: outcome === "ok", at: Number(at), id: Number(id) }));
        const firstFailure = attempts.find((attempt) => !attempt.ok && attempt.at * 1000 >= accident);
        assert.ok(firstFailure, "a write failed after the accident: the server did go away while the loop ran");
        const written = attempts.filter((attempt) => attempt.ok && attempt.at < firstFailure.at);
        const { id: lastId, at: lastAt } = written[written.length - 1];
        const acknowledgedAfterAccident = written.filter((attempt) => attempt.at * 1000 >= accident).length;
        await eventually("the claim gone", 120_000, async () => {
            const claims = (await kubectl.json(["get", "pvc"])).items;
            return claims.some((c: any) => c.metadata.name === "exchange-postgres-data") ? undefined : true;
        });

        const up = await workspace.up("dev", { refresh: true });
        assert.strictEqual(up.code, 0, up.output);
        const back = await eventually(
            "the router answering with the data again",
            600_000,
            async () => {
                const answer = await httpGet(`http://${routerAddress}/rows`);
                return answer.status === 200
                    ? (JSON.parse(answer.body) as { count: number; lastId: number })
                    : undefined;
            },
            1_000,
        );
        const rto = (Date.now() - accident) / 1000;
        const restoredAt = written.find((attempt) => attempt.id === back.lastId)?.at;
        assert.ok(
            restoredAt !== undefined,
            `the last restored row (${back.lastId}) is one the loop wrote (ids ${written[0].id} to ${lastId})`,
        );
        const rpo = lastAt - restoredAt;
        console.log(
            `      ${written.length} rows acknowledged before the server went away (last id ${lastId}, ${acknowledgedAfterAccident} of them after the accident began); restored up to id ${back.lastId}: RPO ${rpo.toFixed(1)} s of writes lost (${lastId - back.lastId} rows), RTO ${rto.toFixed(1)} s until the router answered with the data`,
        );
        assert.ok(
            rpo <= ARCHIVE_TIMEOUT_SECONDS + 5,
            `RPO ${rpo} s within archive_timeout (${ARCHIVE_TIMEOUT_SECONDS} s) and a margin`,
        );
        const [outage] = await sql(kubectl, "SELECT count(*) FROM outage;");
        assert.strictEqual(outage, "100", "the rows written while the store was away are in the archive");
    });
});
