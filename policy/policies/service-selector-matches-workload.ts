import { describe, formatLabels } from "../lib/k8s";
import { Workload, countMatching } from "../lib/labels";
import { stackPolicy } from "../lib/policy";
import { EXTERNAL_WORKLOAD_CONFIG, ServiceSelection, exemptionHint, serviceSelections } from "../lib/services";

/** Where matching pods are instead, and the workload of the Service's namespace nearest to its selector. */
function explain(sel: ServiceSelection): { detail: string; fix: string } {
    let nearest: Workload | undefined;
    let best = -1;
    for (const w of sel.sameNamespace) {
        const n = countMatching(sel.selector, w);
        if (n > best) {
            best = n;
            nearest = w;
        }
    }
    const total = Object.keys(sel.selector).length;
    let detail = nearest
        ? `The nearest workload is ${describe(nearest.obj)} with pod template labels ${formatLabels(nearest.labels)} ` +
          `(${best} of ${total} selector labels match).`
        : `There is no workload in namespace "${String(sel.svc.namespace)}" of this cluster in this stack.`;
    if (sel.elsewhere.length > 0) {
        detail +=
            ` Matching pods exist only in another namespace or cluster: ` +
            sel.elsewhere.map((w) => describe(w.obj)).join(", ") +
            `; a Service only selects pods of its own namespace, on its own cluster (provider).`;
    }
    const fix = nearest
        ? `make the Service's spec.selector match ${describe(nearest.obj)}'s spec.template.metadata.labels (or fix the labels)`
        : `deploy the workload in namespace "${String(sel.svc.namespace)}" through the Service's provider, or fix the selector`;
    return { detail, fix };
}

/**
 * Every Service with a selector selects the pods of at least one workload (Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, Job, CronJob, Pod) of the stack in its namespace, on its cluster.
 */
export const serviceSelectorMatchesWorkload = stackPolicy({
    name: "service-selector-matches-workload",
    description:
        "Every Service with a non-empty selector must select the pods (template labels, or labels their controller " +
        "adds) of at least one workload (Deployment/StatefulSet/DaemonSet/...) of the stack in the same namespace " +
        "and cluster.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Make spec.selector a subset of the target workload's spec.template.metadata.labels, or exempt Services " +
        "whose pods are deployed outside the stack (annotation or externalWorkloadServices).",
    config: EXTERNAL_WORKLOAD_CONFIG,
    check: (objs, config, report) => {
        for (const sel of serviceSelections(objs, config)) {
            if (sel.candidates.length > 0) {
                // Selected ("yes"), or possibly selected once unknown preview values resolve ("maybe").
                continue;
            }
            const { detail, fix } = explain(sel);
            report(
                `${describe(sel.svc)} has selector ${formatLabels(sel.selector)} that selects no pods of this stack. ` +
                    `${detail} Fix: ${fix}; ${exemptionHint()}.`,
                sel.svc,
            );
        }
    },
});
