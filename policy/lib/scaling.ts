// Replicas and who owns them: the workloads that run a count of pods (Deployment, StatefulSet,
// ReplicaSet), the HorizontalPodAutoscalers of the stack and the workloads they scale, and the
// `ignoreChanges` paths that leave a count to an HPA.

import { StackObject, isHorizontalPodAutoscaler, objectAt, sameNamespace } from "./k8s";
import { Workload, workloadsOf } from "./labels";
import { Tri, UNKNOWN, Unknown, allOf, anyOf, at, isUnknown } from "./values";

/** Workload kinds with a replica count that an HPA can scale (their `scale` subresource). */
export const SCALABLE_KINDS: readonly string[] = ["Deployment", "StatefulSet", "ReplicaSet"];

/** The Deployments, StatefulSets and ReplicaSets of the stack (patches of ones outside it too: `partial`). */
export function scalableWorkloadsOf(objs: StackObject[]): Workload[] {
    return workloadsOf(objs).filter((w) => SCALABLE_KINDS.includes(w.kind));
}

/**
 * A number of `spec` that defaults to `fallback` when absent; UNKNOWN while unknown, and when a
 * patch of an object outside the stack does not set it (the patched object's value holds).
 */
function specNumber(obj: StackObject, key: string, fallback: number | undefined): number | Unknown | undefined {
    const v = at(obj.props, "spec", key);
    if (isUnknown(v) || (v === undefined && obj.partial)) {
        return UNKNOWN;
    }
    return typeof v === "number" ? v : fallback;
}

/** spec.replicas (1 when absent). */
export function replicaCount(w: Workload): number | Unknown {
    return specNumber(w.obj, "replicas", 1) ?? 1;
}

/** A HorizontalPodAutoscaler (any version of `autoscaling`) of the stack. */
export interface Autoscaler {
    obj: StackObject;
    /** spec.scaleTargetRef's fields: UNKNOWN while unknown, undefined when absent. */
    apiVersion: string | Unknown | undefined;
    kind: string | Unknown | undefined;
    name: string | Unknown | undefined;
    /** spec.minReplicas (default 1) and spec.maxReplicas. */
    minReplicas: number | Unknown;
    maxReplicas: number | Unknown | undefined;
}

function refField(obj: StackObject, key: string): string | Unknown | undefined {
    const v = at(obj.props, "spec", "scaleTargetRef", key);
    if (isUnknown(v) || (v === undefined && obj.partial)) {
        return UNKNOWN;
    }
    return typeof v === "string" && v !== "" ? v : undefined;
}

export function autoscalersOf(objs: StackObject[]): Autoscaler[] {
    return objs
        .filter((o) => isHorizontalPodAutoscaler(o.t))
        .map((obj) => ({
            obj,
            apiVersion: refField(obj, "apiVersion"),
            kind: refField(obj, "kind"),
            name: refField(obj, "name"),
            minReplicas: specNumber(obj, "minReplicas", 1) ?? 1,
            maxReplicas: specNumber(obj, "maxReplicas", undefined),
        }));
}

/**
 * The API group of an apiVersion ("apps/v1" is "apps", "v1" the core group ""). The HPA controller
 * looks the target's kind up in this group (any version of it); an absent apiVersion is the core group.
 */
export function apiGroupOf(apiVersion: string | undefined): string {
    const slash = (apiVersion ?? "").indexOf("/");
    return slash < 0 ? "" : apiVersion!.slice(0, slash);
}

/** Does the HPA `h` scale the workload `w` (same cluster, its namespace, kind, group and name)? */
export function scales(h: Autoscaler, w: Workload): Tri {
    if (h.obj.cluster !== w.obj.cluster || h.kind === undefined || h.name === undefined) {
        return "no";
    }
    const kind: Tri = isUnknown(h.kind) ? "maybe" : h.kind === w.kind ? "yes" : "no";
    const group: Tri = isUnknown(h.apiVersion) ? "maybe" : apiGroupOf(h.apiVersion) === w.obj.t.group ? "yes" : "no";
    const place: Tri = isUnknown(h.name)
        ? sameNamespace(w.obj.namespace, h.obj.namespace) === "no"
            ? "no"
            : "maybe"
        : objectAt(w.obj, h.obj, h.obj.namespace, h.name);
    return allOf([kind, group, place]);
}

/** Whether `w` runs more than one pod, and the words that say why. */
export function replication(w: Workload, hpas: Autoscaler[]): { several: Tri; why: string } {
    const n = replicaCount(w);
    if (typeof n === "number" && n > 1) {
        return { several: "yes", why: `runs ${n} replicas` };
    }
    const upTo = (h: Autoscaler): Tri =>
        h.maxReplicas === undefined ? "no" : isUnknown(h.maxReplicas) ? "maybe" : h.maxReplicas > 1 ? "yes" : "no";
    const scaler = hpas.find((h) => scales(h, w) === "yes" && upTo(h) === "yes");
    if (scaler) {
        return {
            several: "yes",
            why: `is scaled up to ${String(scaler.maxReplicas)} pods by HorizontalPodAutoscaler "${String(scaler.obj.name)}"`,
        };
    }
    return {
        several: anyOf([isUnknown(n) ? "maybe" : "no", ...hpas.map((h) => allOf([scales(h, w), upTo(h)]))]),
        why: "",
    };
}

/**
 * The segments of a Pulumi property path (`spec.replicas`, `spec["replicas"]`, `spec.*`,
 * `containers[0].image`), or undefined when it does not parse.
 */
export function propertyPathSegments(path: string): string[] | undefined {
    const out: string[] = [];
    let rest = path;
    while (rest !== "") {
        const bracket = /^\[(?:([0-9]+|\*)|"((?:[^"\\]|\\.)*)")\]/.exec(rest);
        if (bracket) {
            out.push(bracket[1] ?? bracket[2].replace(/\\(.)/g, "$1"));
            rest = rest.slice(bracket[0].length);
            continue;
        }
        if (out.length > 0) {
            if (!rest.startsWith(".")) {
                return undefined;
            }
            rest = rest.slice(1);
        }
        const key = /^[^.[\]"]+/.exec(rest);
        if (!key) {
            return undefined;
        }
        out.push(key[0]);
        rest = rest.slice(key[0].length);
    }
    return out.length > 0 ? out : undefined;
}

/**
 * Does an `ignoreChanges` list leave the property at `target` alone? A path ignores itself and
 * everything under it (`spec` ignores `spec.replicas`); `*` stands for any key.
 */
export function ignoresChangesTo(ignoreChanges: readonly string[], target: readonly string[]): boolean {
    return ignoreChanges.some((p) => {
        const segments = propertyPathSegments(p);
        return (
            segments !== undefined &&
            segments.length <= target.length &&
            segments.every((s, i) => s === "*" || s === target[i])
        );
    });
}
