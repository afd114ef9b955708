/** The HTTP API ("router"): serves /api/v1/... and /health on 8080. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSettings } from "../config";
import { ROUTER } from "@exchange/contract";
import { ServiceDeployment } from "./service-deployment";

export interface RouterArgs {
    namespace: pulumi.Input<string>;
    settings: ServiceSettings;
    /** DATABASE_URL and REDIS_URL, as references to the Secret and ConfigMap that hold them. */
    env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
}

export class Router extends pulumi.ComponentResource {
    public readonly workload: ServiceDeployment;

    constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:Router", name, {}, opts);
        this.workload = new ServiceDeployment(
            name,
            {
                namespace: args.namespace,
                contract: ROUTER,
                settings: args.settings,
                containerName: "router",
                env: args.env,
                healthCheck: { httpGet: { path: "/health", port: ROUTER.portName } },
                strategy: "RollingUpdate",
            },
            { parent: this },
        );
        this.registerOutputs({ workload: this.workload });
    }
}
