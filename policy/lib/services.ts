// Which workloads of the stack a Service selects (shared by the service-* stack policies).

import {
    EXTERNAL_WORKLOAD_ANNOTATION,
    StackObject,
    Tri,
    WorkloadKind,
    hasExternalWorkloadAnnotation,
    isService,
    matchLabels,
    onAllowlist,
    podTemplateLabels,
    workloadKind,
} from "./k8s";
import { Unknown, asRecord, at, isUnknown } from "./values";

/** Config shared by the policies that Services may be exempted from. */
export interface ExternalWorkloadConfig {
    /** metadata.name (or "namespace/name") of Services whose pods are deployed outside the stack. */
    externalWorkloadServices?: string[];
}

export const externalWorkloadConfigSchema = {
    properties: {
        externalWorkloadServices: {
            type: "array" as const,
            items: { type: "string" as const },
            default: [],
            description:
                "Names (metadata.name, or namespace/name) of Services that select pods deployed outside this " +
                `stack; they are exempt, like Services annotated ${EXTERNAL_WORKLOAD_ANNOTATION}: "true".`,
        },
    },
};

export interface Workload {
    obj: StackObject;
    kind: WorkloadKind;
    labels: Record<string, unknown> | Unknown;
}

export interface SelectedWorkload extends Workload {
    match: Tri;
}

export interface ServiceSelection {
    svc: StackObject;
    selector: Record<string, unknown>;
    /** Workloads in the Service's namespace (or whose namespace is unknown) whose pod labels match: yes/maybe. */
    candidates: SelectedWorkload[];
    /** Workloads in the same namespace (known), whatever their labels. */
    sameNamespace: Workload[];
    /** Workloads in other (known) namespaces whose pod labels match the selector. */
    otherNamespaces: Workload[];
}

export function workloadsOf(objs: StackObject[]): Workload[] {
    const out: Workload[] = [];
    for (const obj of objs) {
        const kind = workloadKind(obj.type);
        if (kind) {
            out.push({ obj, kind, labels: podTemplateLabels(kind, obj.props) });
        }
    }
    return out;
}

/** Is the Service exempt from workload checks (annotation or config list)? undefined = cannot tell. */
export function isExternalWorkloadService(svc: StackObject, config: ExternalWorkloadConfig): boolean | undefined {
    if (hasExternalWorkloadAnnotation(svc.props)) {
        return true;
    }
    const list = config.externalWorkloadServices ?? [];
    if (list.length === 0) {
        return false;
    }
    if (isUnknown(svc.name)) {
        return undefined;
    }
    return onAllowlist(list, svc.name, svc.namespace);
}

/**
 * The Services that workload checks apply to, with the workloads they (may) select. Skipped: Services
 * without a selector (Endpoints managed by hand), ExternalName Services, exempt Services, and Services
 * whose selector, namespace or exemption is unknown during preview.
 */
export function serviceSelections(objs: StackObject[], config: ExternalWorkloadConfig): ServiceSelection[] {
    const workloads = workloadsOf(objs);
    const out: ServiceSelection[] = [];
    for (const svc of objs) {
        if (!isService(svc.type)) {
            continue;
        }
        const type = at(svc.props, "spec", "type");
        if (isUnknown(type) || type === "ExternalName") {
            continue;
        }
        const rawSelector = at(svc.props, "spec", "selector");
        if (isUnknown(rawSelector)) {
            continue;
        }
        const selector = asRecord(rawSelector);
        if (!selector || Object.keys(selector).length === 0) {
            continue;
        }
        if (Object.values(selector).some(isUnknown)) {
            continue;
        }
        const exempt = isExternalWorkloadService(svc, config);
        if (exempt !== false) {
            continue;
        }
        if (isUnknown(svc.namespace)) {
            continue;
        }
        const candidates: SelectedWorkload[] = [];
        const sameNamespace: Workload[] = [];
        const otherNamespaces: Workload[] = [];
        for (const w of workloads) {
            const match = matchLabels(selector, w.labels);
            if (isUnknown(w.obj.namespace)) {
                if (match !== "no") {
                    candidates.push({ ...w, match: "maybe" });
                }
                continue;
            }
            if (w.obj.namespace !== svc.namespace) {
                if (match === "yes") {
                    otherNamespaces.push(w);
                }
                continue;
            }
            sameNamespace.push(w);
            if (match !== "no") {
                candidates.push({ ...w, match });
            }
        }
        out.push({ svc, selector, candidates, sameNamespace, otherNamespaces });
    }
    return out;
}

export function exemptionHint(): string {
    return (
        `if the pods are deployed outside this stack, annotate the Service with ` +
        `${EXTERNAL_WORKLOAD_ANNOTATION}: "true" (or list it in externalWorkloadServices)`
    );
}
