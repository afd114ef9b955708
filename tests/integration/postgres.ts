/**
 * A real PostgreSQL server (Debian's package) for the shared state backend's tests: a data folder
 * of its own in a temporary directory, listening on 127.0.0.1 only, on a free port. PostgreSQL
 * refuses to run as root, so under root it runs as the `postgres` user. The server is started
 * with a parent-death signal: it cannot outlive the test process, even one that is killed.
 */
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { runCommand } from "../support";

/** Debian installs each major version under /usr/lib/postgresql/<major>/bin; the newest one. */
function postgresBin(): string {
    const root = "/usr/lib/postgresql";
    const majors = fs.existsSync(root)
        ? fs.readdirSync(root).filter((major) => fs.existsSync(path.join(root, major, "bin", "postgres")))
        : [];
    if (majors.length === 0) {
        throw new Error(
            `no PostgreSQL server under ${root}: install Debian's postgresql package (toolchain/debian-packages.txt lists it)`,
        );
    }
    return path.join(root, majors.sort((a, b) => Number(b) - Number(a))[0], "bin");
}

async function freeLoopbackPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

/** The database role and database the Pulumi backend uses: an owner of that database, no superuser. */
const STATE_ROLE = "pulumi";
export const STATE_DATABASE = "pulumi_state";
/** The table the DIY backend creates (its default name). */
export const STATE_TABLE = "pulumi_state";

export class LocalPostgres {
    private server?: { process: ChildProcess; exited: Promise<void> };
    private readonly bin = postgresBin();
    private readonly dataDir: string;
    private readonly socketDir: string;
    private readonly logFile: string;

    private constructor(
        readonly dir: string,
        readonly port: number,
        private readonly statePassword: string,
        /** The unprivileged account the server runs as when the tests run as root. */
        private readonly account?: { uid: number; gid: number; name: string },
    ) {
        this.dataDir = path.join(dir, "data");
        this.socketDir = path.join(dir, "socket");
        this.logFile = path.join(dir, "server.log");
    }

    /** The backend URL for `pulumi login`, with the role's password in it, as on a laptop. */
    get backendUrl(): string {
        return `postgres://${STATE_ROLE}:${this.statePassword}@127.0.0.1:${this.port}/${STATE_DATABASE}?sslmode=disable`;
    }

    /** The same backend as CI reaches it: the URL without credentials, the password in PGPASSWORD. */
    get ciBackend(): { backendUrl: string; env: Record<string, string> } {
        return {
            backendUrl: `postgres://${STATE_ROLE}@127.0.0.1:${this.port}/${STATE_DATABASE}?sslmode=disable`,
            env: { PGPASSWORD: this.statePassword },
        };
    }

    /** Makes a new database cluster, starts it and creates the backend's role and database. */
    static async create(): Promise<LocalPostgres> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-postgres-"));
        let account: { uid: number; gid: number; name: string } | undefined;
        if (process.getuid?.() === 0) {
            const [uid, gid] = await Promise.all([
                runCommand("id", ["-u", "postgres"]),
                runCommand("id", ["-g", "postgres"]),
            ]);
            if (uid.code !== 0) {
                throw new Error("running as root, PostgreSQL needs the `postgres` user that Debian's package creates");
            }
            account = { uid: Number(uid.stdout), gid: Number(gid.stdout), name: "postgres" };
            fs.chownSync(dir, account.uid, account.gid);
        }
        const postgres = new LocalPostgres(
            dir,
            await freeLoopbackPort(),
            crypto.randomBytes(24).toString("hex"),
            account,
        );
        fs.mkdirSync(postgres.socketDir);
        if (account) {
            fs.chownSync(postgres.socketDir, account.uid, account.gid);
        }
        // Local (socket) connections only for the server's own account; TCP needs a password.
        await postgres.run(path.join(postgres.bin, "initdb"), [
            "-D",
            postgres.dataDir,
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]);
        await postgres.start();
        await postgres.admin(`CREATE ROLE ${STATE_ROLE} LOGIN PASSWORD '${postgres.statePassword}'`);
        await postgres.admin(`CREATE DATABASE ${STATE_DATABASE} OWNER ${STATE_ROLE}`);
        return postgres;
    }

    /** A command as the server's account (its files are that account's). */
    private async run(command: string, args: string[]): Promise<string> {
        const result = await runCommand(...this.asAccount(command, args), { cwd: this.dir, timeoutMs: 120_000 });
        if (result.code !== 0) {
            throw new Error(`${path.basename(command)} ${args.join(" ")} failed:\n${result.output}`);
        }
        return result.stdout;
    }

    /** `command` through setpriv: as the server's account, and with `options` (setpriv's). */
    private asAccount(command: string, args: string[], options: string[] = []): [string, string[]] {
        const account = this.account
            ? ["--reuid", this.account.name, "--regid", this.account.name, "--init-groups"]
            : [];
        return account.length + options.length === 0
            ? [command, args]
            : ["setpriv", [...account, ...options, "--", command, ...args]];
    }

    /** SQL as the superuser, over the socket. */
    private admin(sql: string): Promise<string> {
        return this.run(path.join(this.bin, "psql"), [
            "-h",
            this.socketDir,
            "-p",
            String(this.port),
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ]);
    }

    /** SQL as the backend's role, over TCP, as Pulumi connects. */
    async query(sql: string): Promise<string> {
        const result = await runCommand(
            path.join(this.bin, "psql"),
            [
                "-h",
                "127.0.0.1",
                "-p",
                String(this.port),
                "-U",
                STATE_ROLE,
                "-d",
                STATE_DATABASE,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            {
                env: { ...process.env, PGPASSWORD: this.statePassword },
            },
        );
        if (result.code !== 0) {
            throw new Error(`psql failed:\n${result.output}`);
        }
        return result.stdout;
    }

    /** `pg_dump` of the backend's database, as plain SQL. */
    async dump(): Promise<string> {
        const result = await runCommand(
            path.join(this.bin, "pg_dump"),
            ["-h", "127.0.0.1", "-p", String(this.port), "-U", STATE_ROLE, "-d", STATE_DATABASE],
            {
                env: { ...process.env, PGPASSWORD: this.statePassword },
            },
        );
        if (result.code !== 0) {
            throw new Error(`pg_dump failed:\n${result.output}`);
        }
        return result.stdout;
    }

    /**
     * Every blob the backend stored, by key. The backend keeps each one base64-encoded in a JSON
     * column, so a search of the raw dump alone would not see plaintext inside them.
     */
    async blobs(): Promise<Map<string, Buffer>> {
        const rows = JSON.parse(
            await this.query(
                `SELECT coalesce(json_agg(json_build_object('key', key, 'data', data->>'data')), '[]') FROM ${STATE_TABLE}`,
            ),
        );
        return new Map(rows.map((row: { key: string; data: string }) => [row.key, Buffer.from(row.data, "base64")]));
    }

    get running(): boolean {
        return this.server !== undefined;
    }

    async start(): Promise<void> {
        const log = fs.openSync(this.logFile, "a");
        const [command, args] = this.asAccount(
            path.join(this.bin, "postgres"),
            ["-D", this.dataDir, "-p", String(this.port), "-h", "127.0.0.1", "-k", this.socketDir],
            ["--pdeathsig", "KILL"],
        );
        const child = spawn(command, args, { cwd: this.dir, stdio: ["ignore", log, log] });
        fs.closeSync(log);
        const server = { process: child, exited: new Promise<void>((resolve) => child.once("exit", () => resolve())) };
        this.server = server;
        void server.exited.then(() => {
            if (this.server === server) {
                this.server = undefined;
            }
        });
        // Bounded: 60 tries, 250 ms apart.
        for (let attempt = 0; attempt < 60; attempt++) {
            if (!this.server) {
                break;
            }
            const ready = await runCommand(
                path.join(this.bin, "pg_isready"),
                ["-h", "127.0.0.1", "-p", String(this.port)],
                { timeoutMs: 5000 },
            );
            if (ready.code === 0) {
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
        throw new Error(`PostgreSQL did not start:\n${fs.readFileSync(this.logFile, "utf8")}`);
    }

    /** Stops the server: "fast" as a service manager does (clients disconnected), "immediate" as a crash. */
    async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
        const server = this.server;
        if (!server) {
            return;
        }
        server.process.kill(mode === "fast" ? "SIGINT" : "SIGQUIT");
        await server.exited;
    }

    /** Stops the server and deletes its folder: nothing of it is left. */
    async remove(): Promise<void> {
        try {
            await this.stop();
        } finally {
            fs.rmSync(this.dir, { recursive: true, force: true });
        }
    }
}
