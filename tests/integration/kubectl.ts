/** kubectl against the local cluster, for checks made the way an operator would make them. */
import * as assert from "assert";
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

    async deploymentAvailable(name: string): Promise<boolean> {
        const deployment = await this.json(["get", "deployment", name]);
        return (deployment.status.conditions ?? []).some((c: any) => c.type === "Available" && c.status === "True");
    }
}
