/** The WebSocket stream: long-lived client connections on 4000, fed from Redis pub/sub. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSettings } from "../config";
import { WS_STREAM } from "@exchange/contract";
import { ServiceDeployment } from "./service-deployment";

export interface WsStreamArgs {
    namespace: pulumi.Input<string>;
    settings: ServiceSettings;
    /** REDIS_URL, as a reference to the ConfigMap that holds it. */
    env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
}

export class WsStream extends pulumi.ComponentResource {
    public readonly workload: ServiceDeployment;

    constructor(name: string, args: WsStreamArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:WsStream", name, {}, opts);
        this.workload = new ServiceDeployment(
            name,
            {
                namespace: args.namespace,
                contract: WS_STREAM,
                settings: args.settings,
                containerName: "ws-stream",
                env: args.env,
                // The stream has no HTTP health route of its own; an accepting socket is its health.
                healthCheck: { tcpSocket: { port: WS_STREAM.portName } },
                strategy: "RollingUpdate",
            },
            { parent: this },
        );
        this.registerOutputs({ workload: this.workload });
    }
}
