import * as assert from "node:assert/strict";
import { httprouteParentGatewayExists as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { TYPE, gateway, httpRoute, mutate, onCluster, patch } from "../testing/fixtures";
import { runStackPolicy, unknown } from "../testing/harness";

const withParents = (parentRefs: unknown) => mutate(httpRoute(), (p) => (p.spec.parentRefs = parentRefs));
const external = (...entries: string[]) => ({ "httproute-parent-gateway-exists": { externalGateways: entries } });

describe("httproute-parent-gateway-exists", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "httproute-parent-gateway-exists", "mandatory", "parentRefs");
        assert.deepEqual(policy.configSchema!.properties.externalGateways.default, []);
    });

    it("passes a route attached to a listener of a Gateway of the stack", async () => {
        assertClean(await runStackPolicy(policy, [gateway(), httpRoute()]));
        assertClean(await runStackPolicy(policy, [gateway(), withParents([{ name: "exchange-gateway" }])]));
        assertClean(await runStackPolicy(policy, [gateway(), withParents([{ name: "exchange-gateway", port: 80 }])]));
    });

    it("flags a route whose Gateway is neither in the stack nor in externalGateways", async () => {
        const r = await runStackPolicy(policy, [withParents([{ name: "shared-gateway", namespace: "infra" }])]);
        assertOneViolation(
            r,
            'HTTPRoute "exchange-routes" spec.parentRefs[0] attaches to Gateway "shared-gateway" in namespace "infra"',
            '"infra/shared-gateway"',
        );
        assert.match(r.urns[0] ?? "", /HTTPRoute::exchange-routes$/);
    });

    it("accepts a Gateway named in externalGateways (namespace/name, or name)", async () => {
        const route = withParents([{ name: "shared-gateway", namespace: "infra" }]);
        assertClean(await runStackPolicy(policy, [route], external("infra/shared-gateway")));
        assertClean(await runStackPolicy(policy, [route], external("shared-gateway")));
        assertOneViolation(await runStackPolicy(policy, [route], external("default/shared-gateway")), "shared-gateway");
    });

    it("flags a route without parentRefs", async () => {
        assertOneViolation(await runStackPolicy(policy, [gateway(), withParents([])]), "has no spec.parentRefs");
        assertOneViolation(
            await runStackPolicy(policy, [gateway(), mutate(httpRoute(), (p) => delete p.spec.parentRefs)]),
            "has no spec.parentRefs",
        );
    });

    it("flags a sectionName or port that no listener has", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [gateway(), withParents([{ name: "exchange-gateway", sectionName: "grpc" }])]),
            'sectionName "grpc"',
            "https (port 443",
        );
        assertOneViolation(
            await runStackPolicy(policy, [gateway(), withParents([{ name: "exchange-gateway", port: 8443 }])]),
            "port 8443",
        );
    });

    it("flags a route in another namespace than a Gateway whose listeners accept only their own (the default)", async () => {
        const route = mutate(
            withParents([{ name: "exchange-gateway", namespace: "default" }]),
            (p) => (p.metadata.namespace = "trading"),
        );
        assertOneViolation(await runStackPolicy(policy, [gateway(), route]), "no listener of that Gateway accepts it");
        const all = mutate(gateway(), (p) =>
            p.spec.listeners.forEach((l: any) => (l.allowedRoutes = { namespaces: { from: "All" } })),
        );
        assertClean(await runStackPolicy(policy, [all, route]));
        const selector = mutate(gateway(), (p) =>
            p.spec.listeners.forEach(
                (l: any) =>
                    (l.allowedRoutes = { namespaces: { from: "Selector", selector: { matchLabels: { team: "x" } } } }),
            ),
        );
        assertClean(await runStackPolicy(policy, [selector, route]));
    });

    it("does not find a Gateway of another namespace without parentRefs[].namespace, nor on another cluster", async () => {
        const infra = mutate(gateway(), (p) => (p.metadata.namespace = "infra"));
        assertOneViolation(
            await runStackPolicy(policy, [infra, withParents([{ name: "exchange-gateway" }])]),
            'in namespace "default"',
        );
        assertOneViolation(
            await runStackPolicy(policy, [onCluster(gateway(), "eu-cluster"), httpRoute()]),
            "neither a Gateway of this stack on the same cluster",
        );
    });

    it("ignores parentRefs to other kinds (e.g. a Service, for a mesh)", async () => {
        assertClean(
            await runStackPolicy(policy, [
                withParents([{ group: "", kind: "Service", name: "exchange-router-service" }]),
            ]),
        );
    });

    it("checks GRPCRoutes, sees listeners a Gateway patch adds, and leaves a route patch without parentRefs alone", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [{ ...withParents([{ name: "nope" }]), type: TYPE.GRPCRoute }]),
            'GRPCRoute "exchange-routes"',
        );
        const addListener = {
            type: "kubernetes:gateway.networking.k8s.io/v1:GatewayPatch",
            name: "grpc-listener",
            props: {
                metadata: { name: "exchange-gateway" },
                spec: { listeners: [{ name: "grpc", protocol: "HTTPS", port: 8443 }] },
            },
        };
        assertClean(
            await runStackPolicy(policy, [
                gateway(),
                addListener,
                withParents([{ name: "exchange-gateway", sectionName: "grpc" }]),
            ]),
        );
        assertClean(
            await runStackPolicy(policy, [
                gateway(),
                patch("HTTPRoutePatch", "hosts", {
                    metadata: { name: "exchange-routes" },
                    spec: { hostnames: ["a.test"] },
                }),
            ]),
        );
    });

    describe("during preview", () => {
        it("reports nothing when parentRefs, a parentRef's name or namespace, or the listeners are unknown", async () => {
            assertClean(await runStackPolicy(policy, [gateway(), withParents(unknown.array)]));
            assertClean(await runStackPolicy(policy, [gateway(), withParents([{ name: unknown.string }])]));
            assertClean(
                await runStackPolicy(policy, [
                    gateway(),
                    withParents([{ name: "exchange-gateway", namespace: unknown.string }]),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    mutate(gateway(), (p) => (p.spec.listeners = unknown.array)),
                    withParents([{ name: "exchange-gateway", sectionName: "x" }]),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    mutate(gateway(), (p) => (p.metadata.name = unknown.string)),
                    withParents([{ name: "other" }]),
                ]),
            );
        });

        it("still flags a Gateway name that exists nowhere while the namespace is unknown", async () => {
            const route = withParents([{ name: "nope", namespace: unknown.string }]);
            assertOneViolation(
                await runStackPolicy(policy, [gateway(), route]),
                'Gateway "nope" in namespace "(unknown during preview)"',
            );
        });
    });
});
