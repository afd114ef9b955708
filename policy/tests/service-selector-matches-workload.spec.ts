import * as assert from "node:assert/strict";
import { serviceSelectorMatchesWorkload as policy } from "../policies";
import { EXTERNAL_WORKLOAD_ANNOTATION } from "../lib/k8s";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import {
    daemonSet,
    deployment,
    exchangeService,
    exchangeStack,
    mutate,
    onCluster,
    patch,
    service,
    statefulSet,
    workload,
} from "../testing/fixtures";
import { runStackPolicy, unknown } from "../testing/harness";

const typo = () => service({ spec: { selector: { app: "exchange-routr" } } });

describe("service-selector-matches-workload", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "service-selector-matches-workload", "mandatory", "selector");
        assert.deepEqual(policy.configSchema!.properties.externalWorkloadServices.default, []);
    });

    it("passes the whole exchange platform, with its headless and multi-port variants", async () => {
        const variants = [
            exchangeService("router", "headless"),
            exchangeService("router", "multiport"),
            exchangeService("router", "external"),
        ];
        assertClean(await runStackPolicy(policy, [...exchangeStack(), ...variants]));
    });

    it("passes Services that select a StatefulSet or a DaemonSet", async () => {
        assertClean(await runStackPolicy(policy, [statefulSet(), service({}, "postgres")]));
        assertClean(await runStackPolicy(policy, [daemonSet(), service()]));
    });

    it("passes when the selector is a subset of the pod labels", async () => {
        const d = deployment({
            spec: { template: { metadata: { labels: { app: "exchange-router", tier: "backend" } } } },
        });
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
        assert.equal(
            r.urns[0],
            "urn:pulumi:test::exchange-platform::kubernetes:core/v1:Service::exchange-router-service",
        );
    });

    it("picks as nearest the workload sharing the most selector key/values", async () => {
        const svc = service({ spec: { selector: { app: "exchange-router", tier: "edge" } } });
        const r = await runStackPolicy(policy, [
            deployment({}, "ws-stream"),
            deployment(),
            deployment({}, "redis"),
            svc,
        ]);
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
        const r = await runStackPolicy(policy, [
            ...exchangeStack(),
            typo(),
            service({ metadata: { name: "other" }, spec: { selector: { app: "nope" } } }),
        ]);
        assert.equal(r.violations.length, 2, r.violations.join("\n"));
    });

    it("ignores Services without a selector and ExternalName Services", async () => {
        assertClean(await runStackPolicy(policy, [service({ spec: { selector: undefined } })]));
        assertClean(await runStackPolicy(policy, [mutate(service(), (p) => (p.spec.selector = {}))]));
        assertClean(
            await runStackPolicy(policy, [
                service({ metadata: { name: "x" }, spec: { type: "ExternalName", selector: { a: "b" } } }),
            ]),
        );
    });

    it("exempts a Service annotated as selecting an external workload", async () => {
        const svc = mutate(typo(), (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "true" }));
        assertClean(await runStackPolicy(policy, [deployment(), svc]));
        const notExempt = mutate(typo(), (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "false" }));
        assertOneViolation(await runStackPolicy(policy, [deployment(), notExempt]), "exchange-routr");
    });

    it("exempts a Service listed in externalWorkloadServices", async () => {
        const config = {
            "service-selector-matches-workload": { externalWorkloadServices: ["exchange-router-service"] },
        };
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
            assertClean(
                await runStackPolicy(policy, [deployment(), service({ spec: { selector: { app: unknown.string } } })]),
            );
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
            const bad = service({
                metadata: { name: "bad", namespace: "trading" },
                spec: { selector: { app: "nope" } },
            });
            const r = await runStackPolicy(policy, [...exchangeStack(), unknownSpec, bad]);
            assertOneViolation(r, 'Service "bad" in namespace "trading"');
        });
    });

    describe("labels that controllers add to pods", () => {
        const sts = (overrides = {}) => statefulSet({ spec: { replicas: 3, ...overrides } });
        const podSvc = (selector: Record<string, string>) =>
            service({ metadata: { name: "postgres-0" }, spec: { selector } }, "postgres");

        it("selects one StatefulSet pod by statefulset.kubernetes.io/pod-name or apps.kubernetes.io/pod-index", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    sts(),
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-0" }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    sts(),
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-2" }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    sts(),
                    podSvc({ app: "exchange-postgres", "apps.kubernetes.io/pod-index": "1" }),
                ]),
            );
        });

        it("flags a pod name or index beyond the replicas, or of another StatefulSet", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [
                    sts(),
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-3" }),
                ]),
                "selects no pods",
            );
            assertOneViolation(
                await runStackPolicy(policy, [sts(), podSvc({ "apps.kubernetes.io/pod-index": "3" })]),
                "selects no pods",
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    sts(),
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-redis-0" }),
                ]),
                "selects no pods",
            );
        });

        it("honours spec.ordinals.start, and an unknown replica count", async () => {
            const from5 = sts({ ordinals: { start: 5 } });
            assertClean(
                await runStackPolicy(policy, [
                    from5,
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-7" }),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    from5,
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-0" }),
                ]),
                "selects no pods",
            );
            assertClean(
                await runStackPolicy(policy, [
                    sts({ replicas: unknown.number }),
                    podSvc({ "statefulset.kubernetes.io/pod-name": "exchange-postgres-9" }),
                ]),
            );
        });

        it("selects a Job's pods by batch.kubernetes.io/job-name or job-name, and a CronJob's by the name prefix", async () => {
            const job = workload("Job");
            assertClean(
                await runStackPolicy(policy, [
                    job,
                    service({ spec: { selector: { "batch.kubernetes.io/job-name": "exchange-router" } } }),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [job, service({ spec: { selector: { "job-name": "exchange-router" } } })]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [job, service({ spec: { selector: { "job-name": "exchange-routr" } } })]),
                "selects no pods",
            );
            const cron = workload("CronJob");
            assertClean(
                await runStackPolicy(policy, [
                    cron,
                    service({ spec: { selector: { "job-name": "exchange-router-29012345" } } }),
                ]),
            );
        });

        it("gives a Job or StatefulSet with generateName only no pod name from its logical name", async () => {
            const generated = (r: ReturnType<typeof workload>, prefix: string) =>
                mutate(r, (p) => {
                    delete p.metadata.name;
                    p.metadata.generateName = prefix;
                });
            // Logical name "exchange-router": the API server names the Job "migrate-xxxxx".
            assertOneViolation(
                await runStackPolicy(policy, [
                    generated(workload("Job"), "migrate-"),
                    service({ spec: { selector: { "job-name": "exchange-router" } } }),
                ]),
                "selects no pods",
            );
            assertClean(
                await runStackPolicy(policy, [
                    generated(workload("Job"), "migrate-"),
                    service({ spec: { selector: { "job-name": "migrate-x7k2p" } } }),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [
                    generated(statefulSet(), "pg-"),
                    service(
                        {
                            metadata: { name: "postgres-0" },
                            spec: { selector: { "statefulset.kubernetes.io/pod-name": "exchange-postgres-0" } },
                        },
                        "postgres",
                    ),
                ]),
                "selects no pods",
            );
        });

        it("selects Indexed Job pods by completion index, and counts controller hashes and UIDs as possible matches", async () => {
            const indexed = workload("Job", "router", { spec: { completionMode: "Indexed", completions: 2 } });
            const byIndex = (i: string) =>
                service({
                    spec: { selector: { app: "exchange-router", "batch.kubernetes.io/job-completion-index": i } },
                });
            assertClean(await runStackPolicy(policy, [indexed, byIndex("1")]));
            assertOneViolation(await runStackPolicy(policy, [indexed, byIndex("2")]), "selects no pods");
            assertOneViolation(await runStackPolicy(policy, [workload("Job"), byIndex("0")]), "selects no pods");
            const hash = service({ spec: { selector: { app: "exchange-router", "pod-template-hash": "7d4b9c8f6" } } });
            assertClean(await runStackPolicy(policy, [deployment(), hash]));
            // A Deployment's hash label is no StatefulSet's.
            assertOneViolation(await runStackPolicy(policy, [statefulSet({}, "router"), hash]), "selects no pods");
            const uid = service({ spec: { selector: { "controller-uid": "0b1c2d3e" } } });
            assertClean(await runStackPolicy(policy, [workload("Job"), uid]));
        });
    });

    describe("several clusters (providers) in one stack", () => {
        it("does not count a workload on another cluster, even with the same namespace and labels", async () => {
            const r = await runStackPolicy(policy, [onCluster(deployment(), "eu-cluster"), service()]);
            assertOneViolation(r, "only in another namespace or cluster", 'Deployment "exchange-router"');
        });

        it("matches within each cluster, including the default provider against an explicit one", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    onCluster(deployment(), "eu-cluster"),
                    onCluster(service(), "eu-cluster"),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    service(),
                    onCluster(deployment(), "eu-cluster"),
                    onCluster(service(), "eu-cluster"),
                ]),
            );
            assertOneViolation(
                await runStackPolicy(policy, [deployment(), onCluster(service(), "eu-cluster")]),
                "only in another namespace or cluster",
            );
        });
    });

    describe("patches", () => {
        const svcPatch = (selector: unknown) =>
            patch("ServicePatch", "redirect", { metadata: { name: "exchange-router-service" }, spec: { selector } });

        it("applies a ServicePatch to the Service of the stack it patches (the selector is replaced whole)", async () => {
            const r = await runStackPolicy(policy, [deployment(), service(), svcPatch({ app: "exchange-routr" })]);
            assertOneViolation(
                r,
                'Service "exchange-router-service" (as patched by "redirect") has selector {app=exchange-routr}',
            );
            assert.match(r.urns[0] ?? "", /Service::exchange-router-service$/);
            assertClean(await runStackPolicy(policy, [deployment(), typo(), svcPatch({ app: "exchange-router" })]));
        });

        it("checks a ServicePatch of a Service outside the stack when it sets a selector, not when it does not", async () => {
            assertOneViolation(
                await runStackPolicy(policy, [deployment(), svcPatch({ app: "nope" })]),
                'ServicePatch "exchange-router-service"',
            );
            const noSelector = patch("ServicePatch", "affinity", {
                metadata: { name: "legacy" },
                spec: { sessionAffinity: "None" },
            });
            assertClean(await runStackPolicy(policy, [deployment(), noSelector]));
        });

        it("sees pod labels that a DeploymentPatch adds to a Deployment of the stack", async () => {
            const relabel = patch("DeploymentPatch", "relabel", {
                metadata: { name: "exchange-router" },
                spec: { template: { metadata: { labels: { track: "canary" } } } },
            });
            const canary = service({ spec: { selector: { app: "exchange-router", track: "canary" } } });
            assertClean(await runStackPolicy(policy, [deployment(), relabel, canary]));
            assertOneViolation(await runStackPolicy(policy, [deployment(), canary]), "selects no pods");
        });
    });

    describe("inherited JavaScript properties are not labels", () => {
        for (const key of ["constructor", "toString", "hasOwnProperty", "valueOf"]) {
            it(`flags a selector on "${key}" that no pod carries`, async () => {
                const svc = service({ spec: { selector: { [key]: "x" } } });
                assertOneViolation(await runStackPolicy(policy, [deployment(), svc]), "selects no pods");
            });
        }

        it("matches a label literally named constructor", async () => {
            const d = mutate(deployment(), (p) =>
                Object.defineProperty(p.spec.template.metadata.labels, "constructor", { value: "x", enumerable: true }),
            );
            assertClean(await runStackPolicy(policy, [d, service({ spec: { selector: { constructor: "x" } } })]));
        });
    });

    describe("unknown values that leave no choice", () => {
        it("flags a selector whose known part matches no workload, whatever its unknown value", async () => {
            const svc = service({ spec: { selector: { app: "exchange-routr", tier: unknown.string } } });
            assertOneViolation(await runStackPolicy(policy, [deployment(), svc]), "tier=(unknown during preview)");
        });

        it("reports nothing while the annotations map or the exemption's value is unknown", async () => {
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    mutate(typo(), (p) => (p.metadata.annotations = unknown.object)),
                ]),
            );
            assertClean(
                await runStackPolicy(policy, [
                    deployment(),
                    mutate(
                        typo(),
                        (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: unknown.string }),
                    ),
                ]),
            );
        });

        it("with an unknown Service namespace, matches workloads of any namespace of its cluster", async () => {
            const svc = mutate(typo(), (p) => (p.metadata.namespace = unknown.string));
            assertOneViolation(await runStackPolicy(policy, [deployment(), svc]), "selects no pods");
            const good = mutate(service(), (p) => (p.metadata.namespace = unknown.string));
            assertClean(
                await runStackPolicy(policy, [mutate(deployment(), (p) => (p.metadata.namespace = "trading")), good]),
            );
        });
    });
});
