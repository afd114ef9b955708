/** Pulumi.yaml's config block and the README's config table are generated from the schema. */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { staleFiles, writeFiles } from "../../tools/config-docs";
import { PROJECT_ROOT } from "../support";

describe("generated config docs", () => {
    it("Pulumi.yaml and README.md match the schema (run npm run gen:config-docs after a schema change)", () => {
        assert.deepStrictEqual(staleFiles(PROJECT_ROOT), []);
    });

    it("an edited table or config block is seen as stale, and regenerating repairs it", () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), "config-docs-"));
        try {
            const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
            const project = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
            fs.writeFileSync(
                path.join(copy, "README.md"),
                readme.replace("| `namespace` | string | `default`", "| `namespace` | string | `prod`"),
            );
            fs.writeFileSync(path.join(copy, "Pulumi.yaml"), project.replace("  redis:\n", "  rediss:\n"));
            assert.deepStrictEqual(staleFiles(copy), ["Pulumi.yaml", "README.md"]);
            writeFiles(copy);
            assert.deepStrictEqual(staleFiles(copy), []);
            assert.strictEqual(fs.readFileSync(path.join(copy, "README.md"), "utf8"), readme);
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});
