/**
 * The local cluster's node as the end-to-end tests and the benchmark reach it, through
 * cluster/local-cluster.sh: the images imported into it, HTTP requests sent from inside its network
 * namespace, and the dev stack's config on those images.
 */
import * as assert from "assert";
import * as path from "path";
import { PROJECT_ROOT, stackConfig, withConfig } from "./project";
import { runCommand } from "./workspace";

export const LOCAL_CLUSTER = path.join(PROJECT_ROOT, "cluster", "local-cluster.sh");

export interface HttpAnswer {
    status: number;
    body: string;
}

/** One HTTP request from inside the namespace (curl, 10 s at most). */
export async function httpGet(url: string, extraCurlArgs: string[] = []): Promise<HttpAnswer> {
    const result = await runCommand(LOCAL_CLUSTER, ["curl", url, "--write-out", "\n%{http_code}", ...extraCurlArgs], {
        timeoutMs: 30_000,
    });
    assert.strictEqual(result.code, 0, `curl ${url} from the node's namespace:\n${result.output}`);
    const cut = result.stdout.lastIndexOf("\n");
    return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

/** The images imported into the node, by name (`router` for localhost/exchange/router:<tag>). */
export async function nodeImages(): Promise<Record<string, string>> {
    const result = await runCommand(LOCAL_CLUSTER, ["images"], { timeoutMs: 30_000 });
    assert.strictEqual(result.code, 0, result.output);
    return Object.fromEntries(
        result.stdout
            .split("\n")
            .filter((line) => line.trim())
            .map((line) => {
                const ref = line.split(/\s+/)[0];
                return [ref.slice(ref.lastIndexOf("/") + 1, ref.lastIndexOf(":")), ref];
            }),
    );
}

/** The dev stack's config on the node's images (nodeImages), with `overrides` deep-merged. */
export function localImagesConfig(
    images: Record<string, string>,
    overrides: Record<string, unknown> = {},
): Record<string, string> {
    const base = withConfig(stackConfig("dev"), {
        router: { image: images.router },
        wsStream: { image: images["ws-stream"] },
        postgres: { image: images.postgres },
        redis: { image: images.redis },
    });
    return withConfig(base, overrides);
}
