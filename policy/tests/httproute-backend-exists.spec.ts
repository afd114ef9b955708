import * as assert from "node:assert/strict";
import { httprouteBackendExists as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    TYPE,
    exchangeService,
    exchangeStack,
    gateway,
    httpRoute,
    mutate,
    onCluster,
    patch,
    service,
    traefikService,
} from "../testing/fixtures";
import { TestResource, runStackPolicy, unknown } from "../testing/harness";

const services = () => [exchangeService("router"), exchangeService("ws-stream")];
const withRef = (ref: unknown) => mutate(httpRoute(), (p) => (p.spec.rules[0].backendRefs = [ref]));
const grant = (
    namespace: string,
    from: Record<string, unknown>,
    to: Record<string, unknown> = { group: "", kind: "Service" },
): TestResource => ({
    type: TYPE.ReferenceGrant,
    name: `grant-${namespace}`,
    props: {
        apiVersion: "gateway.networking.k8s.io/v1beta1",
        kind: "ReferenceGrant",
        metadata: { name: "routes", namespace },
        spec: { from: [from], to: [to] },
    },
});
const inTrading = (r: TestResource) => mutate(r, (p) => (p.metadata.namespace = "trading"));
const fromRoutes = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "default" };

describe("httproute-backend-exists", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "httproute-backend-exists", "mandatory", "backendRef");
        assert.deepEqual(policy.configSchema!.properties.externalServices.default, []);
    });

    it("passes the exchange routes (/backend and /ws) to Services of the stack", async () => {
        assertClean(await runStackPolicy(policy, [...exchangeStack(), gateway(), httpRoute()]));
    });

    it("flags a backendRef to a Service that is not in the stack, attached to the route", async () => {
        const r = await runStackPolicy(policy, [...services(), withRef({ name: "exchange-routr-service", port: 80 })]);
        assertOneViolation(
            r,
            'HTTPRoute "exchange-routes" spec.rules[0].backendRefs[0] routes to Service "exchange-routr-service"',
            "externalServices",
        );
        assert.match(r.urns[0] ?? "", /HTTPRoute::exchange-routes$/);
    });

    it("flags a port the Service does not expose, and a missing port", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [...services(), withRef({ name: "exchange-router-service", port: 8080 })]),
            "port 8080",
            'exposes 80 ("http")',
        );
        assertOneViolation(
            await runStackPolicy(policy, [...services(), withRef({ name: "exchange-router-service" })]),
            "without a port",
        );
    });

    it("checks requestMirror backendRefs, on a rule and on a backendRef", async () => {
        const mirror = (where: "rule" | "ref") =>
            mutate(httpRoute(), (p) => {
                const filter = { type: "RequestMirror", requestMirror: { backendRef: { name: "shadow", port: 80 } } };
                (where === "rule" ? p.spec.rules[0] : p.spec.rules[0].backendRefs[0]).filters = [filter];
            });
        assertOneViolation(
            await runStackPolicy(policy, [...services(), mirror("rule")]),
            "spec.rules[0].filters[0].requestMirror.backendRef",
            '"shadow"',
        );
        assertOneViolation(
            await runStackPolicy(policy, [...services(), mirror("ref")]),
            "backendRefs[0].filters[0].requestMirror.backendRef",
        );
    });

    it("checks GRPCRoutes and route patches the same way", async () => {
        const grpc = { ...withRef({ name: "missing", port: 80 }), type: TYPE.GRPCRoute };
        assertOneViolation(await runStackPolicy(policy, [...services(), grpc]), 'GRPCRoute "exchange-routes"');
        const routePatch = patch("HTTPRoutePatch", "mirror", {
            metadata: { name: "exchange-routes" },
            spec: { rules: [{ backendRefs: [{ name: "missing", port: 80 }] }] },
        });
        assertOneViolation(
            await runStackPolicy(policy, [...services(), routePatch]),
            'HTTPRoutePatch "exchange-routes"',
        );
    });

    it("ignores backendRefs to other kinds", async () => {
        assertClean(
            await runStackPolicy(policy, [
                ...services(),
                withRef({ group: "example.test", kind: "Bucket", name: "static" }),
            ]),
        );
    });

    describe("TraefikService backendRefs (Traefik's Gateway provider with its CRD provider on)", () => {
        const stickyRef = { group: "traefik.io", kind: "TraefikService", name: "exchange-ws-sticky" };
        const entry = (fields: Record<string, unknown>) =>
            mutate(traefikService(), (p) => Object.assign(p.spec.weighted.services[0], fields));

        it("passes a route to a TraefikService of the stack whose entry is a Service of the stack and its port", async () => {
            assertClean(await runStackPolicy(policy, [...services(), traefikService(), withRef(stickyRef)]));
            // The entry's port by name, and its kind left to the default (Service).
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    entry({ port: "http", kind: undefined }),
                    withRef(stickyRef),
                ]),
            );
        });

        it("flags a TraefikService that is not in the stack, or in another namespace, attached to the route", async () => {
            const r = await runStackPolicy(policy, [...services(), withRef(stickyRef)]);
            assertOneViolation(
                r,
                'HTTPRoute "exchange-routes" spec.rules[0].backendRefs[0] routes to TraefikService "exchange-ws-sticky"',
                "externalServices",
            );
            assert.match(r.urns[0] ?? "", /HTTPRoute::exchange-routes$/);
            assertOneViolation(
                await runStackPolicy(policy, [...services(), inTrading(traefikService()), withRef(stickyRef)]),
                'TraefikService "exchange-ws-sticky", which is not a TraefikService of this stack in namespace "default"',
            );
        });

        it("flags a TraefikService entry naming a Service not in the stack, or a port it does not expose, or none", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [...services(), entry({ name: "exchange-ws-strem" }), withRef(stickyRef)]),
                'spec.rules[0].backendRefs[0] -> TraefikService "exchange-ws-sticky" spec.weighted.services[0]',
                'routes to Service "exchange-ws-strem"',
            );
            assertOneViolation(
                await runStackPolicy(policy, [...services(), entry({ port: 8080 }), withRef(stickyRef)]),
                "port 8080",
                'exposes 80 ("http")',
            );
            assertOneViolation(
                await runStackPolicy(policy, [...services(), entry({ port: "grpc" }), withRef(stickyRef)]),
                'port "grpc"',
            );
            assertOneViolation(
                await runStackPolicy(policy, [...services(), entry({ port: undefined }), withRef(stickyRef)]),
                "without a port",
            );
        });

        it("checks mirroring and failover entries, and a nested TraefikService by name", async () => {
            const failover = traefikService({
                spec: {
                    weighted: undefined,
                    failover: {
                        service: { name: "exchange-ws-stream-service", port: 80 },
                        fallback: { name: "exchange-fallback", port: 80 },
                    },
                },
            });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), failover, withRef(stickyRef)]),
                "spec.failover.fallback",
                '"exchange-fallback"',
            );
            const nested = entry({ kind: "TraefikService", name: "inner", port: undefined });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), nested, withRef(stickyRef)]),
                'spec.weighted.services[0].name routes to TraefikService "inner"',
            );
            const inner = traefikService({ metadata: { name: "inner" } });
            assertClean(await runStackPolicy(policy, [...services(), nested, inner, withRef(stickyRef)]));
        });

        it("leaves cross-provider names (api@internal) to Traefik, and needs a ReferenceGrant across namespaces", async () => {
            assertClean(await runStackPolicy(policy, [...services(), withRef({ ...stickyRef, name: "api@internal" })]));
            const elsewhere = inTrading(
                mutate(traefikService(), (p) => (p.spec.weighted.services[0].namespace = "default")),
            );
            const route = withRef({ ...stickyRef, namespace: "trading" });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), elsewhere, route]),
                'refers to TraefikService "exchange-ws-sticky" in namespace "trading"',
                'to {group: "traefik.io", kind: TraefikService}',
            );
            const traefikGrant = grant("trading", fromRoutes, { group: "traefik.io", kind: "TraefikService" });
            assertClean(await runStackPolicy(policy, [...services(), elsewhere, route, traefikGrant]));
            // A grant for Services does not open TraefikServices.
            assertOneViolation(
                await runStackPolicy(policy, [...services(), elsewhere, route, grant("trading", fromRoutes)]),
                "no ReferenceGrant",
            );
        });

        it("reports nothing while the TraefikService's name or its entry's port is unknown", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    mutate(traefikService(), (p) => (p.metadata.name = unknown.string)),
                    withRef(stickyRef),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [...services(), entry({ port: unknown.number }), withRef(stickyRef)]),
            );
        });

        it("accepts a TraefikService listed in externalServices", async () => {
            assertClean(
                await runStackPolicy(policy, [...services(), withRef(stickyRef)], {
                    "httproute-backend-exists": { externalServices: ["exchange-ws-sticky"] },
                }),
            );
        });
    });

    it("accepts Services listed in externalServices", async () => {
        const route = withRef({ name: "legacy", port: 80 });
        assertClean(
            await runStackPolicy(policy, [...services(), route], {
                "httproute-backend-exists": { externalServices: ["legacy"] },
            }),
        );
    });

    describe("namespaces", () => {
        it("flags a Service in another namespace without a ReferenceGrant, and passes with one", async () => {
            const svc = inTrading(service({ metadata: { name: "ledger" } }));
            const route = withRef({ name: "ledger", namespace: "trading", port: 80 });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), svc, route]),
                "no ReferenceGrant",
                'namespace "trading"',
            );
            assertClean(await runStackPolicy(policy, [...services(), svc, route, grant("trading", fromRoutes)]));
            // A grant for another kind, namespace or Service name does not count.
            assertOneViolation(
                await runStackPolicy(policy, [
                    ...services(),
                    svc,
                    route,
                    grant("trading", { ...fromRoutes, kind: "GRPCRoute" }),
                ]),
                "no ReferenceGrant",
            );
            assertOneViolation(
                await runStackPolicy(policy, [...services(), svc, route, grant("other", fromRoutes)]),
                "no ReferenceGrant",
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    ...services(),
                    svc,
                    route,
                    grant("trading", fromRoutes, { group: "", kind: "Service", name: "other" }),
                ]),
                "no ReferenceGrant",
            );
        });

        it("does not find a Service of the same name in another namespace than the one referenced", async () => {
            const route = withRef({ name: "exchange-router-service", namespace: "trading", port: 80 });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), route, grant("trading", fromRoutes)]),
                "found only elsewhere",
            );
        });
    });

    it("does not find a Service on another cluster", async () => {
        const r = await runStackPolicy(policy, [
            onCluster(exchangeService("router"), "eu-cluster"),
            exchangeService("ws-stream"),
            httpRoute(),
        ]);
        assertOneViolation(r, '"exchange-router-service"', "found only elsewhere");
    });

    describe("generateName", () => {
        const generated = (prefix: string) =>
            mutate(exchangeService("router"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = prefix;
            });

        it("does not take the logical name of a Service with generateName only as its name", async () => {
            // Logical name "exchange-router-service": the API server names it "router-xxxxx".
            assertOneViolation(
                await runStackPolicy(policy, [generated("router-"), exchangeService("ws-stream"), httpRoute()]),
                'routes to Service "exchange-router-service"',
                '"router-<random suffix>"',
            );
        });

        it("does not take the logical name as the generated name when it merely starts with the prefix", async () => {
            // The API server adds exactly 5 characters without vowels: never "exchange-router-service".
            assertOneViolation(
                await runStackPolicy(policy, [
                    generated("exchange-router-"),
                    exchangeService("ws-stream"),
                    httpRoute(),
                ]),
                'routes to Service "exchange-router-service"',
            );
        });

        it("reports nothing for a backendRef name the generated name may turn out to be", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    generated("exchange-router-"),
                    exchangeService("ws-stream"),
                    withRef({ name: "exchange-router-x7k2p", port: 80 }),
                ]),
            );
        });

        it("does not let a TraefikService entry find a generateName Service by its logical name", async () => {
            const ws = mutate(exchangeService("ws-stream"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = "ws-";
            });
            const route = mutate(
                httpRoute(),
                (p) =>
                    (p.spec.rules[1].backendRefs = [
                        { group: "traefik.io", kind: "TraefikService", name: "exchange-ws-sticky" },
                    ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [exchangeService("router"), ws, traefikService(), route]),
                'TraefikService "exchange-ws-sticky"',
                'routes to Service "exchange-ws-stream-service"',
            );
        });
    });

    describe("during preview", () => {
        it("reports nothing when a backendRef's name, port or namespace, or the rules, are unknown", async () => {
            assertClean(await runStackPolicy(policy, [...services(), withRef({ name: unknown.string, port: 80 })]));
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    withRef({ name: "exchange-router-service", port: unknown.number }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    withRef({ name: "exchange-router-service", namespace: unknown.string, port: 80 }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    mutate(httpRoute(), (p) => (p.spec.rules = unknown.array)),
                ]),
            );
        });

        it("still flags a Service name that exists nowhere on the cluster while the namespace is unknown", async () => {
            const route = mutate(
                withRef({ name: "missing", port: 80 }),
                (p) => (p.metadata.namespace = unknown.string),
            );
            assertOneViolation(await runStackPolicy(policy, [...services(), route]), '"missing"');
        });
    });
});
