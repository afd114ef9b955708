/**
 * Benchmark: Pulumi against plain `kubectl apply` of the same manifests, on the local cluster.
 * Prints a table of medians (and the ratios); it asserts nothing. Run it through bench/run.sh,
 * which builds everything and starts a cluster of its own.
 *
 * Every figure is wall-clock time of whole commands, median of BENCH_RUNS runs (default 3), and
 * peak memory is the largest sum of RSS over the command's process tree (pulumi, the language
 * host, node, the provider plugins), sampled every 50 ms.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { PLATFORM_SERVICES } from "../seed";
import { POLICY_PACK, PulumiWorkspace, runCommand } from "../tests/integration/workspace";
import { PROJECT_ROOT, stackConfig } from "../tests/unit/harness";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const kubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG!;
const DEPLOYMENTS = PLATFORM_SERVICES.map((s) => s.appName);

interface Measure {
    seconds: number;
    peakMiB: number;
}

/** Sum of RSS (KiB) of `pid` and all its descendants, from /proc. */
function treeRssKiB(pid: number): number {
    const children = new Map<number, number[]>();
    const rss = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            const status = fs.readFileSync(`/proc/${entry}/status`, "utf8");
            const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
            rss.set(Number(entry), Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            // The process ended while we looked.
        }
    }
    const walk = (p: number): number => (rss.get(p) ?? 0) + (children.get(p) ?? []).reduce((sum, c) => sum + walk(c), 0);
    return walk(pid);
}

/** Runs a command to completion, timing it and sampling its process tree's memory. */
function measure(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Measure> {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        let peakKiB = 0;
        const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, treeRssKiB(child.pid!))), 50);
        child.on("exit", (code) => {
            clearInterval(sampler);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            if (code !== 0) {
                reject(new Error(`${command} ${args.join(" ")} failed (${code}):\n${output}`));
            } else {
                resolve({ seconds, peakMiB: peakKiB / 1024 });
            }
        });
    });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function repeat(label: string, prepare: () => Promise<unknown>, run: () => Promise<Measure>): Promise<[string, Measure]> {
    const results: Measure[] = [];
    for (let i = 0; i < RUNS; i++) {
        await prepare();
        results.push(await run());
        process.stderr.write(`  ${label}: run ${i + 1}/${RUNS} ${results[i].seconds.toFixed(2)} s\n`);
    }
    return [label, { seconds: median(results.map((r) => r.seconds)), peakMiB: Math.max(...results.map((r) => r.peakMiB)) }];
}

async function main(): Promise<void> {
    const workspace = new PulumiWorkspace(kubeconfig);
    const pulumi = (args: string[]) => measure("pulumi", [...args, "--non-interactive", "--color", "never"], { cwd: workspace.dir, env: workspace.env });
    const destroy = () => workspace.destroy("dev");
    const nothing = async () => undefined;
    await workspace.initStack("dev");

    // The same manifests as the program, rendered by the Kubernetes provider instead of applied.
    const manifests = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-manifests-"));
    await workspace.initStack("render");
    workspace.writeStackConfig("render", { ...stackConfig("dev"), "kubernetes:renderYamlToDirectory": manifests });
    const render = await workspace.pulumi(["up", "--stack", "render", "--yes", "--skip-preview"]);
    if (render.code !== 0) {
        throw new Error(`rendering failed:\n${render.output}`);
    }
    const kubectlArgs = ["--kubeconfig", kubeconfig, "--namespace", "default"];
    const kubectlApply = async (): Promise<Measure> => {
        const apply = await measure("kubectl", [...kubectlArgs, "apply", "--recursive", "-f", manifests]);
        let seconds = apply.seconds;
        for (const deployment of DEPLOYMENTS) {
            seconds += (await measure("kubectl", [...kubectlArgs, "rollout", "status", `deployment/${deployment}`, "--timeout=300s"])).seconds;
        }
        return { seconds, peakMiB: apply.peakMiB };
    };
    const kubectlDelete = () => runCommand("kubectl", [...kubectlArgs, "delete", "--recursive", "-f", manifests, "--ignore-not-found", "--wait=true"]);

    const rows: [string, Measure][] = [];
    rows.push(await repeat("TypeScript compile (npm run build), saved on every run", nothing, () => measure("npx", ["tsc", "-p", "tsconfig.json"], { cwd: PROJECT_ROOT })));
    rows.push(await repeat("unit tests (mocks)", nothing, () => measure("npx", ["mocha", "bin/tests/unit/**/*.test.js"], { cwd: PROJECT_ROOT })));
    rows.push(await repeat("policy pack tests", nothing, () => measure("npx", ["mocha"], { cwd: path.join(PROJECT_ROOT, "policy") })));
    rows.push(await repeat("pulumi preview, empty stack, no policy pack", destroy, () => pulumi(["preview", "--stack", "dev"])));
    rows.push(await repeat("pulumi preview, empty stack, with the policy pack", destroy, () => pulumi(["preview", "--stack", "dev", "--policy-pack", POLICY_PACK])));
    rows.push(await repeat("pulumi up from empty until every Deployment is Available", destroy, () => pulumi(["up", "--stack", "dev", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK])));
    rows.push(await repeat("pulumi up, no changes", nothing, () => pulumi(["up", "--stack", "dev", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK])));
    await destroy();
    rows.push(await repeat("kubectl apply + rollout status, from empty", kubectlDelete, kubectlApply));
    rows.push(await repeat("kubectl apply + rollout status, no changes", nothing, kubectlApply));
    await kubectlDelete();

    const seconds = Object.fromEntries(rows.map(([label, m]) => [label, m.seconds]));
    console.log(`\nBenchmark on the local cluster, ${os.cpus().length} cores, median of ${RUNS} runs\n`);
    console.log(`| step | seconds | peak MiB |\n|---|---:|---:|`);
    for (const [label, m] of rows) {
        console.log(`| ${label} | ${m.seconds.toFixed(2)} | ${m.peakMiB.toFixed(0)} |`);
    }
    const ratio = (a: string, b: string) => (seconds[a] / seconds[b]).toFixed(1);
    console.log(`\nratios: up from empty / kubectl from empty = ${ratio("pulumi up from empty until every Deployment is Available", "kubectl apply + rollout status, from empty")}x; ` +
        `no-op up / kubectl no-op = ${ratio("pulumi up, no changes", "kubectl apply + rollout status, no changes")}x; ` +
        `policy pack cost in preview = ${ratio("pulumi preview, empty stack, with the policy pack", "pulumi preview, empty stack, no policy pack")}x`);

    // Nothing of the bench may stay behind: the rendered Secret is in plaintext in these files.
    fs.rmSync(manifests, { recursive: true, force: true });
    workspace.remove();
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
