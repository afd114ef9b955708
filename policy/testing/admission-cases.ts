// One table of cases for the rules that both the pack and the API server enforce (admission/):
// the pack's specs run every case through the pack (tests/admission-cases.spec.ts), and the root
// project's integration test applies every case to a real API server with the admission policies
// installed from the same config (tests/integration/admission.test.ts), so the two cannot drift
// apart. Where they cannot agree, the case says what each side does and why.
//
// A case is an object to create, or an object that exists (`update.before`) and a JSON merge patch
// (`kubectl patch --type merge`) that changes it; the pack judges the object as it ends up.

import { PackConfig } from "../lib/pack-config";
import { admissionPolicies } from "../admission";
import { PolicyViolation, runPolicyPack } from "./harness";

/** The namespaces the cases live in (the integration test creates them). */
export const CASES_NAMESPACE = "exchange-admission-cases";
export const OTHER_NAMESPACE = "exchange-admission-edge";

/** The policy pack config the cases are judged under: allowlists as a team would write them. */
export const CASES_CONFIG: PackConfig = {
    "service-clusterip-by-default": {
        allowedLoadBalancers: ["exchange-router-external", `${OTHER_NAMESPACE}/public-gateway`],
        allowedNodePorts: ["legacy-nodeport", "half-listed-nodeport"],
    },
    "service-no-nodeport": { allowedNodePorts: ["legacy-nodeport"] },
    "service-loadbalancer-source-ranges": { allowedOpenLoadBalancers: [`${OTHER_NAMESPACE}/public-gateway`] },
};

/** What happens to an object: the policies that refuse it (mandatory) and those that warn (advisory). */
export interface Verdict {
    refusedBy: string[];
    warnedBy: string[];
}

export type KubeObject = { apiVersion: string; kind: string; metadata: Record<string, any> } & Record<string, any>;

export interface AdmissionCase {
    name: string;
    /** The Pulumi logical name the pack sees, when it is not metadata.name. */
    logicalName?: string;
    /** The object as created, or as it ends up after the update. */
    object: KubeObject;
    /** An object that exists first, and the merge patch that turns it into `object`. */
    update?: { before: KubeObject; mergePatch: Record<string, unknown> };
    /** What the pack and the admission policies both do with it... */
    expected: Verdict;
    /** ...unless the API server cannot tell what the pack can: what it does instead, and why. */
    admission?: { expected: Verdict; why: string };
}

/** The names of the rules both sides enforce. */
export const SHARED_RULES: readonly string[] = admissionPolicies.map((p) => p.pack.name);

export const admitted = (...warnedBy: string[]): Verdict => ({ refusedBy: [], warnedBy: [...warnedBy].sort() });
export const refused = (...refusedBy: string[]): Verdict => ({ refusedBy: [...refusedBy].sort(), warnedBy: [] });
export const andWarned = (v: Verdict, ...warnedBy: string[]): Verdict => ({
    ...v,
    warnedBy: [...v.warnedBy, ...warnedBy].sort(),
});

/** RFC 7386 JSON merge patch, as `kubectl patch --type merge` applies it: null removes a key. */
export function mergePatch(target: unknown, patch: unknown): unknown {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
        return patch;
    }
    const out: Record<string, unknown> =
        target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
    for (const [key, value] of Object.entries(patch)) {
        if (value === null) {
            delete out[key];
        } else {
            out[key] = mergePatch(out[key], value);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// The objects.

const CLUSTER_IP = "service-clusterip-by-default";
const NO_NODEPORT = "service-no-nodeport";
const NO_EXTERNAL_IPS = "service-no-external-ips";
const SOURCE_RANGES = "service-loadbalancer-source-ranges";
const NO_SNIPPETS = "ingress-nginx-no-snippets";

const HTTP = { name: "http", port: 80, targetPort: 8080, protocol: "TCP" };
const CLIENTS = ["203.0.113.0/24"];

function service(
    name: string,
    spec: Record<string, unknown> = {},
    metadata: Record<string, unknown> = {},
    namespace = CASES_NAMESPACE,
): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace, ...metadata },
        spec: { selector: { app: name }, ports: [HTTP], ...spec },
    };
}

function ingress(name: string, annotations: Record<string, string> = {}): KubeObject {
    return {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name, namespace: CASES_NAMESPACE, annotations },
        spec: {
            ingressClassName: "nginx",
            rules: [
                {
                    http: {
                        paths: [
                            {
                                path: "/backend",
                                pathType: "Prefix",
                                backend: { service: { name: "exchange-router-service", port: { number: 80 } } },
                            },
                        ],
                    },
                },
            ],
        },
    };
}

/** The object with metadata.generateName instead of a name. */
function generatedName(object: KubeObject, prefix: string): KubeObject {
    const { name: _name, ...metadata } = object.metadata;
    return { ...object, metadata: { ...metadata, generateName: prefix } };
}

const create = (name: string, object: KubeObject, expected: Verdict): AdmissionCase => ({ name, object, expected });

function update(name: string, before: KubeObject, patch: Record<string, unknown>, expected: Verdict): AdmissionCase {
    return { name, object: mergePatch(before, patch) as KubeObject, update: { before, mergePatch: patch }, expected };
}

/** Node ports allocated by the API server look like pinned ones to an admission policy. */
const ALLOCATED_LOOK_PINNED =
    "the API server allocates a LoadBalancer's node ports (and its healthCheckNodePort) before validating " +
    "admission runs, so a pinned port and an allocated one look alike there; the pack sees the program's inputs";

export const ADMISSION_CASES: AdmissionCase[] = [
    // The platform's own Service shapes, and what the rules allow.
    create(
        "ClusterIP with spec.type omitted (the API server's default)",
        service("exchange-router-service"),
        admitted(),
    ),
    create("ClusterIP set explicitly", service("exchange-redis-service", { type: "ClusterIP" }), admitted()),
    create("headless (clusterIP: None)", service("exchange-postgres-headless", { clusterIP: "None" }), admitted()),
    create(
        "several ports (http and metrics)",
        service("exchange-router-metrics", { ports: [HTTP, { name: "metrics", port: 9090, protocol: "TCP" }] }),
        admitted(),
    ),
    create(
        "ClientIP session affinity with a timeout",
        service("exchange-ws-stream-service", {
            sessionAffinity: "ClientIP",
            sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
        }),
        admitted(),
    ),
    create(
        "ExternalName",
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "legacy-matching-engine", namespace: CASES_NAMESPACE },
            spec: { type: "ExternalName", externalName: "matching.example.internal" },
        },
        admitted(),
    ),
    create("an empty externalIPs list (no address)", service("empty-external-ips", { externalIPs: [] }), admitted()),
    create(
        "LoadBalancer on allowedLoadBalancers (by name) with source ranges",
        service("exchange-router-external", { type: "LoadBalancer", loadBalancerSourceRanges: CLIENTS }),
        admitted(),
    ),
    create(
        "LoadBalancer on allowedLoadBalancers without source ranges: a warning",
        service("exchange-router-external", { type: "LoadBalancer" }),
        admitted(SOURCE_RANGES),
    ),
    create(
        "LoadBalancer on allowedLoadBalancers open to 0.0.0.0/0: a warning",
        service("exchange-router-external", { type: "LoadBalancer", loadBalancerSourceRanges: ["0.0.0.0/0"] }),
        admitted(SOURCE_RANGES),
    ),
    create(
        "LoadBalancer whose source ranges are in the cloud annotation",
        service(
            "exchange-router-external",
            { type: "LoadBalancer" },
            { annotations: { "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24" } },
        ),
        admitted(),
    ),
    create(
        "LoadBalancer on the allowlists by namespace/name, in that namespace, open on purpose",
        service("public-gateway", { type: "LoadBalancer" }, {}, OTHER_NAMESPACE),
        admitted(),
    ),
    create(
        "LoadBalancer that asks for no node ports and pins none",
        service("exchange-router-external", {
            type: "LoadBalancer",
            allocateLoadBalancerNodePorts: false,
            loadBalancerSourceRanges: CLIENTS,
        }),
        admitted(),
    ),
    create("NodePort on both policies' allowedNodePorts", service("legacy-nodeport", { type: "NodePort" }), admitted()),

    // Refused when created.
    create(
        "LoadBalancer not on the allowlist",
        service("exchange-router-service", { type: "LoadBalancer", loadBalancerSourceRanges: CLIENTS }),
        refused(CLUSTER_IP),
    ),
    create(
        "LoadBalancer not on the allowlist and open: refused, and warned",
        service("exchange-router-service", { type: "LoadBalancer" }),
        andWarned(refused(CLUSTER_IP), SOURCE_RANGES),
    ),
    create(
        "LoadBalancer whose namespace/name entry names another namespace",
        service("public-gateway", { type: "LoadBalancer", loadBalancerSourceRanges: CLIENTS }),
        refused(CLUSTER_IP),
    ),
    {
        ...create(
            "LoadBalancer with only generateName: its logical name, on the allowlist and starting with the prefix, is not its name",
            generatedName(service("", { type: "LoadBalancer", loadBalancerSourceRanges: CLIENTS }), "exchange-router-"),
            refused(CLUSTER_IP),
        ),
        logicalName: "exchange-router-external",
    },
    create("NodePort", service("exchange-router-service", { type: "NodePort" }), refused(CLUSTER_IP, NO_NODEPORT)),
    create(
        "NodePort with a pinned nodePort",
        service("exchange-router-service", { type: "NodePort", ports: [{ ...HTTP, nodePort: 30080 }] }),
        refused(CLUSTER_IP, NO_NODEPORT),
    ),
    create(
        "NodePort in another namespace",
        service("exchange-router-service", { type: "NodePort" }, {}, OTHER_NAMESPACE),
        refused(CLUSTER_IP, NO_NODEPORT),
    ),
    create(
        "NodePort on service-clusterip-by-default's allowedNodePorts only",
        service("half-listed-nodeport", { type: "NodePort" }),
        refused(NO_NODEPORT),
    ),
    create(
        "allowlisted LoadBalancer that asks for no node ports but pins one",
        service("exchange-router-external", {
            type: "LoadBalancer",
            allocateLoadBalancerNodePorts: false,
            loadBalancerSourceRanges: CLIENTS,
            ports: [{ ...HTTP, nodePort: 30081 }],
        }),
        refused(NO_NODEPORT),
    ),
    create(
        "externalIPs on a ClusterIP Service",
        service("exchange-router-service", { externalIPs: ["203.0.113.10"] }),
        refused(NO_EXTERNAL_IPS),
    ),
    create(
        "externalIPs on an allowlisted LoadBalancer",
        service("exchange-router-external", {
            type: "LoadBalancer",
            loadBalancerSourceRanges: CLIENTS,
            externalIPs: ["203.0.113.11"],
        }),
        refused(NO_EXTERNAL_IPS),
    ),

    // Updates of an admitted ClusterIP Service.
    update(
        "ClusterIP turned into a NodePort by a patch",
        service("patched-to-nodeport"),
        { spec: { type: "NodePort" } },
        refused(CLUSTER_IP, NO_NODEPORT),
    ),
    update(
        "ClusterIP turned into a LoadBalancer by a patch",
        service("patched-to-lb"),
        { spec: { type: "LoadBalancer", loadBalancerSourceRanges: CLIENTS } },
        refused(CLUSTER_IP),
    ),
    update(
        "allowlisted ClusterIP turned into an open LoadBalancer by a patch: a warning",
        // In the other namespace: the create cases take this name in the cases' namespace.
        service("exchange-router-external", {}, {}, OTHER_NAMESPACE),
        { spec: { type: "LoadBalancer" } },
        admitted(SOURCE_RANGES),
    ),
    update(
        "externalIPs added by a patch",
        service("patched-external-ips"),
        { spec: { externalIPs: ["203.0.113.12"] } },
        refused(NO_EXTERNAL_IPS),
    ),

    // Ingresses.
    create(
        "Ingress with the dedicated ingress-nginx annotations",
        ingress("exchange-backend", { "nginx.ingress.kubernetes.io/rewrite-target": "/" }),
        admitted(),
    ),
    create(
        "Ingress with a configuration-snippet",
        ingress("exchange-backend", { "nginx.ingress.kubernetes.io/configuration-snippet": "return 200;" }),
        refused(NO_SNIPPETS),
    ),
    create(
        "Ingress with an empty server-snippet",
        ingress("exchange-backend", { "nginx.ingress.kubernetes.io/server-snippet": " " }),
        admitted(),
    ),
    update(
        "a snippet added to an Ingress by a patch",
        ingress("patched-snippet"),
        { metadata: { annotations: { "nginx.ingress.kubernetes.io/server-snippet": "location /x { return 200; }" } } },
        refused(NO_SNIPPETS),
    ),

    // What only the pack sees.
    {
        ...create(
            "allowlisted LoadBalancer with a pinned nodePort (node ports allocated, the default)",
            service("exchange-router-external", {
                type: "LoadBalancer",
                loadBalancerSourceRanges: CLIENTS,
                ports: [{ ...HTTP, nodePort: 30082 }],
            }),
            refused(NO_NODEPORT),
        ),
        admission: { expected: admitted(), why: ALLOCATED_LOOK_PINNED },
    },
    {
        ...create(
            "allowlisted LoadBalancer with a pinned healthCheckNodePort",
            service("exchange-router-external", {
                type: "LoadBalancer",
                loadBalancerSourceRanges: CLIENTS,
                externalTrafficPolicy: "Local",
                healthCheckNodePort: 30083,
            }),
            refused(NO_NODEPORT),
        ),
        admission: { expected: admitted(), why: ALLOCATED_LOOK_PINNED },
    },
];

/** What the API server is expected to do with a case. */
export const admissionExpected = (c: AdmissionCase): Verdict => c.admission?.expected ?? c.expected;

/** The case's object as the pack sees it: its type token, its logical name and its props. */
function asResource(c: AdmissionCase) {
    const [group, version] = c.object.apiVersion.includes("/")
        ? c.object.apiVersion.split("/")
        : ["core", c.object.apiVersion];
    return {
        type: `kubernetes:${group}/${version}:${c.object.kind}`,
        name: c.logicalName ?? c.object.metadata.name,
        props: c.object,
    };
}

/** The pack's verdict on a case, on the rules admission enforces too (other policies' findings are left out). */
export async function packVerdict(c: AdmissionCase, config: PackConfig = CASES_CONFIG): Promise<Verdict> {
    const violations = await runPolicyPack([asResource(c)], config);
    const shared = violations.filter((v) => SHARED_RULES.includes(v.policyName));
    const names = (level: PolicyViolation["enforcementLevel"]) =>
        [...new Set(shared.filter((v) => v.enforcementLevel === level).map((v) => v.policyName))].sort();
    return { refusedBy: names("mandatory"), warnedBy: names("advisory") };
}
