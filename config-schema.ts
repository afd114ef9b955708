/**
 * How a config key is declared, documented and reported, on top of zod: each leaf carries the
 * sentence that says what is allowed (it is both the refusal message and the "allowed" column of
 * docs/config.md) and a description; a problem is reported as `exchange:<key>: <value> is not
 * allowed; <what is allowed>`. config.ts declares the keys with these helpers.
 */
import { z } from "zod";

export const CONFIG_NAMESPACE = "exchange";

/** What the docs generator reads from a schema: `allowed` is also the message when a value is refused. */
export interface KeyDocs {
    allowed?: string;
    description?: string;
}

const docs = z.registry<KeyDocs>();

/** A leaf whose refusal message and documented range are the same sentence. */
export function withAllowed<T extends z.ZodType>(schema: T, allowed: string, description?: string): T {
    docs.add(schema, { allowed, description });
    return schema;
}

export function pattern(regex: RegExp, allowed: string, description?: string) {
    return withAllowed(z.string({ error: allowed }).regex(regex, { error: allowed }), allowed, description);
}

export function integer(min: number, max: number, description?: string) {
    const allowed = `expected an integer from ${min} to ${max}`;
    return withAllowed(
        z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed }),
        allowed,
        description,
    );
}

export function choice<const T extends readonly [string, ...string[]]>(values: T, description?: string) {
    const allowed = `allowed values: ${values.join(", ")}`;
    return withAllowed(z.enum(values, { error: allowed }), allowed, description);
}

export function flag(description?: string) {
    return withAllowed(z.boolean({ error: "expected true or false" }), "true or false", description);
}

/** An object that refuses keys it does not declare (a typo must not pass silently). */
export function section<Shape extends z.ZodRawShape>(shape: Shape, description?: string) {
    const keys = Object.keys(shape).join(", ");
    const schema = z.strictObject(shape, {
        error: (issue) =>
            issue.code === "unrecognized_keys"
                ? `unknown key; allowed keys: ${keys}`
                : `expected an object with keys ${keys}`,
    });
    return description === undefined ? schema : schema.register(docs, { description });
}

/** The documentation a schema node carries, if any. */
export function keyDocs(schema: z.ZodType): KeyDocs | undefined {
    return docs.get(schema);
}

export function describe(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** One line per problem: the key, the value and what is allowed. A key with several problems gets its first. */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): string[] {
    const problems = new Map<string, string>();
    for (const issue of issues) {
        if (issue.code === "unrecognized_keys") {
            for (const unknownKey of issue.keys) {
                const key = [...issue.path, unknownKey].join(".");
                problems.set(key, `${CONFIG_NAMESPACE}:${key}: ${issue.message}`);
            }
            continue;
        }
        const key = issue.path.join(".");
        if (!problems.has(key)) {
            const what = issue.input === undefined ? "required" : `${describe(issue.input)} is not allowed`;
            problems.set(key, `${CONFIG_NAMESPACE}:${key}: ${what}; ${issue.message}`);
        }
    }
    return [...problems.values()];
}

/** The schema under its defaults and optional wrappers: what a value must look like when given. */
export function innerSchema(schema: z.ZodType): z.ZodType {
    const def = schema._zod.def as { type: string; innerType?: z.ZodType };
    return def.innerType !== undefined && ["default", "prefault", "optional"].includes(def.type)
        ? innerSchema(def.innerType)
        : schema;
}
