/**
 * Versions are what they say they are. toolchain/versions.env is the one place a version is
 * written; every other place that names one (the two package.json files and their locks, the
 * workflows, the plugins the engine loads) must agree with it, and each plugin is asked itself:
 * the version it reports, the module version it was built from and the SDK package that drives
 * it are compared, so a binary registered under another release's number fails here.
 *
 * Needs the toolchain on PATH (scripts/test.sh runs this suite after toolchain_env).
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { LanguageRuntimeClient } from "@pulumi/pulumi/proto/language_grpc_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { PROJECT_ROOT as REPO, toolchainVersions } from "../support";

const PACKAGES = [REPO, path.join(REPO, "policy")];

function readJson(file: string): any {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Every version of `name` that a package's lock installs, at any depth. */
function lockedVersions(dir: string, name: string): string[] {
    const lock = readJson(path.join(dir, "package-lock.json"));
    return Object.entries<any>(lock.packages)
        .filter(([where]) => where === `node_modules/${name}` || where.endsWith(`/node_modules/${name}`))
        .map(([, entry]) => entry.version);
}

function run(command: string, args: string[]): string {
    const result = spawnSync(command, args, {
        encoding: "utf8",
        env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    assert.strictEqual(result.status, 0, `${command} ${args.join(" ")}:\n${result.stdout}${result.stderr}`);
    return result.stdout;
}

/**
 * The module versions a Go binary was built from, as `go version -m` reads them: its main module
 * (the CLI is built from pkg/v3 itself) and its dependencies.
 */
function modules(binary: string): Map<string, string> {
    const lines = run("go", ["version", "-m", binary])
        .split("\n")
        .map((line) => line.trim().split(/\s+/));
    return new Map(
        lines.filter((fields) => fields[0] === "mod" || fields[0] === "dep").map((fields) => [fields[1], fields[2]]),
    );
}

/** The resource plugin `name` registered at `version` (`pulumi plugin ls`), and its binary. */
function registered(name: string, version: string): string {
    const plugins: { name: string; kind: string; version: string }[] = JSON.parse(
        run("pulumi", ["plugin", "ls", "--json"]),
    );
    const matches = plugins.filter((p) => p.kind === "resource" && p.name === name && p.version === version);
    assert.strictEqual(matches.length, 1, `resource plugin ${name} ${version} is registered once`);
    const home = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    return path.join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
}

type PluginClient = typeof ResourceProviderClient | typeof LanguageRuntimeClient;

/**
 * The version a plugin (a provider, or a language host with `LanguageRuntimeClient`) reports to
 * the engine: starts it as the engine does (it prints its port), asks GetPluginInfo over gRPC on
 * loopback, and stops it.
 */
async function reportedVersion(binary: string, Client: PluginClient = ResourceProviderClient): Promise<string> {
    const child = spawn(binary, [], { stdio: ["ignore", "pipe", "pipe"] });
    try {
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout.on("data", (chunk: Buffer) => {
                out += chunk.toString();
                const match = /^(\d+)\s*$/m.exec(out);
                if (match) resolve(match[1]);
            });
            child.on("exit", (code) => reject(new Error(`${binary} exited (${code}) before printing its port`)));
            setTimeout(() => reject(new Error(`${binary} printed no port within 30 s`)), 30_000).unref();
        });
        const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) =>
                client.getPluginInfo(new Empty(), (error, info) =>
                    error ? reject(error) : resolve(info!.getVersion()),
                ),
            );
        } finally {
            client.close();
        }
    } finally {
        child.kill();
    }
}

describe("versions: one place, and each plugin is what it is registered as", function () {
    this.timeout(60_000);
    const pinned = toolchainVersions();

    it("every pin in versions.env is read somewhere outside it", () => {
        const names = Object.keys(pinned);
        assert.ok(names.length > 10, "versions.env parsed");
        const sources = spawnSync("git", ["grep", "-l", "-E", names.join("|"), "--", ".", ":!toolchain/versions.env"], {
            cwd: REPO,
            encoding: "utf8",
        }).stdout;
        const text = sources
            .split("\n")
            .filter((file) => file !== "")
            .map((file) => fs.readFileSync(path.join(REPO, file), "utf8"))
            .join("\n");
        const unused = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(text));
        assert.deepStrictEqual(unused, [], "pins nothing reads");
    });

    it("both packages pin @pulumi/pulumi at PULUMI_VERSION and install no other copy of it", () => {
        for (const dir of PACKAGES) {
            assert.strictEqual(
                readJson(path.join(dir, "package.json")).dependencies["@pulumi/pulumi"],
                pinned.PULUMI_VERSION,
            );
            const locked = lockedVersions(dir, "@pulumi/pulumi");
            assert.ok(locked.length > 0, `${dir}: @pulumi/pulumi is locked`);
            assert.deepStrictEqual([...new Set(locked)], [pinned.PULUMI_VERSION], `${dir}: every @pulumi/pulumi`);
        }
    });

    it("@pulumi/kubernetes, @pulumi/random and @pulumi/policy are pinned and locked at their plugins' versions", () => {
        const expected: [string, string, string][] = [
            [REPO, "@pulumi/kubernetes", pinned.PULUMI_KUBERNETES_VERSION],
            [REPO, "@pulumi/random", pinned.PULUMI_RANDOM_VERSION],
            [path.join(REPO, "policy"), "@pulumi/policy", pinned.PULUMI_POLICY_VERSION],
        ];
        for (const [dir, name, version] of expected) {
            assert.ok(version, `${name} has a pin`);
            assert.strictEqual(readJson(path.join(dir, "package.json")).dependencies[name], version, name);
            assert.deepStrictEqual(lockedVersions(dir, name), [version], `${name} in ${dir}'s lock`);
        }
    });

    it("the two packages agree on the dev dependencies they share, and on engines", () => {
        const [program, pack] = PACKAGES.map((dir) => readJson(path.join(dir, "package.json")));
        const shared = Object.keys(program.devDependencies).filter((name) => name in pack.devDependencies);
        assert.ok(shared.length > 0, "the packages share dev dependencies");
        for (const name of shared) {
            assert.strictEqual(pack.devDependencies[name], program.devDependencies[name], name);
        }
        assert.deepStrictEqual(pack.engines, program.engines);
    });

    it("the tests run on NODE_VERSION, an LTS line package.json's engines admit", () => {
        assert.strictEqual(process.version, `v${pinned.NODE_VERSION}`);
        const major = pinned.NODE_VERSION.split(".")[0];
        const engines: string = readJson(path.join(REPO, "package.json")).engines.node;
        assert.match(engines, new RegExp(`\\^${major}\\.`), `engines (${engines}) name Node.js ${major}`);
    });

    it("the workflows install the pinned Pulumi CLI and Node.js", () => {
        const workflows = path.join(REPO, ".github", "workflows");
        const text = fs
            .readdirSync(workflows)
            .map((file) => fs.readFileSync(path.join(workflows, file), "utf8"))
            .join("\n");
        const values = (key: string) => [...text.matchAll(new RegExp(`^\\s*${key}:\\s*(\\S+)`, "gm"))].map((m) => m[1]);
        assert.ok(values("pulumi-version").length > 0 && values("node-version").length > 0, "both are set");
        assert.deepStrictEqual([...new Set(values("pulumi-version"))], [pinned.PULUMI_VERSION]);
        assert.deepStrictEqual([...new Set(values("node-version"))], [pinned.NODE_VERSION]);
    });

    it("the pulumi CLI reports PULUMI_VERSION and is built from pkg/v3 and sdk/v3 at that version", () => {
        assert.strictEqual(run("pulumi", ["version"]).trim(), `v${pinned.PULUMI_VERSION}`);
        const cli = modules(run("which", ["pulumi"]).trim());
        assert.strictEqual(cli.get("github.com/pulumi/pulumi/pkg/v3"), `v${pinned.PULUMI_VERSION}`);
        assert.strictEqual(cli.get("github.com/pulumi/pulumi/sdk/v3"), `v${pinned.PULUMI_VERSION}`);
    });

    it("the Node.js language host reports PULUMI_VERSION and is built from sdk/v3 at that version", async () => {
        const host = path.join(path.dirname(run("which", ["pulumi"]).trim()), "pulumi-language-nodejs");
        // As upstream's host, it reports the SDK's version variable, which carries the "v".
        assert.strictEqual(await reportedVersion(host, LanguageRuntimeClient), `v${pinned.PULUMI_VERSION}`);
        assert.strictEqual(modules(host).get("github.com/pulumi/pulumi/sdk/v3"), `v${pinned.PULUMI_VERSION}`);
    });

    it("the Kubernetes provider reports, is registered as, and is built from the release @pulumi/kubernetes is", async () => {
        const version = pinned.PULUMI_KUBERNETES_VERSION;
        const binary = registered("kubernetes", version);
        assert.strictEqual(await reportedVersion(binary), version);
        assert.strictEqual(
            modules(binary).get("github.com/pulumi/pulumi-kubernetes/provider/v4"),
            pinned.PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION,
        );
        assert.deepStrictEqual(lockedVersions(REPO, "@pulumi/kubernetes"), [version]);
    });

    it("the random provider stand-in reports and is registered as the @pulumi/random it serves", async () => {
        const version = pinned.PULUMI_RANDOM_VERSION;
        const binary = registered("random", version);
        assert.strictEqual(await reportedVersion(binary), version);
        assert.strictEqual(modules(binary).get("github.com/pulumi/pulumi/sdk/v3"), `v${pinned.PULUMI_VERSION}`);
        assert.deepStrictEqual(lockedVersions(REPO, "@pulumi/random"), [version]);
    });
});
