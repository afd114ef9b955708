/** Pulumi.yaml's config block and the config table of docs/config.md are generated from the schema. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { staleFiles, writeFiles } from "../../tools/config-docs";
import { PROJECT_ROOT } from "../support";

const CONFIG_PAGE = path.join("docs", "config.md");

describe("generated config docs", () => {
    it("Pulumi.yaml and docs/config.md match the schema (run npm run gen:config-docs after a schema change)", () => {
        assert.deepStrictEqual(staleFiles(PROJECT_ROOT), []);
    });

    it("an edited table or config block is seen as stale, and regenerating repairs it", () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "config-docs-"));
        try {
            const page = fs.readFileSync(path.join(PROJECT_ROOT, CONFIG_PAGE), "utf8");
            const project = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
            const stalePage = page.replace("| `namespace` | string | `default`", "| `namespace` | string | `prod`");
            fs.mkdirSync(path.join(copy, "docs"));
            fs.writeFileSync(path.join(copy, CONFIG_PAGE), stalePage);
            fs.writeFileSync(path.join(copy, "Pulumi.yaml"), project.replace("  redis:\n", "  rediss:\n"));
            assert.deepStrictEqual(staleFiles(copy), ["Pulumi.yaml", "docs/config.md"]);
            writeFiles(copy);
            assert.deepStrictEqual(staleFiles(copy), []);
            assert.strictEqual(fs.readFileSync(path.join(copy, CONFIG_PAGE), "utf8"), page);
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});
