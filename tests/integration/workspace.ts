/**
 * The real `pulumi` CLI on a throw-away copy of the project: its own file backend and stack
 * files in a temporary folder, so tests never touch the repository's Pulumi.<stack>.yaml or the
 * user's own stacks. The compiled program and node_modules are linked, not copied.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT, stackConfig } from "../unit/harness";

export const POLICY_PACK = path.join(PROJECT_ROOT, "policy");

export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
    /** stdout and stderr together, for messages that may land on either. */
    output: string;
}

export function runCommand(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
        const child = execFile(
            command,
            args,
            { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 15 * 60 * 1000 },
            (error, stdout, stderr) => {
                const code = error ? (typeof (error as any).code === "number" ? (error as any).code : 1) : 0;
                resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
            },
        );
        if (options.input !== undefined) {
            child.stdin?.end(options.input);
        }
    });
}

export class PulumiWorkspace {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;

    /** kubeconfig: the cluster the stacks of this workspace talk to. */
    constructor(readonly kubeconfig: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-pulumi-"));
        for (const file of ["Pulumi.yaml", "package.json"]) {
            fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(this.dir, file));
        }
        // Only the stacks' config: after a `deploy:dev` the repository's Pulumi.dev.yaml also
        // holds that machine's encryption salt, which this workspace's passphrase cannot open.
        for (const stack of ["dev", "prod"]) {
            this.writeStackConfig(stack, stackConfig(stack));
        }
        for (const link of ["node_modules", "bin"]) {
            fs.symlinkSync(path.join(PROJECT_ROOT, link), path.join(this.dir, link));
        }
        const stateDir = path.join(this.dir, ".pulumi-state");
        fs.mkdirSync(stateDir);
        this.env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${stateDir}`,
            // A throw-away passphrase for throw-away state.
            PULUMI_CONFIG_PASSPHRASE: `test-${path.basename(this.dir)}`,
            PULUMI_CONFIG_PASSPHRASE_FILE: "",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            KUBECONFIG: kubeconfig,
            NO_COLOR: "1",
        };
    }

    pulumi(args: string[], timeoutMs?: number): Promise<CommandResult> {
        return runCommand("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd: this.dir, env: this.env, timeoutMs });
    }

    /**
     * Starts `pulumi` without waiting, for tests that interrupt it, in a process group of its
     * own: signal `-pid` to reach it with its plugins, as Ctrl-C or a killed CI runner would.
     */
    spawnPulumi(args: string[]) {
        return spawn("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd: this.dir, env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    }

    async initStack(stack: string): Promise<void> {
        const result = await this.pulumi(["stack", "init", stack, "--secrets-provider", "passphrase"]);
        if (result.code !== 0) {
            throw new Error(`stack init ${stack} failed:\n${result.output}`);
        }
    }

    /** Replaces the `config:` of a stack file with `config` (key -> string or JSON text, as harness.stackConfig). */
    writeStackConfig(stack: string, config: Record<string, string>): void {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const current = (fs.existsSync(file) ? yaml.load(fs.readFileSync(file, "utf8")) ?? {} : {}) as Record<string, unknown>;
        const structured = Object.fromEntries(
            Object.entries(config).map(([key, value]) => {
                try {
                    const parsed = JSON.parse(value);
                    return [key, typeof parsed === "object" && parsed !== null ? parsed : value];
                } catch {
                    return [key, value];
                }
            }),
        );
        fs.writeFileSync(file, yaml.dump({ ...current, config: structured }));
    }

    preview(stack: string, extraArgs: string[] = []): Promise<CommandResult> {
        return this.pulumi(["preview", "--stack", stack, "--policy-pack", POLICY_PACK, ...extraArgs]);
    }

    up(stack: string, extraArgs: string[] = []): Promise<CommandResult> {
        return this.pulumi(["up", "--stack", stack, "--policy-pack", POLICY_PACK, "--yes", "--skip-preview", ...extraArgs]);
    }

    destroy(stack: string): Promise<CommandResult> {
        return this.pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"]);
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A kubeconfig whose contexts point at a closed loopback port: the "no cluster" case. */
export function unreachableKubeconfig(contexts: string[]): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "exchange-kubeconfig-")), "config");
    const config = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "unreachable", cluster: { server: "https://127.0.0.1:9" } }],
        users: [{ name: "nobody", user: { token: "none" } }],
        contexts: contexts.map((name) => ({ name, context: { cluster: "unreachable", user: "nobody" } })),
        "current-context": contexts[0],
    };
    fs.writeFileSync(file, yaml.dump(config));
    return file;
}
