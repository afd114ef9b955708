/**
 * The prod stack that every suite of tests/nodes checks: `Pulumi.prod.yaml` as written, deployed
 * once with the real `pulumi` CLI and the policy pack onto the local cluster of 3 real nodes in 3
 * zones (scripts/test.sh starts it with `local-cluster.sh start --node real --nodes 3
 * --network-policies --metrics-server --prometheus`). What a real cluster and registry would supply comes as
 * an overlay, never as an edit of the stack file: a kubeconfig whose context is named
 * exchange-prod; the images built here; the namespace where this cluster's ingress controller of
 * class nginx runs (Traefik's, which the NetworkPolicies must admit instead of ingress-nginx's);
 * and a backup store (the S3-compatible store of the backup drills, on node 1, and its keys in
 * the Secret the stack names): with none, PostgreSQL's restore check refuses to start on an empty
 * volume, as it should.
 *
 * The stack stays deployed after the suites: its claims are protected (`storage.protect`), so a
 * destroy would be refused, and the cluster is thrown away after them.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { nodeImages, PulumiWorkspace, runCommand, stackConfig, withConfig } from "../support";
import { e2eKubeconfig, e2eKubectl, INGRESS_CONTROLLER_NAMESPACE } from "../e2e/cluster";
import { objectStore, startObjectStore } from "../e2e/object-store";
import { parseConfig, PlatformConfig } from "../../config";
import { CONFIG_NAMESPACE } from "../../config-schema";

const PROD_CONTEXT = "exchange-prod";
const BACKUP_STORE_SECRET = "exchange-backup-store";
const ZONE_LABEL = "topology.kubernetes.io/zone";

export interface ProdStack {
    kubectl: Kubectl;
    workspace: PulumiWorkspace;
    /** The stack file's config, parsed by the program's own parser (defaults filled in). */
    config: PlatformConfig;
    /** The config deployed: the stack file's with the overlay (key -> JSON text, as stackConfig). */
    deployedConfig: Record<string, string>;
    /** The stack's public host, and the front door's address (reached from the nodes only). */
    host: string;
    ingressAddress: string;
    /** Node name -> zone, and node name -> its index in the local cluster (1 is exchange-node). */
    zones: Map<string, string>;
    indexes: Map<string, number>;
}

let deployed: Promise<ProdStack> | undefined;

/** The deployed prod stack: deployed by the first suite that asks, shared by the others. */
export function prodStack(): Promise<ProdStack> {
    deployed ??= deployProd();
    return deployed;
}

// A root hook: after every suite of the run, whichever deployed it.
after(async () => {
    if (deployed !== undefined) {
        (await deployed.catch(() => undefined))?.workspace.remove();
        await objectStore(["stop"]);
    }
});

async function deployProd(): Promise<ProdStack> {
    const kubectl = e2eKubectl();
    const zones = new Map<string, string>();
    const indexes = new Map<string, number>();
    const nodes = (await kubectl.json(["get", "nodes"])).items.filter(
        (node: any) => node.metadata.labels["type"] !== "kwok",
    );
    for (const node of nodes) {
        zones.set(node.metadata.name, node.metadata.labels[ZONE_LABEL]);
        const suffix = /-n(\d+)$/.exec(node.metadata.name);
        indexes.set(node.metadata.name, suffix ? Number(suffix[1]) : 1);
    }
    assert.strictEqual(nodes.length, 3, "3 real nodes");
    assert.strictEqual(new Set(zones.values()).size, 3, `one zone each: ${[...zones]}`);

    // What a real cluster supplies: a context named as the stack expects.
    const kubeconfig = path.join(fs.mkdtempSync(path.join(path.dirname(e2eKubeconfig()), "prod-")), "kubeconfig");
    fs.copyFileSync(e2eKubeconfig(), kubeconfig);
    const renamed = await runCommand("kubectl", [
        "--kubeconfig",
        kubeconfig,
        "config",
        "rename-context",
        "exchange-local",
        PROD_CONTEXT,
    ]);
    assert.strictEqual(renamed.code, 0, renamed.output);
    // The bucket, and its keys in the Secret its owner creates (Pulumi.prod.yaml).
    const store = await startObjectStore(kubectl, BACKUP_STORE_SECRET);

    const images = await nodeImages();
    const workspace = new PulumiWorkspace(kubeconfig);
    await workspace.initStack("prod");
    const prod = stackConfig("prod");
    // What the registry and the cluster supply: the images built here, under the stack's own
    // settings; where the cluster's ingress controller runs; the bucket.
    const deployedConfig = withConfig(prod, {
        networkPolicy: { ingressControllerNamespace: INGRESS_CONTROLLER_NAMESPACE },
        router: { image: images.router },
        wsStream: { image: images["ws-stream"] },
        postgres: {
            image: images.postgres,
            backup: { store: { ...store, uriStyle: "path", verifyTls: false } },
        },
        redis: { image: images.redis },
    });
    workspace.writeStackConfig("prod", deployedConfig);
    const prefix = `${CONFIG_NAMESPACE}:`;
    const config = parseConfig(
        Object.fromEntries(
            Object.entries(prod)
                .filter(([key]) => key.startsWith(prefix))
                .map(([key, value]) => [key.slice(prefix.length), value]),
        ),
        "prod",
    );
    const started = Date.now();
    const up = await workspace.up("prod");
    assert.strictEqual(up.code, 0, up.output);
    console.log(`      pulumi up of prod on 3 nodes: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const ingress = (await kubectl.json(["get", "ingress"])).items[0];
    const host = config.publicEntry.host;
    assert.ok(host, "Pulumi.prod.yaml names a public host");
    return {
        kubectl,
        workspace,
        config,
        deployedConfig,
        host,
        ingressAddress: ingress.status.loadBalancer.ingress[0].ip,
        zones,
        indexes,
    };
}
