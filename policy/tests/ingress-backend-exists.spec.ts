import * as assert from "node:assert/strict";
import { ingressBackendExists as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { TYPE, exchangeService, exchangeStack, ingress, mutate, service } from "./fixtures";
import { TestResource, runStackPolicy, unknown } from "./harness";

const services = () => [exchangeService("router"), exchangeService("ws-stream")];
const withBackend = (backend: unknown) =>
    mutate(ingress(), (p) => (p.spec.rules[0].http.paths[0].backend = backend));

describe("ingress-backend-exists", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "ingress-backend-exists", "mandatory", "Ingress backend");
        assert.deepEqual(policy.configSchema!.properties.externalServices.default, []);
    });

    it("passes the exchange Ingress (/backend and /ws)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a backend Service that is not in the stack", async () => {
        const r = await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-routr-service", port: { number: 80 } } })]);
        assertOneViolation(
            r,
            'Ingress "exchange-ingress" host "exchange.test" path "/backend" routes to Service "exchange-routr-service"',
            'not a Service of this stack in namespace "default"',
            '"exchange-router-service", "exchange-ws-stream-service"',
        );
        assert.match(r.urns[0] ?? "", /Ingress::exchange-ingress$/);
    });

    it("flags a backend Service that exists only in another namespace", async () => {
        const elsewhere = mutate(exchangeService("router"), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(
            await runStackPolicy(policy, [elsewhere, exchangeService("ws-stream"), ingress()]),
            'found only elsewhere: Service "exchange-router-service" in namespace "trading"',
        );
    });

    it("flags a port number the Service does not expose, listing the ports it does", async () => {
        const r = await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-router-service", port: { number: 8080 } } })]);
        assertOneViolation(r, 'Service "exchange-router-service" port 8080', 'exposes 80 ("http")', "port.number");
    });

    it("resolves a port by name", async () => {
        assertClean(await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-router-service", port: { name: "http" } } })]));
        assertOneViolation(
            await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-router-service", port: { name: "web" } } })]),
            'port "web"',
            "port.name",
        );
    });

    it("flags a backend without a port", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-router-service" } })]),
            "without a port",
        );
    });

    it("checks the defaultBackend", async () => {
        const ing = ingress({ spec: { defaultBackend: { service: { name: "missing", port: { number: 80 } } } } });
        assertOneViolation(await runStackPolicy(policy, [...services(), ing]), 'defaultBackend routes to Service "missing"');
    });

    it("checks the v1beta1 serviceName/servicePort form", async () => {
        const beta = (servicePort: unknown): TestResource => ({
            type: "kubernetes:networking.k8s.io/v1beta1:Ingress",
            name: "legacy",
            props: { metadata: { name: "legacy" }, spec: { backend: { serviceName: "exchange-router-service", servicePort } } },
        });
        assertClean(await runStackPolicy(policy, [...services(), beta(80)]));
        assertClean(await runStackPolicy(policy, [...services(), beta("http")]));
        assertOneViolation(await runStackPolicy(policy, [...services(), beta(81)]), "port 81");
    });

    it("ignores resource backends", async () => {
        assertClean(await runStackPolicy(policy, [...services(), withBackend({ resource: { apiGroup: "k8s.example", kind: "Bucket", name: "static" } })]));
    });

    it("accepts Services listed in externalServices", async () => {
        const ing = withBackend({ service: { name: "legacy-gateway", port: { number: 80 } } });
        const config = { "ingress-backend-exists": { externalServices: ["legacy-gateway"] } };
        assertClean(await runStackPolicy(policy, [...services(), ing], config));
        assertOneViolation(await runStackPolicy(policy, [...services(), ing]), "legacy-gateway");
    });

    it("reports nothing for a stack without Ingresses", async () => {
        assertClean(await runStackPolicy(policy, services()));
    });

    it("matches Services by metadata.name", async () => {
        const renamed = mutate(service(), (p) => (p.metadata.name = "router-svc"));
        const r = await runStackPolicy(policy, [renamed, exchangeService("ws-stream"), ingress()]);
        assertOneViolation(r, 'Service "exchange-router-service"', '"router-svc"');
        assert.equal(TYPE.Ingress, "kubernetes:networking.k8s.io/v1:Ingress");
    });

    describe("during preview", () => {
        it("reports nothing when a backend service name or port is unknown", async () => {
            assertClean(await runStackPolicy(policy, [...services(), withBackend({ service: { name: unknown.string, port: { number: 80 } } })]));
            assertClean(await runStackPolicy(policy, [...services(), withBackend({ service: { name: "exchange-router-service", port: unknown.object } })]));
        });

        it("reports nothing when the rules or the whole spec are unknown", async () => {
            assertClean(await runStackPolicy(policy, [...services(), mutate(ingress(), (p) => (p.spec.rules = unknown.array))]));
            assertClean(await runStackPolicy(policy, [...services(), mutate(ingress(), (p) => (p.spec = unknown.object))]));
        });

        it("reports nothing when the target Service's ports are unknown", async () => {
            const svc = mutate(exchangeService("router"), (p) => (p.spec.ports = unknown.array));
            const ing = withBackend({ service: { name: "exchange-router-service", port: { number: 8080 } } });
            assertClean(await runStackPolicy(policy, [svc, exchangeService("ws-stream"), ing]));
        });

        it("reports nothing for a missing Service while some Service's name is unknown", async () => {
            const unnamed = mutate(exchangeService("redis"), (p) => (p.metadata.name = unknown.string));
            const ing = withBackend({ service: { name: "exchange-routr-service", port: { number: 80 } } });
            assertClean(await runStackPolicy(policy, [...services(), unnamed, ing]));
        });
    });
});
