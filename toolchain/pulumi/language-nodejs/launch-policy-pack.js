// Starts a compiled policy pack (PulumiPolicy.yaml: runtime option `typescript: false`); the
// host runs it as `node -e <this file> -- RUN_JS [--tracing ENDPOINT] ENGINE_ADDRESS PACK_DIR`,
// RUN_JS being the @pulumi/pulumi SDK's cmd/run-policy-pack/run module, resolved from the pack,
// and the flags the CLI gives every plugin (`pulumi --tracing`) before the engine's address.
//
// Why: the SDK's cmd/run-policy-pack registers ts-node for every pack, compiled or not, and
// registering it loads the TypeScript compiler (about half a second of CPU on every preview).
// Its run module takes that choice as a parameter; this launcher passes `typeScript: false`,
// leaves out the runner's source-map-support (the pack runs as a bundle without a source map;
// turning on node's own source maps instead cost 45 ms of CPU before the pack was ready, for the
// SDK's maps) and keeps the runner's contract with the host:
// - an uncaught error or unhandled rejection never ends the process with 0, which the engine
//   would read as "the pack ran";
// - exit code 32 when every such error was already shown to the user (the host then adds no
//   message of its own), 1 when one was not.
// That run module is internal to the SDK: every preview of the tests runs the pack through here,
// so an SDK that changes it fails them.
"use strict";

const runModule = process.argv[1];
const packDir = process.argv.at(-1);
const EXITED_AFTER_LOGGING_USER_ACTIONABLE_MESSAGE = 32;

const uncaught = new Set();
const shownToUser = new Set();
let packRunning = false;
const onUncaught = (err) => {
    uncaught.add(err);
    // Once the pack runs, the runner's own handler reports the error through the engine.
    if (!packRunning) {
        console.error((err && (err.stack || err.message)) || String(err));
    }
};
process.on("uncaughtException", onUncaught);
process.on("unhandledRejection", onUncaught);
process.on("exit", (code) => {
    if (code === 0 && uncaught.size > 0) {
        const allShown = [...uncaught].every((err) => shownToUser.has(err));
        process.exitCode = allShown ? EXITED_AFTER_LOGGING_USER_ACTIONABLE_MESSAGE : 1;
    }
});

require(runModule)
    .run({
        argv: { _: [packDir] },
        programStarted: () => {
            packRunning = true;
        },
        reportLoggedError: (err) => shownToUser.add(err),
        typeScript: false,
    })
    .then(() => {
        packRunning = false;
    });
