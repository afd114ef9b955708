import { containerRunsAsNonRoot as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate, workload } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const edit = (fn: (podSpec: any) => void) => mutate(deployment(), (p) => fn(p.spec.template.spec));

describe("container-runs-as-non-root", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-runs-as-non-root", "advisory", "runAsNonRoot");
    });

    it("passes when the pod sets runAsNonRoot and a non-zero runAsUser", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
    });

    it("passes when only the container sets them", async () => {
        const d = edit((s) => {
            delete s.securityContext;
            s.containers[0].securityContext = { runAsNonRoot: true, runAsUser: 1000 };
        });
        assertClean(await runResourcePolicy(policy, d));
    });

    it("flags a container when neither pod nor container sets runAsNonRoot", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => delete s.securityContext),
            ),
            'container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router" may run as root',
            "runAsNonRoot is set neither on the container nor on the pod",
            "spec.template.spec.securityContext",
        );
    });

    it("lets the container securityContext override the pod's", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => (s.containers[0].securityContext = { runAsNonRoot: false })),
            ),
            "runAsNonRoot is false (from the container securityContext)",
        );
        const fixedByContainer = edit((s) => {
            s.securityContext = { runAsNonRoot: false };
            s.containers[0].securityContext = { runAsNonRoot: true, runAsUser: 1000 };
        });
        assertClean(await runResourcePolicy(policy, fixedByContainer));
    });

    it("flags runAsUser 0 even with runAsNonRoot true", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => (s.containers[0].securityContext = { runAsUser: 0 })),
            ),
            "runAsUser is 0, i.e. root (from the container securityContext)",
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                edit((s) => (s.securityContext.runAsUser = 0)),
            ),
            "runAsUser is 0, i.e. root (from the pod securityContext)",
        );
    });

    it("checks init containers and bare Pods", async () => {
        const d = edit((s) => (s.initContainers = [container({ name: "migrate", securityContext: { runAsUser: 0 } })]));
        assertOneViolation(await runResourcePolicy(policy, d), 'init container "migrate"');
        const pod = mutate(workload("Pod"), (p) => delete p.spec.securityContext);
        assertOneViolation(
            await runResourcePolicy(policy, pod),
            "(spec.containers[0]) of Pod",
            "(spec.securityContext)",
        );
    });

    it("reports nothing during preview for unknown security settings", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                edit((s) => (s.securityContext = unknown.object)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                edit((s) => (s.securityContext.runAsNonRoot = unknown.boolean)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                edit(
                    (s) =>
                        (s.containers[0].securityContext = {
                            runAsNonRoot: unknown.boolean,
                            runAsUser: unknown.number,
                        }),
                ),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec = unknown.object)),
            ),
        );
    });
});
