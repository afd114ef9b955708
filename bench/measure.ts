/**
 * Whole commands, timed from spawn to exit, with their process tree's peak memory and a timeline
 * of the processes in that tree (when each started, when it was last seen), so a Pulumi run can
 * be split into CLI, language host, program, policy pack and provider.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { launcherOf } from "./launcher";

/** How often the process tree is sampled; a process living shorter than this may go unseen. */
const SAMPLE_MS = 50;
/** Kernel clock ticks per second (USER_HZ), the unit of a process's start time in /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessSpan {
    pid: number;
    /** What ran: the binary's name; for node, also its script (e.g. `node run-policy-pack`). */
    name: string;
    /** Milliseconds after the measured command started (10 ms resolution). */
    startMs: number;
    /** Milliseconds after the measured command started when it was last seen alive. */
    lastSeenMs: number;
    /** CPU time (user + system) it had used when last seen. */
    cpuMs: number;
}

export interface Measure {
    seconds: number;
    /** The largest sum of RSS over the command's process tree at one sample. */
    peakMiB: number;
    /**
     * CPU time of the whole process tree (each process as last sampled, so up to one sample
     * interval short per process): unlike wall time, it hardly changes with the machine's load.
     */
    cpuSeconds: number;
    processes: ProcessSpan[];
    /** The command's start, on the Date.now() clock, to place other timestamps against it. */
    startedAtMs: number;
    output: string;
}

interface ProcStatus {
    rssKiB: number;
    startTicks: number;
    cpuTicks: number;
}

/** One process's parent, RSS and start time from /proc, or undefined once it has gone. */
function procStatus(pid: number): ProcStatus | undefined {
    try {
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The fields after the parenthesised command name, from field 3 on: utime and stime are
        // fields 14 and 15 of stat, starttime field 22.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return {
            rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
            startTicks: Number(fields[19]),
            cpuTicks: Number(fields[11]) + Number(fields[12]),
        };
    } catch {
        return undefined;
    }
}

/**
 * The children of a process, from each of its threads' `children` file: walking down from the
 * command costs a few reads per sample, where scanning all of /proc would load the machine.
 */
function childrenOf(pid: number): number[] {
    let threads: string[];
    try {
        threads = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
        return []; // The process ended while we looked.
    }
    return threads.flatMap((tid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
        } catch {
            return []; // The thread ended while we looked.
        }
    });
}

function processName(pid: number): string {
    try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        const binary = path.basename(argv[0] ?? "?");
        if (binary !== "node") {
            return binary;
        }
        const evaluated = argv.includes("-e") || argv.includes("--eval");
        // `node -e CODE -- ARGS` or `node [OPTIONS] SCRIPT ARGS`.
        const dashes = argv.indexOf("--");
        const script = argv.findIndex((arg, i) => i > 0 && !arg.startsWith("-"));
        const args = evaluated ? (dashes > 0 ? argv.slice(dashes + 1) : []) : script > 0 ? argv.slice(script) : [];
        return `node ${launcherOf(args, evaluated)}`;
    } catch {
        return "?";
    }
}

/** Follows a process tree while it runs: peak summed RSS and each descendant's lifetime. */
class TreeSampler {
    peakKiB = 0;
    private readonly spans = new Map<number, ProcessSpan>();
    private readonly rootStartTicks: number | undefined;

    constructor(
        private readonly root: number,
        private readonly started: bigint,
    ) {
        this.rootStartTicks = procStatus(root)?.startTicks;
    }

    sample(): void {
        const nowMs = Number(process.hrtime.bigint() - this.started) / 1e6;
        let totalKiB = 0;
        const visit = (pid: number): void => {
            const status = procStatus(pid);
            if (!status) {
                return;
            }
            totalKiB += status.rssKiB;
            const cpuMs = (status.cpuTicks * 1000) / CLOCK_TICKS_PER_SECOND;
            const span = this.spans.get(pid);
            if (span) {
                span.lastSeenMs = nowMs;
                span.cpuMs = cpuMs;
            } else if (this.rootStartTicks !== undefined) {
                const startMs = ((status.startTicks - this.rootStartTicks) * 1000) / CLOCK_TICKS_PER_SECOND;
                this.spans.set(pid, { pid, name: processName(pid), startMs, lastSeenMs: nowMs, cpuMs });
            }
            childrenOf(pid).forEach(visit);
        };
        visit(this.root);
        this.peakKiB = Math.max(this.peakKiB, totalKiB);
    }

    processes(): ProcessSpan[] {
        return [...this.spans.values()].sort((a, b) => a.startMs - b.startMs);
    }
}

export interface MeasureOptions {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    /** Exit codes that count as success; default only 0 (`kubectl diff` exits 1 on differences). */
    okCodes?: number[];
}

/** Runs a command to completion, timing it and sampling its process tree; rejects on failure. */
export function measure(command: string, args: string[], options: MeasureOptions = {}): Promise<Measure> {
    const okCodes = options.okCodes ?? [0];
    return new Promise((resolve, reject) => {
        const startedAtMs = Date.now();
        const started = process.hrtime.bigint();
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: options.env ?? process.env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        const sampler = child.pid === undefined ? undefined : new TreeSampler(child.pid, started);
        const timer = setInterval(() => sampler?.sample(), SAMPLE_MS);
        child.on("error", (error) => {
            clearInterval(timer);
            reject(error);
        });
        // "close", not "exit": the output is complete only once the pipes closed.
        child.on("close", (code) => {
            clearInterval(timer);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            if (code === null || !okCodes.includes(code)) {
                reject(new Error(`${command} ${args.join(" ")} failed (${code}):\n${output}`));
                return;
            }
            const processes = sampler?.processes() ?? [];
            resolve({
                seconds,
                peakMiB: (sampler?.peakKiB ?? 0) / 1024,
                cpuSeconds: processes.reduce((sum, p) => sum + p.cpuMs, 0) / 1000,
                processes,
                startedAtMs,
                output,
            });
        });
    });
}

/** `bash -c SCRIPT` with ARGS as $1..., measured as one command (pipelines, several steps). */
export function measureScript(script: string, args: string[], options: MeasureOptions = {}): Promise<Measure> {
    return measure("bash", ["-c", `set -euo pipefail\n${script}`, "bench", ...args], options);
}

export const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
