// Small, shared helpers for reading Kubernetes resources as the Pulumi engine hands them to policies.
// Every function works on a `snapshot()` (plain data where unknown values are `UNKNOWN`).

import { PolicyResource, ResourceValidationArgs } from "@pulumi/policy";
import { UNKNOWN, Unknown, asArray, asRecord, at, isUnknown, snapshot } from "./values";

/**
 * Annotation that marks a Service whose pods are deployed outside this Pulumi stack (by another
 * tool or another stack). Value "true" exempts the Service from `service-selector-matches-workload`
 * and `service-target-port-resolves`.
 */
export const EXTERNAL_WORKLOAD_ANNOTATION = "policy.exchange.internal/external-workload";

/** Kinds whose resources carry a pod template (or are a Pod). */
export const WORKLOAD_KINDS = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Kinds whose spec.selector must match their own pod template labels. */
export const SELECTOR_WORKLOAD_KINDS: readonly string[] = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

/** Kinds a Service normally selects pods of (used to describe workloads in messages). */
export const SERVICE_TARGET_KINDS: readonly string[] = ["Deployment", "StatefulSet", "DaemonSet"];

/**
 * Parses a Pulumi Kubernetes type token such as "kubernetes:apps/v1:Deployment" into
 * { group: "apps", version: "v1", kind: "Deployment" }. Returns undefined for other providers.
 */
export function parseK8sType(type: string): { group: string; version: string; kind: string } | undefined {
    const m = /^kubernetes:([^:]+):([A-Za-z0-9]+)$/.exec(type);
    if (!m) {
        return undefined;
    }
    const gv = m[1];
    const slash = gv.indexOf("/");
    const group = slash >= 0 ? gv.slice(0, slash) : "";
    const version = slash >= 0 ? gv.slice(slash + 1) : gv;
    return { group: group === "core" ? "" : group, version, kind: m[2] };
}

export function isService(type: string): boolean {
    const t = parseK8sType(type);
    return !!t && t.group === "" && t.kind === "Service";
}

export function isIngress(type: string): boolean {
    const t = parseK8sType(type);
    return !!t && t.kind === "Ingress" && (t.group === "networking.k8s.io" || t.group === "extensions");
}

export function workloadKind(type: string): WorkloadKind | undefined {
    const t = parseK8sType(type);
    if (!t) {
        return undefined;
    }
    const groupOk =
        t.kind === "Pod" || t.kind === "ReplicationController"
            ? t.group === ""
            : t.kind === "Job" || t.kind === "CronJob"
                ? t.group === "batch"
                : t.group === "apps" || t.group === "extensions";
    return groupOk && (WORKLOAD_KINDS as readonly string[]).includes(t.kind) ? (t.kind as WorkloadKind) : undefined;
}

/** Path (as keys) from the resource's props to its pod spec. */
export function podSpecPath(kind: WorkloadKind): string[] {
    switch (kind) {
        case "Pod":
            return ["spec"];
        case "CronJob":
            return ["spec", "jobTemplate", "spec", "template", "spec"];
        default:
            return ["spec", "template", "spec"];
    }
}

/** Path (as keys) from the resource's props to its pod labels. */
export function podLabelsPath(kind: WorkloadKind): string[] {
    switch (kind) {
        case "Pod":
            return ["metadata", "labels"];
        case "CronJob":
            return ["spec", "jobTemplate", "spec", "template", "metadata", "labels"];
        default:
            return ["spec", "template", "metadata", "labels"];
    }
}

/** The pod template labels of a workload (UNKNOWN if unknown, {} if absent). */
export function podTemplateLabels(kind: WorkloadKind, props: unknown): Record<string, unknown> | Unknown {
    const labels = at(props, ...podLabelsPath(kind));
    if (isUnknown(labels)) {
        return UNKNOWN;
    }
    return asRecord(labels) ?? {};
}

/** metadata.name of the resource, falling back to the Pulumi logical name when absent. */
export function k8sName(props: unknown, fallback: string): string | Unknown {
    const name = at(props, "metadata", "name");
    if (isUnknown(name)) {
        return UNKNOWN;
    }
    return typeof name === "string" && name !== "" ? name : fallback;
}

/**
 * The namespace a namespaced resource ends up in: metadata.namespace, else the provider's default
 * namespace (provider config `namespace`), else "default".
 */
export function effectiveNamespace(props: unknown, providerProps?: unknown): string | Unknown {
    const ns = at(props, "metadata", "namespace");
    if (isUnknown(ns)) {
        return UNKNOWN;
    }
    if (typeof ns === "string" && ns !== "") {
        return ns;
    }
    const providerNs = providerProps === undefined ? undefined : at(providerProps, "namespace");
    if (isUnknown(providerNs)) {
        return UNKNOWN;
    }
    return typeof providerNs === "string" && providerNs !== "" ? providerNs : "default";
}

/** A resource of the stack, read once into plain data. */
export interface StackObject {
    type: string;
    /** Pulumi logical name. */
    logicalName: string;
    urn: string;
    kind: string;
    /** metadata.name (or the logical name when absent). */
    name: string | Unknown;
    namespace: string | Unknown;
    props: any;
}

/** Reads every Kubernetes resource of a stack into plain data (unknowns become UNKNOWN). */
export function readStack(resources: PolicyResource[]): StackObject[] {
    const out: StackObject[] = [];
    for (const r of resources) {
        const t = parseK8sType(r.type);
        if (!t) {
            continue;
        }
        const props = snapshot(r.props);
        const providerProps = r.provider ? snapshot(r.provider.props) : undefined;
        out.push({
            type: r.type,
            logicalName: r.name,
            urn: r.urn,
            kind: t.kind,
            name: k8sName(props, r.name),
            namespace: effectiveNamespace(props, providerProps),
            props,
        });
    }
    return out;
}

/** Reads the resource under validation into plain data. */
export function readResource(args: ResourceValidationArgs): StackObject {
    const props = snapshot(args.props);
    const providerProps = args.provider ? snapshot(args.provider.props) : undefined;
    const t = parseK8sType(args.type);
    return {
        type: args.type,
        logicalName: args.name,
        urn: args.urn,
        kind: t ? t.kind : args.type,
        name: k8sName(props, args.name),
        namespace: effectiveNamespace(props, providerProps),
        props,
    };
}

/** "Deployment \"exchange-router\"" (with the namespace when it is not "default"). */
export function describe(obj: StackObject): string {
    const name = isUnknown(obj.name) ? "(name unknown during preview)" : obj.name;
    const ns = isUnknown(obj.namespace) || obj.namespace === "default" ? "" : ` in namespace "${obj.namespace}"`;
    return `${obj.kind} "${name}"${ns}`;
}

export type Tri = "yes" | "no" | "maybe";

/** Does the equality-based selector match the labels? "maybe" when an unknown value decides it. */
export function matchLabels(selector: Record<string, unknown>, labels: Record<string, unknown> | Unknown): Tri {
    if (isUnknown(labels)) {
        return "maybe";
    }
    let result: Tri = "yes";
    for (const [key, want] of Object.entries(selector)) {
        const have = labels[key];
        if (isUnknown(want) || isUnknown(have)) {
            result = "maybe";
            continue;
        }
        if (have === undefined || String(have) !== String(want)) {
            return "no";
        }
    }
    return result;
}

/** Number of selector key/values that the labels carry (for "nearest workload"). */
export function countMatching(selector: Record<string, unknown>, labels: Record<string, unknown> | Unknown): number {
    if (isUnknown(labels)) {
        return 0;
    }
    let n = 0;
    for (const [key, want] of Object.entries(selector)) {
        if (!isUnknown(want) && labels[key] !== undefined && String(labels[key]) === String(want)) {
            n++;
        }
    }
    return n;
}

/** "app=exchange-router, tier=backend" ("{}" when empty). */
export function formatLabels(labels: Record<string, unknown> | Unknown | undefined): string {
    if (labels === undefined) {
        return "{}";
    }
    if (isUnknown(labels)) {
        return "(unknown during preview)";
    }
    const entries = Object.entries(labels);
    if (entries.length === 0) {
        return "{}";
    }
    return "{" + entries.map(([k, v]) => `${k}=${isUnknown(v) ? "(unknown)" : String(v)}`).join(", ") + "}";
}

/** Is the external-workload annotation set to "true"? */
export function hasExternalWorkloadAnnotation(props: unknown): boolean {
    const v = at(props, "metadata", "annotations", EXTERNAL_WORKLOAD_ANNOTATION);
    return typeof v === "string" && v.trim().toLowerCase() === "true";
}

/**
 * Is `name` (in `namespace`) on an allowlist? Entries are either "name" (any namespace) or
 * "namespace/name".
 */
export function onAllowlist(list: unknown, name: string, namespace: string | Unknown): boolean {
    if (!Array.isArray(list)) {
        return false;
    }
    for (const entry of list) {
        if (typeof entry !== "string") {
            continue;
        }
        const slash = entry.indexOf("/");
        if (slash < 0) {
            if (entry === name) {
                return true;
            }
        } else if (entry.slice(slash + 1) === name && !isUnknown(namespace) && entry.slice(0, slash) === namespace) {
            return true;
        }
    }
    return false;
}

/** A container of a workload's pod spec, with where it sits (for messages). */
export interface ContainerRef {
    /** "containers" | "initContainers" | "ephemeralContainers" */
    list: string;
    index: number;
    /** container name, or "#<index>" when absent/unknown. */
    name: string;
    container: Record<string, any>;
    /** e.g. "spec.template.spec.containers[0]" */
    path: string;
}

/**
 * The containers of a workload. `lists` selects which lists are read. Unknown lists or entries are
 * skipped (nothing can be said about them during preview).
 */
export function containersOf(
    kind: WorkloadKind,
    props: unknown,
    lists: readonly string[] = ["containers", "initContainers"],
): ContainerRef[] {
    const specPath = podSpecPath(kind);
    const out: ContainerRef[] = [];
    for (const list of lists) {
        const arr = asArray(at(props, ...specPath, list));
        if (!arr) {
            continue;
        }
        arr.forEach((c, index) => {
            const container = asRecord(c);
            if (!container) {
                return;
            }
            const name = typeof container.name === "string" && container.name !== "" ? container.name : `#${index}`;
            out.push({ list, index, name, container, path: `${specPath.join(".")}.${list}[${index}]` });
        });
    }
    return out;
}

/** The pod spec (known) of a workload, or undefined. */
export function podSpecOf(kind: WorkloadKind, props: unknown): Record<string, any> | undefined {
    return asRecord(at(props, ...podSpecPath(kind)));
}

/** Reads a string[] config value, tolerating absence. */
export function stringList(v: unknown): string[] {
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** The workload under validation and its containers; marks the policy not applicable to other types. */
export function workloadUnderValidation(
    args: ResourceValidationArgs,
    lists: readonly string[] = ["containers", "initContainers"],
): { obj: StackObject; kind: WorkloadKind; podSpec: Record<string, any> | undefined; containers: ContainerRef[] } {
    const kind = workloadKind(args.type);
    if (!kind) {
        return args.notApplicable("Policy only applies to Kubernetes workloads (Deployment, StatefulSet, DaemonSet, Pod, ...).");
    }
    const obj = readResource(args);
    return { obj, kind, podSpec: podSpecOf(kind, obj.props), containers: containersOf(kind, obj.props, lists) };
}

/** `container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router"` */
export function describeContainer(obj: StackObject, c: ContainerRef): string {
    const what = c.list === "initContainers" ? "init container" : c.list === "ephemeralContainers" ? "ephemeral container" : "container";
    return `${what} "${c.name}" (${c.path}) of ${describe(obj)}`;
}
