import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { SELECTOR_WORKLOAD_KINDS, describe, formatLabels, podTemplateLabels, readResource, workloadKind } from "../lib/k8s";
import { Unknown, asArray, asRecord, at, isUnknown } from "../lib/values";

/** Checks one matchExpressions requirement; returns a problem text, or undefined when satisfied/unknown. */
function checkExpression(expr: unknown, labels: Record<string, unknown>, index: number): string | undefined {
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
    const have = labels[key];
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
 * 5. A Deployment's (StatefulSet's, DaemonSet's, ReplicaSet's) spec.selector (matchLabels and
 * matchExpressions) matches its own pod template labels.
 */
export const workloadSelectorMatchesTemplate: ResourceValidationPolicy = {
    name: "workload-selector-matches-template",
    description:
        "A Deployment/StatefulSet/DaemonSet/ReplicaSet must have a non-empty spec.selector whose matchLabels and " +
        "matchExpressions match its own pod template labels (spec.template.metadata.labels).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Copy the pod template labels into spec.selector.matchLabels (or fix the template labels) so the selector " +
        "selects the pods the workload creates.",
    validateResource: (args, reportViolation) => {
        const kind = workloadKind(args.type);
        if (!kind || !SELECTOR_WORKLOAD_KINDS.includes(kind)) {
            args.notApplicable("Policy only applies to Deployments, StatefulSets, DaemonSets and ReplicaSets.");
            return;
        }
        const obj = readResource(args);
        readConfig(args, "workload-selector-matches-template");
        const selector = at(obj.props, "spec", "selector");
        if (isUnknown(selector)) {
            return;
        }
        const labels: Record<string, unknown> | Unknown = podTemplateLabels(kind, obj.props);
        const matchLabels = at(selector, "matchLabels");
        const matchExpressions = at(selector, "matchExpressions");
        const ml = asRecord(matchLabels) ?? {};
        const me = asArray(matchExpressions) ?? [];
        if (!isUnknown(matchLabels) && !isUnknown(matchExpressions) && Object.keys(ml).length === 0 && me.length === 0) {
            reportViolation(
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
            const have = labels[key];
            if (isUnknown(want) || isUnknown(have)) {
                continue;
            }
            if (have === undefined) {
                problems.push(`matchLabels "${key}=${String(want)}" is missing from the template labels`);
            } else if (String(have) !== String(want)) {
                problems.push(`matchLabels "${key}=${String(want)}" differs from the template label "${key}=${String(have)}"`);
            }
        }
        me.forEach((expr, i) => {
            const problem = checkExpression(expr, labels, i);
            if (problem) {
                problems.push(problem);
            }
        });
        if (problems.length > 0) {
            reportViolation(
                `${describe(obj)} spec.selector does not match its own pod template labels ${formatLabels(labels)}: ` +
                    `${problems.join("; ")}. The workload could never manage its pods (the API server rejects it). ` +
                    `Fix: make spec.selector.matchLabels a subset of spec.template.metadata.labels (same keys and values).`,
            );
        }
    },
};
