import * as assert from "node:assert/strict";
import { serviceTargetPortResolves as policy } from "../policies";
import { EXTERNAL_WORKLOAD_ANNOTATION } from "../lib/k8s";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, exchangeService, exchangeStack, mutate, service, statefulSet } from "./fixtures";
import { runStackPolicy, unknown } from "./harness";

const withPorts = (ports: unknown[]) => mutate(service(), (p) => (p.spec.ports = ports));

describe("service-target-port-resolves", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-target-port-resolves", "mandatory", "targetPort");
        assert.deepEqual(policy.configSchema!.properties.externalWorkloadServices.default, []);
    });

    it("passes the exchange platform and its headless and multi-port variants", async () => {
        const variants = (["router", "ws-stream", "postgres", "redis"] as const).flatMap((s) => [
            exchangeService(s, "headless"),
            exchangeService(s, "multiport"),
        ]);
        assertClean(await runStackPolicy(policy, [...exchangeStack(), ...variants]));
    });

    it("resolves a named targetPort against the container port names", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), withPorts([{ name: "http", port: 80, targetPort: "http" }])]));
    });

    it("flags a numeric targetPort that no selected container declares", async () => {
        const r = await runStackPolicy(policy, [deployment(), withPorts([{ name: "http", port: 80, targetPort: 8081 }])]);
        assertOneViolation(
            r,
            'Service "exchange-router-service" port "http" (80) (spec.ports[0]): targetPort is 8081',
            "declares containerPort 8081",
            'Deployment "exchange-router": 8080/http, 9090/metrics',
        );
        assert.match(r.urns[0] ?? "", /::exchange-router-service$/);
    });

    it("flags a named targetPort that no selected container declares", async () => {
        const r = await runStackPolicy(policy, [deployment(), withPorts([{ port: 80, targetPort: "htp" }])]);
        assertOneViolation(r, 'targetPort is "htp"', 'a container port named "htp"', "8080/http, 9090/metrics");
    });

    it("treats an absent targetPort as equal to port", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), withPorts([{ name: "http", port: 8080 }])]));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), withPorts([{ name: "http", port: 80 }])]),
            "targetPort is not set, so it defaults to port",
            "containerPort 80",
        );
    });

    it("accepts an all-digit string targetPort as a number", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), withPorts([{ port: 80, targetPort: "8080" }])]));
    });

    it("checks every port of a multi-port Service", async () => {
        const noMetrics = deployment({ spec: { template: { spec: { containers: [container({ ports: [{ name: "http", containerPort: 8080 }] })] } } } });
        const r = await runStackPolicy(policy, [noMetrics, exchangeService("router", "multiport")]);
        assertOneViolation(r, 'port "metrics" (9090) (spec.ports[1])', "containerPort 9090", "8080/http");
    });

    it("resolves against any of several selected workloads", async () => {
        const canary = mutate(deployment(), (p) => {
            p.metadata.name = "exchange-router-canary";
            p.spec.template.spec.containers[0].ports = [{ name: "http", containerPort: 8081 }];
        });
        assertClean(await runStackPolicy(policy, [deployment(), canary, withPorts([{ port: 80, targetPort: 8081 }])]));
    });

    it("counts ports of restartable init containers (sidecars) but not of plain init containers", async () => {
        const sidecar = (restartPolicy?: string) =>
            mutate(deployment(), (p) => {
                p.spec.template.spec.initContainers = [
                    { ...container({ name: "proxy", ports: [{ name: "proxy", containerPort: 15001 }] }), ...(restartPolicy ? { restartPolicy } : {}) },
                ];
            });
        const svc = withPorts([{ port: 80, targetPort: "proxy" }]);
        assertClean(await runStackPolicy(policy, [sidecar("Always"), svc]));
        assertOneViolation(await runStackPolicy(policy, [sidecar(), svc]), '"proxy"');
    });

    it("works for StatefulSets", async () => {
        assertClean(await runStackPolicy(policy, [statefulSet(), service({}, "postgres")]));
        assertOneViolation(
            await runStackPolicy(policy, [statefulSet(), service({ spec: { ports: [{ port: 80, targetPort: 5433 }] } }, "postgres")]),
            'StatefulSet "exchange-postgres": 5432/http',
        );
    });

    it("leaves Services that select nothing to service-selector-matches-workload", async () => {
        assertClean(await runStackPolicy(policy, [deployment(), service({ spec: { selector: { app: "nope" }, ports: [{ port: 1 }] } })]));
    });

    it("exempts Services with the external-workload annotation or on externalWorkloadServices", async () => {
        const bad = withPorts([{ port: 80, targetPort: 8081 }]);
        const annotated = mutate(bad, (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "true" }));
        assertClean(await runStackPolicy(policy, [deployment(), annotated]));
        const config = { "service-target-port-resolves": { externalWorkloadServices: ["exchange-router-service"] } };
        assertClean(await runStackPolicy(policy, [deployment(), bad], config));
        assertOneViolation(await runStackPolicy(policy, [deployment(), bad]), "8081");
    });

    describe("during preview", () => {
        it("reports nothing when the targetPort is unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), withPorts([{ port: 80, targetPort: unknown.number }])]));
        });

        it("reports nothing when the Service ports are unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), mutate(service(), (p) => (p.spec.ports = unknown.array))]));
        });

        it("reports nothing when the containers or their ports are unknown", async () => {
            const svc = withPorts([{ port: 80, targetPort: 8081 }]);
            const containersUnknown = mutate(deployment(), (p) => (p.spec.template.spec.containers = unknown.array));
            assertClean(await runStackPolicy(policy, [containersUnknown, svc]));
            const portsUnknown = mutate(deployment(), (p) => (p.spec.template.spec.containers[0].ports = unknown.array));
            assertClean(await runStackPolicy(policy, [portsUnknown, svc]));
            const portUnknown = mutate(deployment(), (p) => (p.spec.template.spec.containers[0].ports[0].containerPort = unknown.number));
            assertClean(await runStackPolicy(policy, [portUnknown, svc]));
        });

        it("reports nothing when another workload might be selected once its labels are known", async () => {
            const maybe = mutate(deployment({}, "redis"), (p) => (p.spec.template.metadata.labels = unknown.object));
            assertClean(await runStackPolicy(policy, [deployment(), maybe, withPorts([{ port: 80, targetPort: 8081 }])]));
        });
    });
});
