/**
 * A stateless service of the platform (the router, the WebSocket stream): its Deployment and
 * Services, rolled out pod by pod, with no data of its own. One class, instantiated once per
 * service; the contract and the container's name and health check tell the instances apart.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { StatelessServiceSettings } from "../config";
import { PlatformService } from "@exchange/contract";
import { HealthCheck, ServiceDeployment } from "./service-deployment";

export interface StatelessServiceArgs {
    /**
     * The component's type is `exchange:platform:<typeName>`, and each instance keeps the type its
     * own class had before the two became one (`Router`, `WsStream`). A type is part of the URN of
     * the component and of every resource below it: one new shared type would make every existing
     * stack delete and re-create both services' Deployments and Services. Aliases on the component
     * would carry the old URNs over as well, but every stack's state would be rewritten to new URNs,
     * the aliases would have to stay in the program for as long as any stack might not have been
     * updated, and the URNs that `pulumi state` and `--target` name would change. The old types
     * change nothing (tests/unit/urns.test.ts holds every URN).
     */
    typeName: string;
    contract: PlatformService;
    /** Name of the container inside the pod. */
    containerName: string;
    healthCheck: HealthCheck;
    namespace: pulumi.Input<string>;
    settings: StatelessServiceSettings;
    /** The connection strings it needs, as references to the Secret or ConfigMap that holds each. */
    env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
}

export class StatelessService extends pulumi.ComponentResource {
    public readonly workload: ServiceDeployment;

    constructor(name: string, args: StatelessServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(`exchange:platform:${args.typeName}`, name, {}, opts);
        this.workload = new ServiceDeployment(
            name,
            {
                namespace: args.namespace,
                contract: args.contract,
                settings: args.settings,
                containerName: args.containerName,
                env: args.env,
                healthCheck: args.healthCheck,
                availability: args.settings,
            },
            { parent: this },
        );
        this.registerOutputs({ workload: this.workload });
    }
}
