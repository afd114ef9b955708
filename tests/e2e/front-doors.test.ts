/**
 * End to end over real traffic, each supported front door in turn on the real node's Traefik 3.7:
 * the Ingresses written for ingress-nginx (served by Traefik's kubernetesIngressNGINX provider)
 * and for Traefik, then Gateway API HTTPRoutes on the cluster's Gateway traefik/traefik and on a
 * Gateway the program creates, each with and without sticky sessions (through a Gateway: `/ws` to
 * a TraefikService, which Traefik's Gateway provider resolves with its CRD provider on). One dev
 * stack, deployed with the real CLI and the policy pack, with 3 ws-stream replicas; each front
 * door is an update of it.
 * For each: `/backend/api/v1/orders` reaches the router as `/api/v1/orders`, `/ws` upgrades to a
 * WebSocket, and one client's repeated connections stay on one pod when the front door is sticky
 * and spread when it is not. Last, a Gateway the program creates with `publicEntry.tls`: its
 * HTTPS listener serves the stack's host from the Secret the stack names, verified by real clients
 * (the Ingress's TLS is proven on the prod stack, tests/nodes/front-door-tls.test.ts). Traffic goes
 * from inside the node's network namespace only.
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { eventually, httpGet, localImagesConfig, nodeImages, PulumiWorkspace } from "../support";
import { PUBLIC_ROUTES, ROUTER, WS_STREAM } from "@exchange/contract";
import { e2eKubectl, readyPods, webSocketSession, e2eDevWorkspace, destroyDev, heldWebSocketClients } from "./cluster";
import { cookieAttributes, LocalCa, TlsFrontDoor } from "./local-ca";
import { helloPod, WsExchange } from "./netns-client";

const WS_REPLICAS = 3;
/** 10 connections of a sticky client, all on one of 3 pods. */
const STICKY_CONNECTIONS = 10;
/** 20 connections over 3 pods all landing on one without stickiness: (1/3)^19, about 1 in a billion. */
const SPREAD_CONNECTIONS = 20;
const { api, stream } = PUBLIC_ROUTES;
/** The cluster's shared Gateway (cluster/addons/gateway.yaml), which the stack does not own. */
const CLUSTER_GATEWAY = { name: "traefik", namespace: "traefik", listener: "web" };

interface FrontDoor {
    title: string;
    /** Stack config on top of the dev stack's. */
    config: Record<string, unknown>;
    sticky: boolean;
    /** The Gateway the HTTPRoutes attach to, for Gateway API. */
    gateway?: { name: string; namespace: string };
}

const FRONT_DOORS: FrontDoor[] = [
    {
        title: "Ingress for ingress-nginx's annotations (Traefik's NGINX provider), stickySessions on",
        config: { publicEntry: { controller: "nginx", stickySessions: true } },
        sticky: true,
    },
    {
        title: "Ingress for ingress-nginx's annotations, stickySessions off",
        config: { publicEntry: { controller: "nginx", stickySessions: false } },
        sticky: false,
    },
    {
        title: "Ingress for Traefik, stickySessions off",
        config: { publicEntry: { controller: "traefik", stickySessions: false } },
        sticky: false,
    },
    {
        title: "Ingress for Traefik, stickySessions on",
        config: { publicEntry: { controller: "traefik", stickySessions: true } },
        sticky: true,
    },
    {
        title: "Gateway API: HTTPRoutes on the cluster's Gateway traefik/traefik, stickySessions off",
        config: { frontDoor: "gatewayApi", gateway: CLUSTER_GATEWAY, publicEntry: { stickySessions: false } },
        sticky: false,
        gateway: CLUSTER_GATEWAY,
    },
    {
        title: "Gateway API: HTTPRoutes on the cluster's Gateway traefik/traefik, stickySessions on (/ws to a TraefikService)",
        config: { frontDoor: "gatewayApi", gateway: CLUSTER_GATEWAY, publicEntry: { stickySessions: true } },
        sticky: true,
        gateway: CLUSTER_GATEWAY,
    },
    {
        title: "Gateway API: HTTPRoutes on a Gateway the program creates, stickySessions on (/ws to a TraefikService)",
        config: {
            frontDoor: "gatewayApi",
            gateway: { name: "exchange", create: true },
            publicEntry: { stickySessions: true },
        },
        sticky: true,
        gateway: { name: "exchange", namespace: "default" },
    },
    {
        title: "Gateway API: HTTPRoutes on a Gateway the program creates, stickySessions off",
        config: {
            frontDoor: "gatewayApi",
            gateway: { name: "exchange", create: true },
            publicEntry: { stickySessions: false },
        },
        sticky: false,
        gateway: { name: "exchange", namespace: "default" },
    },
];

function affinityCookieOf(exchange: WsExchange): string | undefined {
    return exchange.setCookies.find((header) => header.startsWith(`${stream.affinityCookie}=`));
}

describe("end to end over real traffic: each front door on the real node's Traefik", function () {
    this.timeout(20 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;
    let images: Record<string, string>;
    let policyConfig: string;

    before(async () => {
        kubectl = e2eKubectl();
        images = await nodeImages();
        workspace = await e2eDevWorkspace();
        // The pack accepts a route's parent Gateway only if the stack has it or config names it.
        policyConfig = workspace.writePolicyConfig({
            "httproute-parent-gateway-exists": {
                externalGateways: [`${CLUSTER_GATEWAY.namespace}/${CLUSTER_GATEWAY.name}`],
            },
        });
    });

    after(async () => {
        if (workspace) {
            await destroyDev(workspace);
            workspace.remove();
        }
    });

    for (const door of FRONT_DOORS) {
        describe(door.title, () => {
            let urls: { api: string; ws: string };

            before(async () => {
                workspace.writeStackConfig(
                    "dev",
                    localImagesConfig(images, { wsStream: { replicas: WS_REPLICAS }, ...door.config }),
                );
                const started = Date.now();
                const up = await workspace.up("dev", { policyPackConfigs: [policyConfig] });
                assert.strictEqual(up.code, 0, up.output);
                const upSeconds = (Date.now() - started) / 1000;
                urls = up.outputs?.publicUrls?.value;
                assert.match(urls?.api ?? "", /^http:\/\/\d+\.\d+\.\d+\.\d+\/backend$/, "the stack's API URL");
                // Traefik applies a changed object a moment after the API server has it: wait until
                // the front door answers, and sets the affinity cookie exactly when it should.
                await eventually("the front door serving this deployment", 60_000, async () => {
                    const answer = await httpGet(`${urls.api}/health`);
                    const [exchange] = await webSocketSession(urls.ws, 1);
                    return answer.status === 200 && !exchange.error && !!affinityCookieOf(exchange) === door.sticky
                        ? true
                        : undefined;
                });
                console.log(
                    `      pulumi up took ${upSeconds.toFixed(1)} s; served ${((Date.now() - started) / 1000).toFixed(1)} s after it started`,
                );
            });

            if (door.gateway) {
                const gateway = door.gateway;
                it(`both HTTPRoutes are accepted by Gateway ${gateway.namespace}/${gateway.name} and their backends resolved`, async () => {
                    for (const route of [api.objectName, stream.objectName]) {
                        const status = (await kubectl.json(["get", "httproute", route])).status;
                        const parent = (status?.parents ?? []).find(
                            (p: any) =>
                                p.parentRef.name === gateway.name && p.parentRef.namespace === gateway.namespace,
                        );
                        assert.ok(parent, `${route} reports on ${gateway.name}: ${JSON.stringify(status)}`);
                        for (const type of ["Accepted", "ResolvedRefs"]) {
                            const condition = parent.conditions.find((c: any) => c.type === type);
                            assert.strictEqual(
                                condition?.status,
                                "True",
                                `${route} ${type}: ${JSON.stringify(condition)}`,
                            );
                        }
                    }
                    // Sticky through a Gateway means /ws resolved to the TraefikService, not the Service.
                    const [wsRef] = (await kubectl.json(["get", "httproute", stream.objectName])).spec.rules[0]
                        .backendRefs;
                    assert.strictEqual(wsRef.kind ?? "Service", door.sticky ? "TraefikService" : "Service");
                });
            }

            it("/backend/api/v1/orders reaches a router pod as /api/v1/orders", async () => {
                const routerPods = (await readyPods(kubectl, ROUTER.appName)).map((pod) => pod.name);
                const answer = await httpGet(`${urls.api}/api/v1/orders`);
                assert.strictEqual(answer.status, 200, answer.body);
                const echoed = JSON.parse(answer.body);
                assert.strictEqual(echoed.path, "/api/v1/orders");
                assert.ok(routerPods.includes(echoed.pod), `answered by a router pod (${echoed.pod})`);
            });

            it("/ws upgrades to a WebSocket on a ws-stream pod, path unchanged, and echoes", async () => {
                const wsPods = (await readyPods(kubectl, WS_STREAM.appName)).map((pod) => pod.name);
                const [exchange] = await webSocketSession(urls.ws, 1);
                assert.strictEqual(exchange.error, undefined, JSON.stringify(exchange));
                assert.ok(wsPods.includes(helloPod(exchange)), `the hello names a ws-stream pod: ${exchange.first}`);
                assert.strictEqual(JSON.parse(exchange.first ?? "{}").path, stream.pathPrefix);
                assert.strictEqual(exchange.echoed, exchange.sent);
            });

            if (door.sticky) {
                it(`one client's ${STICKY_CONNECTIONS} WebSocket connections, its affinity cookie kept, land on one of ${WS_REPLICAS} pods`, async () => {
                    const pods = (await readyPods(kubectl, WS_STREAM.appName)).map((pod) => pod.name);
                    assert.strictEqual(pods.length, WS_REPLICAS);
                    const exchanges = await webSocketSession(urls.ws, STICKY_CONNECTIONS);
                    assert.deepStrictEqual(
                        exchanges.filter((e) => e.error),
                        [],
                        "every connection completed",
                    );
                    const cookie = affinityCookieOf(exchanges[0]);
                    assert.ok(cookie, `the first upgrade sets ${stream.affinityCookie}: ${exchanges[0].setCookies}`);
                    assert.match(cookie, new RegExp(`; ?Path=${stream.pathPrefix}(;|$)`, "i"), "scoped to the stream");
                    assert.ok(
                        exchanges.slice(1).every((e) => e.cookie?.includes(`${stream.affinityCookie}=`)),
                        "the client sent it back on every reconnect",
                    );
                    const landed = new Set(exchanges.map(helloPod));
                    assert.strictEqual(landed.size, 1, `all on one pod: ${[...landed]}`);
                    assert.ok(pods.includes([...landed][0]));
                });
            } else {
                it(`the same client's ${SPREAD_CONNECTIONS} WebSocket connections spread over the ${WS_REPLICAS} pods, no affinity cookie set`, async () => {
                    const pods = (await readyPods(kubectl, WS_STREAM.appName)).map((pod) => pod.name);
                    assert.strictEqual(pods.length, WS_REPLICAS);
                    const exchanges = await webSocketSession(urls.ws, SPREAD_CONNECTIONS);
                    assert.deepStrictEqual(
                        exchanges.filter((e) => e.error),
                        [],
                        "every connection completed",
                    );
                    assert.deepStrictEqual(exchanges.map(affinityCookieOf).filter(Boolean), [], "no affinity cookie");
                    const landed = exchanges.map(helloPod);
                    assert.ok(
                        landed.every((pod) => pods.includes(pod)),
                        `only ws-stream pods: ${landed}`,
                    );
                    assert.ok(new Set(landed).size > 1, `spread over more than one pod: ${landed}`);
                });
            }
        });
    }

    describe("Gateway API with TLS: a Gateway the program creates serves the stack's host over HTTPS from the Secret it names", () => {
        // The issuer is the suite (./local-ca.ts): it writes the Secret as cert-manager would from
        // the Gateway's cluster-issuer annotation (cert-manager is not built here: docs/front-doors.md).
        const host = "exchange.local.test";
        const secretName = "exchange-gateway-tls";
        let ca: LocalCa;
        let otherCa: LocalCa;
        let frontDoor: TlsFrontDoor;

        before(async () => {
            ca = await LocalCa.create("exchange-local-ca");
            otherCa = await LocalCa.create("another-ca");
            await ca.writeSecret(kubectl, secretName, await ca.issue(host, 1));
            workspace.writeStackConfig(
                "dev",
                localImagesConfig(images, {
                    wsStream: { replicas: WS_REPLICAS },
                    frontDoor: "gatewayApi",
                    gateway: { name: "exchange", create: true },
                    publicEntry: { host, tls: { secretName, clusterIssuer: "local-ca" }, stickySessions: true },
                }),
            );
            const up = await workspace.up("dev", { policyPackConfigs: [policyConfig] });
            assert.strictEqual(up.code, 0, up.output);
            assert.deepStrictEqual(up.outputs?.publicUrls?.value, {
                api: `https://${host}${api.pathPrefix}`,
                ws: `wss://${host}${stream.pathPrefix}`,
            });
            const gateway = await kubectl.json(["get", "gateway", "exchange"]);
            frontDoor = new TlsFrontDoor(host, gateway.status.addresses[0].value);
        });

        after(async () => {
            await kubectl.run(["delete", "secret", secretName, "--ignore-not-found"]);
            ca?.remove();
            otherCa?.remove();
        });

        it("HTTPS for the host verified against the issuing CA (another CA's client refuses it); wss:// verified; the sticky cookie Secure and HttpOnly", async () => {
            const answer = await eventually("the HTTPS listener serving the route", 60_000, async () => {
                const result = await frontDoor.curl(`${api.pathPrefix}/api/v1/orders`, ca.certificate);
                return result.code === 0 ? result : undefined;
            });
            const echoed = JSON.parse(answer.stdout);
            assert.strictEqual(echoed.path, "/api/v1/orders");
            assert.strictEqual(echoed.host, host);
            const refused = await frontDoor.curl(`${api.pathPrefix}/api/v1/orders`, otherCa.certificate);
            // 60: the peer's certificate could not be verified with the known CAs.
            assert.strictEqual(refused.code, 60, refused.output);

            const [held] = await heldWebSocketClients(
                `wss://${frontDoor.address}${stream.pathPrefix}`,
                1,
                3_000,
                3_000,
                host,
                ca.certificate,
            );
            assert.deepStrictEqual(held.errors, [], "a verified wss:// connection");
            const cookie = await frontDoor.upgradeCookie(stream.pathPrefix, stream.affinityCookie, ca.certificate);
            console.log(
                `      ${await frontDoor.servedSerial()} verified for ${host}; another CA: curl exit ${refused.code}; ` +
                    `wss:// held on ${held.pods[0]}; ${cookie}`,
            );
            assert.ok(cookieAttributes(cookie).includes("secure"), `Secure: ${cookie}`);
            assert.ok(cookieAttributes(cookie).includes("httponly"), `HttpOnly: ${cookie}`);
        });
    });
});
