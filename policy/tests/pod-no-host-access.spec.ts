import * as assert from "node:assert/strict";
import { podNoHostAccess as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, daemonSet, deployment, mutate, patch, service, workload } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const edit = (fn: (podSpec: any) => void) => mutate(deployment(), (p) => fn(p.spec.template.spec));
const allow = (...entries: string[]) => ({ "pod-no-host-access": { allowedWorkloads: entries } });

describe("pod-no-host-access", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "pod-no-host-access", "mandatory", "hostNetwork");
        assert.deepEqual(policy.configSchema!.properties.allowedWorkloads.default, []);
    });

    it("passes a workload that stays in its pod (host fields false or absent)", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
        assertClean(
            await runResourcePolicy(
                policy,
                edit((s) => {
                    s.hostNetwork = false;
                    s.volumes = [{ name: "tmp", emptyDir: {} }];
                    s.containers[0].securityContext = { privileged: false };
                }),
            ),
        );
    });

    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        it(`flags ${field}: true`, async () => {
            assertOneViolation(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s[field] = true)),
                ),
                `Deployment "exchange-router" gives its pods access to the node`,
                `spec.template.spec.${field} is true`,
            );
        });
    }

    it("flags a hostPath volume, naming its path", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => (s.volumes = [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }])),
            ),
            'spec.template.spec.volumes[0] ("docker") is a hostPath volume of "/var/run/docker.sock"',
        );
    });

    it("flags privileged containers, init containers and ephemeral containers", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => (s.containers[0].securityContext = { privileged: true })),
            ),
            'spec.template.spec.containers[0].securityContext.privileged is true (container "router")',
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit(
                    (s) => (s.initContainers = [container({ name: "sysctl", securityContext: { privileged: true } })]),
                ),
            ),
            'container "sysctl"',
        );
        const pod = mutate(workload("Pod"), (p) => {
            p.spec.ephemeralContainers = [
                { name: "debug", image: "busybox:1.36", securityContext: { privileged: true } },
            ];
        });
        assertOneViolation(
            await runResourcePolicy(policy, pod),
            "spec.ephemeralContainers[0].securityContext.privileged",
        );
    });

    it("checks the pod templates of every workload kind", async () => {
        for (const kind of ["StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"] as const) {
            const w = mutate(workload(kind), (p) => {
                const spec =
                    kind === "Pod"
                        ? p.spec
                        : kind === "CronJob"
                          ? p.spec.jobTemplate.spec.template.spec
                          : p.spec.template.spec;
                spec.hostNetwork = true;
            });
            assertOneViolation(await runResourcePolicy(policy, w), `${kind} "exchange-router"`, "hostNetwork is true");
        }
    });

    it("allows a node agent on allowedWorkloads (name or namespace/name)", async () => {
        const agent = mutate(daemonSet(), (p) => {
            p.metadata.namespace = "monitoring";
            p.spec.template.spec.hostPID = true;
        });
        assertClean(await runResourcePolicy(policy, agent, allow("monitoring/exchange-router")));
        assertOneViolation(await runResourcePolicy(policy, agent, allow("default/exchange-router")), "hostPID");
    });

    it("checks what a workload patch sets", async () => {
        const p = patch("DeploymentPatch", "debug-host", {
            metadata: { name: "exchange-router" },
            spec: { template: { spec: { hostNetwork: true } } },
        });
        assertOneViolation(await runResourcePolicy(policy, p), 'DeploymentPatch "exchange-router"');
        const imageOnly = patch("DeploymentPatch", "bump", {
            metadata: { name: "exchange-router" },
            spec: { template: { spec: { containers: [{ name: "router", image: "exchange/router:1.4.3" }] } } },
        });
        assertClean(await runResourcePolicy(policy, imageOnly));
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, service());
        assert.match(r.notApplicable ?? "", /workloads/);
    });

    describe("during preview", () => {
        it("reports nothing while a host field, a volume, a securityContext or the pod spec is unknown", async () => {
            assertClean(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s.hostNetwork = unknown.boolean)),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s.volumes = [unknown.object])),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s.volumes = unknown.array)),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s.containers[0].securityContext = { privileged: unknown.boolean })),
                ),
            );
            assertClean(
                await runResourcePolicy(
                    policy,
                    mutate(deployment(), (p) => (p.spec.template.spec = unknown.object)),
                ),
            );
        });

        it("flags a hostPath volume whose path is unknown: any host path is one", async () => {
            assertOneViolation(
                await runResourcePolicy(
                    policy,
                    edit((s) => (s.volumes = [{ name: "host", hostPath: unknown.object }])),
                ),
                'volumes[0] ("host") is a hostPath volume',
            );
        });

        it("reports nothing when an unknown name may be on the allowlist", async () => {
            const w = mutate(deployment(), (p) => {
                p.metadata.name = unknown.string;
                p.spec.template.spec.hostPID = true;
            });
            assertClean(await runResourcePolicy(policy, w, allow("node-agent")));
            assertOneViolation(await runResourcePolicy(policy, w), "hostPID");
        });
    });
});
