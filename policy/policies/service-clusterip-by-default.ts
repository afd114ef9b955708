import { PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describe, isService, onAllowlist, readResource, stringList } from "../lib/k8s";
import { asArray, asRecord, at, isUnknown } from "../lib/values";

/** Configuration of `service-clusterip-by-default`. */
export interface ServiceClusterIpConfig {
    /** metadata.name (or "namespace/name") of Services allowed to be of type LoadBalancer. */
    allowedLoadBalancers?: string[];
    /** metadata.name (or "namespace/name") of Services allowed to be of type NodePort. */
    allowedNodePorts?: string[];
}

/** Service spec fields that only make sense for NodePort/LoadBalancer Services. */
const EXTERNAL_ONLY_SPEC_FIELDS = [
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "loadBalancerClass",
    "allocateLoadBalancerNodePorts",
    "externalTrafficPolicy",
    "healthCheckNodePort",
];

const NAME = "service-clusterip-by-default";

const CONFIG_SCHEMA: PolicyConfigSchema = {
    properties: {
        allowedLoadBalancers: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Names (metadata.name, or namespace/name) of Services allowed to be LoadBalancer.",
        },
        allowedNodePorts: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Names (metadata.name, or namespace/name) of Services allowed to be NodePort.",
        },
    },
};

interface Finding {
    type: "LoadBalancer" | "NodePort";
    message: string;
}

function evaluate(args: ResourceValidationArgs): Finding | undefined {
    if (!isService(args.type)) {
        args.notApplicable("Policy only applies to Kubernetes Services.");
    }
    const config = readConfig<ServiceClusterIpConfig>(args, NAME, CONFIG_SCHEMA);
    const svc = readResource(args);
    const type = at(svc.props, "spec", "type");
    if (isUnknown(type) || (type !== "LoadBalancer" && type !== "NodePort")) {
        // ClusterIP (explicit or default), headless ClusterIP, ExternalName, or not known during preview.
        return undefined;
    }
    if (isUnknown(svc.name)) {
        // Cannot tell whether the Service is on the allowlist.
        return undefined;
    }
    const listKey = type === "LoadBalancer" ? "allowedLoadBalancers" : "allowedNodePorts";
    const list = stringList(type === "LoadBalancer" ? config.allowedLoadBalancers : config.allowedNodePorts);
    if (onAllowlist(list, svc.name, svc.namespace)) {
        return undefined;
    }
    return {
        type,
        message:
            `${describe(svc)} is of type ${type}, which exposes it outside the cluster, and "${svc.name}" is not in ` +
            `this policy's ${listKey} allowlist (currently ${JSON.stringify(list)}). ` +
            `Fix: remove spec.type (ClusterIP is the default) and reach the Service through the Ingress, ` +
            `or, if the exposure is intended, add "${svc.name}" to ${listKey} in the policy pack config ` +
            `for "service-clusterip-by-default".`,
    };
}

/**
 * 1. Services are ClusterIP unless allowlisted. Mandatory; supports `remediate`, which rewrites the
 * type to ClusterIP and drops the fields that only make sense for NodePort/LoadBalancer.
 */
export const serviceClusterIpByDefault: ResourceValidationPolicy = {
    name: NAME,
    description:
        "Kubernetes Services must be of type ClusterIP; LoadBalancer and NodePort Services are allowed only " +
        "when their name is on the allowedLoadBalancers / allowedNodePorts allowlist.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Drop spec.type (or set it to ClusterIP) and expose the Service through the Ingress, or add its name to " +
        "allowedLoadBalancers / allowedNodePorts. At enforcement level 'remediate' the pack rewrites the type itself.",
    configSchema: CONFIG_SCHEMA,
    validateResource: (args, reportViolation) => {
        const finding = evaluate(args);
        if (finding) {
            reportViolation(finding.message);
        }
    },
    remediateResource: (args) => {
        const finding = evaluate(args);
        if (!finding) {
            return undefined;
        }
        // Mutate through the SDK's proxy so that secret values elsewhere in the props stay secret.
        const props = args.props;
        const spec = props.spec;
        spec.type = "ClusterIP";
        for (const field of EXTERNAL_ONLY_SPEC_FIELDS) {
            if (field in spec) {
                delete spec[field];
            }
        }
        const snapshotPorts = asArray(at(readResource(args).props, "spec", "ports"));
        if (snapshotPorts) {
            snapshotPorts.forEach((port, i) => {
                if (asRecord(port) && "nodePort" in port) {
                    delete spec.ports[i].nodePort;
                }
            });
        }
        return props;
    },
};
