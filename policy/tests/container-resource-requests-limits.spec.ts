import * as assert from "node:assert/strict";
import { containerResourceRequestsLimits as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate, statefulSet } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

describe("container-resource-requests-limits", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-resource-requests-limits", "advisory", "CPU and memory requests and limits");
    });

    it("passes containers with cpu/memory requests and limits", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
        assertClean(await runResourcePolicy(policy, statefulSet()));
    });

    it("lists exactly what is missing", async () => {
        const d = mutate(deployment(), (p) => {
            delete p.spec.template.spec.containers[0].resources.limits.memory;
            delete p.spec.template.spec.containers[0].resources.requests.cpu;
        });
        const msg = assertOneViolation(
            await runResourcePolicy(policy, d),
            'container "router"',
            "does not set resources.requests.cpu, resources.limits.memory",
            "spec.template.spec.containers[0].resources.requests.cpu",
        );
        assert.ok(!msg.includes("resources.requests.memory,"), msg);
    });

    it("flags a container with no resources at all", async () => {
        const d = mutate(deployment(), (p) => delete p.spec.template.spec.containers[0].resources);
        assertOneViolation(
            await runResourcePolicy(policy, d),
            "resources.requests.cpu, resources.requests.memory, resources.limits.cpu, resources.limits.memory",
        );
    });

    it("checks init containers too", async () => {
        const d = mutate(
            deployment(),
            (p) => (p.spec.template.spec.initContainers = [container({ name: "migrate", resources: undefined })]),
        );
        assertOneViolation(
            await runResourcePolicy(policy, d),
            'init container "migrate" (spec.template.spec.initContainers[0])',
        );
    });

    it("reports nothing during preview for unknown values", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers[0].resources = unknown.object)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers[0].resources.limits.cpu = unknown.string)),
            ),
        );
    });
});
