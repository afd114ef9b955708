/**
 * The S3-compatible store of the backup drills and the several-nodes suite
 * (tests/object-store/object-store.sh), run inside the real node's namespace on the node's
 * address, and the Secret of its access keys as a bucket's owner would hand it over.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { CommandResult, PROJECT_ROOT, runCommand } from "../support";

const OBJECT_STORE = path.join(PROJECT_ROOT, "tests", "object-store", "object-store.sh");

/** Where the store answers, as a stack's `postgres.backup.store` names it. */
export interface StoreLocation {
    endpoint: string;
    port: number;
    bucket: string;
}

export function objectStore(args: string[]): Promise<CommandResult> {
    return runCommand("bash", [OBJECT_STORE, ...args], { timeoutMs: 60 * 60_000 });
}

/** The InternalIP of the cluster's first real node, where the store listens. */
export async function storeNodeIp(kubectl: Kubectl): Promise<string> {
    const node = (await kubectl.json(["get", "nodes"])).items.find(
        (n: any) => n.metadata.labels["type"] !== "kwok" && !/-n\d+$/.test(n.metadata.name),
    );
    return node.status.addresses.find((a: any) => a.type === "InternalIP").address;
}

/** Starts (or reuses) the store and creates SECRET, in kubectl's namespace, with its access keys. */
export async function startObjectStore(kubectl: Kubectl, secret: string): Promise<StoreLocation> {
    const started = Date.now();
    const store = await objectStore(["start", await storeNodeIp(kubectl)]);
    assert.strictEqual(store.code, 0, store.output);
    const [endpoint, port, bucket] = store.stdout.trim().split(/\s+/);
    console.log(`      object store on ${endpoint}:${port} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    const credentials = fs.readFileSync(
        path.join(process.env.EXCHANGE_CLUSTER_STATE!, "object-store", "credentials"),
        "utf8",
    );
    const keys = Object.fromEntries(
        credentials
            .trim()
            .split("\n")
            .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    await kubectl.run(["delete", "secret", secret, "--ignore-not-found"]);
    await kubectl.run([
        "create",
        "secret",
        "generic",
        secret,
        `--from-literal=AWS_ACCESS_KEY_ID=${keys.AWS_ACCESS_KEY_ID}`,
        `--from-literal=AWS_SECRET_ACCESS_KEY=${keys.AWS_SECRET_ACCESS_KEY}`,
    ]);
    return { endpoint, port: Number(port), bucket };
}
