/**
 * The cheap guard for the cold path (scripts/cold-path.sh is the long check): a toolchain step
 * must never read a module's folder from the Go module cache without first making sure it is
 * there. On an empty cache `go list -m -f '{{.Dir}}'` prints nothing, and a build pointed at
 * "/cmd/..." failed on every fresh machine while every warm one passed.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nonEmpty } from "../assertions";

const REPO = path.resolve(__dirname, "../../..");
const TOOLCHAIN = path.join(REPO, "toolchain");

/**
 * Runs `module_dir ARGS` from toolchain/lib.sh in DIR with an empty module cache of its own, and
 * tells (before that cache is removed) whether what it printed is a module folder.
 */
function moduleDir(dir: string, args: string[], env: NodeJS.ProcessEnv) {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-empty-modcache-"));
    try {
        const result = spawnSync(
            "bash",
            ["-c", `. "${TOOLCHAIN}/lib.sh" && cd "$1" && shift && module_dir "$@"`, "_", dir, ...args],
            { encoding: "utf8", env: { ...process.env, GOMODCACHE: cache, GOFLAGS: "-mod=mod", ...env } },
        );
        const stdout = result.stdout.trim();
        const isModule = path.isAbsolute(stdout) && fs.existsSync(path.join(stdout, "go.mod"));
        return { status: result.status, stdout, stderr: result.stderr, isModule };
    } finally {
        spawnSync("chmod", ["-R", "u+w", cache]);
        fs.rmSync(cache, { recursive: true, force: true });
    }
}

/** Every shell script of the toolchain and the cluster, with its path relative to the repo. */
function scripts(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.name.endsWith(".sh")) found.push(path.relative(REPO, full));
        }
    };
    for (const dir of ["toolchain", "cluster", "scripts"]) walk(path.join(REPO, dir));
    return found;
}

describe("toolchain: reading the Go module cache", function () {
    this.timeout(120_000);

    it("module_dir downloads into an empty cache and prints a folder that exists", () => {
        const result = moduleDir(os.tmpdir(), ["github.com/google/uuid@v1.6.0"], {});
        assert.strictEqual(result.status, 0, result.stderr);
        assert.ok(result.isModule, `not a module folder: ${JSON.stringify(result.stdout)}`);
    });

    it("on an empty cache that cannot be filled, the provider's folder is an error, not a path", () => {
        // GOPROXY=off: nothing can be downloaded, as on a machine whose cache holds nothing yet
        // and whose first download failed. The old `go list -m` printed "" and exited 0 here.
        const result = moduleDir(
            path.join(TOOLCHAIN, "pulumi/provider-kubernetes"),
            ["github.com/pulumi/pulumi-kubernetes/provider/v4"],
            { GOPROXY: "off" },
        );
        assert.notStrictEqual(result.status, 0, `printed ${JSON.stringify(result.stdout)}`);
        assert.strictEqual(result.stdout, "");
        assert.match(result.stderr, /go mod download github\.com\/pulumi\/pulumi-kubernetes\/provider\/v4/);
    });

    it("no script reads a module folder except through module_dir", () => {
        // The two ways to read a folder out of the cache without filling it first.
        const cacheReads = /\{\{\s*\.Dir\s*\}\}|"Dir"|GOMODCACHE\)?\/|pkg\/mod\//;
        const offenders = nonEmpty(scripts(), "shell script")
            .filter((file) => file !== "toolchain/lib.sh" && file !== "scripts/cold-path.sh")
            .flatMap((file) =>
                fs
                    .readFileSync(path.join(REPO, file), "utf8")
                    .split("\n")
                    .map((line, i) => ({ file, line: i + 1, text: line }))
                    .filter(({ text }) => !text.trim().startsWith("#") && cacheReads.test(text)),
            );
        assert.deepStrictEqual(offenders, [], "use module_dir (toolchain/lib.sh) instead");
    });
});
