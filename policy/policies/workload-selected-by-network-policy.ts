import { describe, formatLabels, isNetworkPolicy, sameNamespace } from "../lib/k8s";
import { labelSelectorSelects, workloadsOf } from "../lib/labels";
import { stackPolicy } from "../lib/policy";
import { Tri, anyOf, at } from "../lib/values";

/**
 * Every workload's pods are selected by some NetworkPolicy of the stack in their namespace and
 * cluster (spec.podSelector matching their labels; an empty podSelector selects every pod): a pod
 * no NetworkPolicy selects accepts connections from every pod of the cluster.
 */
export const workloadSelectedByNetworkPolicy = stackPolicy({
    name: "workload-selected-by-network-policy",
    description:
        "The pods of every workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, ...) must be " +
        "selected by some NetworkPolicy of this stack in the same namespace and cluster (its spec.podSelector " +
        "matches their labels; an empty podSelector selects all pods of the namespace).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Add a NetworkPolicy in the workload's namespace whose podSelector matches its pod template labels (a " +
        "default-deny policy with an empty podSelector, plus policies that allow the traffic it needs).",
    check: (objs, _config, report) => {
        const policies = objs.filter((o) => isNetworkPolicy(o.t));
        // A workload patch whose target is not in the stack stands for a workload deployed elsewhere.
        for (const w of workloadsOf(objs).filter((w) => !w.obj.partial)) {
            const selected = anyOf(
                policies
                    .filter((np) => np.cluster === w.obj.cluster)
                    .map((np): Tri => {
                        const ns = sameNamespace(np.namespace, w.obj.namespace);
                        const podSelector = at(np.props, "spec", "podSelector");
                        // A patch that sets no podSelector leaves the patched NetworkPolicy's.
                        const selects: Tri =
                            podSelector === undefined && np.partial ? "maybe" : labelSelectorSelects(podSelector, w);
                        return ns === "no" || selects === "no"
                            ? "no"
                            : ns === "yes" && selects === "yes"
                              ? "yes"
                              : "maybe";
                    }),
            );
            if (selected !== "no") {
                continue;
            }
            const ns = String(w.obj.namespace);
            report(
                `${describe(w.obj)} runs pods with labels ${formatLabels(w.labels)} that no NetworkPolicy of this stack ` +
                    `in namespace "${ns}" on the same cluster selects, so every pod of the cluster may connect to them. ` +
                    `Fix: add a NetworkPolicy in namespace "${ns}" whose spec.podSelector matches these labels (e.g. a ` +
                    `default-deny policy with podSelector {} and policies allowing the traffic the pods need).`,
                w.obj,
            );
        }
    },
});
