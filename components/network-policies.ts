/**
 * NetworkPolicies: deny all ingress to the platform's pods, then allow exactly the paths the
 * platform uses. Pod selectors come from the workloads' own labels, never retyped.
 *
 * The deny-all selects the platform's pods (label part-of=exchange), not the whole namespace:
 * the platform document deploys into `default`, where pods of other teams must keep their own rules.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { NetworkPolicySettings } from "../config";
import { fixedNameOptions, PLATFORM_LABELS, platformMetadata } from "./metadata";
import { ServiceDeployment } from "./service-deployment";

/** Who may open connections to one workload's own port. */
export interface AllowedTraffic {
    to: ServiceDeployment;
    /** Platform workloads allowed as clients. */
    from: ServiceDeployment[];
    /** The ingress controller fronts this workload. */
    fromIngressController: boolean;
}

export interface NetworkPoliciesArgs {
    namespace: pulumi.Input<string>;
    settings: NetworkPolicySettings;
    allowed: AllowedTraffic[];
}

type PolicyRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

const fromNamespace = (name: string) => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});

export class NetworkPolicies extends pulumi.ComponentResource {
    public readonly policies: k8s.networking.v1.NetworkPolicy[];

    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:NetworkPolicies", name, {}, opts);
        const { settings } = args;
        const policy = (policyName: string, podSelector: Record<string, string>, ingress: PolicyRule[]) =>
            new k8s.networking.v1.NetworkPolicy(
                policyName,
                {
                    metadata: platformMetadata(policyName, args.namespace),
                    spec: { podSelector: { matchLabels: podSelector }, policyTypes: ["Ingress"], ingress },
                },
                fixedNameOptions(this),
            );

        this.policies = [
            policy(
                "exchange-default-deny-ingress",
                { "app.kubernetes.io/part-of": PLATFORM_LABELS["app.kubernetes.io/part-of"] },
                [],
            ),
        ];

        for (const { to, from, fromIngressController } of args.allowed) {
            const port = [{ protocol: "TCP", port: to.contract.containerPort }];
            const rules: PolicyRule[] = [];
            if (from.length > 0) {
                rules.push({
                    from: from.map((client) => ({ podSelector: { matchLabels: client.selectorLabels } })),
                    ports: port,
                });
            }
            if (fromIngressController) {
                rules.push({ from: [fromNamespace(settings.ingressControllerNamespace)], ports: port });
            }
            // A LoadBalancer is reached from outside the cluster: any source, own port only.
            if (to.settings.serviceType === "LoadBalancer" || to.settings.external) {
                rules.push({ ports: port });
            }
            if (to.settings.metricsPort !== undefined) {
                rules.push({
                    from: [fromNamespace(settings.monitoringNamespace)],
                    ports: [{ protocol: "TCP", port: to.settings.metricsPort }],
                });
            }
            this.policies.push(policy(`${to.contract.appName}-allow-ingress`, to.selectorLabels, rules));
        }
        this.registerOutputs({ policies: this.policies });
    }
}
