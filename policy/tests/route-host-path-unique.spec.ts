import * as assert from "node:assert/strict";
import { routeHostPathUnique as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { exchangeStack, gateway, httpRoute, ingress, mutate, onCluster, patch } from "../testing/fixtures";
import { TestResource, runStackPolicy, unknown } from "../testing/harness";

const named = (r: TestResource, name: string): TestResource => mutate({ ...r, name }, (p) => (p.metadata.name = name));
/** A second Ingress, "exchange-admin", whose one path is `path` (Prefix) on `host`. */
const second = (path = "/backend", host = "exchange.test", edit: (p: any) => void = () => {}) =>
    mutate(named(ingress(), "exchange-admin"), (p) => {
        p.spec.rules = [{ host, http: { paths: [p.spec.rules[0].http.paths[0]] } }];
        p.spec.rules[0].http.paths[0].path = path;
        edit(p);
    });
/** A second HTTPRoute, "exchange-admin-routes", whose one rule is `match`. */
const secondRoute = (match: unknown, edit: (p: any) => void = () => {}) =>
    mutate(named(httpRoute(), "exchange-admin-routes"), (p) => {
        p.spec.rules = [{ ...p.spec.rules[0], matches: match === undefined ? undefined : [match] }];
        edit(p);
    });

describe("route-host-path-unique", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "route-host-path-unique", "mandatory", "same host and path");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes the exchange platform, and its HTTPRoute", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
        assertClean(await runStackPolicy(policy, [gateway(), httpRoute()]));
    });

    describe("Ingresses", () => {
        it("flags two Ingresses of one class claiming the same host and path prefix, on the one whose URN sorts later, in any order", async () => {
            for (const order of [
                [ingress(), second()],
                [second(), ingress()],
            ]) {
                const r = await runStackPolicy(policy, order);
                assertOneViolation(
                    r,
                    'Ingress "exchange-ingress" spec.rules[0].http.paths[0] claims host "exchange.test" path prefix "/backend" ' +
                        'on IngressClass "nginx", which Ingress "exchange-admin" spec.rules[0].http.paths[0] claims too',
                );
                assert.match(r.urns[0] ?? "", /Ingress::exchange-ingress$/);
            }
        });

        it("compares hosts without case and prefixes without a trailing slash, and host-less rules as any host", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [ingress(), second("/backend/", "EXCHANGE.test")]),
                "/backend",
            );
            const anyHost = (name: string) =>
                named(
                    second("/", "", (p) => delete p.spec.rules[0].host),
                    name,
                );
            assertOneViolation(
                await runStackPolicy(policy, [anyHost("a"), anyHost("b")]),
                'claims any host path prefix "/"',
            );
        });

        it("flags Ingresses of one class in different namespaces (the controller serves the whole cluster)", async () => {
            const other = second("/backend", "exchange.test", (p) => (p.metadata.namespace = "admin"));
            assertOneViolation(await runStackPolicy(policy, [ingress(), other]), 'in namespace "admin"');
        });

        it("passes other hosts, other paths, a longer prefix, and an Exact path beside a Prefix", async () => {
            assertClean(await runStackPolicy(policy, [ingress(), second("/backend", "admin.exchange.test")]));
            assertClean(await runStackPolicy(policy, [ingress(), second("/admin")]));
            assertClean(await runStackPolicy(policy, [ingress(), second("/backend/v2")]));
            assertClean(
                await runStackPolicy(policy, [
                    ingress(),
                    second("/backend", "exchange.test", (p) => (p.spec.rules[0].http.paths[0].pathType = "Exact")),
                ]),
            );
        });

        it("passes Ingresses of different classes, and leaves a class-less one beside a named class alone", async () => {
            const traefik = second("/backend", "exchange.test", (p) => (p.spec.ingressClassName = "traefik"));
            assertClean(await runStackPolicy(policy, [ingress(), traefik]));
            const classless = second("/backend", "exchange.test", (p) => delete p.spec.ingressClassName);
            // The default class may or may not be nginx.
            assertClean(await runStackPolicy(policy, [ingress(), classless]));
            const both = (name: string) => named(classless, name);
            assertOneViolation(await runStackPolicy(policy, [both("a"), both("b")]), "the default IngressClass");
        });

        it("takes the class from the deprecated annotation when spec.ingressClassName is absent", async () => {
            const annotated = second("/backend", "exchange.test", (p) => {
                delete p.spec.ingressClassName;
                p.metadata.annotations = { "kubernetes.io/ingress.class": "nginx" };
            });
            assertOneViolation(await runStackPolicy(policy, [ingress(), annotated]), 'IngressClass "nginx"');
        });

        it("passes the same Ingresses on two clusters (providers)", async () => {
            assertClean(await runStackPolicy(policy, [ingress(), onCluster(second(), "eu-cluster")]));
            assertOneViolation(
                await runStackPolicy(policy, [onCluster(ingress(), "eu-cluster"), onCluster(second(), "eu-cluster")]),
                "exchange-admin",
            );
        });

        it("sees the paths an IngressPatch gives an Ingress of the stack", async () => {
            const p = patch("IngressPatch", "steal", {
                metadata: { name: "exchange-admin" },
                spec: {
                    rules: [
                        { host: "exchange.test", http: { paths: [{ path: "/ws", pathType: "Prefix", backend: {} }] } },
                    ],
                },
            });
            assertOneViolation(
                await runStackPolicy(policy, [ingress(), second("/admin"), p]),
                'Ingress "exchange-admin" (as patched by "steal")',
                '"/ws"',
            );
        });

        it("leaves alone an IngressPatch of an Ingress outside the stack that sets no class", async () => {
            const p = patch("IngressPatch", "outside", {
                metadata: { name: "legacy" },
                spec: {
                    rules: [{ host: "exchange.test", http: { paths: [{ path: "/backend", pathType: "Prefix" }] } }],
                },
            });
            assertClean(await runStackPolicy(policy, [ingress(), p]));
        });
    });

    describe("HTTPRoutes", () => {
        it("flags two routes on one Gateway listener claiming the same host and path prefix", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [
                    httpRoute(),
                    secondRoute({ path: { type: "PathPrefix", value: "/ws" } }),
                ]),
                'HTTPRoute "exchange-routes" spec.rules[1].matches[0] claims host "exchange.test" path prefix "/ws" ' +
                    'on Gateway "default/exchange-gateway" listener "https", which HTTPRoute "exchange-admin-routes"',
            );
        });

        it("takes a rule without matches as the prefix /, and a route without hostnames as any host", async () => {
            const catchAll = (name: string) =>
                mutate(named(secondRoute(undefined), name), (p) => delete p.spec.hostnames);
            assertOneViolation(
                await runStackPolicy(policy, [catchAll("a"), catchAll("b")]),
                'any host path prefix "/"',
            );
        });

        it("passes matches narrowed by headers, query parameters or method", async () => {
            for (const extra of [
                { headers: [{ name: "x-canary", value: "1" }] },
                { queryParams: [{ name: "v", value: "2" }] },
                { method: "POST" },
            ]) {
                assertClean(
                    await runStackPolicy(policy, [
                        httpRoute(),
                        secondRoute({ path: { type: "PathPrefix", value: "/ws" }, ...extra }),
                    ]),
                );
            }
        });

        it("passes routes on other Gateways or other listeners; a route on every listener overlaps one on a listener", async () => {
            const ws = { path: { type: "PathPrefix", value: "/ws" } };
            assertClean(
                await runStackPolicy(policy, [
                    httpRoute(),
                    secondRoute(ws, (p) => (p.spec.parentRefs = [{ name: "other-gateway" }])),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    httpRoute(),
                    secondRoute(ws, (p) => (p.spec.parentRefs = [{ name: "exchange-gateway", sectionName: "http" }])),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    httpRoute(),
                    secondRoute(ws, (p) => (p.spec.parentRefs = [{ name: "exchange-gateway", namespace: "infra" }])),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    httpRoute(),
                    secondRoute(ws, (p) => (p.spec.parentRefs = [{ name: "exchange-gateway" }])),
                ]),
                '"/ws"',
            );
        });

        it("does not compare an HTTPRoute with an Ingress (different controllers)", async () => {
            assertClean(await runStackPolicy(policy, [ingress(), httpRoute()]));
        });

        it("leaves alone an HTTPRoutePatch of a route outside the stack that sets no hostnames", async () => {
            const p = patch("HTTPRoutePatch", "outside", {
                metadata: { name: "legacy" },
                spec: { parentRefs: [{ name: "exchange-gateway" }], rules: [{ backendRefs: [] }] },
            });
            assertClean(await runStackPolicy(policy, [httpRoute(), p]));
        });
    });

    describe("during preview", () => {
        it("reports nothing while a host, a path, a path type, a class or the rules are unknown", async () => {
            const cases: ((p: any) => void)[] = [
                (p) => (p.spec.rules[0].host = unknown.string),
                (p) => (p.spec.rules[0].http.paths[0].path = unknown.string),
                (p) => (p.spec.rules[0].http.paths[0].pathType = unknown.string),
                (p) => (p.spec.ingressClassName = unknown.string),
                (p) => (p.spec.rules = unknown.array),
                (p) => (p.spec = unknown.object),
            ];
            for (const edit of cases) {
                assertClean(await runStackPolicy(policy, [ingress(), second("/backend", "exchange.test", edit)]));
            }
        });

        it("reports nothing while a route's hostnames, matches or parentRefs are unknown", async () => {
            const ws = { path: { type: "PathPrefix", value: "/ws" } };
            const cases: ((p: any) => void)[] = [
                (p) => (p.spec.hostnames = unknown.array),
                (p) => (p.spec.rules[0].matches = unknown.array),
                (p) => (p.spec.rules[0].matches[0].path.value = unknown.string),
                (p) => (p.spec.parentRefs[0].sectionName = unknown.string),
                (p) => (p.spec.parentRefs = unknown.array),
                (p) => (p.metadata.namespace = unknown.string),
            ];
            for (const edit of cases) {
                assertClean(await runStackPolicy(policy, [httpRoute(), secondRoute(ws, edit)]));
            }
        });
    });
});
