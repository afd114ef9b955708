// Time from spawning a policy pack as the language host starts a compiled pack (node requires the
// pack's folder: package.json's main, the bundle) to the pack printing its gRPC port, i.e. ready
// to analyze; the median of RUNS runs, in milliseconds, printed as JSON. Node's compile cache is on,
// as the host turns it on (in a folder of this script's own unless NODE_COMPILE_CACHE is set), so
// every run but the first measures the start every command after the first pays.
// Usage: node pack-start.js PACK_DIR [RUNS]
"use strict";
const { spawn } = require("node:child_process");
const os = require("node:os");
const path = require("node:path");

const packDir = path.resolve(process.argv[2] || path.join(__dirname, ".."));
const runs = Number(process.argv[3] || 5);

function startOnce() {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(process.execPath, [packDir], {
            cwd: packDir,
            stdio: ["ignore", "pipe", "pipe"],
            env: { NODE_COMPILE_CACHE: path.join(os.tmpdir(), "exchange-pack-start-compile-cache"), ...process.env },
        });
        let out = "";
        const timer = setTimeout(() => {
            child.kill();
            reject(new Error("no port printed within 60 s"));
        }, 60000);
        child.stdout.on("data", (d) => {
            out += String(d);
            if (/^\d+\s*$/m.test(out)) {
                clearTimeout(timer);
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                child.kill();
                resolve(ms);
            }
        });
        child.on("error", reject);
    });
}

(async () => {
    const times = [];
    for (let i = 0; i < runs; i++) {
        times.push(await startOnce());
    }
    times.sort((a, b) => a - b);
    console.log(
        JSON.stringify({
            packDir,
            runs,
            medianMs: Math.round(times[Math.floor(runs / 2)]),
            allMs: times.map(Math.round),
        }),
    );
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
