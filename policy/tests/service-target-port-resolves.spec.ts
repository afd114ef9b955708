import * as assert from "node:assert/strict";
import { serviceTargetPortResolves as policy } from "../policies";
import { EXTERNAL_WORKLOAD_ANNOTATION } from "../lib/k8s";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    container,
    deployment,
    exchangeService,
    exchangeStack,
    mutate,
    service,
    statefulSet,
} from "../testing/fixtures";
import { runStackPolicy, unknown } from "../testing/harness";

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
        assertClean(
            await runStackPolicy(policy, [deployment(), withPorts([{ name: "http", port: 80, targetPort: "http" }])]),
        );
    });

    it("flags a numeric targetPort that no selected container declares", async () => {
        const r = await runStackPolicy(policy, [
            deployment(),
            withPorts([{ name: "http", port: 80, targetPort: 8081 }]),
        ]);
        assertOneViolation(
            r,
            'Service "exchange-router-service" port "http" (80/TCP) (spec.ports[0]): targetPort is 8081',
            "declares containerPort 8081/TCP",
            'Deployment "exchange-router": 8080/TCP ("http"), 9090/TCP ("metrics")',
        );
        assert.match(r.urns[0] ?? "", /::exchange-router-service$/);
    });

    it("flags a named targetPort that no selected container declares", async () => {
        const r = await runStackPolicy(policy, [deployment(), withPorts([{ port: 80, targetPort: "htp" }])]);
        assertOneViolation(
            r,
            'targetPort is "htp"',
            'a TCP container port named "htp"',
            '8080/TCP ("http"), 9090/TCP ("metrics")',
        );
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
        const noMetrics = deployment({
            spec: {
                template: { spec: { containers: [container({ ports: [{ name: "http", containerPort: 8080 }] })] } },
            },
        });
        const r = await runStackPolicy(policy, [noMetrics, exchangeService("router", "multiport")]);
        assertOneViolation(
            r,
            'port "metrics" (9090/TCP) (spec.ports[1])',
            "containerPort 9090/TCP",
            '8080/TCP ("http")',
        );
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
                    {
                        ...container({ name: "proxy", ports: [{ name: "proxy", containerPort: 15001 }] }),
                        ...(restartPolicy ? { restartPolicy } : {}),
                    },
                ];
            });
        const svc = withPorts([{ port: 80, targetPort: "proxy" }]);
        assertClean(await runStackPolicy(policy, [sidecar("Always"), svc]));
        assertOneViolation(await runStackPolicy(policy, [sidecar(), svc]), '"proxy"');
    });

    it("works for StatefulSets", async () => {
        assertClean(await runStackPolicy(policy, [statefulSet(), service({}, "postgres")]));
        assertOneViolation(
            await runStackPolicy(policy, [
                statefulSet(),
                service({ spec: { ports: [{ port: 80, targetPort: 5433 }] } }, "postgres"),
            ]),
            'StatefulSet "exchange-postgres": 5432/TCP ("http")',
        );
    });

    it("leaves Services that select nothing to service-selector-matches-workload", async () => {
        assertClean(
            await runStackPolicy(policy, [
                deployment(),
                service({ spec: { selector: { app: "nope" }, ports: [{ port: 1 }] } }),
            ]),
        );
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
            assertClean(
                await runStackPolicy(policy, [deployment(), withPorts([{ port: 80, targetPort: unknown.number }])]),
            );
        });

        it("reports nothing when the Service ports are unknown", async () => {
            assertClean(
                await runStackPolicy(policy, [deployment(), mutate(service(), (p) => (p.spec.ports = unknown.array))]),
            );
        });

        it("reports nothing when the containers or their ports are unknown", async () => {
            const svc = withPorts([{ port: 80, targetPort: 8081 }]);
            const containersUnknown = mutate(deployment(), (p) => (p.spec.template.spec.containers = unknown.array));
            assertClean(await runStackPolicy(policy, [containersUnknown, svc]));
            const portsUnknown = mutate(
                deployment(),
                (p) => (p.spec.template.spec.containers[0].ports = unknown.array),
            );
            assertClean(await runStackPolicy(policy, [portsUnknown, svc]));
            const portUnknown = mutate(
                deployment(),
                (p) => (p.spec.template.spec.containers[0].ports[0].containerPort = unknown.number),
            );
            assertClean(await runStackPolicy(policy, [portUnknown, svc]));
        });

        it("reports nothing when another workload that may be selected declares the port", async () => {
            const maybe = mutate(deployment({}, "redis"), (p) => {
                p.spec.template.metadata.labels = unknown.object;
                p.spec.template.spec.containers[0].ports.push({ containerPort: 8081 });
            });
            assertClean(
                await runStackPolicy(policy, [deployment(), maybe, withPorts([{ port: 80, targetPort: 8081 }])]),
            );
        });

        it("still flags a port that neither the selected workload nor any possibly selected one declares", async () => {
            const maybe = mutate(deployment({}, "redis"), (p) => (p.spec.template.metadata.labels = unknown.object));
            assertOneViolation(
                await runStackPolicy(policy, [deployment(), maybe, withPorts([{ port: 80, targetPort: 8081 }])]),
                "containerPort 8081/TCP",
                'Deployment "exchange-redis" (if selected: its labels or namespace are unknown during preview)',
            );
        });

        it("reports nothing when only a possibly selected workload lacks the port (this policy may not apply)", async () => {
            const maybe = mutate(deployment(), (p) => (p.spec.template.metadata.labels = unknown.object));
            assertClean(await runStackPolicy(policy, [maybe, withPorts([{ port: 80, targetPort: 8081 }])]));
        });

        it("reports nothing while a sidecar's restartPolicy is unknown, and flags once it is known not to be one", async () => {
            const withInit = (restartPolicy: unknown) =>
                mutate(deployment(), (p) => {
                    p.spec.template.spec.initContainers = [
                        {
                            ...container({ name: "proxy", ports: [{ name: "proxy", containerPort: 15001 }] }),
                            restartPolicy,
                        },
                    ];
                });
            const svc = withPorts([{ port: 80, targetPort: "proxy" }]);
            assertClean(await runStackPolicy(policy, [withInit(unknown.string), svc]));
            assertOneViolation(await runStackPolicy(policy, [withInit("OnFailure"), svc]), '"proxy"');
        });

        it("reports nothing when the Service port's protocol is unknown, but flags a target no container declares under any protocol", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    withPorts([{ port: 80, targetPort: "http", protocol: unknown.string }]),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    deployment(),
                    withPorts([{ port: 80, targetPort: "grpc", protocol: unknown.string }]),
                ]),
                'container port named "grpc"',
            );
        });

        it("reports nothing when the annotations (the exemption) are unknown", async () => {
            const bad = withPorts([{ port: 80, targetPort: 8081 }]);
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    mutate(bad, (p) => (p.metadata.annotations = unknown.object)),
                ]),
            );
            const value = mutate(
                bad,
                (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: unknown.string }),
            );
            assertClean(await runStackPolicy(policy, [deployment(), value]));
        });
    });

    describe("protocols (a named targetPort resolves by name and protocol)", () => {
        const dns = (ports: unknown[]) =>
            mutate(deployment(), (p) => (p.spec.template.spec.containers[0].ports = ports));
        const tcpAndUdp = dns([
            { name: "dns", containerPort: 53, protocol: "UDP" },
            { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
        ]);

        it("passes UDP and TCP Service ports that name container ports of their own protocol", async () => {
            const svc = withPorts([
                { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
                { name: "dns-tcp", port: 53, targetPort: "dns-tcp", protocol: "TCP" },
            ]);
            assertClean(await runStackPolicy(policy, [tcpAndUdp, svc]));
        });

        it("flags a UDP Service port whose name matches only a TCP container port", async () => {
            const svc = withPorts([{ name: "dns", port: 53, targetPort: "dns-tcp", protocol: "UDP" }]);
            assertOneViolation(
                await runStackPolicy(policy, [tcpAndUdp, svc]),
                "(53/UDP)",
                'a UDP container port named "dns-tcp"',
                '53/TCP ("dns-tcp")',
            );
        });

        it("flags the reverse: a Service port without protocol (TCP) naming a UDP container port", async () => {
            const svc = withPorts([{ name: "dns", port: 53, targetPort: "dns" }]);
            assertOneViolation(
                await runStackPolicy(policy, [tcpAndUdp, svc]),
                "(53/TCP)",
                'a TCP container port named "dns"',
                '53/UDP ("dns")',
            );
        });

        it("takes an absent container port protocol as TCP", async () => {
            const plain = dns([{ name: "web", containerPort: 8080 }]);
            assertClean(
                await runStackPolicy(policy, [plain, withPorts([{ port: 80, targetPort: "web", protocol: "TCP" }])]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [plain, withPorts([{ port: 80, targetPort: "web", protocol: "SCTP" }])]),
                "SCTP",
            );
        });

        it("resolves numeric targetPorts by number and protocol too (SCTP)", async () => {
            const sctp = dns([{ name: "diameter", containerPort: 3868, protocol: "SCTP" }]);
            assertClean(await runStackPolicy(policy, [sctp, withPorts([{ port: 3868, protocol: "SCTP" }])]));
            assertOneViolation(
                await runStackPolicy(policy, [sctp, withPorts([{ port: 3868 }])]),
                "containerPort 3868/TCP",
                "3868/SCTP",
            );
        });
    });
});
