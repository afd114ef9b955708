// The provider's `*Patch` resources (ServicePatch, DeploymentPatch, IngressPatch, ConfigMapPatch,
// CustomResourcePatch, ...) change an object that already exists, by server-side apply. Stack
// policies look at the object as it will be: a patch whose target is an object of this stack is
// merged into it; a patch whose target lives outside the stack stays a `partial` object (only the
// fields it sets are known).

import { StackObject } from "./k8s";
import { UNKNOWN, asRecord, isUnknown, own, setOwn } from "./values";

/**
 * Lists that server-side apply merges entry by entry (the Kubernetes schema's listType=map), with
 * the key of an entry. Every other list, and the atomic maps (a Service's or a workload's
 * `selector`), is replaced as a whole by the patch.
 */
const LIST_KEYS: Record<string, (entry: Record<string, unknown>) => unknown[]> = {
    // Service ports (port, protocol); container ports (containerPort, protocol).
    ports: (p) => [own(p, "port") ?? own(p, "containerPort"), own(p, "protocol") ?? "TCP"],
    containers: (c) => [own(c, "name")],
    initContainers: (c) => [own(c, "name")],
    ephemeralContainers: (c) => [own(c, "name")],
    volumes: (v) => [own(v, "name")],
    env: (e) => [own(e, "name")],
    volumeMounts: (m) => [own(m, "mountPath")],
    listeners: (l) => [own(l, "name")],
};
const ATOMIC_MAPS = new Set(["selector"]);

function mergeList(field: string, base: unknown[], patch: unknown[]): unknown[] {
    const keyOf = LIST_KEYS[field];
    const out = [...base];
    for (const entry of patch) {
        const rec = asRecord(entry);
        const key = rec ? keyOf(rec) : undefined;
        const i =
            key && !key.some((k) => k === undefined || isUnknown(k))
                ? out.findIndex((b) => {
                      const br = asRecord(b);
                      return br !== undefined && keyOf(br).every((k, j) => k === key[j]);
                  })
                : -1;
        if (i >= 0) {
            out[i] = mergeValue(out[i], entry, "");
        } else {
            out.push(entry);
        }
    }
    return out;
}

/** `patch` applied to `base`, as server-side apply merges (see LIST_KEYS and ATOMIC_MAPS). */
export function mergeValue(base: unknown, patch: unknown, field: string): unknown {
    if (patch === undefined) {
        return base;
    }
    if (isUnknown(patch) || isUnknown(base)) {
        // An unknown patch value, or a known patch over an unknown object: the result is not known.
        return UNKNOWN;
    }
    if (Array.isArray(base) && Array.isArray(patch) && LIST_KEYS[field]) {
        return mergeList(field, base, patch);
    }
    const b = asRecord(base);
    const p = asRecord(patch);
    if (b && p && !ATOMIC_MAPS.has(field)) {
        const out: Record<string, unknown> = {};
        for (const key of new Set([...Object.keys(b), ...Object.keys(p)])) {
            setOwn(out, key, mergeValue(own(b, key), own(p, key), key));
        }
        return out;
    }
    return patch;
}

/** Same object (kind, cluster, namespace, name all known and equal)? */
function isTargetOf(patch: StackObject, obj: StackObject): boolean {
    return (
        !obj.t.patch &&
        obj.t.kind === patch.t.kind &&
        obj.t.group === patch.t.group &&
        obj.cluster === patch.cluster &&
        typeof obj.name === "string" &&
        obj.name === patch.name &&
        !isUnknown(obj.namespace) &&
        obj.namespace === patch.namespace
    );
}

/**
 * The objects of the stack as they will be: each patch merged (in stack order) into its target
 * when the target is an object of this stack, else kept as a partial object.
 */
export function applyPatches(objs: StackObject[]): StackObject[] {
    const out: StackObject[] = objs.filter((o) => !o.t.patch).map((o) => ({ ...o, patchedBy: [] }));
    for (const patch of objs.filter((o) => o.t.patch)) {
        const i = out.findIndex((o) => isTargetOf(patch, o));
        if (i < 0) {
            out.push(patch);
            continue;
        }
        const target = out[i];
        out[i] = {
            ...target,
            props: mergeValue(target.props, patch.props, ""),
            patchedBy: [...target.patchedBy, patch.logicalName],
        };
    }
    return out;
}
