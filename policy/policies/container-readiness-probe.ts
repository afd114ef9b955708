import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describeContainer, workloadUnderValidation } from "../lib/k8s";
import { at, isUnknown } from "../lib/values";

/** 6. Every container (not init containers) has a readinessProbe. */
export const containerReadinessProbe: ResourceValidationPolicy = {
    name: "container-readiness-probe",
    description:
        "Every container of a workload (init containers excepted) must define a readinessProbe, so Services only " +
        "route traffic to pods that are ready.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Add a readinessProbe (httpGet on a health endpoint, tcpSocket on the serving port, or exec) to each container.",
    validateResource: (args, reportViolation) => {
        const { obj, containers } = workloadUnderValidation(args, ["containers"]);
        readConfig(args, "container-readiness-probe");
        for (const c of containers) {
            const probe = at(c.container, "readinessProbe");
            if (isUnknown(probe) || probe !== undefined) {
                continue;
            }
            reportViolation(
                `The ${describeContainer(obj, c)} has no readinessProbe, so it receives traffic before it is ready. ` +
                    `Fix: add ${c.path}.readinessProbe, e.g. an httpGet on its health endpoint or a tcpSocket on ` +
                    `its serving port.`,
            );
        }
    },
};
