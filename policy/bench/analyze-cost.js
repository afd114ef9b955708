// What a policy pack costs the engine per command, without the rest of the command's noise: the
// pack runs as the language host starts a compiled pack (node requires its folder: package.json's
// main, the bundle; gRPC on 127.0.0.1), and one "round" sends what the engine sends: for every
// registration (objects, components, providers, the stack), Remediate then Analyze, one after the
// other; then AnalyzeStack with all of them. The registrations are the planned ones of a real
// preview (`pulumi preview --json > plan.json`), or those of a deployed stack (`pulumi stack export
// --show-secrets > state.json`: Remediate and Analyze get each resource's inputs, AnalyzeStack its
// outputs, the live objects, as in a no-op update). Every command starts the pack afresh, so each
// round does too: its first round is what a command pays (code not yet compiled or optimised),
// a second round on the same process shows the warm cost. Prints, per pack, the median of each
// round and of its AnalyzeStack alone over ROUNDS starts, in ms, as JSON; the packs alternate.
// Usage: node analyze-cost.js PLAN_OR_STATE_JSON ROUNDS PACK_DIR...
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
const input = JSON.parse(fs.readFileSync(planFile, "utf8"));
// The SDK's own names for the signatures the engine marks secrets and resource references with.
const { specialSigKey: SIG, specialSecretSig: SECRET, specialResourceSig: RESOURCE_REFERENCE } = require(
    path.join(nm, "@pulumi/pulumi/runtime/rpc"),
);
/**
 * A state file's value as the engine sends it to an analyzer: a secret (`--show-secrets` keeps its
 * plaintext, JSON-encoded) with its value, a resource reference as its ID, or a component's URN.
 */
const asSent = (v) => {
    if (Array.isArray(v)) {
        return v.map(asSent);
    }
    if (!v || typeof v !== "object") {
        return v;
    }
    if (v[SIG] === SECRET) {
        return { [SIG]: SECRET, value: asSent(JSON.parse(v.plaintext)) };
    }
    if (v[SIG] === RESOURCE_REFERENCE) {
        return v.id || v.urn;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asSent(x)]));
};
// Each registration as { urn, type, provider, inputs, outputs }; a plan has no outputs yet.
const steps = input.deployment
    ? input.deployment.resources.map((r) => ({ ...r, inputs: asSent(r.inputs), outputs: asSent(r.outputs ?? {}) }))
    : input.steps.filter((s) => s.newState).map((s) => ({ ...s.newState, outputs: s.newState.inputs }));

function fill(msg, s, properties) {
    msg.setType(s.type);
    msg.setName(s.urn.split("::").pop());
    msg.setUrn(s.urn);
    msg.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(properties ?? {}))));
    const opts = new pb.AnalyzerResourceOptions();
    msg.setOptions(opts);
    if (s.provider) {
        // A provider reference is "<provider URN>::<provider ID>".
        const urn = s.provider.slice(0, s.provider.lastIndexOf("::"));
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
        await pack.call("remediate", fill(new pb.AnalyzeRequest(), s, s.inputs));
        await pack.call("analyze", fill(new pb.AnalyzeRequest(), s, s.inputs));
    }
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(steps.map((s) => fill(new pb.AnalyzerResource(), s, s.outputs)));
    const stackStart = process.hrtime.bigint();
    await pack.call("analyzeStack", req);
    const end = process.hrtime.bigint();
    return { all: Number(end - t) / 1e6, stack: Number(end - stackStart) / 1e6 };
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
                firstRoundMs: Math.round(median(first[i].map((r) => r.all))),
                firstRoundStackMs: Math.round(median(first[i].map((r) => r.stack))),
                secondRoundMs: Math.round(median(second[i].map((r) => r.all))),
                secondRoundStackMs: Math.round(median(second[i].map((r) => r.stack))),
            })),
        }),
    );
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
