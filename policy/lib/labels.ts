// The labels the pods of a workload carry: the pod template's, plus those their controller adds
// (the StatefulSet's pod name and index, the Job's name, the hashes of Deployments, StatefulSets
// and DaemonSets). A Service may select pods by either.

import { GeneratedName, StackObject, WorkloadKind, nameMatches, podTemplatePath, workloadKind } from "./k8s";
import { Tri, UNKNOWN, Unknown, allOf, anyOf, asArray, asRecord, at, isUnknown, own } from "./values";

export interface Workload {
    obj: StackObject;
    kind: WorkloadKind;
    /** The pod template labels (UNKNOWN while unknown, {} when absent). */
    labels: Record<string, unknown> | Unknown;
}

export function workloadsOf(objs: StackObject[]): Workload[] {
    const out: Workload[] = [];
    for (const obj of objs) {
        const kind = workloadKind(obj.t);
        if (kind) {
            out.push({ obj, kind, labels: podTemplateLabels(kind, obj.props) });
        }
    }
    return out;
}

/** The pod template labels of a workload (UNKNOWN if unknown, {} if absent). */
export function podTemplateLabels(kind: WorkloadKind, props: unknown): Record<string, unknown> | Unknown {
    const labels = at(props, ...podTemplatePath(kind), "metadata", "labels");
    return isUnknown(labels) ? UNKNOWN : (asRecord(labels) ?? {});
}

/** A field of a workload that defaults to `fallback` when absent, except on a partial patch (not known). */
function numberField(w: Workload, path: string[], fallback: number): number | Unknown {
    const v = at(w.obj.props, ...path);
    if (isUnknown(v) || (v === undefined && w.obj.partial)) {
        return UNKNOWN;
    }
    return typeof v === "number" ? v : fallback;
}

/** Is `index` (text) one of the integers in [start, start + count)? */
function indexInRange(index: string, start: number | Unknown, count: number | Unknown): Tri {
    if (!/^(0|[1-9][0-9]*)$/.test(index)) {
        return "no";
    }
    const i = Number(index);
    if (isUnknown(start)) {
        return "maybe";
    }
    if (i < start) {
        return "no";
    }
    return isUnknown(count) ? "maybe" : i < start + count ? "yes" : "no";
}

/** Does `value` start with the workload's name and "-" (as the names of its children do)? */
function childOf(w: Workload, value: string): Tri {
    const name = w.obj.name;
    if (typeof name === "string") {
        return value.startsWith(`${name}-`) ? "maybe" : "no";
    }
    return name instanceof GeneratedName && !value.startsWith(name.base) ? "no" : "maybe";
}

/** The StatefulSet pod `<name>-<ordinal>`: does `value` name one of its pods? */
function statefulSetPodName(w: Workload, value: string): Tri {
    const name = w.obj.name;
    const m = /^(.*)-([0-9]+)$/.exec(value);
    if (!m) {
        return "no";
    }
    const nameTri = nameMatches(name, m[1]);
    return nameTri === "no" ? "no" : allOf([nameTri, statefulSetOrdinal(w, m[2])]);
}

function statefulSetOrdinal(w: Workload, index: string): Tri {
    return indexInRange(
        index,
        numberField(w, ["spec", "ordinals", "start"], 0),
        numberField(w, ["spec", "replicas"], 1),
    );
}

function jobCompletionIndex(w: Workload, jobSpecPath: string[], index: string): Tri {
    const mode = at(w.obj.props, ...jobSpecPath, "completionMode");
    if (isUnknown(mode) || (mode === undefined && w.obj.partial)) {
        return "maybe";
    }
    return mode === "Indexed" ? indexInRange(index, 0, numberField(w, [...jobSpecPath, "completions"], 1)) : "no";
}

/**
 * Whether the controller of `w` gives its pods label `key` = `value`; undefined when the
 * controller does not set `key` (the template decides).
 */
function controllerLabel(w: Workload, key: string, value: string): Tri | undefined {
    switch (`${w.kind} ${key}`) {
        case "StatefulSet statefulset.kubernetes.io/pod-name":
            return statefulSetPodName(w, value);
        case "StatefulSet apps.kubernetes.io/pod-index":
            return statefulSetOrdinal(w, value);
        case "StatefulSet controller-revision-hash":
            // "<name>-<hash of the revision>"
            return childOf(w, value);
        case "DaemonSet controller-revision-hash":
        case "Deployment pod-template-hash":
            // A hash of the template that the controller computes: any value may be it.
            return value === "" ? "no" : "maybe";
        case "DaemonSet pod-template-generation":
            return /^[1-9][0-9]*$/.test(value) ? "maybe" : "no";
        case "Job job-name":
        case "Job batch.kubernetes.io/job-name":
            return nameMatches(w.obj.name, value);
        case "CronJob job-name":
        case "CronJob batch.kubernetes.io/job-name":
            // The Jobs of a CronJob are named "<name>-<scheduled time>".
            return childOf(w, value);
        case "Job controller-uid":
        case "Job batch.kubernetes.io/controller-uid":
        case "CronJob controller-uid":
        case "CronJob batch.kubernetes.io/controller-uid":
            // The Job's UID, given by the API server.
            return value === "" ? "no" : "maybe";
        case "Job batch.kubernetes.io/job-completion-index":
            return jobCompletionIndex(w, ["spec"], value);
        case "CronJob batch.kubernetes.io/job-completion-index":
            return jobCompletionIndex(w, ["spec", "jobTemplate", "spec"], value);
        default:
            return undefined;
    }
}

/** Do the pods of `w` carry label `key` = `value`? */
function podLabelIs(w: Workload, key: string, value: string): Tri {
    const byController = controllerLabel(w, key, value);
    if (byController !== undefined) {
        return byController;
    }
    if (isUnknown(w.labels)) {
        return "maybe";
    }
    const have = own(w.labels, key);
    if (isUnknown(have)) {
        return "maybe";
    }
    return have !== undefined && String(have) === value ? "yes" : "no";
}

/** Does an equality-based selector (a Service's spec.selector) select the pods of `w`? */
export function selectsPods(selector: Record<string, unknown>, w: Workload): Tri {
    return allOf(
        Object.entries(selector).map(([key, want]) => (isUnknown(want) ? "maybe" : podLabelIs(w, key, String(want)))),
    );
}

/** How many of the selector's labels the pods of `w` surely carry (to name the nearest workload). */
export function countMatching(selector: Record<string, unknown>, w: Workload): number {
    return Object.entries(selector).filter(
        ([key, want]) => !isUnknown(want) && podLabelIs(w, key, String(want)) === "yes",
    ).length;
}

const not = (a: Tri): Tri => (a === "yes" ? "no" : a === "no" ? "yes" : "maybe");

/** Do the pods of `w` carry label `key` at all (any value)? */
function podHasLabel(w: Workload, key: string): Tri {
    if (controllerLabel(w, key, "") !== undefined) {
        // A label the controller may add: whether it does (the completion index) is not judged here.
        return "maybe";
    }
    if (isUnknown(w.labels)) {
        return "maybe";
    }
    const have = own(w.labels, key);
    return isUnknown(have) ? "maybe" : have !== undefined ? "yes" : "no";
}

/** Does one matchExpressions requirement (In, NotIn, Exists, DoesNotExist) hold for the pods of `w`? */
function requirementHolds(expr: unknown, w: Workload): Tri {
    const key = at(expr, "key");
    const op = at(expr, "operator");
    const values = at(expr, "values");
    if (isUnknown(key) || isUnknown(op) || isUnknown(values) || (asArray(values) ?? []).some(isUnknown)) {
        return "maybe";
    }
    const inValues = (): Tri => anyOf((asArray(values) ?? []).map((v) => podLabelIs(w, String(key), String(v))));
    switch (op) {
        case "In":
            return inValues();
        case "NotIn":
            return not(inValues());
        case "Exists":
            return podHasLabel(w, String(key));
        case "DoesNotExist":
            return not(podHasLabel(w, String(key)));
        default:
            // The API server refuses other operators: such a selector selects nothing.
            return "no";
    }
}

/**
 * Does a label selector ({matchLabels, matchExpressions}, e.g. a NetworkPolicy's podSelector)
 * select the pods of `w`? An empty selector selects every pod.
 */
export function labelSelectorSelects(selector: unknown, w: Workload): Tri {
    if (isUnknown(selector)) {
        return "maybe";
    }
    const matchLabels = at(selector, "matchLabels");
    const matchExpressions = at(selector, "matchExpressions");
    if (isUnknown(matchLabels) || isUnknown(matchExpressions)) {
        return "maybe";
    }
    return allOf([
        selectsPods(asRecord(matchLabels) ?? {}, w),
        ...(asArray(matchExpressions) ?? []).map((e) => requirementHolds(e, w)),
    ]);
}
