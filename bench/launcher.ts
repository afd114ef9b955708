import * as path from "path";

/**
 * What a node process of a Pulumi run is, from its script: the @pulumi/pulumi SDK's launchers
 * live in cmd/NAME/ (index.js, or run.js for a compiled policy pack), so the program's is `run`
 * and a policy pack's `run-policy-pack`; any other script goes by its file name. The language
 * host starts both through its own launchers (`node -e LAUNCHER -- SCRIPT ARGS`), which put
 * SCRIPT first among the arguments, as `node SCRIPT ARGS` would; `eval` is any other `node -e`.
 */
export function launcherOf(script: string | undefined, evaluated: boolean): string {
    if (!script || (evaluated && !path.isAbsolute(script))) {
        return evaluated ? "eval" : "?";
    }
    const dir = path.dirname(script);
    return path.basename(path.dirname(dir)) === "cmd" ? path.basename(dir) : path.basename(script);
}
