import * as assert from "node:assert/strict";
import { containerReadinessProbe as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate, service, workload } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const noProbe = () => mutate(deployment(), (p) => delete p.spec.template.spec.containers[0].readinessProbe);

describe("container-readiness-probe", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-readiness-probe", "advisory", "readinessProbe");
    });

    it("passes containers with a readiness probe", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
    });

    it("flags a container without a readiness probe", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, noProbe()),
            'container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router" has no readinessProbe',
            "spec.template.spec.containers[0].readinessProbe",
        );
    });

    it("flags each container without a probe, and only those", async () => {
        const d = mutate(deployment(), (p) => {
            p.spec.template.spec.containers.push(container({ name: "sidecar", readinessProbe: undefined }));
            p.spec.template.spec.containers.push(container({ name: "ok" }));
        });
        const r = await runResourcePolicy(policy, d);
        assert.equal(r.violations.length, 1);
        assert.ok(r.violations[0].includes('"sidecar" (spec.template.spec.containers[1])'));
    });

    it("does not require probes on init containers", async () => {
        const d = mutate(
            deployment(),
            (p) => (p.spec.template.spec.initContainers = [container({ name: "migrate", readinessProbe: undefined })]),
        );
        assertClean(await runResourcePolicy(policy, d));
    });

    it("uses the right path for Pods and CronJobs", async () => {
        const pod = mutate(workload("Pod"), (p) => delete p.spec.containers[0].readinessProbe);
        assertOneViolation(await runResourcePolicy(policy, pod), "(spec.containers[0]) of Pod");
        const cron = mutate(
            workload("CronJob"),
            (p) => delete p.spec.jobTemplate.spec.template.spec.containers[0].readinessProbe,
        );
        assertOneViolation(await runResourcePolicy(policy, cron), "spec.jobTemplate.spec.template.spec.containers[0]");
    });

    it("is not applicable to Services", async () => {
        const r = await runResourcePolicy(policy, service());
        assert.ok(r.notApplicable);
        assert.deepEqual(r.violations, []);
    });

    it("reports nothing during preview when the probe, a container or the containers are unknown", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers[0].readinessProbe = unknown.object)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers[0] = unknown.object)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers = unknown.array)),
            ),
        );
    });
});
