/**
 * Reading a trace the Pulumi CLI writes with `--otel-traces file://FILE`: OTLP JSON, one export
 * request per line. The preview suite checks what the plugins traced; the benchmark times the
 * engine's calls from it.
 */
import * as fs from "fs";

export interface TraceSpan {
    /** The `service.name` of the process that recorded it: `pulumi-cli` for the engine's own calls. */
    service: string;
    /** The gRPC method, e.g. `pulumirpc.Analyzer/Analyze` (the caller's span) or `/pulumirpc...` (the plugin's). */
    name: string;
    ms: number;
    /** The span's string attribute values, one per line (a plugin's span carries its request there). */
    attributeText: string;
}

interface Attribute {
    key: string;
    value: { stringValue?: string };
}

interface ExportRequest {
    resourceSpans: {
        resource: { attributes?: Attribute[] };
        scopeSpans: {
            spans: { name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes?: Attribute[] }[];
        }[];
    }[];
}

/** Every span of the trace FILE. */
export function readTraceSpans(file: string): TraceSpan[] {
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .flatMap((line) => (JSON.parse(line) as ExportRequest).resourceSpans)
        .flatMap((resourceSpans) => {
            const service =
                resourceSpans.resource.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
            return resourceSpans.scopeSpans
                .flatMap((scope) => scope.spans)
                .map((span) => ({
                    service,
                    name: span.name,
                    ms: Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6,
                    attributeText: (span.attributes ?? []).map((a) => a.value.stringValue ?? "").join("\n"),
                }));
        });
}
