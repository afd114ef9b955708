import { StackValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { countMatching, describe, formatLabels, readStack } from "../lib/k8s";
import {
    ExternalWorkloadConfig,
    Workload,
    exemptionHint,
    externalWorkloadConfigSchema,
    serviceSelections,
} from "../lib/services";

/**
 * 2. Every Service with a selector selects the pod template labels of at least one workload
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) in its namespace.
 */
export const serviceSelectorMatchesWorkload: StackValidationPolicy = {
    name: "service-selector-matches-workload",
    description:
        "Every Service with a non-empty selector must select the pod template labels of at least one workload " +
        "(Deployment/StatefulSet/DaemonSet/...) of the stack in the same namespace.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Make spec.selector a subset of the target workload's spec.template.metadata.labels, or exempt Services " +
        "whose pods are deployed outside the stack (annotation or externalWorkloadServices).",
    configSchema: externalWorkloadConfigSchema,
    validateStack: (args, reportViolation) => {
        const config = readConfig<ExternalWorkloadConfig>(args, "service-selector-matches-workload", externalWorkloadConfigSchema);
        const objs = readStack(args.resources);
        for (const sel of serviceSelections(objs, config)) {
            if (sel.candidates.length > 0) {
                // Selected ("yes"), or possibly selected once unknown preview values resolve ("maybe").
                continue;
            }
            let nearest: Workload | undefined;
            let best = -1;
            for (const w of sel.sameNamespace) {
                const n = countMatching(sel.selector, w.labels);
                if (n > best) {
                    best = n;
                    nearest = w;
                }
            }
            const total = Object.keys(sel.selector).length;
            let detail: string;
            if (nearest) {
                detail =
                    `The nearest workload is ${describe(nearest.obj)} with pod template labels ` +
                    `${formatLabels(nearest.labels)} (${best} of ${total} selector labels match).`;
            } else {
                detail = `There is no workload in namespace "${String(sel.svc.namespace)}" in this stack.`;
            }
            if (sel.otherNamespaces.length > 0) {
                detail +=
                    ` Matching pods exist only in another namespace: ` +
                    sel.otherNamespaces.map((w) => describe(w.obj)).join(", ") +
                    `; a Service only selects pods of its own namespace.`;
            }
            const fixTarget = nearest
                ? `make the Service's spec.selector match ${describe(nearest.obj)}'s spec.template.metadata.labels ` +
                  `(or fix the labels)`
                : `deploy the workload in namespace "${String(sel.svc.namespace)}" or fix the selector`;
            reportViolation(
                `${describe(sel.svc)} has selector ${formatLabels(sel.selector)} that selects no pods of this stack. ` +
                    `${detail} Fix: ${fixTarget}; ${exemptionHint()}.`,
                sel.svc.urn,
            );
        }
    },
};
