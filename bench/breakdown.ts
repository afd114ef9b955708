/**
 * Where a Pulumi run's time goes. Three sources, all on one clock (milliseconds after the CLI was
 * spawned): the engine's event stream (`--event-log`, each line stamped when it appears in the
 * file: the events' own timestamps have whole-second resolution), the processes of the run's tree
 * (measure.ts: language host, node processes, provider plugin), and the marks the preloaded
 * node-marks.ts leaves in the program's and the policy pack's node processes.
 */
import * as fs from "fs";
import { readTraceSpans } from "../tests/support";
import { Measure, median } from "./measure";
import { NodeMark } from "./node-marks";

/** How often the event log is read while the command runs. */
const TAIL_MS = 10;

interface StampedEvent {
    atMs: number;
    event: Record<string, unknown>;
}

/** Reads a growing event log while the command runs, stamping each line when it appears. */
export class EventLogTail {
    private readonly events: StampedEvent[] = [];
    private offset = 0;
    private partial = "";
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly file: string) {
        this.timer = setInterval(() => this.read(), TAIL_MS);
    }

    private read(): void {
        let fd: number;
        try {
            fd = fs.openSync(this.file, "r");
        } catch {
            return; // Not created yet.
        }
        try {
            const size = fs.fstatSync(fd).size;
            if (size <= this.offset) {
                return;
            }
            const buffer = Buffer.alloc(size - this.offset);
            fs.readSync(fd, buffer, 0, buffer.length, this.offset);
            this.offset = size;
            const atMs = Date.now();
            const lines = (this.partial + buffer.toString("utf8")).split("\n");
            this.partial = lines.pop() ?? "";
            for (const line of lines.filter((l) => l.trim() !== "")) {
                this.events.push({ atMs, event: JSON.parse(line) as Record<string, unknown> });
            }
        } finally {
            fs.closeSync(fd);
        }
    }

    stop(): StampedEvent[] {
        clearInterval(this.timer);
        this.read();
        return this.events;
    }
}

export interface RunTimeline {
    /** Milestone -> milliseconds after the CLI was spawned. */
    milestones: Record<string, number>;
    /** For the node processes' milestones: the CPU milliseconds that process had used by then. */
    cpuMs: Record<string, number>;
    /** Per node launcher (program, pack): exclusive module-load milliseconds per package. */
    loads: Record<string, Record<string, number>>;
    /** Which package first loaded each package, per launcher. */
    loadedBy: Record<string, Record<string, string>>;
    /** Each resource's step (Kubernetes objects, the generated password): pre-event to outputs event. */
    steps: ResourceStep[];
}

/** One resource's step: its provider's Check, Diff or create/update, and its await. */
export interface ResourceStep {
    /** `Kind name`, from the type token and the URN. */
    object: string;
    /** The provider's package: `kubernetes`, `random`. */
    provider: string;
    /** Milliseconds after the CLI was spawned that the step began (its pre-event). */
    startMs: number;
    ms: number;
}

const LAUNCHERS: Record<string, string> = {
    run: "program",
    "policy-pack": "policy pack",
    "run-policy-pack": "policy pack",
};

const PROVIDER_TYPE = "pulumi:providers:";

/** The providers whose resources' steps are reported: the platform's objects and its password. */
const STEP_PROVIDERS = new Set(["kubernetes", "random"]);

/** TYPE's provider package when its steps are reported (not components, providers or Helm charts). */
function stepProvider(type: string): string | undefined {
    const provider = type.split(":")[0];
    return STEP_PROVIDERS.has(provider) && !type.startsWith("kubernetes:helm") ? provider : undefined;
}

const eventType = (event: Record<string, unknown>): string =>
    Object.keys(event).find((key) => key.endsWith("Event")) ?? "unknown";

interface StepMetadata {
    urn: string;
    type: string;
}

/** The milestones of one instrumented run. */
export function timeline(run: Measure, events: StampedEvent[], marksFile: string): RunTimeline {
    const at = (epochMs: number): number => epochMs - run.startedAtMs;
    const milestones: Record<string, number> = { "pulumi CLI spawned": 0, "pulumi CLI exited": run.seconds * 1000 };
    const firstProcess = (name: string, label: string): void => {
        const span = run.processes.find((p) => p.name === name);
        if (span) {
            milestones[label] = span.startMs;
        }
    };
    firstProcess("pulumi-language-nodejs", "language host started");
    firstProcess("pulumi-resource-kubernetes", "kubernetes provider started");
    firstProcess("pulumi-resource-random", "random provider started");

    const cpuMs: Record<string, number> = {};
    const loads: RunTimeline["loads"] = {};
    const loadedBy: RunTimeline["loadedBy"] = {};
    const marks = fs.existsSync(marksFile)
        ? fs
              .readFileSync(marksFile, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((line) => JSON.parse(line) as NodeMark)
        : [];
    for (const mark of marks) {
        const who = LAUNCHERS[mark.launcher];
        if (!who) {
            continue;
        }
        const label = {
            started: `${who}: node started`,
            "entry-start": `${who}: its launcher loaded, project's entry module starts loading`,
            "entry-end": `${who}: entry module loaded and run`,
            "first-stdout": `${who}: first stdout write`,
        }[mark.mark];
        if (milestones[label] === undefined) {
            milestones[label] = at(mark.atMs);
            cpuMs[label] = mark.cpuMs;
        }
        if (mark.loadMsByPackage) {
            loads[who] = mark.loadMsByPackage;
            loadedBy[who] = mark.loadedBy ?? {};
        }
    }

    const firstOfType: Record<string, number> = {};
    const pre = new Map<string, number>();
    const steps: ResourceStep[] = [];
    for (const { atMs, event } of events) {
        const type = eventType(event);
        if (!(type in firstOfType)) {
            firstOfType[type] = at(atMs);
            milestones[`first ${type}`] = at(atMs);
        } else {
            milestones[`last ${type}`] = at(atMs);
        }
        const body = event[type] as { metadata?: StepMetadata } | undefined;
        const metadata = body?.metadata;
        if (type === "resourcePreEvent" && metadata) {
            pre.set(metadata.urn, atMs);
            if (stepProvider(metadata.type) === "kubernetes") {
                milestones["first Kubernetes object step"] ??= at(atMs);
            }
        }
        if (type === "resOutputsEvent" && metadata?.type.startsWith(PROVIDER_TYPE)) {
            // A default provider's outputs: it is started and configured, its resources' steps can begin.
            milestones[`${metadata.type.slice(PROVIDER_TYPE.length)} provider configured`] ??= at(atMs);
        }
        const provider = metadata ? stepProvider(metadata.type) : undefined;
        if (type === "resOutputsEvent" && metadata && provider && pre.has(metadata.urn)) {
            const kind = metadata.type.split(":").at(-1);
            const name = metadata.urn.split("::").at(-1);
            steps.push({
                object: `${kind} ${name}`,
                provider,
                startMs: at(pre.get(metadata.urn)!),
                ms: atMs - pre.get(metadata.urn)!,
            });
            if (provider === "kubernetes") {
                milestones["last Kubernetes object step done"] = at(atMs);
            }
        }
    }
    return { milestones, cpuMs, loads, loadedBy, steps };
}

const ms = (value: number): string => value.toFixed(0);

/** A Markdown report of several runs of one operation: median milestones and module loads. */
export function report(title: string, runs: RunTimeline[], totalSeconds: number[]): string {
    const names = new Set(runs.flatMap((r) => Object.keys(r.milestones)));
    const medians = [...names]
        .map((name) => {
            const values = runs.map((r) => r.milestones[name]).filter((v): v is number => v !== undefined);
            const cpu = runs.map((r) => r.cpuMs[name]).filter((v): v is number => v !== undefined);
            return { name, ms: median(values), seen: values.length, cpu: cpu.length > 0 ? median(cpu) : undefined };
        })
        .sort((a, b) => a.ms - b.ms);
    const lines = [
        `#### ${title}`,
        "",
        `${runs.length} instrumented runs, median ${median(totalSeconds).toFixed(2)} s each (the instrumentation ` +
            `itself included). Milestones in median milliseconds after the CLI was spawned; for the node ` +
            `processes' own milestones also the CPU milliseconds that process had used by then, which ` +
            `unlike wall time hardly depends on the machine's load:`,
        "",
        "| milestone | at ms | since the previous | process CPU ms |",
        "|---|---:|---:|---:|",
    ];
    let previous = 0;
    for (const m of medians) {
        const seen = m.seen < runs.length ? ` (in ${m.seen} of ${runs.length} runs)` : "";
        lines.push(
            `| ${m.name}${seen} | ${ms(m.ms)} | ${ms(m.ms - previous)} | ${m.cpu === undefined ? "" : ms(m.cpu)} |`,
        );
        previous = m.ms;
    }
    const steps = runs.flatMap((r) => r.steps.filter((step) => step.provider === "kubernetes").map((step) => step.ms));
    if (steps.length > 0) {
        lines.push(
            "",
            `Kubernetes object steps (pre-event to outputs event: the provider's Check and Diff or ` +
                `apply, with their API calls): ${steps.length / runs.length} per run, median ${ms(median(steps))} ms, ` +
                `longest ${ms(Math.max(...steps))} ms.`,
        );
    }
    for (const who of Object.values(LAUNCHERS)) {
        const perRun = runs.filter((r) => r.loads[who] !== undefined);
        if (perRun.length === 0) {
            continue;
        }
        const groups = perRun.map((r) => loadGroups(r.loads[who], r.loadedBy[who]));
        const names = new Set(groups.flatMap((g) => Object.keys(g)));
        const rows = [...names]
            .map((name) => ({ name, ms: median(groups.map((g) => g[name] ?? 0)) }))
            .sort((a, b) => b.ms - a.ms);
        const total = median(groups.map((g) => Object.values(g).reduce((sum, v) => sum + v, 0)));
        lines.push(
            "",
            `CPU time of module loading in the ${who}'s node process until it was ready (entry module ` +
                `run, or port announced): ${ms(total)} ms. Median per package, with everything it loaded in ` +
                `turn; "project" is the project's own modules, and running the entry module's top-level code:`,
            "",
            "| package | loaded by | CPU ms |",
            "|---|---|---:|",
            ...rows
                .slice(0, SHOWN_PACKAGES)
                .map((row) => `| ${row.name.split(LOADED_BY).join(" | ")} | ${ms(row.ms)} |`),
            `| other packages | | ${ms(rows.slice(SHOWN_PACKAGES).reduce((sum, row) => sum + row.ms, 0))} |`,
        );
    }
    return lines.join("\n");
}

/** The importers whose direct dependencies get a row of their own in the module-load table. */
const ROOT_IMPORTERS = new Set(["project", "@pulumi/pulumi", "@pulumi/policy", ...Object.keys(LAUNCHERS)]);
const LOADED_BY = "\u0000";
const SHOWN_PACKAGES = 12;

/**
 * Exclusive load times summed per direct dependency of the project, the launcher or the SDK, each
 * with everything it loaded in turn ("@npmcli/arborist, loaded by @pulumi/pulumi" rather than the
 * dozens of npm and sigstore packages it brings).
 */
function loadGroups(loads: Record<string, number>, loadedBy: Record<string, string>): Record<string, number> {
    const groups: Record<string, number> = {};
    for (const [pkg, value] of Object.entries(loads)) {
        // Up the chain of first importers (a tree: each package has one) to a root's dependency.
        let member = pkg;
        for (let by = loadedBy[member]; by !== undefined && !ROOT_IMPORTERS.has(member) && !ROOT_IMPORTERS.has(by);) {
            member = by;
            by = loadedBy[member];
        }
        const key = `${member}${LOADED_BY}${ROOT_IMPORTERS.has(member) ? "" : loadedBy[member]}`;
        groups[key] = (groups[key] ?? 0) + value;
    }
    return groups;
}

/**
 * What pulumi-kubernetes 4.25 waits for once it has written an object, by kind (its pkg/await),
 * and whether this project needs that wait. Kinds it has no wait for (ConfigMap, NetworkPolicy,
 * an Opaque Secret) are done once the API server has accepted the object.
 */
const PROVIDER_WAITS: Record<string, [waitsFor: string, needed: string]> = {
    Deployment: [
        "the rollout: the new ReplicaSet's pods available, the old ones gone",
        "yes: a workload serving is the point, and a failed rollout fails the update",
    ],
    StatefulSet: ["every replica ready at the update revision", "yes, as for a Deployment"],
    Ingress: [
        "an address in status.loadBalancer, and endpoints for every backend Service",
        "yes: the stack's publicUrls are on that address when no host is set; its endpoints are the workloads' readiness again",
    ],
    Service: [
        "nothing: pulumi.com/skipAwait, but on a LoadBalancer Service (its address); without it: endpoints, then a fixed 10 s settle",
        "no: the workloads' readiness covers the endpoints (docs/deployment.md)",
    ],
    PersistentVolumeClaim: [
        "nothing: pulumi.com/skipAwait (without it: Bound, or Pending if its StorageClass binds on first consumer)",
        "no: the StatefulSet mounting it is created next and its await covers the binding (docs/deployment.md)",
    ],
};

/**
 * Each resource's step in RUNS (medians): when it began, how long the provider took over it, its
 * wait included, and when it was done; sorted by when each was done, so the last rows are the
 * waits the run ended on.
 */
export function resourceStepsReport(title: string, runs: RunTimeline[]): string {
    const objects = new Set(runs.flatMap((r) => r.steps.map((step) => step.object)));
    const rows = [...objects]
        .map((object) => {
            const steps = runs.flatMap((r) => r.steps.filter((step) => step.object === object));
            return {
                object,
                startMs: median(steps.map((step) => step.startMs)),
                ms: median(steps.map((step) => step.ms)),
                doneMs: median(steps.map((step) => step.startMs + step.ms)),
            };
        })
        .sort((a, b) => a.doneMs - b.doneMs);
    const exited = median(runs.map((r) => r.milestones["pulumi CLI exited"]));
    return [
        `#### ${title}: each resource's step`,
        "",
        `${runs.length} runs, median milliseconds after the CLI was spawned (it exited at ${ms(exited)}); a ` +
            `step is the provider's Check, Diff and apply with the wait after it, from the engine's pre-event to ` +
            `its outputs event:`,
        "",
        "| resource | began at ms | step ms | done at ms | the provider waits for | needed |",
        "|---|---:|---:|---:|---|---|",
        ...rows.map((row) => {
            const [waitsFor, needed] = PROVIDER_WAITS[row.object.split(" ")[0]] ?? ["nothing", ""];
            return `| ${row.object} | ${ms(row.startMs)} | ${ms(row.ms)} | ${ms(row.doneMs)} | ${waitsFor} | ${needed} |`;
        }),
    ].join("\n");
}

/** A run's critical path: consecutive milestones, and what happens between each two. */
const CRITICAL_PATH: [from: string, to: string, what: string][] = [
    [
        "pulumi CLI spawned",
        "program: node started",
        "the CLI starts, reads the stack's state and derives the passphrase's key (fixed costs, below), then asks the language host for the program's packages, where the host starts the program's node process",
    ],
    [
        "program: node started",
        "first preludeEvent",
        "the engine starts the policy pack and sends the program's Run only once the pack has answered; the program's node loads the SDK's runner meanwhile",
    ],
    [
        "first preludeEvent",
        "kubernetes provider started",
        "the runner loads the program's bundle and runs it until its first Kubernetes object is registered; the engine starts the passwords' random provider, which the program registers first, before the Kubernetes one",
    ],
    [
        "kubernetes provider started",
        "first Kubernetes object step",
        "the Kubernetes provider starts and configures itself (the API server's discovery)",
    ],
    [
        "first Kubernetes object step",
        "last Kubernetes object step done",
        "the objects: for each in turn the provider's Check, the pack's Remediate and Analyze and the provider's Diff (the engine does these one object at a time), then the writes and waits (in parallel)",
    ],
    [
        "last Kubernetes object step done",
        "pulumi CLI exited",
        "the stack policies (AnalyzeStack), the summary, the CLI's exit",
    ],
];

/** RUNS' critical path (median milestones), segment by segment. */
export function criticalPath(title: string, runs: RunTimeline[]): string {
    const at = (name: string): number => median(runs.map((r) => r.milestones[name]).filter((v) => v !== undefined));
    return [
        `#### ${title}: its critical path`,
        "",
        "| from | to | ms | what happens |",
        "|---|---|---:|---|",
        ...CRITICAL_PATH.map(
            ([from, to, what]) =>
                `| ${from} (${ms(at(from))}) | ${to} (${ms(at(to))}) | ${ms(at(to) - at(from))} | ${what} |`,
        ),
    ].join("\n");
}

/** A call of the engine to a plugin: its span's name, the call, and what answers it. */
type EngineCall = [span: string, call: string, to: string];

/** The calls the engine makes for each resource, in turn, before the resource's step can run. */
const ENGINE_CALLS: EngineCall[] = [
    ["pulumirpc.ResourceProvider/Check", "Check", "the provider: its defaults and validation"],
    [
        "pulumirpc.Analyzer/Remediate",
        "Remediate",
        "the policy pack (every resource, whether or not a policy remediates)",
    ],
    ["pulumirpc.Analyzer/Analyze", "Analyze", "the policy pack: its resource policies"],
    ["pulumirpc.ResourceProvider/Diff", "Diff", "the provider: the change, if any"],
];
/** The call the engine makes once, after the last resource. */
const STACK_CALL: EngineCall = [
    "pulumirpc.Analyzer/AnalyzeStack",
    "AnalyzeStack",
    "the policy pack: its stack policies, once, after the last resource",
];

/**
 * The engine's calls for each resource in TRACES (one `--otel-traces` file per run): how many,
 * and how long they took, as the CLI saw them. The engine makes them one resource at a time, so
 * their sum is on the path of every update however many resources change.
 */
export function engineCallsReport(title: string, traces: string[]): string {
    // The CLI's own spans: each call as the engine waited for it.
    const runs = traces.map((trace) => readTraceSpans(trace).filter((span) => span.service === "pulumi-cli"));
    const callRow = ([span, call, to]: EngineCall) => {
        const perRun = runs.map((spans) => spans.filter((s) => s.name === span).map((s) => s.ms));
        return {
            call,
            to,
            count: median(perRun.map((calls) => calls.length)),
            medianMs: median(perRun.flat()),
            totalMs: median(perRun.map((calls) => calls.reduce((sum, v) => sum + v, 0))),
        };
    };
    const serial = ENGINE_CALLS.map(callRow);
    const stack = callRow(STACK_CALL);
    const total = (list: typeof serial): number => list.reduce((sum, row) => sum + row.totalMs, 0);
    const pack = serial.filter((row) => row.call === "Remediate" || row.call === "Analyze");
    return [
        `#### ${title}: the engine's calls for each resource`,
        "",
        `${traces.length} runs with the CLI's tracing on (\`--otel-traces\`; tracing makes each call a little ` +
            `slower, so these are upper bounds). For each resource the program registers, the engine makes ` +
            `these calls in turn, one resource at a time, before that resource's step runs; medians:`,
        "",
        "| call | to | calls per run | ms per call | ms per run |",
        "|---|---|---:|---:|---:|",
        ...[...serial, stack].map(
            (row) => `| ${row.call} | ${row.to} | ${row.count} | ${row.medianMs.toFixed(1)} | ${ms(row.totalMs)} |`,
        ),
        "",
        `One resource after the other: ${ms(total(serial))} ms per run, of it ${ms(total(pack))} ms in the ` +
            `policy pack's Remediate and Analyze.`,
    ].join("\n");
}
