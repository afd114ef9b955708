/**
 * Where a Pulumi run's time goes. Three sources, all on one clock (milliseconds after the CLI was
 * spawned): the engine's event stream (`--event-log`, each line stamped when it appears in the
 * file: the events' own timestamps have whole-second resolution), the processes of the run's tree
 * (measure.ts: language host, node processes, provider plugin), and the marks the preloaded
 * node-marks.ts leaves in the program's and the policy pack's node processes.
 */
import * as fs from "fs";
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
    /** Kubernetes resource steps: from the step's pre-event to its outputs event, milliseconds. */
    k8sStepMs: number[];
}

const LAUNCHERS: Record<string, string> = { run: "program", "run-policy-pack": "policy pack" };

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
    firstProcess("node -e", "language host's first `node -e require.resolve` started");

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
            "entry-start": `${who}: SDK loaded, project's entry module starts loading`,
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

    const pre = new Map<string, number>();
    const k8sStepMs: number[] = [];
    for (const { atMs, event } of events) {
        const type = eventType(event);
        milestones[`first ${type}`] ??= at(atMs);
        milestones[`last ${type}`] = at(atMs);
        const body = event[type] as { metadata?: StepMetadata; message?: string } | undefined;
        const metadata = body?.metadata;
        // The SDK's debug messages mark the program's own progress.
        if (type === "diagnosticEvent" && body?.message?.startsWith("Running program")) {
            milestones["program: SDK reports running the entry module"] ??= at(atMs);
        }
        if (type === "resourcePreEvent" && metadata) {
            pre.set(metadata.urn, atMs);
            if (metadata.type.startsWith("kubernetes:") && !metadata.type.startsWith("kubernetes:helm")) {
                milestones["first Kubernetes object step"] ??= at(atMs);
            }
        }
        if (
            type === "resOutputsEvent" &&
            metadata &&
            pre.has(metadata.urn) &&
            metadata.type.startsWith("kubernetes:")
        ) {
            k8sStepMs.push(atMs - pre.get(metadata.urn)!);
            milestones["last Kubernetes object step done"] = at(atMs);
        }
    }
    return { milestones, cpuMs, loads, loadedBy, k8sStepMs };
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
    const steps = runs.flatMap((r) => r.k8sStepMs);
    if (steps.length > 0) {
        lines.push(
            "",
            `Kubernetes object steps (pre-event to outputs event: the provider's Check and Diff or ` +
                `apply, with their API calls): ${steps.length / runs.length} per run, median ${ms(median(steps))} ms, ` +
                `longest ${ms(Math.max(...steps))} ms.`,
        );
    }
    for (const who of Object.values(LAUNCHERS)) {
        const perRun = runs.map((r) => r.loads[who]).filter((l): l is Record<string, number> => l !== undefined);
        if (perRun.length === 0) {
            continue;
        }
        const packages = new Set(perRun.flatMap((l) => Object.keys(l)));
        const rows = [...packages]
            .map((pkg) => ({ pkg, ms: median(perRun.map((l) => l[pkg] ?? 0)) }))
            .sort((a, b) => b.ms - a.ms);
        const total = rows.reduce((sum, row) => sum + row.ms, 0);
        const by = runs.find((r) => r.loadedBy[who])?.loadedBy[who] ?? {};
        lines.push(
            "",
            `Module loading in the ${who}'s node process until its entry module was loaded and run: ` +
                `${ms(total)} ms in total; median exclusive ms per package (first loaded by):`,
            "",
            "| package | ms | first loaded by |",
            "|---|---:|---|",
            ...rows.filter((row) => row.ms >= 5).map((row) => `| ${row.pkg} | ${ms(row.ms)} | ${by[row.pkg] ?? ""} |`),
        );
    }
    return lines.join("\n");
}
