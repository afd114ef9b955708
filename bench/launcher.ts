import * as path from "path";

/**
 * What a node process of a Pulumi run is, from the arguments after node's own options and code:
 * ARGS starts with the script for `node SCRIPT ARGS`, and is what follows `--` for `node -e CODE --
 * ARGS` (EVALUATED). The @pulumi/pulumi SDK's launchers live in cmd/NAME/, so the program's is `run`
 * and a TypeScript policy pack's `run-policy-pack`; any other script goes by its file name. The
 * language host starts the program through its own launcher (`node -e LAUNCHER -- RUN_INDEX ...`),
 * which puts the SDK's script first, as `node SCRIPT ARGS` would, and a compiled policy pack through
 * another (`node -e LAUNCHER -- [FLAGS] ENGINE_ADDRESS PACK_DIR`): `policy-pack`. `eval` is any
 * other `node -e`.
 */
export function launcherOf(args: string[], evaluated: boolean): string {
    const [script] = args;
    if (evaluated && !(script && path.isAbsolute(script))) {
        return args.length >= 2 && path.isAbsolute(args[args.length - 1]) ? "policy-pack" : "eval";
    }
    if (!script) {
        return "?";
    }
    const dir = path.dirname(script);
    return path.basename(path.dirname(dir)) === "cmd" ? path.basename(dir) : path.basename(script);
}
