// Bundles a compiled entry point (the program's bin/index.js, the pack's) with esbuild into one
// file, without the parts of @pulumi/pulumi that never run in a deployment. Each package's
// `npm run build` runs it after tsc, in the package's folder: `node tools/bundle.js ENTRY OUTFILE`
// (the pack's from `../tools`: the pack is built inside this repository, as it already compiles
// against ../contract). esbuild comes from that package's own devDependencies (the same pin in
// both), so each builds after its own `npm ci`.
//
// Why: @pulumi/pulumi's index loads its Automation API (execa and the rest only it needs), and its
// runtime index loads the closure serializer (TypeScript's compiler, normalize-package-data), at
// start-up, in the program's process and in the pack's, on every preview and update; neither
// process ever calls them. A bundle also reads one file instead of a few thousand.
//
// @pulumi/pulumi is inlined, not left external. The program and the pack are started by the SDK's
// runners (cmd/run, cmd/run-policy-pack) loaded from node_modules, so the process holds two copies
// of the SDK: the runner's and the bundle's. They work as one because the SDK keeps its run state
// on the global object (runtime/state.js: global.globalStore holds the settings, the config, the
// stack resource and the pending RPCs the runner waits for before it exits; and
// global.asyncLocalStorage), and recognises outputs, resources, assets and errors by brand fields
// (`__pulumiOutput`, ...) rather than `instanceof`; both exist so that several copies of the SDK in
// one process work together. What each copy keeps to itself is its gRPC clients (settings.js), so
// the bundle's copy makes its own clients to the monitor and the engine, over the gRPC library both
// copies share (SHARED below). Left external, @pulumi/pulumi would cut nothing: the program and
// @pulumi/kubernetes import its index, which loads both heavy parts.
//
// The cut modules are replaced by tools/bundle-stub.js, which throws, naming what was called, if
// anything ever calls into them: a wrong cut fails loudly. One module of the pack's is wrapped
// (WRAPPED): @pulumi/policy's deserialization, so that a request's properties are deserialized once
// for all the policies (tools/bundle-deserialize-once.js says why and when that is safe).
"use strict";
const esbuild = require(require.resolve("esbuild", { paths: [process.cwd()] }));
const path = require("node:path");

/** What is cut, by the resolved path of a module, and the name the stub's errors give it. */
const CUT = [
    { name: "@pulumi/pulumi/automation", path: /\/node_modules\/@pulumi\/pulumi\/automation\// },
    { name: "@pulumi/pulumi's closure serializer", path: /\/node_modules\/@pulumi\/pulumi\/runtime\/closure\// },
    { name: "typescript", path: /\/node_modules\/typescript\// },
    // @pulumi/pulumi 3.276.0 no longer requires it; other releases load it for the closure's code paths.
    { name: "@npmcli/arborist", path: /\/node_modules\/@npmcli\/arborist\// },
    // zod's index loads its 40-odd locales for `z.locales`, about 20 ms of the program's start; the
    // messages the config's errors use come from its English locale (en.cjs), which stays.
    { name: "zod's locales (z.locales)", path: /\/node_modules\/zod\/v4\/locales\/index\.c?js$/ },
];

/**
 * What the bundle leaves to node_modules, by resolved path: the modules the SDK's runner has
 * loaded already (its settings module's gRPC clients and Pulumi's protocol messages). The bundle's
 * copy of the SDK then gets the same module instances instead of loading and running a second
 * copy of each: one gRPC library, whose channels to the monitor and the engine both copies share.
 * None of these packages has an "exports" map or a nested copy, and the bundle sits inside its
 * package (bin/), so `require` from it finds the very files the runner loaded.
 */
const SHARED = [
    /\/node_modules\/@pulumi\/pulumi\/proto\//,
    /\/node_modules\/@grpc\/grpc-js\//,
    /\/node_modules\/google-protobuf\//,
];

const STUB = path.join(__dirname, "bundle-stub.js");

/**
 * What the bundle takes through a wrapper, by resolved path: every import of the module gets the
 * wrapper's `wrap(module)` instead, the wrapper being a module of tools/ that says why.
 */
const WRAPPED = [
    {
        path: /\/node_modules\/@pulumi\/policy\/deserialize\.js$/,
        wrapper: path.join(__dirname, "bundle-deserialize-once.js"),
        wrap: "deserializeOnce",
    },
];

/** Resolves every import as esbuild would, then swaps a cut module for the stub and leaves a shared one out. */
const cutAndShare = {
    name: "cut-and-share",
    setup(build) {
        build.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData?.resolving || args.namespace === "wrapped") {
                return undefined;
            }
            const resolved = await build.resolve(args.path, {
                kind: args.kind,
                resolveDir: args.resolveDir,
                importer: args.importer,
                pluginData: { resolving: true },
            });
            const cut = CUT.find((c) => c.path.test(resolved.path));
            if (cut) {
                return { path: cut.name, namespace: "cut" };
            }
            if (WRAPPED.some((w) => w.path.test(resolved.path))) {
                return { path: resolved.path, namespace: "wrapped" };
            }
            if (SHARED.some((shared) => shared.test(resolved.path))) {
                const inPackages = resolved.path.lastIndexOf("/node_modules/") + "/node_modules/".length;
                return { path: resolved.path.slice(inPackages), external: true };
            }
            return undefined;
        });
        build.onLoad({ filter: /.*/, namespace: "cut" }, (args) => ({
            contents: `module.exports = require(${JSON.stringify(STUB)}).stub(${JSON.stringify(args.path)});`,
            resolveDir: __dirname,
            loader: "js",
        }));
        // The wrapped module itself is required by its path from here, so it is bundled as it is.
        build.onLoad({ filter: /.*/, namespace: "wrapped" }, (args) => {
            const w = WRAPPED.find((x) => x.path.test(args.path));
            return {
                contents: `module.exports = require(${JSON.stringify(w.wrapper)}).${w.wrap}(require(${JSON.stringify(args.path)}));`,
                resolveDir: __dirname,
                loader: "js",
            };
        });
    },
};

/** Bundles the compiled entry `entry` into `outfile` (see the top of this file). */
async function bundle(entry, outfile) {
    await esbuild.build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node22",
        // No source map: @pulumi/pulumi formats a stack trace for every resource operation
        // (runtime/debuggable.js), so the runner's source-map-support parses a linked map of the
        // whole bundle on every preview, which cost more CPU (about 0.6 s) than the bundle saves.
        // For traces into the TypeScript sources, run the compiled sources (main: bin/index.js).
        sourcemap: false,
        logLevel: "warning",
        plugins: [cutAndShare],
    });
}

module.exports = { bundle };

if (require.main === module) {
    const [entry, outfile] = process.argv.slice(2);
    if (!entry || !outfile) {
        console.error("usage: node tools/bundle.js ENTRY OUTFILE");
        process.exit(2);
    }
    bundle(entry, outfile).catch((err) => {
        console.error(err);
        process.exit(1);
    });
}
