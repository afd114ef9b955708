import { describe, formatLabels, podSpecPath, sameNamespace } from "../lib/k8s";
import { Workload, labelSelectorSelects } from "../lib/labels";
import { stackPolicy } from "../lib/policy";
import { autoscalersOf, replication, scalableWorkloadsOf } from "../lib/scaling";
import { Tri, allOf, anyOf, asArray, asRecord, at, isUnknown } from "../lib/values";

/** Topologies whose loss takes down the pods on them together: a node, a zone. */
const SPREAD_KEYS = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"];

const spreadKey = (key: unknown): Tri =>
    isUnknown(key) ? "maybe" : SPREAD_KEYS.includes(key as string) ? "yes" : "no";

/**
 * Does a labelSelector of a spread constraint or an affinity term count the pods of `w`? One
 * without a labelSelector counts no pod (and so spreads nothing).
 */
const countsOwnPods = (selector: unknown, w: Workload): Tri =>
    selector === undefined ? "no" : labelSelectorSelects(selector, w);

/**
 * Does a podAffinityTerm look at the namespace of `w`: its own when the term names no namespace,
 * else the listed ones, or all with an empty namespaceSelector (a non-empty one depends on the
 * namespaces' labels, which the pack does not see).
 */
function termCoversOwnNamespace(term: unknown, w: Workload): Tri {
    const namespaces = at(term, "namespaces");
    const namespaceSelector = at(term, "namespaceSelector");
    if (isUnknown(namespaces) || isUnknown(namespaceSelector)) {
        return "maybe";
    }
    const listed = asArray(namespaces) ?? [];
    if (listed.length === 0 && namespaceSelector === undefined) {
        return "yes";
    }
    const bySelector: Tri =
        namespaceSelector === undefined
            ? "no"
            : Object.keys(asRecord(namespaceSelector) ?? { any: true }).length === 0
              ? "yes"
              : "maybe";
    return anyOf([
        bySelector,
        ...listed.map((ns): Tri => (isUnknown(ns) ? "maybe" : sameNamespace(String(ns), w.obj.namespace))),
    ]);
}

/** The entries of a list that may be unknown: unknown as a whole counts as one "maybe" entry. */
function entries(list: unknown): unknown[] | "unknown" {
    return isUnknown(list) ? "unknown" : (asArray(list) ?? []);
}

function each(list: unknown, judge: (entry: unknown) => Tri): Tri[] {
    const items = entries(list);
    return items === "unknown" ? ["maybe"] : items.map((e) => (isUnknown(e) ? "maybe" : judge(e)));
}

/** Does the pod spec of `w` spread its own pods over nodes or zones? */
function spreads(w: Workload): Tri {
    const spec = at(w.obj.props, ...podSpecPath(w.kind));
    if (isUnknown(spec)) {
        return "maybe";
    }
    const antiAffinity = at(spec, "affinity", "podAntiAffinity");
    const term = (t: unknown): Tri =>
        allOf([
            spreadKey(at(t, "topologyKey")),
            countsOwnPods(at(t, "labelSelector"), w),
            termCoversOwnNamespace(t, w),
        ]);
    return anyOf([
        ...each(at(spec, "topologySpreadConstraints"), (c) =>
            allOf([spreadKey(at(c, "topologyKey")), countsOwnPods(at(c, "labelSelector"), w)]),
        ),
        ...each(at(antiAffinity, "requiredDuringSchedulingIgnoredDuringExecution"), term),
        ...each(at(antiAffinity, "preferredDuringSchedulingIgnoredDuringExecution"), (p) =>
            term(at(p, "podAffinityTerm")),
        ),
    ]);
}

/**
 * Every workload that runs more than one pod spreads them over nodes or zones: by a
 * topologySpreadConstraint or a podAntiAffinity term on kubernetes.io/hostname or
 * topology.kubernetes.io/zone that counts its own pods. Without one the scheduler may place every
 * replica on one node, and one node failure or drain then takes them all down together.
 */
export const replicatedWorkloadSpread = stackPolicy({
    name: "replicated-workload-spread",
    description:
        "Every Deployment, StatefulSet or ReplicaSet with more than one replica (spec.replicas > 1, or scaled by a " +
        "HorizontalPodAutoscaler of this stack with maxReplicas > 1) must spread its pods: a " +
        "topologySpreadConstraint, or a podAntiAffinity term (required or preferred), on kubernetes.io/hostname or " +
        "topology.kubernetes.io/zone whose labelSelector selects its own pods.",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Add to the pod template a topologySpreadConstraint with topologyKey kubernetes.io/hostname (and one for " +
        "topology.kubernetes.io/zone), maxSkew 1 and a labelSelector matching the pod labels; or a podAntiAffinity " +
        "term on kubernetes.io/hostname selecting them.",
    check: (objs, _config, report) => {
        const hpas = autoscalersOf(objs);
        // A workload patch whose target is not in the stack stands for a workload deployed elsewhere.
        for (const w of scalableWorkloadsOf(objs).filter((w) => !w.obj.partial)) {
            const { several, why } = replication(w, hpas);
            if (several !== "yes" || spreads(w) !== "no") {
                continue;
            }
            report(
                `${describe(w.obj)} ${why}, but no topologySpreadConstraint or podAntiAffinity term on ` +
                    `kubernetes.io/hostname or topology.kubernetes.io/zone counts its own pods ${formatLabels(w.labels)}: ` +
                    `the scheduler may put them all on one node, and one node failure or drain then takes them down ` +
                    `together. Fix: add to the pod template a topologySpreadConstraint with topologyKey ` +
                    `kubernetes.io/hostname (and one for topology.kubernetes.io/zone), maxSkew 1 and a labelSelector ` +
                    `matching these labels, or a podAntiAffinity term on kubernetes.io/hostname that selects them.`,
                w.obj,
            );
        }
    },
});
