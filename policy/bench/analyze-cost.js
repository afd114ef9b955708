// What a policy pack costs the engine per command, without the rest of the command's noise: the
// pack runs as the language host starts a compiled pack (node requires its folder: package.json's
// main, the bundle; gRPC on 127.0.0.1), and one "round" sends what the engine sends: for every
// registration (objects, components, providers, the stack), Remediate then Analyze, one after the
// other; then AnalyzeStack with all of them. The registrations are the planned ones of a real
// preview (`pulumi preview --json > plan.json`). Every command starts the pack afresh, so each
// round does too: its first round is what a command pays (code not yet compiled or optimised),
// a second round on the same process shows the warm cost. Prints, per pack, the median of each
// over ROUNDS starts, in ms, as JSON; the packs alternate.
// Usage: node analyze-cost.js PLAN_JSON ROUNDS PACK_DIR...
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const nm = path.join(__dirname, "..", "node_modules");
const grpc = require(path.join(nm, "@grpc/grpc-js"));
const pb = require(path.join(nm, "@pulumi/pulumi/proto/analyzer_pb"));
const rpc = require(path.join(nm, "@pulumi/pulumi/proto/analyzer_grpc_pb"));
const { Struct } = require(path.join(nm, "google-protobuf/google/protobuf/struct_pb"));

const [planFile, roundsText, ...packs] = process.argv.slice(2);
const rounds = Number(roundsText);
const steps = JSON.parse(fs.readFileSync(planFile, "utf8")).steps.filter((s) => s.newState);

function fill(msg, s) {
    msg.setType(s.newState.type);
    msg.setName(s.urn.split("::").pop());
    msg.setUrn(s.urn);
    msg.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(s.newState.inputs ?? {}))));
    const opts = new pb.AnalyzerResourceOptions();
    msg.setOptions(opts);
    if (s.newState.provider) {
        // A provider reference is "<provider URN>::<provider ID>".
        const urn = s.newState.provider.slice(0, s.newState.provider.lastIndexOf("::"));
        const provider = new pb.AnalyzerProviderResource();
        provider.setUrn(urn);
        provider.setType(urn.split("::")[2] || "pulumi:providers:kubernetes");
        provider.setName(urn.split("::").pop());
        provider.setProperties(Struct.fromJavaScript({}));
        msg.setProvider(provider);
    }
    return msg;
}

async function start(packDir) {
    const child = spawn(process.execPath, [packDir], {
        cwd: packDir,
        stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
            out += d;
            const m = /^(\d+)\s*$/m.exec(out);
            if (m) resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`pack exited ${code}`)));
    });
    const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (method, req) =>
        new Promise((resolve, reject) => client[method](req, (e, r) => (e ? reject(e) : resolve(r))));
    return { child, client, call };
}

async function round(pack) {
    const t = process.hrtime.bigint();
    for (const s of steps) {
        await pack.call("remediate", fill(new pb.AnalyzeRequest(), s));
        await pack.call("analyze", fill(new pb.AnalyzeRequest(), s));
    }
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(steps.map((s) => fill(new pb.AnalyzerResource(), s)));
    await pack.call("analyzeStack", req);
    return Number(process.hrtime.bigint() - t) / 1e6;
}

(async () => {
    const first = packs.map(() => []);
    const second = packs.map(() => []);
    for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < packs.length; i++) {
            const pack = await start(path.resolve(packs[i]));
            first[i].push(await round(pack));
            second[i].push(await round(pack));
            pack.client.close();
            pack.child.kill();
            await new Promise((resolve) => pack.child.once("exit", resolve));
        }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
        JSON.stringify({
            registrations: steps.length,
            rounds,
            packs: packs.map((p, i) => ({
                pack: p,
                firstRoundMs: Math.round(median(first[i])),
                secondRoundMs: Math.round(median(second[i])),
            })),
        }),
    );
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
