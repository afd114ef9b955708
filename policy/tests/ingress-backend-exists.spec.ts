import * as assert from "node:assert/strict";
import { ingressBackendExists as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { TYPE, exchangeService, exchangeStack, ingress, mutate, onCluster, patch, service } from "../testing/fixtures";
import { TestResource, runStackPolicy, unknown } from "../testing/harness";

const services = () => [exchangeService("router"), exchangeService("ws-stream")];
const withBackend = (backend: unknown) => mutate(ingress(), (p) => (p.spec.rules[0].http.paths[0].backend = backend));

describe("ingress-backend-exists", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "ingress-backend-exists", "mandatory", "Ingress backend");
        assert.deepEqual(policy.configSchema!.properties.externalServices.default, []);
    });

    it("passes the exchange Ingress (/backend and /ws)", async () => {
        assertClean(await runStackPolicy(policy, exchangeStack()));
    });

    it("flags a backend Service that is not in the stack", async () => {
        const r = await runStackPolicy(policy, [
            ...services(),
            withBackend({ service: { name: "exchange-routr-service", port: { number: 80 } } }),
        ]);
        assertOneViolation(
            r,
            'Ingress "exchange-ingress" host "exchange.test" path "/backend" routes to Service "exchange-routr-service"',
            'not a Service of this stack in namespace "default" on the same cluster',
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
        const r = await runStackPolicy(policy, [
            ...services(),
            withBackend({ service: { name: "exchange-router-service", port: { number: 8080 } } }),
        ]);
        assertOneViolation(r, 'Service "exchange-router-service" port 8080', 'exposes 80 ("http")', "port.number");
    });

    it("resolves a port by name", async () => {
        assertClean(
            await runStackPolicy(policy, [
                ...services(),
                withBackend({ service: { name: "exchange-router-service", port: { name: "http" } } }),
            ]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [
                ...services(),
                withBackend({ service: { name: "exchange-router-service", port: { name: "web" } } }),
            ]),
            'port "web"',
            "port.name",
        );
    });

    it("flags a backend port that the Service exposes only over UDP (an Ingress carries TCP)", async () => {
        const udp = mutate(
            exchangeService("router"),
            (p) => (p.spec.ports = [{ name: "http", port: 80, targetPort: 8080, protocol: "UDP" }]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [udp, exchangeService("ws-stream"), ingress()]),
            "port 80",
            'exposes 80/UDP ("http")',
        );
        const both = mutate(udp, (p) => p.spec.ports.push({ name: "http-tcp", port: 80, targetPort: 8080 }));
        assertClean(await runStackPolicy(policy, [both, exchangeService("ws-stream"), ingress()]));
    });

    it("flags a backend without a port", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [
                ...services(),
                withBackend({ service: { name: "exchange-router-service" } }),
            ]),
            "without a port",
        );
    });

    it("checks the defaultBackend", async () => {
        const ing = ingress({ spec: { defaultBackend: { service: { name: "missing", port: { number: 80 } } } } });
        assertOneViolation(
            await runStackPolicy(policy, [...services(), ing]),
            'defaultBackend routes to Service "missing"',
        );
    });

    it("checks the v1beta1 serviceName/servicePort form", async () => {
        const beta = (servicePort: unknown): TestResource => ({
            type: "kubernetes:networking.k8s.io/v1beta1:Ingress",
            name: "legacy",
            props: {
                metadata: { name: "legacy" },
                spec: { backend: { serviceName: "exchange-router-service", servicePort } },
            },
        });
        assertClean(await runStackPolicy(policy, [...services(), beta(80)]));
        assertClean(await runStackPolicy(policy, [...services(), beta("http")]));
        assertOneViolation(await runStackPolicy(policy, [...services(), beta(81)]), "port 81");
    });

    it("ignores resource backends", async () => {
        assertClean(
            await runStackPolicy(policy, [
                ...services(),
                withBackend({ resource: { apiGroup: "k8s.example", kind: "Bucket", name: "static" } }),
            ]),
        );
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
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    withBackend({ service: { name: unknown.string, port: { number: 80 } } }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    withBackend({ service: { name: "exchange-router-service", port: unknown.object } }),
                ]),
            );
        });

        it("reports nothing when the rules or the whole spec are unknown", async () => {
            assertClean(
                await runStackPolicy(policy, [...services(), mutate(ingress(), (p) => (p.spec.rules = unknown.array))]),
            );
            assertClean(
                await runStackPolicy(policy, [...services(), mutate(ingress(), (p) => (p.spec = unknown.object))]),
            );
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

    describe("generateName", () => {
        it("does not take the logical name of a Service with generateName only as its name", async () => {
            const generated = mutate(exchangeService("router"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = "router-";
            });
            // Logical name "exchange-router-service": the API server names it "router-xxxxx".
            assertOneViolation(
                await runStackPolicy(policy, [generated, exchangeService("ws-stream"), ingress()]),
                'routes to Service "exchange-router-service"',
            );
        });

        it("takes a name left unknown in the planned state of a Service with generateName as generated", async () => {
            const planned = mutate(exchangeService("router"), (p) => {
                p.metadata.name = unknown.string;
                p.metadata.generateName = "router-";
            });
            assertOneViolation(
                await runStackPolicy(policy, [planned, exchangeService("ws-stream"), ingress()]),
                'routes to Service "exchange-router-service"',
            );
        });

        it("does not take the logical name as the generated name when it merely starts with the prefix", async () => {
            // Logical name "exchange-router-service", generateName "exchange-router-": the API server
            // adds exactly 5 characters without vowels, so the name is never "exchange-router-service".
            const generated = mutate(exchangeService("router"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = "exchange-router-";
            });
            assertOneViolation(
                await runStackPolicy(policy, [generated, exchangeService("ws-stream"), ingress()]),
                'routes to Service "exchange-router-service"',
                '"exchange-router-<random suffix>"',
            );
        });

        it("reports nothing for a backend name the generated name may turn out to be", async () => {
            const generated = mutate(exchangeService("router"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = "exchange-router-";
            });
            const backend = { service: { name: "exchange-router-x7k2p", port: { number: 80 } } };
            assertClean(await runStackPolicy(policy, [generated, exchangeService("ws-stream"), withBackend(backend)]));
        });

        it("cuts a long generateName to 58 characters before the 5 random ones, as the API server does", async () => {
            const prefix = `exchange-router-${"a".repeat(60)}`;
            const generated = mutate(exchangeService("router"), (p) => {
                delete p.metadata.name;
                p.metadata.generateName = prefix;
            });
            const named = (name: string) => withBackend({ service: { name, port: { number: 80 } } });
            assertClean(
                await runStackPolicy(policy, [
                    generated,
                    exchangeService("ws-stream"),
                    named(`${prefix.slice(0, 58)}b2c4d`),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [generated, exchangeService("ws-stream"), named(`${prefix}b2c4d`)]),
                "routes to Service",
            );
        });
    });

    describe("messages", () => {
        it("prints readable text, never an internal marker, when the Service's ports are unknown", async () => {
            const svc = mutate(exchangeService("router"), (p) => (p.spec.ports = unknown.array));
            const msg = assertOneViolation(
                await runStackPolicy(policy, [
                    svc,
                    exchangeService("ws-stream"),
                    withBackend({ service: { name: "exchange-router-service" } }),
                ]),
                "without a port",
                "ports unknown during preview",
            );
            assert.doesNotMatch(msg, /Symbol\(|exchange-policy\.unknown|04da6b54|\[object Object\]/);
        });
    });

    describe("patches", () => {
        it("checks the backends an IngressPatch sets", async () => {
            const ingPatch = patch("IngressPatch", "reroute", {
                metadata: { name: "exchange-ingress" },
                spec: { defaultBackend: { service: { name: "exchange-routr-service", port: { number: 80 } } } },
            });
            assertOneViolation(
                await runStackPolicy(policy, [...services(), ingPatch]),
                'IngressPatch "exchange-ingress" defaultBackend routes to Service "exchange-routr-service"',
            );
            const merged = await runStackPolicy(policy, [...services(), ingress(), ingPatch]);
            assertOneViolation(merged, 'Ingress "exchange-ingress" (as patched by "reroute") defaultBackend');
        });

        it("counts a Service that a ServicePatch patches as existing, with the ports it may have", async () => {
            const svcPatch = patch("ServicePatch", "legacy-affinity", {
                metadata: { name: "legacy" },
                spec: { sessionAffinity: "None" },
            });
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    svcPatch,
                    withBackend({ service: { name: "legacy", port: { number: 8080 } } }),
                ]),
            );
        });

        it("sees ports that a ServicePatch adds to a Service of the stack", async () => {
            const addPort = patch("ServicePatch", "admin-port", {
                metadata: { name: "exchange-router-service" },
                spec: { ports: [{ name: "admin", port: 9000, targetPort: 9090 }] },
            });
            const ing = withBackend({ service: { name: "exchange-router-service", port: { name: "admin" } } });
            assertClean(await runStackPolicy(policy, [...services(), addPort, ing]));
            assertOneViolation(await runStackPolicy(policy, [...services(), ing]), 'port "admin"');
        });
    });

    describe("several clusters (providers) in one stack", () => {
        it("does not find a Service on another cluster", async () => {
            const r = await runStackPolicy(policy, [
                onCluster(exchangeService("router"), "eu-cluster"),
                exchangeService("ws-stream"),
                ingress(),
            ]);
            assertOneViolation(r, 'routes to Service "exchange-router-service"', "found only elsewhere");
        });

        it("finds the Services of its own cluster", async () => {
            const eu = [
                onCluster(exchangeService("router"), "eu-cluster"),
                onCluster(exchangeService("ws-stream"), "eu-cluster"),
                onCluster(ingress(), "eu-cluster"),
            ];
            assertClean(await runStackPolicy(policy, [...eu, ...exchangeStack()]));
        });
    });

    describe("unknown values that leave no choice", () => {
        it("flags a backend whose Service exists nowhere on the cluster while the Ingress's namespace is unknown", async () => {
            const ing = mutate(
                withBackend({ service: { name: "exchange-routr-service", port: { number: 80 } } }),
                (p) => (p.metadata.namespace = unknown.string),
            );
            assertOneViolation(
                await runStackPolicy(policy, [...services(), ing]),
                'routes to Service "exchange-routr-service"',
            );
            assertClean(
                await runStackPolicy(policy, [
                    ...services(),
                    mutate(ingress(), (p) => (p.metadata.namespace = unknown.string)),
                ]),
            );
        });

        it("reports nothing when the namespace is unknown and a namespace/name entry of externalServices has the name", async () => {
            const ing = mutate(
                withBackend({ service: { name: "legacy", port: { number: 80 } } }),
                (p) => (p.metadata.namespace = unknown.string),
            );
            assertClean(
                await runStackPolicy(policy, [...services(), ing], {
                    "ingress-backend-exists": { externalServices: ["legacy-ns/legacy"] },
                }),
            );
        });
    });
});
