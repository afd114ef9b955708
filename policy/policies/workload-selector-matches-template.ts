import { SELECTOR_WORKLOAD_KINDS, StackObject, describe, formatLabels, workloadKind } from "../lib/k8s";
import { podTemplateLabels } from "../lib/labels";
import { resourcePolicy } from "../lib/policy";
import { Unknown, UNKNOWN, asArray, asRecord, at, isUnknown, own } from "../lib/values";

/**
 * The template's value of label `key`. On a partial patch a label the patch does not set is the
 * patched object's, which is not known here.
 */
function templateLabel(labels: Record<string, unknown>, key: string, obj: StackObject): unknown {
    const have = own(labels, key);
    return have === undefined && obj.partial ? UNKNOWN : have;
}

/** Checks one matchExpressions requirement; returns a problem text, or undefined when satisfied/unknown. */
function checkExpression(
    expr: unknown,
    labels: Record<string, unknown>,
    index: number,
    obj: StackObject,
): string | undefined {
    const e = asRecord(expr);
    if (!e) {
        return undefined;
    }
    const key = e.key;
    const op = e.operator;
    const values = e.values;
    if (isUnknown(key) || isUnknown(op) || isUnknown(values) || (Array.isArray(values) && values.some(isUnknown))) {
        return undefined;
    }
    const have = templateLabel(labels, String(key), obj);
    if (isUnknown(have)) {
        return undefined;
    }
    const vals = (asArray(values) ?? []).map(String);
    const where = `matchExpressions[${index}] (${String(key)} ${String(op)}${vals.length ? ` [${vals.join(", ")}]` : ""})`;
    switch (op) {
        case "In":
            return have !== undefined && vals.includes(String(have))
                ? undefined
                : `${where} requires label "${key}" to be one of [${vals.join(", ")}], but the template has ` +
                      `${have === undefined ? "no such label" : `"${key}=${String(have)}"`}`;
        case "NotIn":
            return have === undefined || !vals.includes(String(have))
                ? undefined
                : `${where} excludes "${key}=${String(have)}", which the template carries`;
        case "Exists":
            return have !== undefined ? undefined : `${where} requires label "${key}", which the template lacks`;
        case "DoesNotExist":
            return have === undefined ? undefined : `${where} forbids label "${key}", which the template carries`;
        default:
            return `${where} has an unsupported operator "${String(op)}" (use In, NotIn, Exists or DoesNotExist)`;
    }
}

/**
 * A Deployment's (StatefulSet's, DaemonSet's, ReplicaSet's) spec.selector (matchLabels and
 * matchExpressions) matches its own pod template labels. A patch is checked on what it sets.
 */
export const workloadSelectorMatchesTemplate = resourcePolicy({
    name: "workload-selector-matches-template",
    description:
        "A Deployment/StatefulSet/DaemonSet/ReplicaSet must have a non-empty spec.selector whose matchLabels and " +
        "matchExpressions match its own pod template labels (spec.template.metadata.labels).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Copy the pod template labels into spec.selector.matchLabels (or fix the template labels) so the selector " +
        "selects the pods the workload creates.",
    appliesTo: {
        types: (t) => {
            const kind = workloadKind(t);
            return kind !== undefined && SELECTOR_WORKLOAD_KINDS.includes(kind);
        },
        text: "Deployments, StatefulSets, DaemonSets and ReplicaSets (and their patches)",
    },
    check: (obj, _config, report) => {
        const kind = workloadKind(obj.t)!;
        const selector = at(obj.props, "spec", "selector");
        const rawLabels = at(obj.props, "spec", "template", "metadata", "labels");
        if (isUnknown(selector) || (obj.partial && (selector === undefined || rawLabels === undefined))) {
            // Unknown, or a patch that leaves the selector or the template labels as they are.
            return;
        }
        const labels: Record<string, unknown> | Unknown = podTemplateLabels(kind, obj.props);
        const matchLabels = at(selector, "matchLabels");
        const matchExpressions = at(selector, "matchExpressions");
        const ml = asRecord(matchLabels) ?? {};
        const me = asArray(matchExpressions) ?? [];
        if (
            !isUnknown(matchLabels) &&
            !isUnknown(matchExpressions) &&
            Object.keys(ml).length === 0 &&
            me.length === 0
        ) {
            report(
                `${describe(obj)} has no spec.selector (or an empty one); the API server rejects it. ` +
                    `Fix: set spec.selector.matchLabels to the pod template labels ${formatLabels(labels)}.`,
            );
            return;
        }
        if (isUnknown(labels)) {
            return;
        }
        const problems: string[] = [];
        for (const [key, want] of Object.entries(ml)) {
            const have = templateLabel(labels, key, obj);
            if (isUnknown(want) || isUnknown(have)) {
                continue;
            }
            if (have === undefined) {
                problems.push(`matchLabels "${key}=${String(want)}" is missing from the template labels`);
            } else if (String(have) !== String(want)) {
                problems.push(
                    `matchLabels "${key}=${String(want)}" differs from the template label "${key}=${String(have)}"`,
                );
            }
        }
        me.forEach((expr, i) => {
            const problem = checkExpression(expr, labels, i, obj);
            if (problem) {
                problems.push(problem);
            }
        });
        if (problems.length > 0) {
            report(
                `${describe(obj)} spec.selector does not match its own pod template labels ${formatLabels(labels)}: ` +
                    `${problems.join("; ")}. The workload could never manage its pods (the API server rejects it). ` +
                    `Fix: make spec.selector.matchLabels a subset of spec.template.metadata.labels (same keys and values).`,
            );
        }
    },
});
