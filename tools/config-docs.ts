/**
 * Generates, from the config schema in config.ts, the two places that describe the config to
 * people and to the CLI: Pulumi.yaml's `config:` block and the config table of docs/config.md.
 *
 *   node bin/tools/config-docs.js --write   rewrite both (npm run gen:config-docs)
 *   node bin/tools/config-docs.js           exit 1 if either is out of date
 *
 * The unit tests call `staleFiles()` as well, so a schema change without regenerating fails them.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { PlatformConfigSchema } from "../config";
import { innerSchema, keyDocs } from "../config-schema";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Everything below this line of Pulumi.yaml is generated. */
const YAML_MARKER = "# Generated from config.ts by `npm run gen:config-docs`; edit the schema, not this block.";
/** The config reference page; the table between these two lines of it is generated. */
const CONFIG_PAGE = "docs/config.md";
const TABLE_BEGIN = "<!-- config table: generated from config.ts by `npm run gen:config-docs` -->";
const TABLE_END = "<!-- end of config table -->";

interface KeyRow {
    /** Path under `exchange:`, e.g. ["router", "resources", "limits", "cpu"]. */
    path: string[];
    type: string;
    default: string;
    allowed: string;
    description: string;
}

function typeName(schema: z.ZodType): string {
    const def = schema._zod.def as { type: string; format?: string };
    switch (def.type) {
        case "number":
            return def.format === "safeint" ? "integer" : "number";
        case "enum":
            return "string";
        default:
            return def.type;
    }
}

function formatDefault(value: unknown): string {
    return typeof value === "string" ? `\`${value}\`` : `\`${JSON.stringify(value)}\``;
}

/** The docs and the default found on the way from a key's schema to its inner schema. */
function wrapperFacts(schema: z.ZodType): { allowed?: string; description?: string; default?: unknown } {
    const facts: { allowed?: string; description?: string; default?: unknown } = {};
    for (let node: z.ZodType | undefined = schema; node !== undefined;) {
        const docs = keyDocs(node);
        facts.allowed ??= docs?.allowed;
        facts.description ??= docs?.description;
        const def = node._zod.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown };
        if (def.type === "default" && facts.default === undefined) {
            facts.default = def.defaultValue;
        }
        node = ["default", "prefault", "optional"].includes(def.type) ? def.innerType : undefined;
    }
    return facts;
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
    const inner = innerSchema(schema);
    return inner._zod.def.type === "object" ? (inner as z.ZodObject).shape : undefined;
}

/** One row per documented key: every leaf, and each nested object that carries a description. */
function rowsOf(schema: z.ZodType, keyPath: string[]): KeyRow[] {
    const facts = wrapperFacts(schema);
    const shape = shapeOf(schema);
    const row = (type: string): KeyRow => ({
        path: keyPath,
        type,
        default: facts.default === undefined ? "none" : formatDefault(facts.default),
        allowed: facts.allowed ?? "",
        description: facts.description ?? "",
    });
    if (shape === undefined) {
        return [row(typeName(innerSchema(schema)))];
    }
    const children = Object.entries(shape).flatMap(([key, child]) => rowsOf(child, [...keyPath, key]));
    return keyPath.length > 1 && facts.description !== undefined ? [row("object"), ...children] : children;
}

/** One cell for values that may differ per service: `x`, or `router, wsStream: x; postgres, redis: y`. */
function mergedCell(values: { section: string; value: string }[]): string {
    const bySection = new Map<string, string[]>();
    for (const { section, value } of values) {
        bySection.set(value, [...(bySection.get(value) ?? []), section]);
    }
    if (bySection.size === 1) {
        return values[0].value;
    }
    return [...bySection.entries()].map(([value, sections]) => `${sections.join(", ")}: ${value}`).join("; ");
}

/** The config table: keys that every service has are written once, as `<svc>.<key>`. */
function configTable(): string {
    const sections = Object.entries(PlatformConfigSchema.shape);
    const isService = ([, schema]: [string, z.ZodType]) => shapeOf(schema)?.image !== undefined;
    const services = sections.filter(isService).map(([name]) => name);
    const rows = sections.flatMap(([name, schema]) => rowsOf(schema, [name]));
    const lines = ["| key | type | default | allowed | what |", "|---|---|---|---|---|"];
    const written = new Set<KeyRow>();
    for (const row of rows) {
        if (written.has(row)) {
            continue;
        }
        const suffix = row.path.slice(1).join(".");
        const group = services.includes(row.path[0])
            ? rows.filter((r) => services.includes(r.path[0]) && r.path.slice(1).join(".") === suffix)
            : [row];
        group.forEach((r) => written.add(r));
        const owners = group.map((r) => r.path[0]);
        const key =
            group.length === services.length && group.length > 1
                ? `<svc>.${suffix}`
                : owners.map((owner) => [owner, ...row.path.slice(1)].join(".")).join(", ");
        const cell = (field: "type" | "default" | "allowed" | "description") =>
            mergedCell(group.map((r) => ({ section: r.path[0], value: r[field] })));
        lines.push(
            `| \`${key}\` | ${cell("type")} | ${cell("default")} | ${cell("allowed")} | ${cell("description")} |`,
        );
    }
    lines.push(
        "",
        `\`<svc>\` is ${services.map((s) => `\`${s}\``).join(", ")}. Unknown keys at any level are refused.`,
    );
    return lines.join("\n");
}

/** Pulumi.yaml's `config:` block: each top-level key with its type, default and description. */
function configBlock(): string {
    const lines = [YAML_MARKER, "config:"];
    for (const [name, schema] of Object.entries(PlatformConfigSchema.shape)) {
        const facts = wrapperFacts(schema);
        const shape = shapeOf(schema);
        // The CLI treats a declared key without a default as required; objects default to {}.
        const defaultValue = shape === undefined ? facts.default : {};
        const summary = shape === undefined ? facts.allowed : `keys: ${Object.keys(shape).join(", ")}`;
        lines.push(
            `  ${name}:`,
            `    type: ${shape === undefined ? typeName(innerSchema(schema)) : "object"}`,
            `    default: ${JSON.stringify(defaultValue)}`,
            `    description: ${JSON.stringify([facts.description, summary].filter(Boolean).join("; "))}`,
        );
    }
    return lines.join("\n") + "\n";
}

function withYamlBlock(current: string): string {
    const start = current.indexOf(YAML_MARKER);
    return (start < 0 ? current.trimEnd() + "\n" : current.slice(0, start)) + configBlock();
}

function withConfigTable(current: string): string {
    const start = current.indexOf(TABLE_BEGIN);
    const end = current.indexOf(TABLE_END);
    if (start < 0 || end < start) {
        throw new Error(`${CONFIG_PAGE} lacks the markers ${TABLE_BEGIN} ... ${TABLE_END}`);
    }
    return current.slice(0, start + TABLE_BEGIN.length) + "\n" + configTable() + "\n" + current.slice(end);
}

const TARGETS: { file: string; update: (current: string) => string }[] = [
    { file: "Pulumi.yaml", update: withYamlBlock },
    { file: CONFIG_PAGE, update: withConfigTable },
];

/** Files whose generated part differs from what the schema gives now. */
export function staleFiles(root: string = PROJECT_ROOT): string[] {
    return TARGETS.filter(({ file, update }) => {
        const current = fs.readFileSync(path.join(root, file), "utf8");
        return update(current) !== current;
    }).map(({ file }) => file);
}

export function writeFiles(root: string = PROJECT_ROOT): void {
    for (const { file, update } of TARGETS) {
        const target = path.join(root, file);
        fs.writeFileSync(target, update(fs.readFileSync(target, "utf8")));
    }
}

if (require.main === module) {
    if (process.argv.includes("--write")) {
        writeFiles();
    } else {
        const stale = staleFiles();
        if (stale.length > 0) {
            console.error(`out of date: ${stale.join(", ")}; run npm run gen:config-docs`);
            process.exit(1);
        }
    }
}
