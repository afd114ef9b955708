import { StackObject, describe, formatLabels, isPodDisruptionBudget, sameNamespace } from "../lib/k8s";
import { Workload, labelSelectorSelects } from "../lib/labels";
import { stackPolicy } from "../lib/policy";
import { Autoscaler, autoscalersOf, replicaCount, replication, scalableWorkloadsOf, scales } from "../lib/scaling";
import { Tri, allOf, asArray, asRecord, at, isUnknown } from "../lib/values";

/**
 * Does the PodDisruptionBudget select the pods of `w`? In policy/v1 an empty selector selects every
 * pod of the namespace, in policy/v1beta1 none; an absent one selects none. A patch of a budget
 * outside the stack that sets no selector keeps that budget's ("maybe").
 */
function budgetSelects(pdb: StackObject, w: Workload): Tri {
    if (pdb.cluster !== w.obj.cluster) {
        return "no";
    }
    const selector = at(pdb.props, "spec", "selector");
    const empty =
        asRecord(selector) !== undefined &&
        Object.keys(asRecord(at(selector, "matchLabels")) ?? {}).length === 0 &&
        (asArray(at(selector, "matchExpressions")) ?? []).length === 0 &&
        !isUnknown(at(selector, "matchLabels")) &&
        !isUnknown(at(selector, "matchExpressions"));
    const selects: Tri =
        selector === undefined
            ? pdb.partial
                ? "maybe"
                : "no"
            : empty && pdb.t.version === "v1beta1"
              ? "no"
              : labelSelectorSelects(selector, w);
    return allOf([sameNamespace(pdb.namespace, w.obj.namespace), selects]);
}

/** A minAvailable / maxUnavailable scaled to `n` pods (percentages round up, as the disruption controller does). */
function scaled(v: unknown, n: number): number | undefined {
    if (typeof v === "number" && Number.isInteger(v)) {
        return v;
    }
    const percent = typeof v === "string" ? /^([0-9]+)%$/.exec(v) : null;
    return percent ? Math.ceil((Number(percent[1]) * n) / 100) : undefined;
}

/**
 * The evictions the budget allows while all `n` pods are healthy, and the field that decides it;
 * undefined when that is not known (unknown values, neither field set, a value the API refuses).
 */
function allowedEvictions(pdb: StackObject, n: number): { allowed: number; field: string } | undefined {
    const maxUnavailable = at(pdb.props, "spec", "maxUnavailable");
    const minAvailable = at(pdb.props, "spec", "minAvailable");
    if (isUnknown(maxUnavailable) || isUnknown(minAvailable)) {
        return undefined;
    }
    if (maxUnavailable !== undefined) {
        const max = scaled(maxUnavailable, n);
        return max === undefined
            ? undefined
            : { allowed: max, field: `maxUnavailable ${JSON.stringify(maxUnavailable)}` };
    }
    const min = minAvailable === undefined ? undefined : scaled(minAvailable, n);
    return min === undefined ? undefined : { allowed: n - min, field: `minAvailable ${JSON.stringify(minAvailable)}` };
}

/**
 * The number of pods `w` runs when it is at its smallest: the minReplicas of the HPA that scales
 * it, else spec.replicas; undefined when unknown.
 */
function smallestCount(w: Workload, hpas: Autoscaler[]): { n: number; source: string } | undefined {
    const scaler = hpas.find((h) => scales(h, w) === "yes");
    if (scaler) {
        return typeof scaler.minReplicas === "number"
            ? { n: scaler.minReplicas, source: `the minReplicas of ${describe(scaler.obj)}` }
            : undefined;
    }
    const n = replicaCount(w);
    return typeof n === "number" ? { n, source: "spec.replicas" } : undefined;
}

/**
 * Every workload that runs more than one pod has a PodDisruptionBudget, and no budget of the stack
 * makes its pods impossible to evict: a drain without a budget may evict every replica at once, and
 * a budget that allows no eviction (minAvailable as high as the replicas, maxUnavailable 0, or two
 * budgets on one pod, which the eviction API refuses) stalls every drain of the nodes they run on.
 */
export const workloadDisruptionBudget = stackPolicy({
    name: "workload-disruption-budget",
    description:
        "Every Deployment, StatefulSet or ReplicaSet with more than one replica (spec.replicas > 1, or scaled by a " +
        "HorizontalPodAutoscaler of this stack with maxReplicas > 1) must have its pods selected by a " +
        "PodDisruptionBudget of this stack in the same namespace and cluster; and no PodDisruptionBudget may allow " +
        "no eviction at all of a workload's pods (minAvailable as high as its replicas, maxUnavailable 0, or " +
        "two budgets selecting the same pods).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Add a PodDisruptionBudget (policy/v1) in the workload's namespace whose spec.selector matches its pod " +
        "labels, with maxUnavailable: 1 (not a minAvailable as high as the replicas); keep one budget per workload.",
    check: (objs, _config, report) => {
        const budgets = objs.filter((o) => isPodDisruptionBudget(o.t));
        const hpas = autoscalersOf(objs);
        // A workload patch whose target is not in the stack stands for a workload deployed elsewhere.
        for (const w of scalableWorkloadsOf(objs).filter((w) => !w.obj.partial)) {
            const selecting = budgets.map((pdb) => ({ pdb, selects: budgetSelects(pdb, w) }));
            const sure = selecting.filter((s) => s.selects === "yes").map((s) => s.pdb);
            const ns = String(w.obj.namespace);
            const { several, why } = replication(w, hpas);
            if (several === "yes" && selecting.every((s) => s.selects === "no")) {
                report(
                    `${describe(w.obj)} ${why}, and no PodDisruptionBudget of this stack in namespace "${ns}" on the ` +
                        `same cluster selects its pods ${formatLabels(w.labels)}: a node drain (a cluster upgrade, ` +
                        `the cluster autoscaler removing a node) may evict all of them at once. Fix: add a ` +
                        `PodDisruptionBudget (policy/v1) in namespace "${ns}" whose spec.selector matches these ` +
                        `labels, with maxUnavailable: 1.`,
                    w.obj,
                );
            }
            if (sure.length > 1) {
                report(
                    `${describe(w.obj)} runs pods that ${sure.length} PodDisruptionBudgets of this stack select ` +
                        `(${sure.map((p) => describe(p)).join(", ")}): the eviction API refuses to evict a pod that ` +
                        `more than one budget selects, so every node drain stops at these pods. Fix: keep one ` +
                        `PodDisruptionBudget per workload, with a selector that matches only its pods.`,
                    w.obj,
                );
            }
            const count = smallestCount(w, hpas);
            if (count === undefined || count.n < 1) {
                continue;
            }
            for (const pdb of sure) {
                const allowed = allowedEvictions(pdb, count.n);
                if (allowed === undefined || allowed.allowed > 0) {
                    continue;
                }
                report(
                    `${describe(pdb)} (${allowed.field}) allows no eviction of the pods of ${describe(w.obj)} at ` +
                        `${count.n} replica(s) (${count.source}): every node drain (kubectl drain, a cluster upgrade, ` +
                        `the cluster autoscaler) waits on these pods until it times out. Fix: use maxUnavailable: 1 ` +
                        `(or a minAvailable below the replica count) instead.`,
                    pdb,
                );
            }
        }
    },
});
