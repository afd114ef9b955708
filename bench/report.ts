/**
 * The benchmark's figures, written where the docs link them (docs/benchmark/), never pasted:
 * each run writes its Markdown report (`<node>.md`, node being kwok or real) and its medians
 * (`<node>.json`), then redraws `ratios.svg`, a chart of Pulumi's time over Helm's and over
 * kubectl's for every operation of the latest run of each node kind.
 */
import * as fs from "fs";
import * as path from "path";

/** One operation's median wall time per tool, in seconds. */
export interface OperationFigures {
    operation: string;
    pulumi: number;
    helm: number;
    kubectl?: number;
}

export interface BenchRun {
    node: "kwok" | "real";
    /** ISO date and time of the run's end. */
    date: string;
    commit: string;
    cores: number;
    /** The load averages noted during the run. */
    loads: string[];
    operations: OperationFigures[];
}

const escapeXml = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars, two per operation (over Helm, over kubectl), with the 1x line marked. */
export function ratioChart(runs: BenchRun[]): string {
    const rows = runs.flatMap((run) =>
        run.operations.map((o) => ({
            label: `${o.operation} (${run.node === "real" ? "real node" : "kwok nodes"})`,
            overHelm: o.pulumi / o.helm,
            overKubectl: o.kubectl === undefined ? undefined : o.pulumi / o.kubectl,
        })),
    );
    const labelWidth = 470;
    const barArea = 400;
    const rowHeight = 44;
    const top = 58;
    const max = Math.max(2, ...rows.flatMap((r) => [r.overHelm, r.overKubectl ?? 0]));
    const x = (ratio: number): number => labelWidth + (ratio / max) * barArea;
    const height = top + rows.length * rowHeight + 30;
    const width = labelWidth + barArea + 70;
    const bar = (y: number, ratio: number, colour: string, name: string): string =>
        `<rect x="${labelWidth}" y="${y}" width="${(x(ratio) - labelWidth).toFixed(1)}" height="14" fill="${colour}"/>` +
        `<text x="${(x(ratio) + 4).toFixed(1)}" y="${y + 11}" font-size="11">${ratio.toFixed(1)}x ${name}</text>`;
    const sources = runs.map((r) => `${r.node}: ${r.date.slice(0, 16).replace("T", " ")} UTC, commit ${r.commit}`);
    const parts = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<text x="10" y="20" font-size="14" font-weight="bold">Pulumi's wall time over Helm's and kubectl's (median; lower is better)</text>`,
        `<text x="10" y="38" font-size="11">${escapeXml(sources.join("; "))}</text>`,
        `<line x1="${x(1)}" y1="${top - 8}" x2="${x(1)}" y2="${height - 24}" stroke="#444" stroke-dasharray="4 3"/>`,
        `<text x="${x(1) - 8}" y="${height - 10}" font-size="11">1x</text>`,
    ];
    rows.forEach((row, i) => {
        const y = top + i * rowHeight;
        parts.push(`<text x="10" y="${y + 18}" font-size="12">${escapeXml(row.label)}</text>`);
        parts.push(bar(y, row.overHelm, "#4e79a7", "Helm"));
        if (row.overKubectl !== undefined) {
            parts.push(bar(y + 18, row.overKubectl, "#f28e2b", "kubectl"));
        }
    });
    parts.push("</svg>");
    return parts.join("\n") + "\n";
}

/** Writes RUN's report and figures into DIR and redraws the chart from every node kind's latest run there. */
export function writeBenchRun(dir: string, run: BenchRun, markdown: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const header =
        `# Benchmark, ${run.node === "real" ? "real node" : "kwok nodes"}\n\n` +
        `Written by \`bench/run.sh${run.node === "real" ? " --node real" : ""}\` on ${run.date} at commit ${run.commit}, ` +
        `${run.cores} cores; load averages over the run: ${run.loads.join("; ")}. Chart: [ratios.svg](ratios.svg).\n\n`;
    fs.writeFileSync(path.join(dir, `${run.node}.md`), header + markdown.trim() + "\n");
    fs.writeFileSync(path.join(dir, `${run.node}.json`), JSON.stringify(run, null, 2) + "\n");
    const runs = (["kwok", "real"] as const)
        .map((node) => path.join(dir, `${node}.json`))
        .filter((file) => fs.existsSync(file))
        .map((file) => JSON.parse(fs.readFileSync(file, "utf8")) as BenchRun);
    fs.writeFileSync(path.join(dir, "ratios.svg"), ratioChart(runs));
}
