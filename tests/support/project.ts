/** The project's own files as the tests and the benchmark read them: its root and its stack configs. */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { merge } from "exchange-platform-policy/testing";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");

/** toolchain/versions.env, the one place a version is written: NAME -> value. */
export function toolchainVersions(): Record<string, string> {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, "toolchain", "versions.env"), "utf8");
    return Object.fromEntries(
        text
            .split("\n")
            .map((line) => /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim()))
            .filter((match): match is RegExpExecArray => match !== null)
            .map((match) => [match[1], match[2]]),
    );
}

/** A stack file's `config:` as the CLI hands it to the program: key -> string (objects as JSON). */
export function stackConfig(stack: string): Record<string, string> {
    const file = yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config?: Record<string, unknown>;
    };
    return Object.fromEntries(
        Object.entries(file.config ?? {}).map(([key, value]) => [
            key,
            typeof value === "string" ? value : JSON.stringify(value),
        ]),
    );
}

/**
 * Deep-merges `overrides` (plain objects) into a stack config's `exchange:<key>` values, with the
 * policy pack's fixture merge (objects merge, arrays and scalars replace): one deep merge for the
 * program's and the pack's tests.
 */
export function withConfig(base: Record<string, string>, overrides: Record<string, unknown>): Record<string, string> {
    const prefix = "exchange:";
    const values = Object.fromEntries(
        Object.entries(base)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, text]) => [key.slice(prefix.length), parsedOrText(text)]),
    );
    const merged = Object.entries(merge(values, overrides)).map(([key, value]) => [
        prefix + key,
        typeof value === "string" ? value : JSON.stringify(value),
    ]);
    return { ...base, ...Object.fromEntries(merged) };
}

/** A structured value as the program parses it; a plain string (e.g. a namespace) as it is. */
function parsedOrText(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
