/**
 * Benchmark: Pulumi against Helm and plain kubectl on the operations a team runs every day, on
 * one local cluster, side by side: preview (Pulumi with and without the policy pack; Helm as
 * `helm template | kubectl diff`), install from empty, no-op, and the image bump of the router
 * and the stream. Helm deploys a chart generated from the program's own rendered manifests
 * (chart.ts), kubectl applies what that chart renders, so all three handle the same objects.
 *
 * Each round runs every operation with each tool in turn and tears down after each tool, so a
 * change in the machine's load reaches the three alike; figures are medians of BENCH_RUNS rounds
 * (default 3). Then instrumented Pulumi runs show where its own time goes (breakdown.ts). It
 * prints Markdown tables, writes them with a chart into docs/benchmark/ (report.ts) and asserts
 * nothing. Run it through bench/run.sh, which builds
 * everything and starts a cluster of its own.
 *
 * With BENCH_NODE=real (`bench/run.sh --node real`) it measures instead, on a cluster with a real
 * node, the time from each tool's install command until the first request through the ingress is
 * answered (sent from inside the node's network namespace).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    EventLogTail,
    RunTimeline,
    criticalPath,
    engineCallsReport,
    resourceStepsReport,
    report,
    timeline,
} from "./breakdown";
import { Chart, IMAGE_VALUES, Images, checkSameObjects, generateChart, parseObjects } from "./chart";
import { Measure, measure, measureScript, median } from "./measure";
import { OperationFigures, writeBenchRun } from "./report";
import {
    eventually,
    httpGet,
    localImagesConfig,
    nodeImages,
    POLICY_PACK,
    PROJECT_ROOT,
    PulumiWorkspace,
    runCommand,
    stackConfig,
    withConfig,
} from "../tests/support";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Where the report, its figures and the chart go (README and docs/measured.md link them). */
const BENCH_DOCS = path.join(PROJECT_ROOT, "docs", "benchmark");
const kubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG!;
const RELEASE = "exchange";
const ROLLOUT_TIMEOUT = "300s";
const REAL_NODE = process.env.BENCH_NODE === "real";
/** How long the first request may take after the install command returned, and how often it is tried. */
const FIRST_ANSWER_TIMEOUT_MS = 120_000;
const FIRST_ANSWER_INTERVAL_MS = 250;
/**
 * Each real-node install's output, kept for the run that is slower than the others (issue 26's
 * tail): Pulumi's names what it was waiting for. Outside the cluster's state, which is wiped.
 */
const INSTALL_LOGS = path.join(process.env.EXCHANGE_STATE ?? os.tmpdir(), "bench-logs");

/** The image bump: every bumped image gets another (still pinned) tag. */
const bumped = (images: Images): Images =>
    Object.fromEntries(Object.entries(images).map(([key, image]) => [key, `${image}-bump`])) as Images;

/** The operations, in table order; each is measured for Pulumi (some in two variants), Helm and kubectl. */
const OPERATIONS = {
    previewEmpty: "preview, nothing deployed",
    install: "install from empty, until every workload (Deployment, StatefulSet) is rolled out",
    noop: "no-op update",
    previewBump: "preview of the image bump (router and ws-stream), deployed",
    bump: "image bump of router and ws-stream",
} as const;
type Operation = keyof typeof OPERATIONS;
type Tool = "pulumi" | "pulumiWithoutPack" | "pulumiWithPreview" | "helm" | "kubectl";
type Results = Record<Operation, Partial<Record<Tool, Measure[]>>>;
/** A PersistentVolume of the local cluster's pool, as much of it as the bench reads. */
interface LocalVolume {
    metadata: { name: string };
    status: { phase: string; message?: string };
}

/** An instrumented Pulumi command (breakdowns): the images of its Nth run, and which tables it gets. */
interface BreakdownCase {
    title: string;
    args: string[];
    images: (run: number) => Images;
    criticalPath?: boolean;
    resourceSteps?: boolean;
    /** Also traced runs (`--otel-traces`): the engine's calls for each resource, one after the other. */
    engineCalls?: boolean;
}

/** What each tool runs, for the table's notes. */
const COMMANDS: Record<Tool, string> = {
    pulumi: "`pulumi preview` / `pulumi up --yes --skip-preview` (what CI's pulumi/actions runs), with the policy pack",
    pulumiWithoutPack: "the same without the policy pack",
    pulumiWithPreview: "`pulumi up --yes` with the policy pack: a preview first (scripts/deploy-dev.sh now skips it)",
    helm:
        "`helm template | kubectl diff --server-side` (a `helm diff` without the plugin) / " +
        "`helm upgrade --install --wait` (Helm 4: kstatus watcher)",
    kubectl: "`kubectl diff` / `kubectl apply` + `kubectl rollout status` of every Deployment and StatefulSet",
};

class Bench {
    readonly results = Object.fromEntries(Object.keys(OPERATIONS).map((op) => [op, {}])) as Results;
    readonly loads: string[] = [];
    /** What every Pulumi command pays before any work of its own (fixedCostsTable). */
    readonly fixedCosts: Record<"cli" | "stackOutput" | "stackOutputWithSecrets", Measure[]> = {
        cli: [],
        stackOutput: [],
        stackOutputWithSecrets: [],
    };
    private readonly workspace = new PulumiWorkspace(kubeconfig);
    private readonly helmEnv: NodeJS.ProcessEnv;
    private readonly toolEnv: NodeJS.ProcessEnv;
    private chart!: Chart;
    private namespace = "default";
    private readonly manifests: Record<"base" | "bump", string>;

    /** The dev stack's config, with the real node's images when there is one. */
    constructor(
        private readonly scratch: string,
        private readonly baseConfig: Record<string, string>,
    ) {
        this.toolEnv = { ...process.env, KUBECONFIG: kubeconfig };
        // Helm's own cache, config and data stay in the scratch folder, not in the user's home.
        this.helmEnv = {
            ...this.toolEnv,
            HELM_CACHE_HOME: path.join(scratch, "helm", "cache"),
            HELM_CONFIG_HOME: path.join(scratch, "helm", "config"),
            HELM_DATA_HOME: path.join(scratch, "helm", "data"),
        };
        this.manifests = { base: path.join(scratch, "base.yaml"), bump: path.join(scratch, "bump.yaml") };
    }

    private record(op: Operation, tool: Tool, m: Measure): void {
        (this.results[op][tool] ??= []).push(m);
        process.stderr.write(`  ${OPERATIONS[op]} [${tool}]: ${m.seconds.toFixed(2)} s\n`);
    }

    // --- Pulumi ----------------------------------------------------------------------------
    private pulumi(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Measure> {
        return measure("pulumi", [...args, "--stack", "dev", "--non-interactive", "--color", "never"], {
            cwd: this.workspace.dir,
            env: { ...this.workspace.env, ...extraEnv },
        });
    }

    private setImages(images: Images): void {
        const overrides = Object.fromEntries(Object.entries(images).map(([key, image]) => [key, { image }]));
        this.workspace.writeStackConfig("dev", withConfig(this.baseConfig, overrides));
    }

    private async pulumiDestroy(): Promise<void> {
        await this.pulumi(["destroy", "--yes", "--skip-preview"]);
    }

    private readonly preview = (pack: boolean): string[] => [
        "preview",
        ...(pack ? ["--policy-pack", POLICY_PACK] : []),
    ];
    private readonly up = ["up", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK];

    private async pulumiRound(): Promise<void> {
        this.setImages(this.chart.images);
        this.record("previewEmpty", "pulumi", await this.pulumi(this.preview(true)));
        this.record("previewEmpty", "pulumiWithoutPack", await this.pulumi(this.preview(false)));
        this.record("install", "pulumi", await this.pulumi(this.up));
        this.record("noop", "pulumi", await this.pulumi(this.up));
        this.fixedCosts.cli.push(await measure("pulumi", ["version"], { env: this.workspace.env }));
        this.fixedCosts.stackOutput.push(await this.pulumi(["stack", "output"]));
        this.fixedCosts.stackOutputWithSecrets.push(await this.pulumi(["stack", "output", "--show-secrets"]));
        this.setImages(bumped(this.chart.images));
        this.record("previewBump", "pulumi", await this.pulumi(this.preview(true)));
        this.record("previewBump", "pulumiWithoutPack", await this.pulumi(this.preview(false)));
        this.record("bump", "pulumi", await this.pulumi(this.up));
        // Back to the first images: the same bump in the other direction, preview included.
        this.setImages(this.chart.images);
        this.record("bump", "pulumiWithPreview", await this.pulumi(["up", "--yes", "--policy-pack", POLICY_PACK]));
        await this.pulumiDestroy();
    }

    // --- Helm ------------------------------------------------------------------------------
    private setFlags(images: Images): string[] {
        return Object.entries(images).flatMap(([key, image]) => ["--set", `${key}.image=${image}`]);
    }

    /** `helm template | kubectl diff`: exit 1 of kubectl diff means "differences", not failure. */
    private helmDiff(images: Images): Promise<Measure> {
        return measureScript(
            `set +e
            helm template "$1" "$2" --namespace "$3" "\${@:4}" | kubectl diff --server-side --field-manager=helm -f -
            codes=("\${PIPESTATUS[@]}")
            (( codes[0] == 0 && codes[1] <= 1 ))`,
            [RELEASE, this.chart.dir, this.namespace, ...this.setFlags(images)],
            { env: this.helmEnv },
        );
    }

    private helmUpgrade(images: Images): Promise<Measure> {
        return measure(
            "helm",
            [
                "upgrade",
                "--install",
                RELEASE,
                this.chart.dir,
                "--namespace",
                this.namespace,
                "--wait",
                "--timeout",
                ROLLOUT_TIMEOUT,
                ...this.setFlags(images),
            ],
            { env: this.helmEnv },
        );
    }

    private async helmRound(): Promise<void> {
        const images = this.chart.images;
        this.record("previewEmpty", "helm", await this.helmDiff(images));
        this.record("install", "helm", await this.helmUpgrade(images));
        this.record("noop", "helm", await this.helmUpgrade(images));
        this.record("previewBump", "helm", await this.helmDiff(bumped(images)));
        this.record("bump", "helm", await this.helmUpgrade(bumped(images)));
        await measure("helm", ["uninstall", RELEASE, "--namespace", this.namespace, "--wait"], { env: this.helmEnv });
    }

    // --- kubectl ---------------------------------------------------------------------------
    private kubectlDiff(file: string): Promise<Measure> {
        return measure("kubectl", ["diff", "-f", file], { env: this.toolEnv, okCodes: [0, 1] });
    }

    private kubectlApply(file: string): Promise<Measure> {
        return measureScript(
            `kubectl apply -f "$1"
            for workload in "\${@:3}"; do
                kubectl rollout status "$workload" --namespace "$2" --timeout=${ROLLOUT_TIMEOUT}
            done`,
            [file, this.namespace, ...this.workloads()],
            { env: this.toolEnv },
        );
    }

    /** The rollouts to wait for, as `kind/name`: what Pulumi's and Helm's waits cover too. */
    private workloads(): string[] {
        return this.chart.objects
            .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
            .map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
    }

    private async kubectlRound(): Promise<void> {
        this.record("previewEmpty", "kubectl", await this.kubectlDiff(this.manifests.base));
        this.record("install", "kubectl", await this.kubectlApply(this.manifests.base));
        this.record("noop", "kubectl", await this.kubectlApply(this.manifests.base));
        this.record("previewBump", "kubectl", await this.kubectlDiff(this.manifests.bump));
        this.record("bump", "kubectl", await this.kubectlApply(this.manifests.bump));
        await measure("kubectl", ["delete", "-f", this.manifests.bump, "--ignore-not-found", "--wait=true"], {
            env: this.toolEnv,
        });
    }

    // --- set-up ----------------------------------------------------------------------------
    /** Renders the dev stack's manifests, generates the chart and what kubectl applies. */
    async prepare(): Promise<void> {
        await this.workspace.initStack("dev");
        await this.workspace.initStack("render");
        const rendered = path.join(this.scratch, "rendered");
        this.workspace.writeStackConfig("render", {
            ...this.baseConfig,
            "kubernetes:renderYamlToDirectory": rendered,
        });
        const render = await this.workspace.pulumi(["up", "--stack", "render", "--yes", "--skip-preview"]);
        if (render.code !== 0) {
            throw new Error(`rendering the program's manifests failed:\n${render.output}`);
        }
        this.chart = generateChart(rendered, path.join(this.scratch, "chart"));
        const router = this.chart.objects.find((o) => o.metadata.name === IMAGE_VALUES.router.appName);
        this.namespace = router?.metadata.namespace ?? "default";
        for (const [variant, images] of [
            ["base", this.chart.images],
            ["bump", bumped(this.chart.images)],
        ] as const) {
            const templated = await measure(
                "helm",
                ["template", RELEASE, this.chart.dir, "--namespace", this.namespace, ...this.setFlags(images)],
                { env: this.helmEnv },
            );
            if (variant === "base") {
                checkSameObjects(this.chart, parseObjects(templated.output));
            }
            fs.writeFileSync(this.manifests[variant], templated.output);
        }
    }

    async rounds(): Promise<void> {
        for (let round = 1; round <= RUNS; round++) {
            this.loads.push(`round ${round}: ${loadAverage()}`);
            process.stderr.write(`round ${round}/${RUNS} (${loadAverage()})\n`);
            await this.pulumiRound();
            await this.helmRound();
            await this.kubectlRound();
        }
        this.loads.push(`after the last round: ${loadAverage()}`);
    }

    // --- real node: until the first request is served --------------------------------------
    readonly firstAnswers: Partial<Record<Tool, { seconds: number[]; install: Measure[] }>> = {};

    /**
     * Every install starts on a settled cluster, whichever tool's uninstall came before: no pod of
     * the previous install left (an uninstall returns while its pods still terminate, each taking
     * the node's CPU), and the local volumes a whole pool again, every one Available, none Released
     * (its folder being wiped by the cluster's recycler) or Bound.
     */
    private async settledCluster(): Promise<void> {
        await eventually("no pod left, every local volume Available", 120_000, async () => {
            const [pods, volumes] = await Promise.all([
                runCommand("kubectl", ["get", "pods", "--namespace", this.namespace, "-o", "name"], {
                    env: this.toolEnv,
                }),
                runCommand("kubectl", ["get", "pv", "-l", "exchange-platform/local-volume", "-o", "json"], {
                    env: this.toolEnv,
                }),
            ]);
            // A failed listing prints no pod: it must not read as "none left".
            for (const listing of [pods, volumes]) {
                if (listing.code !== 0) {
                    throw new Error(listing.output);
                }
            }
            const podsLeft = pods.stdout.split("\n").filter((line) => line.trim());
            const items = (JSON.parse(volumes.stdout) as { items: LocalVolume[] }).items;
            if (podsLeft.length === 0 && items.every((volume) => volume.status.phase === "Available")) {
                return true;
            }
            // Thrown, not returned: the timeout's message then says what was left.
            const phases = items.map(
                (v) => `${v.metadata.name} ${v.status.phase}${v.status.message ? ` (${v.status.message})` : ""}`,
            );
            throw new Error([...podsLeft, ...phases].join("; "));
        });
    }

    /** INSTALL, then requests through the ingress until one is answered with 200; the seconds from INSTALL's start. */
    private async untilFirstAnswer(tool: Tool, install: () => Promise<Measure>, round: number): Promise<void> {
        await this.settledCluster();
        const started = Date.now();
        const measured = await install();
        await eventually(
            `${tool}: a first request through the ingress`,
            FIRST_ANSWER_TIMEOUT_MS,
            async () => ((await httpGet("/backend/health")).status === 200 ? true : undefined),
            FIRST_ANSWER_INTERVAL_MS,
        );
        const seconds = (Date.now() - started) / 1000;
        const entry = (this.firstAnswers[tool] ??= { seconds: [], install: [] });
        entry.seconds.push(seconds);
        entry.install.push(measured);
        fs.mkdirSync(INSTALL_LOGS, { recursive: true });
        const log = path.join(INSTALL_LOGS, `real-round-${round}-${tool}.log`);
        fs.writeFileSync(log, measured.output);
        process.stderr.write(
            `  first request served [${tool}]: ${seconds.toFixed(2)} s, the install command ${measured.seconds.toFixed(2)} s (${log})\n`,
        );
    }

    async firstRequestRounds(): Promise<void> {
        for (let round = 1; round <= RUNS; round++) {
            this.loads.push(`round ${round}: ${loadAverage()}`);
            process.stderr.write(`round ${round}/${RUNS} (${loadAverage()})\n`);
            this.setImages(this.chart.images);
            await this.untilFirstAnswer("pulumi", () => this.pulumi(this.up), round);
            await this.pulumiDestroy();
            await this.untilFirstAnswer("helm", () => this.helmUpgrade(this.chart.images), round);
            await measure("helm", ["uninstall", RELEASE, "--namespace", this.namespace, "--wait"], {
                env: this.helmEnv,
            });
            await this.untilFirstAnswer("kubectl", () => this.kubectlApply(this.manifests.base), round);
            await measure("kubectl", ["delete", "-f", this.manifests.base, "--ignore-not-found", "--wait=true"], {
                env: this.toolEnv,
            });
        }
        this.loads.push(`after the last round: ${loadAverage()}`);
    }

    // --- where Pulumi's time goes -------------------------------------------------------------
    /** One Pulumi run with its event log tailed and node-marks.ts preloaded into its node processes. */
    private async instrumented(args: string[], name: string): Promise<[RunTimeline, number]> {
        const dir = path.join(this.scratch, "instrumented");
        fs.mkdirSync(dir, { recursive: true });
        const eventLog = path.join(dir, `${name}.events.jsonl`);
        const marks = path.join(dir, `${name}.marks.jsonl`);
        const tail = new EventLogTail(eventLog);
        const run = await this.pulumi([...args, "--event-log", eventLog], {
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(PROJECT_ROOT, "bin", "bench", "node-marks.js")}`,
            BENCH_NODE_MARKS: marks,
            // The CLI accepts --event-log only with its debug commands on (as the Automation API runs it).
            PULUMI_DEBUG_COMMANDS: "true",
            BENCH_PROJECT_ROOT: fs.realpathSync(PROJECT_ROOT),
        });
        return [timeline(run, tail.stop(), marks), run.seconds];
    }

    /** One Pulumi run with the CLI's tracing on (every plugin's gRPC calls): its trace file. */
    private async traced(args: string[], name: string): Promise<string> {
        const dir = path.join(this.scratch, "traced");
        fs.mkdirSync(dir, { recursive: true });
        const trace = path.join(dir, `${name}.otel.jsonl`);
        await this.pulumi([...args, "--otel-traces", `file://${trace}`]);
        return trace;
    }

    async breakdowns(): Promise<string[]> {
        const base = this.chart.images;
        const bump = bumped(base);
        const cases: BreakdownCase[] = [
            {
                title: "`pulumi preview` of the image bump, with the policy pack",
                args: this.preview(true),
                images: () => bump,
            },
            {
                title: "`pulumi preview` of the image bump, without the policy pack",
                args: this.preview(false),
                images: () => bump,
            },
            {
                title: "`pulumi up`, no changes, with the policy pack",
                args: this.up,
                images: () => base,
                criticalPath: true,
                engineCalls: true,
            },
            {
                title: "`pulumi up` of the image bump, with the policy pack",
                args: this.up,
                // Each run a bump: to the bumped images and back, by turns.
                images: (run) => (run % 2 === 0 ? bump : base),
                criticalPath: true,
                resourceSteps: true,
            },
        ];
        this.setImages(base);
        await this.pulumi(this.up);
        const reports: string[] = [];
        for (const [
            index,
            { title, args, images, criticalPath: withPath, resourceSteps, engineCalls },
        ] of cases.entries()) {
            const runs: RunTimeline[] = [];
            const seconds: number[] = [];
            for (let i = 0; i < RUNS; i++) {
                this.setImages(images(i));
                const [run, s] = await this.instrumented(args, `case${index}-run${i}`);
                runs.push(run);
                seconds.push(s);
                process.stderr.write(`  instrumented: ${title}: ${s.toFixed(2)} s\n`);
            }
            reports.push(report(title, runs, seconds));
            if (withPath) {
                reports.push(criticalPath(title, runs));
            }
            if (resourceSteps) {
                reports.push(resourceStepsReport(title, runs));
            }
            if (engineCalls) {
                const traces: string[] = [];
                for (let i = 0; i < RUNS; i++) {
                    this.setImages(images(i));
                    traces.push(await this.traced(args, `case${index}-trace${i}`));
                }
                reports.push(engineCallsReport(title, traces));
            }
        }
        await this.pulumiDestroy();
        return reports;
    }

    /** Instrumented installs from empty on the real node: where the time until the workloads are ready goes. */
    async installBreakdown(): Promise<string[]> {
        const title = "`pulumi up` from empty on the real node, with the policy pack";
        this.setImages(this.chart.images);
        const runs: RunTimeline[] = [];
        const seconds: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            await this.settledCluster();
            const [run, s] = await this.instrumented(this.up, `install-run${i}`);
            runs.push(run);
            seconds.push(s);
            process.stderr.write(`  instrumented: ${title}: ${s.toFixed(2)} s\n`);
            await this.pulumiDestroy();
        }
        return [report(title, runs, seconds), criticalPath(title, runs), resourceStepsReport(title, runs)];
    }

    remove(): void {
        this.workspace.remove();
    }
}

const loadAverage = (): string =>
    `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" / ")}`;

const sec = (ms: Measure[] | undefined): number | undefined => (ms ? median(ms.map((m) => m.seconds)) : undefined);
const peak = (ms: Measure[] | undefined): string => (ms ? Math.max(...ms.map((m) => m.peakMiB)).toFixed(0) : "");
const cpu = (ms: Measure[] | undefined): string => (ms ? median(ms.map((m) => m.cpuSeconds)).toFixed(1) : "");
const fmt = (s: number | undefined): string => (s === undefined ? "" : s.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined ? "" : `${(a / b).toFixed(1)}x`;

function table(results: Results): string {
    const lines = [
        "| operation | Pulumi s | Helm s | kubectl s | Pulumi / Helm | Pulumi / kubectl | Helm / kubectl | " +
            "CPU s Pulumi / Helm / kubectl | peak MiB Pulumi / Helm / kubectl |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ];
    const variants: [Tool, string][] = [
        ["pulumi", ""],
        ["pulumiWithoutPack", ", Pulumi without the policy pack"],
        ["pulumiWithPreview", ", Pulumi `up --yes` with its preview"],
    ];
    for (const [op, label] of Object.entries(OPERATIONS) as [Operation, string][]) {
        const row = results[op];
        const helm = sec(row.helm);
        const kubectl = sec(row.kubectl);
        for (const [tool, suffix] of variants) {
            const pulumi = sec(row[tool]);
            if (pulumi === undefined) {
                continue;
            }
            lines.push(
                `| ${label}${suffix} | ${fmt(pulumi)} | ${fmt(helm)} | ${fmt(kubectl)} | ${ratio(pulumi, helm)} | ` +
                    `${ratio(pulumi, kubectl)} | ${ratio(helm, kubectl)} | ` +
                    `${cpu(row[tool])} / ${cpu(row.helm)} / ${cpu(row.kubectl)} | ` +
                    `${peak(row[tool])} / ${peak(row.helm)} / ${peak(row.kubectl)} |`,
            );
        }
    }
    return lines.join("\n");
}

function firstRequestTable(bench: Bench): string {
    const lines = [
        "| tool | until the first request is served, s | of it the install command, s | CPU s of the install | peak MiB of the install | each round, s |",
        "|---|---:|---:|---:|---:|---|",
    ];
    for (const tool of ["pulumi", "helm", "kubectl"] as const) {
        const entry = bench.firstAnswers[tool];
        if (entry) {
            lines.push(
                `| ${tool} | ${fmt(median(entry.seconds))} | ${fmt(sec(entry.install))} | ${cpu(entry.install)} | ${peak(entry.install)} | ${entry.seconds.map(fmt).join(", ")} |`,
            );
        }
    }
    return lines.join("\n");
}

/**
 * What every Pulumi command of a stack pays before any work of its own: the CLI's start, and the
 * passphrase's key (the passphrase secrets provider derives it with PBKDF2, 1,000,000 rounds of
 * SHA-256, by design slow) as soon as the command reads or writes a secret, as every update does.
 */
function fixedCosts(bench: Bench): { cli: number; key: number; table: string } {
    const { cli, stackOutput, stackOutputWithSecrets } = bench.fixedCosts;
    const key = sec(stackOutputWithSecrets)! - sec(stackOutput)!;
    const keyCpu =
        median(stackOutputWithSecrets.map((m) => m.cpuSeconds)) - median(stackOutput.map((m) => m.cpuSeconds));
    const table = [
        "Fixed costs of a Pulumi command (medians), already paid before the engine does anything for the operation:",
        "",
        "| command | s | CPU s |",
        "|---|---:|---:|",
        `| \`pulumi version\`: the CLI's own start (no stack read) | ${fmt(sec(cli))} | ${cpu(cli)} |`,
        `| \`pulumi stack output\`: the same, and the stack's state read | ${fmt(sec(stackOutput))} | ${cpu(stackOutput)} |`,
        `| \`pulumi stack output --show-secrets\`: the same, and the passphrase's key derived | ${fmt(sec(stackOutputWithSecrets))} | ${cpu(stackOutputWithSecrets)} |`,
        `| the key's derivation alone (the difference) | ${fmt(key)} | ${keyCpu.toFixed(2)} |`,
    ].join("\n");
    return { cli: sec(cli)!, key, table };
}

/** Issue 26's targets, as ratios to Helm in the same run (and CPU for the preview), and why a missed one is missed. */
function targets(results: Results, fixed: { cli: number; key: number }): string {
    const verdict = (met: boolean): string => (met ? "met" : "not met");
    const previewCpu = median(results.previewBump.pulumi!.map((m) => m.cpuSeconds));
    const floor = fixed.cli + fixed.key;
    const ratioLine = (op: "noop" | "bump", label: string, target: number): string => {
        const [pulumi, helm] = [sec(results[op].pulumi)!, sec(results[op].helm)!];
        const line = `- ${label}: ${(pulumi / helm).toFixed(2)}x Helm (target <= ${target}x: ${verdict(pulumi / helm <= target)})`;
        return pulumi / helm <= target
            ? line
            : `${line}. ${target}x Helm is ${fmt(target * helm)} s; Pulumi took ${fmt(pulumi)} s, of which ` +
                  `${fmt(floor)} s (${((100 * floor) / (target * helm)).toFixed(0)}% of the target) are the fixed ` +
                  `costs every command pays before it starts (the CLI's start ${fmt(fixed.cli)} s, the passphrase's ` +
                  `key ${fmt(fixed.key)} s); the critical path below shows where the rest goes.`;
    };
    return [
        "Targets (issue 26; install to first request is the real node's run):",
        `- preview with the pack: ${previewCpu.toFixed(1)} CPU s (target <= 2.5: ${verdict(previewCpu <= 2.5)})`,
        ratioLine("noop", "no-op up", 1.5),
        ratioLine("bump", "image-bump up, against Helm's upgrade --install --wait", 2),
    ].join("\n");
}

function firstRequestTarget(bench: Bench): string {
    const pulumi = median(bench.firstAnswers.pulumi!.seconds);
    const helm = median(bench.firstAnswers.helm!.seconds);
    const met = pulumi / helm <= 1.2 ? "met" : "not met";
    return `Target (issue 26): install to first request served at most 1.2x Helm: ${(pulumi / helm).toFixed(2)}x, ${met}.`;
}

/** The medians the chart draws: every operation's plain Pulumi variant against Helm and kubectl. */
function operationFigures(results: Results): OperationFigures[] {
    return (Object.entries(OPERATIONS) as [Operation, string][]).flatMap(([op, label]) => {
        const row = results[op];
        const [pulumi, helm] = [sec(row.pulumi), sec(row.helm)];
        return pulumi === undefined || helm === undefined
            ? []
            : [{ operation: label, pulumi, helm, kubectl: sec(row.kubectl) }];
    });
}

function firstRequestFigures(bench: Bench): OperationFigures[] {
    const seconds = (tool: Tool): number | undefined => {
        const entry = bench.firstAnswers[tool];
        return entry ? median(entry.seconds) : undefined;
    };
    return [
        {
            operation: "install until the first request is served",
            pulumi: seconds("pulumi")!,
            helm: seconds("helm")!,
            kubectl: seconds("kubectl"),
        },
    ];
}

async function main(): Promise<void> {
    // Everything generated stays here and goes at the end: the rendered Secret is in plaintext.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-bench-"));
    const baseConfig = REAL_NODE ? localImagesConfig(await nodeImages()) : stackConfig("dev");
    const bench = new Bench(scratch, baseConfig);
    try {
        await bench.prepare();
        const commit = process.env.BENCH_COMMIT ?? "unknown";
        const run = { node: REAL_NODE ? "real" : "kwok", commit, cores: os.cpus().length } as const;
        if (REAL_NODE) {
            await bench.firstRequestRounds();
            const installBreakdown = await bench.installBreakdown();
            const markdown = [
                `Until the first request is served, local cluster with a real node, median of ${RUNS} rounds; from the ` +
                    `install command's start (the same commands as the install from empty) until \`GET /backend/health\` ` +
                    `through the ingress, sent from inside the node's network namespace every ${FIRST_ANSWER_INTERVAL_MS} ms ` +
                    `once the command returned, answers 200.`,
                firstRequestTable(bench),
                firstRequestTarget(bench),
                "## Where Pulumi's install time goes\n\n" + installBreakdown.join("\n\n"),
            ].join("\n\n");
            console.log(markdown);
            writeBenchRun(
                BENCH_DOCS,
                { ...run, date: new Date().toISOString(), loads: bench.loads, operations: firstRequestFigures(bench) },
                markdown,
            );
            return;
        }
        await bench.rounds();
        const breakdowns = await bench.breakdowns();
        const fixed = fixedCosts(bench);
        const markdown = [
            `Local cluster (kwok nodes), median of ${RUNS} rounds. CPU s: CPU time of the command's whole process ` +
                `tree (median), which hardly depends on the machine's load; peak MiB: the largest RSS of the tree over ` +
                `the rounds.`,
            table(bench.results),
            "Commands:\n" +
                Object.values(COMMANDS)
                    .map((c) => `- ${c}`)
                    .join("\n"),
            targets(bench.results, fixed),
            fixed.table,
            "## Where Pulumi's time goes\n\n" + breakdowns.join("\n\n"),
        ].join("\n\n");
        console.log(markdown);
        writeBenchRun(
            BENCH_DOCS,
            { ...run, date: new Date().toISOString(), loads: bench.loads, operations: operationFigures(bench.results) },
            markdown,
        );
    } finally {
        bench.remove();
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
