/**
 * The real `pulumi` CLI, driven through the Automation API (`@pulumi/pulumi/automation`), on a
 * throw-away copy of the project: its own backend and stack files in a temporary folder, so tests
 * never touch the repository's Pulumi.<stack>.yaml or the user's own stacks. The compiled program
 * and node_modules are linked, not copied. Tests read plans, steps, diffs and policy violations
 * from the engine's events rather than from the CLI's text.
 *
 * Cost, measured on the shared 2-core machine (load about 9, median of 5, one deployed dev stack):
 * a no-op `up` takes 13.1 s through the Automation API against 10.3 s as a plain CLI call, because
 * after an up the API also runs `pulumi stack output` twice and `pulumi stack history` (after a
 * refresh or destroy, the history), each one loading the stack again; a preview takes the same
 * (10.1 s against 10.2 s). The three suites that existed before took 27.0 min against 27.7 min with the hand-written
 * wrapper: the machine's noise is larger than the difference. Kept for the events.
 */
import {
    CommandError,
    DestroyOptions,
    EngineEvent,
    LocalWorkspace,
    OpMap,
    OutputMap,
    PreviewOptions,
    PulumiCommand,
    PulumiFn,
    Stack,
    StepEventMetadata,
    UpOptions,
} from "@pulumi/pulumi/automation";
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT, stackConfig } from "./project";

export const POLICY_PACK = path.join(PROJECT_ROOT, "policy");

/** No single Pulumi operation of the tests runs longer; a hung one is interrupted (SIGINT). */
const OPERATION_TIMEOUT_MS = 15 * 60 * 1000;

export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
    /** stdout and stderr together, for messages that may land on either. */
    output: string;
}

/** A command run to completion: kubectl, the project's scripts, PostgreSQL's tools. */
export function runCommand(
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
    return new Promise((resolve) => {
        const child = execFile(
            command,
            args,
            {
                cwd: options.cwd,
                env: options.env ?? process.env,
                maxBuffer: 64 * 1024 * 1024,
                timeout: options.timeoutMs ?? OPERATION_TIMEOUT_MS,
            },
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

/** What one Automation API operation printed and reported. */
export interface OperationResult {
    /** The CLI's exit status: 0 when it succeeded. */
    code: number;
    /** stdout and stderr as the CLI printed them. */
    output: string;
    /** The engine's events, in order. */
    events: EngineEvent[];
    /** The stack outputs, after a successful `up`. */
    outputs?: OutputMap;
    /** When it ended (ms since the epoch), to order runs that overlapped. */
    endedAt: number;
}

/** The steps the engine announced, in order. */
export function steps(result: OperationResult): StepEventMetadata[] {
    return result.events.flatMap((event) => (event.resourcePreEvent ? [event.resourcePreEvent.metadata] : []));
}

/** The engine's count of changes per operation, from its summary event. */
export function changeSummary(result: OperationResult): OpMap {
    const summary = result.events.find((event) => event.summaryEvent)?.summaryEvent;
    if (!summary) {
        throw new Error(`no summary event:\n${result.output}`);
    }
    return summary.resourceChanges;
}

export interface WorkspaceOptions {
    /** The state backend; default: a file backend inside the workspace folder. */
    backendUrl?: string;
    /** The stacks' secrets passphrase; default: one made up for this workspace. */
    passphrase?: string;
    /** More environment for every pulumi command, e.g. a backend's credentials. */
    env?: Record<string, string>;
}

// `PulumiCommand.get` runs `pulumi version` (the CLI on PATH) to check it against the SDK: once.
let pulumiCommand: Promise<PulumiCommand> | undefined;

export class PulumiWorkspace {
    readonly dir: string;
    readonly backendUrl: string;
    readonly passphrase: string;
    /** What every pulumi command of this workspace gets on top of the test's own environment. */
    readonly envVars: Record<string, string>;
    /** The full environment, for the processes the tests start themselves. */
    readonly env: NodeJS.ProcessEnv;
    private readonly local: Promise<LocalWorkspace>;
    private readonly stacks = new Map<string, Promise<Stack>>();

    /** kubeconfig: the cluster the stacks of this workspace talk to. */
    constructor(
        readonly kubeconfig: string,
        options: WorkspaceOptions = {},
    ) {
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
        if (options.backendUrl) {
            this.backendUrl = options.backendUrl;
        } else {
            const stateDir = path.join(this.dir, ".pulumi-state");
            fs.mkdirSync(stateDir);
            this.backendUrl = `file://${stateDir}`;
        }
        // A throw-away passphrase for throw-away state.
        this.passphrase = options.passphrase ?? `test-${path.basename(this.dir)}`;
        this.envVars = {
            ...ownStateEnv(this.backendUrl, this.passphrase),
            KUBECONFIG: kubeconfig,
            NO_COLOR: "1",
            ...options.env,
        };
        this.env = { ...process.env, ...this.envVars };
        pulumiCommand ??= PulumiCommand.get();
        this.local = pulumiCommand.then((command) =>
            LocalWorkspace.create({
                workDir: this.dir,
                pulumiCommand: command,
                envVars: this.envVars,
                secretsProvider: "passphrase",
            }),
        );
        // Awaited by every operation; this only keeps an early failure from counting as unhandled.
        this.local.catch(() => undefined);
    }

    /**
     * Another checkout of the same project, as a second team member or a CI runner has: the same
     * stack files (with their encryption salts), by default the same backend and passphrase.
     */
    clone(options: WorkspaceOptions = {}): PulumiWorkspace {
        const other = new PulumiWorkspace(this.kubeconfig, {
            backendUrl: this.backendUrl,
            passphrase: this.passphrase,
            ...options,
        });
        for (const file of fs.readdirSync(this.dir).filter((name) => /^Pulumi\..+\.yaml$/.test(name))) {
            fs.copyFileSync(path.join(this.dir, file), path.join(other.dir, file));
        }
        return other;
    }

    /** The raw CLI, for what the Automation API offers only in another form (see exportState). */
    pulumi(args: string[], timeoutMs?: number): Promise<CommandResult> {
        return runCommand("pulumi", [...args, "--non-interactive", "--color", "never"], {
            cwd: this.dir,
            env: this.env,
            timeoutMs,
        });
    }

    /**
     * Starts `pulumi` without waiting, for tests that interrupt it, in a process group of its
     * own: signal `-pid` to reach it with its plugins, as Ctrl-C or a killed CI runner would. The
     * Automation API's own cancellation (an AbortSignal) only sends SIGINT to the CLI process.
     */
    spawnPulumi(args: string[]) {
        return spawn("pulumi", [...args, "--non-interactive", "--color", "never"], {
            cwd: this.dir,
            env: this.env,
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
    }

    async initStack(stack: string): Promise<void> {
        const created = this.local.then((workspace) => Stack.create(stack, workspace));
        this.stacks.set(stack, created);
        await created;
    }

    /** Selects a stack that exists in the backend, so that the first operation on it starts at once. */
    async selectStack(stack: string): Promise<void> {
        await this.stack(stack);
    }

    /** A stack of this workspace: created by initStack, or an existing one of the backend. */
    private stack(name: string): Promise<Stack> {
        if (!this.stacks.has(name)) {
            this.stacks.set(
                name,
                this.local.then((workspace) => Stack.select(name, workspace)),
            );
        }
        return this.stacks.get(name)!;
    }

    /** Replaces the `config:` of a stack file with `config` (key -> string or JSON text, as harness.stackConfig). */
    writeStackConfig(stack: string, config: Record<string, string>): void {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const current = (fs.existsSync(file) ? (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) : {}) as Record<
            string,
            unknown
        >;
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

    /**
     * Runs one operation on a stack with `options`, collecting its output and events (a caller's
     * onEvent still sees each event as it comes); a failure is a result, not a throw.
     */
    private async operate<Options extends Partial<OperationHooks>>(
        stack: string,
        options: Options,
        operation: (stack: Stack, options: Options) => Promise<{ outputs?: OutputMap } | unknown>,
    ): Promise<OperationResult> {
        const events: EngineEvent[] = [];
        let output = "";
        const hooks: OperationHooks = {
            onOutput: (text) => void (output += text),
            onError: (text) => void (output += text),
            onEvent: (event) => {
                events.push(event);
                options.onEvent?.(event);
            },
            color: "never",
            signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS),
        };
        try {
            const result = (await operation(await this.stack(stack), { ...options, ...hooks })) as
                { outputs?: OutputMap } | undefined;
            return { code: 0, output, events, outputs: result?.outputs, endedAt: Date.now() };
        } catch (error) {
            if (!(error instanceof CommandError)) {
                throw error;
            }
            return { code: exitCode(error), output: output || error.message, events, endedAt: Date.now() };
        }
    }

    /** `pulumi preview` with the policy pack (pass `policyPacks: []` for none). */
    preview(stack: string, options: PreviewOptions = {}): Promise<OperationResult> {
        return this.operate(stack, { policyPacks: [POLICY_PACK], ...options }, (s, o) => s.preview(o));
    }

    /** `pulumi up` with the policy pack, without a preview first. */
    up(stack: string, options: UpOptions = {}): Promise<OperationResult> {
        return this.operate(stack, { policyPacks: [POLICY_PACK], ...options }, (s, o) => s.up(o));
    }

    destroy(stack: string, options: DestroyOptions = {}): Promise<OperationResult> {
        return this.operate(stack, options, (s, o) => s.destroy(o));
    }

    /**
     * The stack's state as `pulumi stack export` prints it, secrets still encrypted: the
     * Automation API's exportStack always passes --show-secrets.
     */
    async exportState(stack: string): Promise<any> {
        const exported = await this.pulumi(["stack", "export", "--stack", stack]);
        if (exported.code !== 0) {
            throw new Error(`stack export ${stack} failed:\n${exported.output}`);
        }
        return JSON.parse(exported.stdout);
    }

    /** The policy pack's config as a file of this workspace, for `policyPackConfigs`. */
    writePolicyConfig(config: unknown, name = "policy-config.json"): string {
        const file = path.join(this.dir, name);
        fs.writeFileSync(file, JSON.stringify(config));
        return file;
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * The exit status of the CLI run behind a CommandError. The Automation API keeps it only on the
 * process result it wraps (execa's, `commandResult.err`; its own `code` field is always -2 for a
 * failed run), which its typings mark private; -1 when that is missing.
 */
function exitCode(error: CommandError): number {
    const wrapped = (error as unknown as { commandResult?: { err?: { exitCode?: number } } }).commandResult;
    return wrapped?.err?.exitCode ?? -1;
}

/** What every operation's options get from operate(); the four operations share these fields. */
type OperationHooks = Required<Pick<UpOptions, "onOutput" | "onError" | "onEvent" | "color" | "signal">>;

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

/**
 * What keeps a test's pulumi commands on state of their own, whatever the caller's environment
 * names: the backend and passphrase, no passphrase file, no update check, no plugin download.
 */
function ownStateEnv(backendUrl: string, passphrase: string): Record<string, string> {
    return {
        PULUMI_BACKEND_URL: backendUrl,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_CONFIG_PASSPHRASE_FILE: "",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

/**
 * A throw-away stack of an inline program (Automation API), in DIR: its own file backend in
 * DIR/state and a passphrase of its own, whatever backend the caller's environment names, so a
 * test never touches the user's stacks. The caller removes DIR.
 */
export function inlineTestStack(
    dir: string,
    projectName: string,
    stackName: string,
    program: PulumiFn,
): Promise<Stack> {
    fs.mkdirSync(path.join(dir, "state"));
    return LocalWorkspace.createOrSelectStack(
        { stackName, projectName, program },
        {
            workDir: dir,
            projectSettings: { name: projectName, runtime: "nodejs" },
            // Throw-away passphrase for a throw-away stack.
            envVars: ownStateEnv(`file://${path.join(dir, "state")}`, `${stackName}-${path.basename(dir)}`),
        },
    );
}
