/**
 * The public entry per variant: Ingress for ingress-nginx or Traefik, Gateway API routes on a
 * named or created Gateway, and cookie affinity for WebSockets.
 */
import * as assert from "assert";
import { ConfigError } from "../../config";
import { nonEmpty } from "../assertions";
import { stackConfig, withConfig } from "../support";
import { named, ofType, ProgramRun, runProgram, TYPES } from "./harness";

/**
 * The ingress-nginx annotations that Traefik's kubernetesIngressNGINX provider reads, among those
 * the platform could use (from the provider's annotation list in Traefik v3.7.0 to v3.7.9).
 */
const READ_BY_TRAEFIK_3_7 = new Set(
    [
        "use-regex",
        "rewrite-target",
        "proxy-connect-timeout",
        "proxy-read-timeout",
        "proxy-send-timeout",
        "affinity",
        "session-cookie-name",
        "session-cookie-path",
        "session-cookie-max-age",
        "session-cookie-expires",
        "session-cookie-secure",
        "session-cookie-samesite",
    ].map((name) => `nginx.ingress.kubernetes.io/${name}`),
);

async function withOverrides(stack: string, overrides: Record<string, unknown>): Promise<ProgramRun> {
    const run = await runProgram(withConfig(stackConfig(stack), overrides), stack);
    assert.ifError(run.error);
    return run;
}

function ingressAnnotations(run: ProgramRun, name: string): Record<string, string> {
    return named(run, TYPES.ingress, name).inputs.metadata.annotations;
}

/** The path a request reaches the router with, under the backend Ingress's regex and rewrite. */
function rewrittenByIngress(run: ProgramRun, url: string): string | undefined {
    const ingress = named(run, TYPES.ingress, "exchange-backend").inputs;
    const pattern = new RegExp(`^${ingress.spec.rules[0].http.paths[0].path}`);
    const target: string = ingress.metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"];
    return pattern.test(url) ? url.replace(pattern, target.replace(/\$(\d)/g, "$$$1")) : undefined;
}

function ingressControllerNamespaceOf(run: ProgramRun): string {
    const rules = named(run, TYPES.networkPolicy, "exchange-router-allow-ingress").inputs.spec.ingress;
    return rules[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"];
}

const AFFINITY = "nginx.ingress.kubernetes.io/affinity";

describe("front door: Ingress", () => {
    for (const controller of ["nginx", "traefik"]) {
        it(`${controller}: class nginx, the prefix stripped, long ws timeouts, only annotations Traefik 3.7 reads`, async () => {
            const run = await withOverrides("prod", { publicEntry: { controller } });
            for (const ingress of nonEmpty(ofType(run, TYPES.ingress), "Ingress").map((i) => i.inputs)) {
                assert.strictEqual(ingress.spec.ingressClassName, "nginx");
                for (const key of Object.keys(ingress.metadata.annotations).filter((k) => k.startsWith("nginx."))) {
                    assert.ok(READ_BY_TRAEFIK_3_7.has(key), `${ingress.metadata.name}: ${key}`);
                }
            }
            assert.strictEqual(rewrittenByIngress(run, "/backend/api/v1/orders"), "/api/v1/orders");
            assert.strictEqual(rewrittenByIngress(run, "/backend"), "/");
            assert.strictEqual(rewrittenByIngress(run, "/backendx/health"), undefined);
            const ws = ingressAnnotations(run, "exchange-ws");
            assert.strictEqual(ws["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
            assert.strictEqual(ws["nginx.ingress.kubernetes.io/proxy-send-timeout"], "3600");
        });
    }

    it("the NetworkPolicy admits the chosen controller's namespace unless one is set", async () => {
        // prod sets none; dev names the local cluster's (traefik), whatever the controller.
        assert.strictEqual(ingressControllerNamespaceOf(await withOverrides("prod", {})), "ingress-nginx");
        assert.strictEqual(
            ingressControllerNamespaceOf(await withOverrides("prod", { publicEntry: { controller: "traefik" } })),
            "traefik",
        );
        assert.strictEqual(ingressControllerNamespaceOf(await withOverrides("dev", {})), "traefik");
        const explicit = await withOverrides("prod", {
            publicEntry: { controller: "traefik" },
            networkPolicy: { ingressControllerNamespace: "edge" },
        });
        assert.strictEqual(ingressControllerNamespaceOf(explicit), "edge");
    });

    it("an IngressClass set in config wins over the controller's", async () => {
        const run = await withOverrides("dev", { publicEntry: { controller: "traefik", className: "public" } });
        assert.ok(
            nonEmpty(ofType(run, TYPES.ingress), "Ingress").every((i) => i.inputs.spec.ingressClassName === "public"),
        );
    });

    it("prod (ClientIP affinity on the ws Service): a cookie keeps a client's WebSockets on one pod", async () => {
        const run = await runProgram(stackConfig("prod"), "prod");
        assert.ifError(run.error);
        const ws = ingressAnnotations(run, "exchange-ws");
        assert.deepStrictEqual(
            Object.fromEntries(
                Object.entries(ws).filter(([key]) => key.includes("affinity") || key.includes("session-cookie")),
            ),
            {
                [AFFINITY]: "cookie",
                "nginx.ingress.kubernetes.io/session-cookie-name": "exchange-ws-affinity",
                "nginx.ingress.kubernetes.io/session-cookie-max-age": "10800",
                "nginx.ingress.kubernetes.io/session-cookie-path": "/ws",
                // prod serves TLS: the cookie never travels over plain HTTP.
                "nginx.ingress.kubernetes.io/session-cookie-secure": "true",
            },
        );
        assert.ok(!(AFFINITY in ingressAnnotations(run, "exchange-backend")), "the API stays balanced per request");
    });

    it("dev (no ClientIP affinity): no cookie; stickySessions turns it on with the ws affinity timeout", async () => {
        assert.ok(!(AFFINITY in ingressAnnotations(await withOverrides("dev", {}), "exchange-ws")));
        const sticky = await withOverrides("dev", {
            publicEntry: { stickySessions: true },
            wsStream: { sessionAffinityTimeoutSeconds: 600 },
        });
        const ws = ingressAnnotations(sticky, "exchange-ws");
        assert.strictEqual(ws[AFFINITY], "cookie");
        assert.strictEqual(ws["nginx.ingress.kubernetes.io/session-cookie-max-age"], "600");
        assert.ok(!("nginx.ingress.kubernetes.io/session-cookie-secure" in ws), "dev serves plain HTTP: not Secure");
    });

    it("prod with stickySessions false: no cookie", async () => {
        const run = await withOverrides("prod", { publicEntry: { stickySessions: false } });
        assert.ok(!(AFFINITY in ingressAnnotations(run, "exchange-ws")));
    });

    it("an unknown controller is refused with the allowed values", async () => {
        const run = await runProgram(withConfig(stackConfig("dev"), { publicEntry: { controller: "haproxy" } }));
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /exchange:publicEntry\.controller: "haproxy" is not allowed; allowed values: nginx, traefik/,
        );
        assert.deepStrictEqual(run.resources, []);
    });
});

/** What a Gateway API implementation does with a PathPrefix match and a ReplacePrefixMatch filter. */
function rewrittenByRoute(rule: any, url: string): string | undefined {
    const prefix: string = rule.matches[0].path.value;
    if (url !== prefix && !url.startsWith(`${prefix}/`)) {
        return undefined;
    }
    const replacement: string = rule.filters[0].urlRewrite.path.replacePrefixMatch;
    const rest = url.slice(prefix.length);
    return replacement.endsWith("/") && rest.startsWith("/") ? replacement + rest.slice(1) : replacement + rest || "/";
}

describe("front door: Gateway API", () => {
    const onTraefikGateway = { frontDoor: "gatewayApi", gateway: { name: "traefik", namespace: "traefik" } };

    it("dev on an existing Gateway: two HTTPRoutes attached to it, no Ingress, the Gateway only read", async () => {
        const run = await withOverrides("dev", onTraefikGateway);
        assert.deepStrictEqual(ofType(run, TYPES.ingress), []);
        assert.deepStrictEqual(ofType(run, TYPES.gateway), []);
        assert.deepStrictEqual(run.reads, [{ type: TYPES.gateway, id: "traefik/traefik" }]);
        const routes = ofType(run, TYPES.httpRoute);
        assert.deepStrictEqual(routes.map((r) => r.inputs.metadata.name).sort(), ["exchange-backend", "exchange-ws"]);
        for (const route of routes) {
            assert.strictEqual(route.inputs.apiVersion, "gateway.networking.k8s.io/v1");
            assert.deepStrictEqual(route.inputs.spec.parentRefs, [
                { group: "gateway.networking.k8s.io", kind: "Gateway", name: "traefik", namespace: "traefik" },
            ]);
            assert.strictEqual(route.inputs.spec.hostnames, undefined);
            assert.strictEqual(route.inputs.metadata.namespace, "default");
            assert.match(route.parentUrn, /exchange:platform:GatewayRoutes/);
            assert.strictEqual(route.deleteBeforeReplace, true);
        }
        assert.deepStrictEqual(run.outputs.publicUrls, { api: "http://192.0.2.20/backend", ws: "ws://192.0.2.20/ws" });
        assert.strictEqual(ingressControllerNamespaceOf(run), "traefik");
    });

    it("/backend/* reaches the router with the prefix replaced by /; /ws reaches the stream unchanged", async () => {
        const run = await withOverrides("dev", onTraefikGateway);
        const [backendRule] = named(run, TYPES.httpRoute, "exchange-backend").inputs.spec.rules;
        assert.deepStrictEqual(backendRule.backendRefs, [{ name: "exchange-router-service", port: 80 }]);
        assert.strictEqual(rewrittenByRoute(backendRule, "/backend/api/v1/orders"), "/api/v1/orders");
        assert.strictEqual(rewrittenByRoute(backendRule, "/backend/health"), "/health");
        assert.strictEqual(rewrittenByRoute(backendRule, "/backend"), "/");
        assert.strictEqual(rewrittenByRoute(backendRule, "/backendx/health"), undefined);
        const [wsRule] = named(run, TYPES.httpRoute, "exchange-ws").inputs.spec.rules;
        assert.deepStrictEqual(wsRule, {
            matches: [{ path: { type: "PathPrefix", value: "/ws" } }],
            backendRefs: [{ name: "exchange-ws-stream-service", port: 80 }],
        });
    });

    it("a listener named in config becomes the routes' sectionName", async () => {
        const run = await withOverrides("dev", {
            ...onTraefikGateway,
            gateway: { ...onTraefikGateway.gateway, listener: "web" },
        });
        for (const route of nonEmpty(ofType(run, TYPES.httpRoute), "HTTPRoute")) {
            assert.strictEqual(route.inputs.spec.parentRefs[0].sectionName, "web");
        }
    });

    it("prod with a created Gateway: HTTP and HTTPS listeners for the host, cert-manager's annotation, routes on it", async () => {
        const run = await withOverrides("prod", { frontDoor: "gatewayApi", gateway: { create: true } });
        const [gateway] = ofType(run, TYPES.gateway);
        assert.strictEqual(gateway.inputs.metadata.name, "exchange");
        assert.strictEqual(gateway.inputs.metadata.namespace, "default");
        assert.strictEqual(gateway.inputs.metadata.annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        assert.strictEqual(gateway.inputs.spec.gatewayClassName, "traefik");
        const allowedRoutes = {
            namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } },
        };
        assert.deepStrictEqual(gateway.inputs.spec.listeners, [
            { name: "http", protocol: "HTTP", port: 80, hostname: "exchange.jogeshwar.xyz", allowedRoutes },
            {
                name: "https",
                protocol: "HTTPS",
                port: 443,
                hostname: "exchange.jogeshwar.xyz",
                tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "exchange-tls" }] },
                allowedRoutes,
            },
        ]);
        assert.strictEqual(gateway.deleteBeforeReplace, true);
        assert.deepStrictEqual(run.reads, []);
        for (const route of nonEmpty(ofType(run, TYPES.httpRoute), "HTTPRoute")) {
            assert.deepStrictEqual(route.inputs.spec.hostnames, ["exchange.jogeshwar.xyz"]);
            assert.strictEqual(route.inputs.spec.parentRefs[0].name, "exchange");
            assert.strictEqual(route.inputs.spec.parentRefs[0].namespace, "default");
        }
        assert.deepStrictEqual(run.outputs.publicUrls, {
            api: "https://exchange.jogeshwar.xyz/backend",
            ws: "wss://exchange.jogeshwar.xyz/ws",
        });
    });

    it("dev with a created Gateway and no host: an HTTP listener only, URLs on the Gateway's address", async () => {
        const run = await withOverrides("dev", {
            frontDoor: "gatewayApi",
            gateway: { create: true, className: "edge" },
        });
        const [gateway] = ofType(run, TYPES.gateway);
        assert.deepStrictEqual(
            gateway.inputs.spec.listeners.map((l: any) => l.name),
            ["http"],
        );
        assert.strictEqual(gateway.inputs.spec.gatewayClassName, "edge");
        // Its address is in the URLs: the up waits until the controller has programmed it.
        assert.strictEqual(gateway.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Programmed");
        assert.deepStrictEqual(run.outputs.publicUrls, { api: "http://192.0.2.20/backend", ws: "ws://192.0.2.20/ws" });
    });

    it("prod (ClientIP affinity): /ws goes to a TraefikService whose one entry, the stream's Service, sets the cookie", async () => {
        const run = await withOverrides("prod", { frontDoor: "gatewayApi", gateway: { create: true } });
        const [sticky] = ofType(run, TYPES.traefikService);
        assert.ok(sticky, "a TraefikService for the stream");
        assert.strictEqual(sticky.inputs.apiVersion, "traefik.io/v1alpha1");
        assert.strictEqual(sticky.inputs.metadata.name, "exchange-ws-sticky");
        assert.strictEqual(sticky.inputs.metadata.namespace, "default");
        assert.match(sticky.parentUrn, /exchange:platform:GatewayRoutes/);
        assert.deepStrictEqual(sticky.inputs.spec, {
            weighted: {
                services: [
                    {
                        kind: "Service",
                        name: "exchange-ws-stream-service",
                        port: 80,
                        sticky: {
                            cookie: {
                                name: "exchange-ws-affinity",
                                path: "/ws",
                                maxAge: 10800,
                                httpOnly: true,
                                secure: true,
                            },
                        },
                    },
                ],
            },
        });
        const [wsRule] = named(run, TYPES.httpRoute, "exchange-ws").inputs.spec.rules;
        assert.deepStrictEqual(wsRule.backendRefs, [
            { group: "traefik.io", kind: "TraefikService", name: "exchange-ws-sticky" },
        ]);
        const [backendRule] = named(run, TYPES.httpRoute, "exchange-backend").inputs.spec.rules;
        assert.deepStrictEqual(
            backendRule.backendRefs,
            [{ name: "exchange-router-service", port: 80 }],
            "the API stays balanced per request",
        );
    });

    it("dev: no TraefikService unless stickySessions is on; then the cookie lives the ws affinity timeout, without TLS not Secure", async () => {
        assert.deepStrictEqual(ofType(await withOverrides("dev", onTraefikGateway), TYPES.traefikService), []);
        const run = await withOverrides("dev", {
            ...onTraefikGateway,
            publicEntry: { stickySessions: true },
            wsStream: { sessionAffinityTimeoutSeconds: 600 },
        });
        const [sticky] = ofType(run, TYPES.traefikService);
        const { cookie } = sticky.inputs.spec.weighted.services[0].sticky;
        assert.strictEqual(cookie.maxAge, 600);
        assert.strictEqual(cookie.secure, false);
        assert.strictEqual(
            named(run, TYPES.httpRoute, "exchange-ws").inputs.spec.rules[0].backendRefs[0].name,
            sticky.inputs.metadata.name,
        );
    });

    it("prod with stickySessions false: /ws goes straight to the stream's Service", async () => {
        const run = await withOverrides("prod", {
            frontDoor: "gatewayApi",
            gateway: { create: true },
            publicEntry: { stickySessions: false },
        });
        assert.deepStrictEqual(ofType(run, TYPES.traefikService), []);
        const [wsRule] = named(run, TYPES.httpRoute, "exchange-ws").inputs.spec.rules;
        assert.deepStrictEqual(wsRule.backendRefs, [{ name: "exchange-ws-stream-service", port: 80 }]);
    });

    it("TLS with a Gateway the program does not create is refused, naming the key", async () => {
        const run = await runProgram(withConfig(stackConfig("prod"), onTraefikGateway), "prod");
        assert.ok(run.error instanceof ConfigError);
        assert.match(
            run.error.message,
            /exchange:publicEntry\.tls: .* is not allowed; the program sets TLS only on a Gateway it creates/,
        );
        assert.deepStrictEqual(run.resources, []);
    });
});
