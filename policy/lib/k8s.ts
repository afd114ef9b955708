// Reading Kubernetes resources as the Pulumi engine hands them to policies: type tokens (incl. the
// provider's *Patch kinds), names (incl. generateName), namespaces, clusters (providers), pod specs.
// Every function works on a `snapshot()` (plain data where unknown values are `UNKNOWN`).

import type { PolicyResource, ResourceValidationArgs } from "@pulumi/policy";
import { Tri, UNKNOWN, Unknown, anyOf, asArray, asRecord, at, isUnknown, snapshot } from "./values";

/**
 * Annotation that marks a Service whose pods are deployed outside this Pulumi stack (by another
 * tool or another stack). Value "true" exempts the Service from `service-selector-matches-workload`
 * and `service-target-port-resolves`.
 */
export const EXTERNAL_WORKLOAD_ANNOTATION = "policy.exchange.internal/external-workload";

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

/**
 * A Kubernetes type token, parsed: "kubernetes:apps/v1:Deployment" is group "apps", version "v1",
 * kind "Deployment". The provider's patch resources ("kubernetes:core/v1:ServicePatch", and
 * CustomResourcePatch's "kubernetes:<apiVersion>:<Kind>Patch") have the kind of the object they
 * patch and `patch: true`. Custom resources (apiextensions.CustomResource) arrive as
 * "kubernetes:<apiVersion>:<Kind>", e.g. "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute".
 */
export interface K8sType {
    group: string;
    version: string;
    kind: string;
    patch: boolean;
}

export function parseK8sType(type: string): K8sType | undefined {
    const m = /^kubernetes:([^:]+):([A-Za-z0-9]+)$/.exec(type);
    if (!m) {
        return undefined;
    }
    const [, gv, rawKind] = m;
    const slash = gv.indexOf("/");
    const group = slash >= 0 ? gv.slice(0, slash) : "";
    const version = slash >= 0 ? gv.slice(slash + 1) : gv;
    const patch = rawKind.length > "Patch".length && rawKind.endsWith("Patch");
    return {
        group: group === "core" ? "" : group,
        version,
        kind: patch ? rawKind.slice(0, -"Patch".length) : rawKind,
        patch,
    };
}

export const isService = (t: K8sType): boolean => t.group === "" && t.kind === "Service";
export const isConfigMap = (t: K8sType): boolean => t.group === "" && t.kind === "ConfigMap";
export const isIngress = (t: K8sType): boolean =>
    t.kind === "Ingress" && (t.group === "networking.k8s.io" || t.group === "extensions");
export const isGateway = (t: K8sType): boolean => t.group === GATEWAY_API_GROUP && t.kind === "Gateway";
export const isHttpRoute = (t: K8sType): boolean => t.group === GATEWAY_API_GROUP && t.kind === "HTTPRoute";
export const isNetworkPolicy = (t: K8sType): boolean => t.group === "networking.k8s.io" && t.kind === "NetworkPolicy";
export const isPodDisruptionBudget = (t: K8sType): boolean => t.group === "policy" && t.kind === "PodDisruptionBudget";
export const isHorizontalPodAutoscaler = (t: K8sType): boolean =>
    t.group === "autoscaling" && t.kind === "HorizontalPodAutoscaler";
/** Gateway API routes whose rules carry backendRefs to Services (the standard channel's two). */
export const isRoute = (t: K8sType): boolean =>
    t.group === GATEWAY_API_GROUP && (t.kind === "HTTPRoute" || t.kind === "GRPCRoute");
export const isReferenceGrant = (t: K8sType): boolean => t.group === GATEWAY_API_GROUP && t.kind === "ReferenceGrant";
/** Traefik's own API group: its TraefikService is a backendRef its Gateway provider resolves. */
export const TRAEFIK_GROUP = "traefik.io";
export const isTraefikService = (t: K8sType): boolean => t.group === TRAEFIK_GROUP && t.kind === "TraefikService";

/** Kinds whose resources carry a pod template (or are a Pod). */
const WORKLOAD_KINDS = [
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
export const SELECTOR_WORKLOAD_KINDS: readonly WorkloadKind[] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
];

export function workloadKind(t: K8sType): WorkloadKind | undefined {
    const groupOk =
        t.kind === "Pod" || t.kind === "ReplicationController"
            ? t.group === ""
            : t.kind === "Job" || t.kind === "CronJob"
              ? t.group === "batch"
              : t.group === "apps" || t.group === "extensions";
    return groupOk && (WORKLOAD_KINDS as readonly string[]).includes(t.kind) ? (t.kind as WorkloadKind) : undefined;
}

/** Path (as keys) from a workload's props to its pod template ({ metadata, spec }); [] for a Pod. */
export function podTemplatePath(kind: WorkloadKind): string[] {
    switch (kind) {
        case "Pod":
            return [];
        case "CronJob":
            return ["spec", "jobTemplate", "spec", "template"];
        default:
            return ["spec", "template"];
    }
}

/** Path (as keys) from the resource's props to its pod spec. */
export function podSpecPath(kind: WorkloadKind): string[] {
    return [...podTemplatePath(kind), "spec"];
}

// ---------------------------------------------------------------------------------------------
// Names.

/** The API server's generated names: generateName cut to 58 characters, then 5 random characters of this set. */
const API_SERVER_PREFIX_LENGTH = 58;
const API_SERVER_SUFFIX = /^[bcdfghjklmnpqrstvwxz2456789]{5}$/;

/**
 * A name chosen when the object is created: by the API server from `metadata.generateName` (the
 * prefix cut to 58 characters, then exactly 5 random characters without vowels, so "the prefix
 * plus anything" is not enough: a Pulumi logical name that merely starts with the prefix can never
 * be it), or Pulumi's auto-name (the logical name, "-", a random suffix whose length and
 * characters the stack's auto-naming config may change) where the engine has not filled it in yet.
 */
export class GeneratedName {
    constructor(
        readonly prefix: string,
        readonly by: "apiServer" | "pulumi",
    ) {}

    /** The part every generated name starts with. */
    get base(): string {
        return this.by === "apiServer" ? this.prefix.slice(0, API_SERVER_PREFIX_LENGTH) : this.prefix;
    }

    /** May the generated name turn out to be `literal`? */
    mayBe(literal: string): boolean {
        if (!literal.startsWith(this.base)) {
            return false;
        }
        const suffix = literal.slice(this.base.length);
        return this.by === "apiServer" ? API_SERVER_SUFFIX.test(suffix) : suffix.length > 0;
    }

    toString(): string {
        return `${this.prefix}<random suffix>`;
    }
}

/** What is known of an object's name. */
export type ObjectName = string | GeneratedName | Unknown;

/** Does an object named `name` carry the literal name `literal`? */
export function nameMatches(name: ObjectName, literal: string): Tri {
    if (typeof name === "string") {
        return name === literal ? "yes" : "no";
    }
    if (name instanceof GeneratedName) {
        return name.mayBe(literal) ? "maybe" : "no";
    }
    return "maybe";
}

/**
 * The name of an object: metadata.name; else, with metadata.generateName, a name the API server
 * generates from that prefix; else Pulumi's auto-name from the logical name. (During a real preview
 * the provider has already filled in the auto-name, so only tests see the last case.)
 */
function objectName(props: unknown, logicalName: string): ObjectName {
    const name = at(props, "metadata", "name");
    if (typeof name === "string" && name !== "") {
        return name;
    }
    const prefix = at(props, "metadata", "generateName");
    if (typeof prefix === "string" && prefix !== "") {
        // Also when the name is unknown: the provider's planned state leaves a generated name unknown.
        return new GeneratedName(prefix, "apiServer");
    }
    return isUnknown(name) || isUnknown(prefix) ? UNKNOWN : new GeneratedName(`${logicalName}-`, "pulumi");
}

/**
 * The namespace a namespaced resource ends up in: metadata.namespace, else the provider's default
 * namespace (provider config `namespace`), else "default".
 */
function effectiveNamespace(props: unknown, providerProps?: unknown): string | Unknown {
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

/** Are two namespaces (possibly unknown) the same? */
export function sameNamespace(a: string | Unknown, b: string | Unknown): Tri {
    return isUnknown(a) || isUnknown(b) ? "maybe" : a === b ? "yes" : "no";
}

// ---------------------------------------------------------------------------------------------
// Objects of the stack.

/** A Kubernetes resource of the stack (or the one under validation), read once into plain data. */
export interface StackObject {
    type: string;
    t: K8sType;
    /** Pulumi logical name. */
    logicalName: string;
    urn: string;
    /**
     * The cluster the object goes to: the URN of its provider as the engine reports it (the default
     * provider and each explicit provider are different clusters); "" when the engine names none.
     */
    cluster: string;
    name: ObjectName;
    namespace: string | Unknown;
    props: any;
    /**
     * A patch (`*Patch` resource) whose target is not an object of this stack: only the fields it
     * sets are known, every other field of the target is unknown (not absent).
     */
    partial: boolean;
    /** Logical names of the patches of this stack merged into this object. */
    patchedBy: string[];
    /**
     * The resource's `ignoreChanges` option (property paths the engine leaves alone on update). A
     * patch merged into an object of the stack does not add its own: the object's options stand.
     */
    ignoreChanges: string[];
}

function readObject(
    type: string,
    logicalName: string,
    urn: string,
    rawProps: unknown,
    provider: { urn: string; props: unknown } | undefined,
    opts: { ignoreChanges?: string[] } | undefined,
): StackObject | undefined {
    const t = parseK8sType(type);
    if (!t) {
        return undefined;
    }
    const props = snapshot(rawProps);
    const providerProps = provider ? snapshot(provider.props) : undefined;
    return {
        type,
        t,
        logicalName,
        urn,
        cluster: provider?.urn ?? "",
        name: objectName(props, logicalName),
        namespace: effectiveNamespace(props, providerProps),
        props,
        partial: t.patch,
        patchedBy: [],
        ignoreChanges: [...(opts?.ignoreChanges ?? [])],
    };
}

/** The kinds stack policies look at; other resources (Secrets, volumes, ...) are not even read. */
function readByStackPolicies(t: K8sType): boolean {
    return (
        [
            isService,
            isConfigMap,
            isIngress,
            isGateway,
            isRoute,
            isReferenceGrant,
            isTraefikService,
            isNetworkPolicy,
            isPodDisruptionBudget,
            isHorizontalPodAutoscaler,
        ].some((is) => is(t)) || workloadKind(t) !== undefined
    );
}

/** Reads the Kubernetes resources of a stack that stack policies look at into plain data (unknowns become UNKNOWN). */
export function readStackObjects(resources: PolicyResource[]): StackObject[] {
    const out: StackObject[] = [];
    for (const r of resources) {
        const t = parseK8sType(r.type);
        if (!t || !readByStackPolicies(t)) {
            continue;
        }
        const obj = readObject(r.type, r.name, r.urn, r.props, r.provider, r.opts);
        if (obj) {
            out.push(obj);
        }
    }
    return out;
}

/** Reads the resource under validation into plain data, or undefined for non-Kubernetes types. */
export function readResource(args: ResourceValidationArgs): StackObject | undefined {
    return readObject(args.type, args.name, args.urn, args.props, args.provider, args.opts);
}

/** Is `obj` possibly `name` in `namespace` on the same cluster as `from`? */
export function objectAt(obj: StackObject, from: StackObject, namespace: string | Unknown, name: string): Tri {
    if (obj.cluster !== from.cluster) {
        return "no";
    }
    const ns = sameNamespace(obj.namespace, namespace);
    const n = nameMatches(obj.name, name);
    return ns === "no" || n === "no" ? "no" : ns === "yes" && n === "yes" ? "yes" : "maybe";
}

/** `Service "exchange-router"` (with the namespace when it is not "default", and the patch). */
export function describe(obj: StackObject): string {
    const name = isUnknown(obj.name) ? "(name unknown during preview)" : `"${obj.name}"`;
    const ns = isUnknown(obj.namespace) || obj.namespace === "default" ? "" : ` in namespace "${obj.namespace}"`;
    const kind = obj.t.patch && obj.partial ? `${obj.t.kind}Patch` : obj.t.kind;
    const patched = obj.patchedBy.length > 0 ? ` (as patched by ${obj.patchedBy.map((p) => `"${p}"`).join(", ")})` : "";
    return `${kind} ${name}${ns}${patched}`;
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
    return "{" + entries.map(([k, v]) => `${k}=${String(v)}`).join(", ") + "}";
}

/** Is the external-workload annotation "true"? "maybe" while the annotations are unknown. */
export function externalWorkloadAnnotation(props: unknown): Tri {
    const v = at(props, "metadata", "annotations", EXTERNAL_WORKLOAD_ANNOTATION);
    if (isUnknown(v)) {
        return "maybe";
    }
    return typeof v === "string" && v.trim().toLowerCase() === "true" ? "yes" : "no";
}

/**
 * Is an object named `name` in `namespace` on an allowlist? Entries are "name" (any namespace) or
 * "namespace/name". "maybe" when an unknown name or namespace decides it.
 */
export function onAllowlist(list: readonly string[], name: ObjectName, namespace: string | Unknown): Tri {
    return anyOf(
        list.map((entry): Tri => {
            const slash = entry.indexOf("/");
            const entryName = slash < 0 ? entry : entry.slice(slash + 1);
            const n = nameMatches(name, entryName);
            if (slash < 0 || n === "no") {
                return n;
            }
            const ns = sameNamespace(namespace, entry.slice(0, slash));
            return ns === "no" ? "no" : ns === "yes" && n === "yes" ? "yes" : "maybe";
        }),
    );
}

// ---------------------------------------------------------------------------------------------
// Pod specs and containers.

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

export type ContainerList = "containers" | "initContainers" | "ephemeralContainers";

/**
 * The containers of a workload. `lists` selects which lists are read. Unknown lists or entries are
 * skipped (nothing can be said about them during preview).
 */
export function containersOf(kind: WorkloadKind, props: unknown, lists: readonly ContainerList[]): ContainerRef[] {
    const specPath = podSpecPath(kind);
    const out: ContainerRef[] = [];
    for (const list of lists) {
        (asArray(at(props, ...specPath, list)) ?? []).forEach((c, index) => {
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

/** `container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router"` */
export function describeContainer(obj: StackObject, c: ContainerRef): string {
    const what =
        c.list === "initContainers"
            ? "init container"
            : c.list === "ephemeralContainers"
              ? "ephemeral container"
              : "container";
    return `${what} "${c.name}" (${c.path}) of ${describe(obj)}`;
}

/** For resourcePolicy's appliesTo: every workload kind, and its patches. */
export const WORKLOADS = {
    types: (t: K8sType): boolean => workloadKind(t) !== undefined,
    text: "Kubernetes workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, ... and their patches)",
};

/** The containers of the workload `obj` (a WORKLOADS type). */
export function workloadContainers(obj: StackObject, lists: readonly ContainerList[]): ContainerRef[] {
    return containersOf(workloadKind(obj.t)!, obj.props, lists);
}
