// Time from spawning a policy pack's bin/index.js (as the Pulumi CLI does) to the pack printing its
// gRPC port, i.e. ready to analyze; the median of RUNS runs, in milliseconds, printed as JSON.
// Usage: node pack-start.js PACK_DIR [RUNS]
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");

const packDir = path.resolve(process.argv[2] || path.join(__dirname, ".."));
const runs = Number(process.argv[3] || 5);

function startOnce() {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(process.execPath, [path.join(packDir, "bin", "index.js")], {
            cwd: packDir,
            stdio: ["ignore", "pipe", "pipe"],
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
