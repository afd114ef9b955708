import * as assert from "node:assert/strict";
import { containerProbePortResolves as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate, patch, service, workload } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

/** The router Deployment whose container is edited by `fn` (ports: http 8080, metrics 9090). */
const edit = (fn: (c: any) => void) => mutate(deployment(), (p) => fn(p.spec.template.spec.containers[0]));

describe("container-probe-port-resolves", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-probe-port-resolves", "mandatory", "probe");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes probes on a declared port name, and on port numbers", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
        assertClean(
            await runResourcePolicy(
                policy,
                edit((c) => {
                    c.livenessProbe = { tcpSocket: { port: "metrics" } };
                    c.startupProbe = { httpGet: { path: "/", port: 8181 } };
                    c.readinessProbe = { grpc: { port: 9000 } };
                }),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                edit((c) => (c.readinessProbe = { exec: { command: ["true"] } })),
            ),
        );
    });

    it("flags a probe on a port name the container does not declare, listing its ports", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((c) => (c.readinessProbe = { httpGet: { path: "/healthz", port: "health" } })),
            ),
            'container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router" probes port(s) by a name',
            'spec.template.spec.containers[0].readinessProbe.httpGet.port "health"',
            'its ports: 8080 ("http"), 9090 ("metrics")',
        );
    });

    it("checks liveness and startup probes and tcpSocket, in one violation per container", async () => {
        const msg = assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((c) => {
                    c.livenessProbe = { tcpSocket: { port: "htp" } };
                    c.startupProbe = { httpGet: { port: "web" } };
                }),
            ),
            'livenessProbe.tcpSocket.port "htp"',
            'startupProbe.httpGet.port "web"',
        );
        assert.doesNotMatch(msg, /readinessProbe/);
    });

    it("does not resolve a name against another container's ports", async () => {
        const d = mutate(deployment(), (p) =>
            p.spec.template.spec.containers.push(
                container({
                    name: "proxy",
                    ports: [{ name: "proxy", containerPort: 8443 }],
                    readinessProbe: { tcpSocket: { port: "http" } },
                }),
            ),
        );
        assertOneViolation(await runResourcePolicy(policy, d), 'container "proxy"', 'port "http"');
    });

    it("needs the named port over TCP: a UDP port of that name serves no probe", async () => {
        const udp = edit((c) => (c.ports = [{ name: "http", containerPort: 8080, protocol: "UDP" }]));
        assertOneViolation(await runResourcePolicy(policy, udp), 'port "http"', "8080/UDP");
    });

    it("checks init containers (sidecars) and every workload kind", async () => {
        const sidecar = mutate(deployment(), (p) => {
            p.spec.template.spec.initContainers = [
                container({
                    name: "proxy",
                    restartPolicy: "Always",
                    ports: [],
                    readinessProbe: { tcpSocket: { port: "http" } },
                }),
            ];
        });
        assertOneViolation(await runResourcePolicy(policy, sidecar), 'init container "proxy"');
        const pod = mutate(workload("Pod"), (p) => (p.spec.containers[0].readinessProbe.httpGet.port = "nope"));
        assertOneViolation(await runResourcePolicy(policy, pod), "spec.containers[0].readinessProbe.httpGet.port");
    });

    it("leaves a patch's probe alone: the patched container's ports are not all known", async () => {
        const p = patch("DeploymentPatch", "probe", {
            metadata: { name: "exchange-router" },
            spec: {
                template: {
                    spec: { containers: [{ name: "router", readinessProbe: { tcpSocket: { port: "admin" } } }] },
                },
            },
        });
        assertClean(await runResourcePolicy(policy, p));
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, service());
        assert.match(r.notApplicable ?? "", /workloads/);
    });

    it("reports nothing during preview while the probe port, the ports or a port's name are unknown", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                edit((c) => (c.readinessProbe.httpGet.port = unknown.string)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                edit((c) => (c.readinessProbe = unknown.object)),
            ),
        );
        const named = (ports: unknown) =>
            edit((c) => {
                c.ports = ports;
                c.readinessProbe.httpGet.port = "admin";
            });
        assertClean(await runResourcePolicy(policy, named(unknown.array)));
        assertClean(await runResourcePolicy(policy, named([{ name: unknown.string, containerPort: 8080 }])));
        assertClean(
            await runResourcePolicy(policy, named([{ name: "admin", containerPort: 8080, protocol: unknown.string }])),
        );
    });
});
