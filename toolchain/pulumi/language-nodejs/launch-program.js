// Starts a program through the @pulumi/pulumi SDK's runner (cmd/run) without three costs that
// runner pays on every preview and update for things this host's programs never use. The host
// runs it as `node -e <this file> -- RUN_INDEX ARGS...`, RUN_INDEX being the SDK's
// cmd/run/index.js resolved from the program, ARGS the runner's own flags and program.
//
// Started ahead of its Run (main.go's startAhead), without ARGS, it loads node and the runner's
// heaviest modules, then waits on stdin for one JSON document, {"args": ARGS, "env": {NAME:
// VALUE}}, which only the Run request can give: the environment is set, and the runner starts
// as above. If stdin closes without a document (nobody ran the program) it exits, doing nothing.
//
// The runner is then loaded and run exactly as `node RUN_INDEX ARGS...` would, except that three
// modules it requires are answered from require.cache first:
// - source-map-support/register: it replaces Error.prepareStackTrace, and the SDK captures a
//   stack trace for every resource it registers (its source position), so every frame of every
//   registration went through source-map-support's JavaScript, opening and parsing the source
//   maps of the SDK's own files: about 0.3 s of CPU in a preview of this project's 19 objects.
//   The program runs as a bundle without a source map (see tools/bundle.js), so traces pointed
//   into bin/bundle.js either way. Without it node formats traces itself (and maps them to
//   the TypeScript sources if run with --enable-source-maps, for the compiled sources).
// - runtime/closure/v8Hooks: before it loads the program, the runner opens an inspector session
//   on its own process and enables the V8 debugger, which the closure serializer
//   (pulumi.runtime.serializeFunction, for function serialization) needs; every script the
//   program then loads is reported to it. Here `isInitializedAsync` returns at once and the
//   module's other functions load the real module on first use, which opens the session then
//   (enabling the debugger reports the scripts already loaded, so nothing is missed).
// - cmd/run/tracing: the runner's Zipkin tracing for `pulumi --tracing`. Loading it loads five
//   OpenTelemetry packages (its exporter, tracer provider, resources and gRPC instrumentation):
//   about 65 ms of CPU on every run, while the program's node competes for the machine with the
//   policy pack's and the CLI. Here `start` loads the real module and starts it; until then
//   `newSpan` gives what the real one gives without a root span, a span of the tracer registered
//   globally (OpenTelemetry's API, which the runner's instrumentation module has loaded: a
//   recording one when the CLI passed TRACEPARENT, else a no-op), and `stop` has nothing to stop.
// All three are internal to the SDK; a missing one stops the program with an error naming it, so
// an SDK that moves them fails every preview of the tests instead of quietly paying the costs again.
"use strict";

const fs = require("fs");
const Module = require("module");
const path = require("path");

const [runIndex, ...runArgs] = process.argv.slice(1);
// node caches a module under its real path, links resolved (a project whose node_modules is a link,
// as the tests' and the benchmark's copies have): the stand-ins below must be cached under it too.
const sdkRoot = fs.realpathSync(path.resolve(path.dirname(runIndex), "..", ".."));

function cacheModule(file, exports) {
    const cached = new Module(file, null);
    cached.filename = file;
    cached.loaded = true;
    cached.exports = exports;
    require.cache[file] = cached;
}

cacheModule(require.resolve("source-map-support/register", { paths: [path.dirname(runIndex)] }), {});

function sdkFile(...parts) {
    const file = path.join(sdkRoot, ...parts);
    if (!fs.existsSync(file)) {
        throw new Error(`launch-program.js: ${file} is missing; this SDK is not the one the launcher was written for`);
    }
    return file;
}

const v8HooksFile = sdkFile("runtime", "closure", "v8Hooks.js");
let v8Hooks;
const realV8Hooks = () => {
    if (!v8Hooks) {
        delete require.cache[v8HooksFile];
        v8Hooks = require(v8HooksFile);
    }
    return v8Hooks;
};
cacheModule(v8HooksFile, {
    isInitializedAsync: async () => undefined,
    getSessionAsync: (...args) => realV8Hooks().getSessionAsync(...args),
    getScriptUrl: (...args) => realV8Hooks().getScriptUrl(...args),
});

const tracingFile = sdkFile("cmd", "run", "tracing.js");
let tracing;
cacheModule(tracingFile, {
    start: (...args) => {
        delete require.cache[tracingFile];
        tracing = require(tracingFile);
        return tracing.start(...args);
    },
    stop: (...args) => tracing?.stop(...args),
    newSpan: (name) => {
        if (tracing) {
            return tracing.newSpan(name);
        }
        const otel = require(require.resolve("@opentelemetry/api", { paths: [path.dirname(tracingFile)] }));
        return otel.trace.getTracer("nodejs-runtime").startSpan(name);
    },
});

// The runner reads its flags from process.argv, as if started as `node RUN_INDEX ARGS...`.
function startRunner(args) {
    process.argv = [process.argv[0], runIndex, ...args];
    require(runIndex);
}

if (runArgs.length > 0) {
    startRunner(runArgs);
} else {
    // In the order the runner loads them: its instrumentation first (it patches gRPC when
    // tracing), then what brings gRPC, the protocol and OpenTelemetry's API; loading a module
    // twice is impossible, so the runner later finds them loaded.
    for (const module of ["./instrumentation", "../../runtime/settings"]) {
        require(require.resolve(module, { paths: [path.dirname(runIndex)] }));
    }
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => {
        if (chunks.length === 0) {
            return;
        }
        const { args, env } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        Object.assign(process.env, env);
        process.stdin.destroy();
        startRunner(args);
    });
}
