import { WORKLOADS, describeContainer, workloadContainers } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { at, isUnknown } from "../lib/values";

/** Every container (not init containers) has a readinessProbe. */
export const containerReadinessProbe = resourcePolicy({
    name: "container-readiness-probe",
    description:
        "Every container of a workload (init containers excepted) must define a readinessProbe, so Services only " +
        "route traffic to pods that are ready.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Add a readinessProbe (httpGet on a health endpoint, tcpSocket on the serving port, or exec) to each container.",
    appliesTo: WORKLOADS,
    check: (obj, _config, report) => {
        if (obj.partial) {
            // A patch leaves the probes it does not set as they are.
            return;
        }
        for (const c of workloadContainers(obj, ["containers"])) {
            const probe = at(c.container, "readinessProbe");
            if (isUnknown(probe) || probe !== undefined) {
                continue;
            }
            report(
                `The ${describeContainer(obj, c)} has no readinessProbe, so it receives traffic before it is ready. ` +
                    `Fix: add ${c.path}.readinessProbe, e.g. an httpGet on its health endpoint or a tcpSocket on ` +
                    `its serving port.`,
            );
        }
    },
});
