import * as assert from "node:assert/strict";
import { serviceSelectorMatchesWorkload as policy } from "../policies";
import { EXTERNAL_WORKLOAD_ANNOTATION } from "../lib/k8s";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { daemonSet, deployment, exchangeService, exchangeStack, mutate, service, statefulSet, workload } from "./fixtures";
import { runStackPolicy, unknown } from "./harness";

const typo = () => service({ spec: { selector: { app: "exchange-routr" } } });

describe("service-selector-matches-workload", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-selector-matches-workload", "mandatory", "selector");
        assert.deepEqual(policy.configSchema!.properties.externalWorkloadServices.default, []);
    });

    it("passes the whole exchange platform, with its headless and multi-port variants", async () => {
        const variants = [exchangeService("router", "headless"), exchangeService("router", "multiport"), exchangeService("router", "external")];
        assertClean(await runStackPolicy(policy, [...exchangeStack(), ...variants]));
    });

    it("passes Services that select a StatefulSet or a DaemonSet", async () => {
        assertClean(await runStackPolicy(policy, [statefulSet(), service({}, "postgres")]));
        assertClean(await runStackPolicy(policy, [daemonSet(), service()]));
    });

    it("passes when the selector is a subset of the pod labels", async () => {
        const d = deployment({ spec: { template: { metadata: { labels: { app: "exchange-router", tier: "backend" } } } } });
        assertClean(await runStackPolicy(policy, [d, service()]));
    });

    it("flags a selector typo, naming the Service, its selector and the nearest workload's labels", async () => {
        const r = await runStackPolicy(policy, [deployment(), typo()]);
        assertOneViolation(
            r,
            'Service "exchange-router-service" has selector {app=exchange-routr} that selects no pods',
            'nearest workload is Deployment "exchange-router" with pod template labels {app=exchange-router}',
            "(0 of 1 selector labels match)",
            EXTERNAL_WORKLOAD_ANNOTATION,
        );
        assert.equal(r.urns[0], "urn:pulumi:test::exchange-platform::kubernetes:core/v1:Service::exchange-router-service");
    });

    it("picks as nearest the workload sharing the most selector key/values", async () => {
        const svc = service({ spec: { selector: { app: "exchange-router", tier: "edge" } } });
        const r = await runStackPolicy(policy, [deployment({}, "ws-stream"), deployment(), deployment({}, "redis"), svc]);
        assertOneViolation(r, 'Deployment "exchange-router"', "(1 of 2 selector labels match)");
    });

    it("flags a Service whose matching pods are in another namespace", async () => {
        const svc = mutate(service(), (p) => (p.metadata.namespace = "trading"));
        assertOneViolation(
            await runStackPolicy(policy, [deployment(), svc]),
            'There is no workload in namespace "trading"',
            "only in another namespace",
        );
    });

    it("uses the provider's namespace for resources without metadata.namespace", async () => {
        const svc = { ...service(), provider: { props: { namespace: "trading" } } };
        const d = mutate(deployment(), (p) => (p.metadata.namespace = "trading"));
        assertClean(await runStackPolicy(policy, [d, svc]));
        assertOneViolation(await runStackPolicy(policy, [deployment(), svc]), "only in another namespace");
    });

    it("reports each non-matching Service once, and only those", async () => {
        const r = await runStackPolicy(policy, [...exchangeStack(), typo(), service({ metadata: { name: "other" }, spec: { selector: { app: "nope" } } })]);
        assert.equal(r.violations.length, 2, r.violations.join("\n"));
    });

    it("ignores Services without a selector and ExternalName Services", async () => {
        assertClean(await runStackPolicy(policy, [service({ spec: { selector: undefined } })]));
        assertClean(await runStackPolicy(policy, [mutate(service(), (p) => (p.spec.selector = {}))]));
        assertClean(await runStackPolicy(policy, [service({ metadata: { name: "x" }, spec: { type: "ExternalName", selector: { a: "b" } } })]));
    });

    it("exempts a Service annotated as selecting an external workload", async () => {
        const svc = mutate(typo(), (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "true" }));
        assertClean(await runStackPolicy(policy, [deployment(), svc]));
        const notExempt = mutate(typo(), (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "false" }));
        assertOneViolation(await runStackPolicy(policy, [deployment(), notExempt]), "exchange-routr");
    });

    it("exempts a Service listed in externalWorkloadServices", async () => {
        const config = { "service-selector-matches-workload": { externalWorkloadServices: ["exchange-router-service"] } };
        assertClean(await runStackPolicy(policy, [deployment(), typo()], config));
        const other = { "service-selector-matches-workload": { externalWorkloadServices: ["something-else"] } };
        assertOneViolation(await runStackPolicy(policy, [deployment(), typo()], other), "exchange-routr");
    });

    it("counts Jobs, CronJobs and bare Pods as workloads", async () => {
        for (const kind of ["Job", "CronJob", "Pod"] as const) {
            assertClean(await runStackPolicy(policy, [workload(kind), service()]));
        }
    });

    describe("during preview", () => {
        it("reports nothing when a selector value is unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), service({ spec: { selector: { app: unknown.string } } })]));
        });

        it("reports nothing when the selector is unknown", async () => {
            assertClean(await runStackPolicy(policy, [deployment(), service({ spec: { selector: unknown.object } })]));
        });

        it("reports nothing when a workload's labels are unknown", async () => {
            const d = deployment({ spec: { template: { metadata: { labels: unknown.object } } } });
            assertClean(await runStackPolicy(policy, [d, typo()]));
            const v = deployment({ spec: { template: { metadata: { labels: { app: unknown.string } } } } });
            assertClean(await runStackPolicy(policy, [v, typo()]));
        });

        it("reports nothing when a matching workload's namespace is unknown", async () => {
            const svc = mutate(service(), (p) => (p.metadata.namespace = "trading"));
            const d = mutate(deployment(), (p) => (p.metadata.namespace = unknown.string));
            assertClean(await runStackPolicy(policy, [d, svc]));
            // Control: the same workload in a known other namespace is a violation.
            assertOneViolation(await runStackPolicy(policy, [deployment(), svc]), "only in another namespace");
        });

        it("still checks the other Services when one resource is unknown", async () => {
            const unknownSpec = deployment({ metadata: { name: "exchange-other" }, spec: unknown.object }, "redis");
            const bad = service({ metadata: { name: "bad", namespace: "trading" }, spec: { selector: { app: "nope" } } });
            const r = await runStackPolicy(policy, [...exchangeStack(), unknownSpec, bad]);
            assertOneViolation(r, 'Service "bad" in namespace "trading"');
        });
    });
});
