/**
 * Preloaded (`node --require`, through NODE_OPTIONS) into every node process of an instrumented
 * Pulumi run. Appends to the file named by BENCH_NODE_MARKS, one JSON line per mark, when this
 * process started, when the project's entry module (the program's or the policy pack's) began and
 * finished loading, when the process first wrote to stdout (a policy pack announces its port so),
 * and the CPU time module loading took per npm package, exclusive of the packages it loaded in turn.
 * bench/breakdown.ts reads the file. Loaded only by the benchmark, never by a real run.
 */
import * as fs from "fs";
import Module from "module";
import * as path from "path";
import { performance } from "perf_hooks";
import { launcherOf } from "./launcher";

export interface NodeMark {
    pid: number;
    /** What the process runs (launcher.ts): `run` (the program), `policy-pack`, `eval` or another script. */
    launcher: string;
    mark: "started" | "entry-start" | "entry-end" | "first-stdout";
    /** Date.now() clock, sub-millisecond. */
    atMs: number;
    /** CPU time (user + system) this process had used by then: unlike wall time, hardly load-dependent. */
    cpuMs: number;
    /** With entry-end and first-stdout: CPU milliseconds spent loading each package's own files so far. */
    loadMsByPackage?: Record<string, number>;
    /** With entry-end and first-stdout: which package first loaded each package. */
    loadedBy?: Record<string, string>;
}

const marksFile = process.env.BENCH_NODE_MARKS;
const projectRoot = process.env.BENCH_PROJECT_ROOT;

/** The last `node_modules/<name>` (or `@scope/name`) of a file's path; the project's own files are "project". */
function packageOf(file: string): string {
    const parts = file.split(path.sep);
    const index = parts.lastIndexOf("node_modules");
    if (index < 0) {
        return projectRoot && file.startsWith(projectRoot) ? "project" : "other";
    }
    const name = parts[index + 1] ?? "?";
    return name.startsWith("@") ? `${name}/${parts[index + 2]}` : name;
}

if (marksFile) {
    const now = (): number => performance.timeOrigin + performance.now();
    const cpuNow = (): number => {
        const cpu = process.cpuUsage();
        return (cpu.user + cpu.system) / 1000;
    };
    // `node -e CODE -- ARGS` puts ARGS from argv[1] on, as `node SCRIPT ARGS` puts SCRIPT and ARGS.
    const evaluated = process.execArgv.some((arg) => arg === "-e" || arg.startsWith("--eval"));
    const launcher = launcherOf(process.argv.slice(1), evaluated);
    const loadMsByPackage: Record<string, number> = {};
    const loadedBy: Record<string, string> = {};
    const write = (mark: NodeMark["mark"], atMs: number, withLoads = false): void => {
        const record: NodeMark = { pid: process.pid, launcher, mark, atMs, cpuMs: cpuNow() };
        if (withLoads) {
            Object.assign(record, { loadMsByPackage: { ...loadMsByPackage }, loadedBy: { ...loadedBy } });
        }
        // Appended at once: a plugin may be killed at the end of the run, before any exit hook.
        fs.appendFileSync(marksFile, JSON.stringify(record) + "\n");
    };
    write("started", performance.timeOrigin);

    // Module.prototype.load runs once per module actually loaded (not for cached ones) and includes
    // evaluating it, nested loads too; a stack makes each package's time exclusive of those. CPU time,
    // not wall time, so that the figures hardly depend on what else the machine runs.
    const moduleProto = Module.prototype as unknown as { load: (this: unknown, filename: string) => void };
    const load = moduleProto.load;
    const stack: { pkg: string; start: number; nested: number }[] = [];
    let entry: string | undefined;
    moduleProto.load = function (this: unknown, filename: string): void {
        const pkg = packageOf(filename);
        const isEntry = entry === undefined && pkg === "project";
        if (isEntry) {
            entry = filename;
            write("entry-start", now());
        }
        if (!(pkg in loadedBy)) {
            loadedBy[pkg] = stack.at(-1)?.pkg ?? launcher;
        }
        const frame = { pkg, start: cpuNow(), nested: 0 };
        stack.push(frame);
        try {
            load.call(this, filename);
        } finally {
            stack.pop();
            const elapsed = cpuNow() - frame.start;
            loadMsByPackage[pkg] = (loadMsByPackage[pkg] ?? 0) + elapsed - frame.nested;
            const parent = stack.at(-1);
            if (parent) {
                parent.nested += elapsed;
            }
            if (isEntry) {
                write("entry-end", now(), true);
            }
        }
    };

    const stdoutWrite = process.stdout.write.bind(process.stdout);
    let wroteStdout = false;
    process.stdout.write = ((...args: Parameters<typeof stdoutWrite>): boolean => {
        if (!wroteStdout) {
            wroteStdout = true;
            write("first-stdout", now(), true);
        }
        return stdoutWrite(...args);
    }) as typeof process.stdout.write;
}
