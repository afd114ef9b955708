/** kubectl against the local cluster, for checks made the way an operator would make them. */
import * as assert from "assert";
import { PlatformService } from "@exchange/contract";
import { runCommand } from "../support";

export class Kubectl {
    constructor(
        readonly kubeconfig: string,
        readonly namespace = "default",
    ) {}

    async run(args: string[]): Promise<string> {
        const result = await runCommand("kubectl", [
            "--kubeconfig",
            this.kubeconfig,
            "--namespace",
            this.namespace,
            ...args,
        ]);
        assert.strictEqual(result.code, 0, `kubectl ${args.join(" ")}:\n${result.output}`);
        return result.stdout;
    }

    async json(args: string[]): Promise<any> {
        return JSON.parse(await this.run([...args, "-o", "json"]));
    }

    /** The objects of `kinds` that carry the platform's label. */
    async platformItems(
        kinds = "deployments,services,secrets,configmaps,persistentvolumeclaims,ingresses,networkpolicies",
    ): Promise<any[]> {
        return (await this.json(["get", kinds, "-l", "app.kubernetes.io/part-of=exchange"])).items;
    }

    /** The same, as sorted "kind/name". */
    async platformObjects(kinds?: string): Promise<string[]> {
        return (await this.platformItems(kinds)).map((item: any) => `${item.kind}/${item.metadata.name}`).sort();
    }

    /** Ready endpoint addresses behind a Service, from its EndpointSlices (never dialled). */
    async readyEndpoints(serviceName: string): Promise<number> {
        const slices = await this.json(["get", "endpointslices", "-l", `kubernetes.io/service-name=${serviceName}`]);
        return slices.items
            .flatMap((slice: any) => slice.endpoints ?? [])
            .filter((endpoint: any) => endpoint.conditions?.ready !== false).length;
    }

    /**
     * The service's workload is ready: a Deployment reports Available; a StatefulSet (which has
     * no such condition) has all its replicas ready on its current revision.
     */
    async workloadReady(service: Pick<PlatformService, "appName" | "workloadKind">): Promise<boolean> {
        const workload = await this.json(["get", service.workloadKind.toLowerCase(), service.appName]);
        if (service.workloadKind === "Deployment") {
            return (workload.status.conditions ?? []).some((c: any) => c.type === "Available" && c.status === "True");
        }
        const { replicas, readyReplicas, currentRevision, updateRevision } = workload.status;
        return (
            readyReplicas === workload.spec.replicas && replicas === readyReplicas && currentRevision === updateRevision
        );
    }
}
