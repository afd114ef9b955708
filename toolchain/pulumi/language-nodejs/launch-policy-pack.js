// Starts a compiled policy pack (PulumiPolicy.yaml: runtime option `typescript: false`); the
// host runs it as `node -e <this file> -- [--tracing ENDPOINT] ENGINE_ADDRESS PACK_DIR`, with the
// flags the CLI gives every plugin (`pulumi --tracing`) before the engine's address.
//
// Why not the SDK's cmd/run-policy-pack: it registers ts-node for every pack, compiled or not
// (loading the TypeScript compiler: about half a second of CPU on every preview), loads
// source-map-support, and its run module loads the SDK's own files (errors, log, settings,
// output, resource...) from node_modules: about 60 ms of CPU before the pack can answer, which
// the engine waits for before it runs the program, on every command. A compiled pack is one bundle
// with its own copy of those files (tools/bundle.js), and for a pack that runner does nothing else
// the engine needs: it requires the pack's folder (its package.json's main), and reports an error
// that escapes it. The pack's policies' own errors never get here: the policy SDK's server catches
// them and answers the engine's call with them. This launcher does the same, and keeps the
// runner's contract with the host:
// - an uncaught error or unhandled rejection never ends the process with 0, which the engine
//   would read as "the pack ran";
// - it is shown on stderr, which the CLI shows the user, and the exit code is then 32 (the
//   host adds no message of its own), as the runner's after it has logged an error.
"use strict";

const packDir = process.argv.at(-1);
const EXITED_AFTER_LOGGING_USER_ACTIONABLE_MESSAGE = 32;

let failed = false;
const onUncaught = (err) => {
    failed = true;
    console.error(
        `error: running the policy pack in ${packDir} failed with an unhandled exception:\n` +
            ((err && (err.stack || err.message)) || String(err)),
    );
};
process.on("uncaughtException", onUncaught);
process.on("unhandledRejection", onUncaught);
process.on("exit", (code) => {
    if (code === 0 && failed) {
        process.exitCode = EXITED_AFTER_LOGGING_USER_ACTIONABLE_MESSAGE;
    }
});

// As the runner leaves it for the pack: no arguments of its own.
process.argv = [process.argv[0], packDir];
require(packDir);
