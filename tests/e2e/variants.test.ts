/**
 * End to end over real traffic, the production variants on a real node: ClientIP stickiness of
 * the WebSocket stream over 3 replicas (and its absence), the headless Service's DNS records and
 * the router's metrics port.
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { httpGet, localImagesConfig, nodeImages, PulumiWorkspace } from "../support";
import { POSTGRES, ROUTER, WS_STREAM } from "@exchange/contract";
import { nonEmpty } from "../assertions";
import {
    e2eKubectl,
    execInPod,
    readyPods,
    startProbePod,
    webSocketExchanges,
    e2eDevWorkspace,
    destroyDev,
} from "./cluster";
import { helloPod } from "./netns-client";

const METRICS_PORT = 9090;

describe("end to end over real traffic: production variants on a real node", function () {
    this.timeout(20 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let images: Record<string, string>;
    let probe: string;
    let wsAddress: string;

    // prod's Service variants, on the dev stack (prod's own stack names a cluster context that the
    // local cluster does not have, and asks for more CPU than one small node offers).
    const variants = (affinity: "ClientIP" | "None") => ({
        wsStream: { replicas: 3, sessionAffinity: affinity },
        router: { metricsPort: METRICS_PORT },
        postgres: { headless: true },
    });

    before(async () => {
        kubectl = e2eKubectl();
        images = await nodeImages();
        workspace = await e2eDevWorkspace();
        workspace.writeStackConfig("dev", localImagesConfig(images, variants("ClientIP")));
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        wsAddress = (await kubectl.json(["get", "service", WS_STREAM.serviceName])).spec.clusterIP;
        probe = await startProbePod(kubectl, images.postgres);
    });

    after(async () => {
        await kubectl?.run(["delete", "pod", probe ?? "exchange-e2e-probe", "--ignore-not-found", "--wait=false"]);
        if (workspace) {
            await destroyDev(workspace);
            workspace.remove();
        }
    });

    it("with ClientIP affinity, one client's repeated WebSocket connections land on one of the 3 pods", async () => {
        const pods = (await readyPods(kubectl, WS_STREAM.appName)).map((pod) => pod.name);
        assert.strictEqual(pods.length, 3);
        const exchanges = await webSocketExchanges(`ws://${wsAddress}/ws`, 10);
        assert.deepStrictEqual(
            exchanges.filter((e) => e.error),
            [],
            "every connection completed",
        );
        const landed = new Set(exchanges.map(helloPod));
        assert.strictEqual(landed.size, 1, `all on one pod: ${[...landed]}`);
        assert.ok(pods.includes([...landed][0]));
    });

    it("with affinity off, the same client's connections spread over more than one pod", async () => {
        workspace.writeStackConfig("dev", localImagesConfig(images, variants("None")));
        const up = await workspace.up("dev");
        assert.strictEqual(up.code, 0, up.output);
        const service = await kubectl.json(["get", "service", WS_STREAM.serviceName]);
        assert.strictEqual(service.spec.sessionAffinity, "None");
        // 20 connections over 3 pods all landing on one: (1/3)^19, about 1 in a billion.
        const exchanges = await webSocketExchanges(`ws://${wsAddress}/ws`, 20);
        assert.deepStrictEqual(
            exchanges.filter((e) => e.error),
            [],
            "every connection completed",
        );
        const landed = new Set(exchanges.map(helloPod));
        assert.ok(landed.size > 1, `spread over more than one pod: ${[...landed]}`);
    });

    it("the headless Service's DNS name returns the PostgreSQL pod addresses", async () => {
        const fqdn = `${POSTGRES.appName}-headless.default.svc.cluster.local`;
        const podIps = (await readyPods(kubectl, POSTGRES.appName)).map((pod) => pod.ip).sort();
        const resolved = await execInPod(kubectl, probe, `getent ahostsv4 ${fqdn} | awk '{ print $1 }' | sort -u`);
        assert.strictEqual(resolved.code, 0, resolved.output);
        assert.deepStrictEqual(resolved.stdout.trim().split("\n"), podIps);
    });

    it("the router's metrics port answers on 9090, on its Service and on each pod", async () => {
        const routerAddress = (await kubectl.json(["get", "service", ROUTER.serviceName])).spec.clusterIP;
        const viaService = await httpGet(`http://${routerAddress}:${METRICS_PORT}/metrics`);
        assert.strictEqual(viaService.status, 200, viaService.body);
        for (const pod of nonEmpty(await readyPods(kubectl, ROUTER.appName), "ready router pod")) {
            const direct = await httpGet(`http://${pod.ip}:${METRICS_PORT}/metrics`);
            assert.strictEqual(direct.status, 200, `${pod.name}: ${direct.body}`);
        }
    });
});
