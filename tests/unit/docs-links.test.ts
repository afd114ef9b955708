/** Every relative link in the project's Markdown documents leads to a file, and its anchor to a heading there. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT } from "../support";

/** The documents people follow links in: the README, docs/, and the two packages' own READMEs. */
function projectDocuments(root: string): string[] {
    const docs = fs
        .readdirSync(path.join(root, "docs"))
        .filter((name) => name.endsWith(".md"))
        .map((name) => path.join("docs", name));
    return ["README.md", ...docs, path.join("policy", "README.md"), path.join("images", "README.md")];
}

/** Markdown without its fenced code blocks, where nothing is a link or a heading. */
function withoutCodeBlocks(markdown: string): string {
    return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** The anchors GitHub gives a document's headings: lowercase, punctuation dropped, spaces as `-`. */
function anchorsOf(markdown: string): Set<string> {
    const anchors = new Set<string>();
    for (const [, heading] of withoutCodeBlocks(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        const base = heading
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/\s/g, "-");
        let anchor = base;
        for (let n = 1; anchors.has(anchor); n++) {
            anchor = `${base}-${n}`;
        }
        anchors.add(anchor);
    }
    return anchors;
}

/** The targets of a document's inline links that are not URLs, e.g. `../policy/README.md#policies`. */
function relativeLinks(markdown: string): string[] {
    const prose = withoutCodeBlocks(markdown).replace(/`[^`\n]*`/g, "");
    return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target).filter((t) => !/^[a-z]+:/i.test(t));
}

/** Every relative link of `documents` (paths under `root`), and those that lead nowhere as `document: target`. */
function checkLinks(root: string, documents: string[]): { links: string[]; broken: string[] } {
    const links: string[] = [];
    const broken: string[] = [];
    for (const document of documents) {
        const markdown = fs.readFileSync(path.join(root, document), "utf8");
        for (const target of relativeLinks(markdown)) {
            links.push(`${document}: ${target}`);
            const [file, anchor] = target.split("#", 2);
            const linked = file === "" ? path.join(root, document) : path.resolve(root, path.dirname(document), file);
            const exists = fs.existsSync(linked);
            const anchorFound =
                anchor === undefined || (exists && anchorsOf(fs.readFileSync(linked, "utf8")).has(anchor));
            if (!exists || !anchorFound) {
                broken.push(`${document}: ${target}`);
            }
        }
    }
    return { links, broken };
}

describe("links between the documents", () => {
    it("every relative link in README.md, docs/ and the packages' READMEs leads to a file and a heading", () => {
        const documents = projectDocuments(PROJECT_ROOT);
        assert.ok(documents.includes(path.join("docs", "config.md")), "docs/ holds the config reference");
        const { links, broken } = checkLinks(PROJECT_ROOT, documents);
        assert.ok(
            links.some((link) => link.includes("#")),
            "the documents link to headings",
        );
        assert.deepStrictEqual(broken, []);
    });

    it("a link to a missing file, a missing heading or a missing anchor of the same document is reported", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
        try {
            fs.mkdirSync(path.join(root, "docs"));
            fs.writeFileSync(path.join(root, "docs", "a.md"), "# A page\n\n## Measured (2 cores, 24 GiB)\n");
            fs.writeFileSync(
                path.join(root, "README.md"),
                [
                    "# Top",
                    "## The `two` commands",
                    "[ok](docs/a.md) [ok](docs/a.md#measured-2-cores-24-gib) [ok](#the-two-commands)",
                    "[ok](https://example.com/x) `[not a link](nowhere.md)`",
                    "```",
                    "[not a link](nowhere.md)",
                    "```",
                    "[file](docs/b.md) [heading](docs/a.md#measured) [here](#nothing)",
                ].join("\n"),
            );
            const { links, broken } = checkLinks(root, ["README.md", path.join("docs", "a.md")]);
            assert.strictEqual(links.length, 6);
            assert.deepStrictEqual(broken, [
                "README.md: docs/b.md",
                "README.md: docs/a.md#measured",
                "README.md: #nothing",
            ]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
