/**
 * `pulumi preview` with the policy pack, through the real CLI, language host and providers:
 * the dev and prod plans, a policy violation, and invalid config.
 */
import * as assert from "assert";
import * as path from "path";
import { PLATFORM_SERVICES } from "@exchange/contract";
import {
    OperationResult,
    POLICY_PACK,
    PulumiWorkspace,
    readTraceSpans,
    stackConfig,
    steps,
    unreachableKubeconfig,
    withConfig,
} from "../support";

/** The planned inputs of `type`, from the steps the engine announced during a preview. */
function plannedResources(preview: OperationResult, type: string): any[] {
    return steps(preview)
        .filter((step) => step.new?.type === type)
        .map((step) => step.new!.inputs);
}

/**
 * Dev previews against the local cluster when the test command started one; prod always
 * previews against a kubeconfig whose `exchange-prod` context is unreachable, so it can never
 * touch the local cluster: the provider then plans without the server's dry run.
 */
const clusterKubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;

describe("pulumi preview with the policy pack", function () {
    this.timeout(10 * 60 * 1000);
    let dev: PulumiWorkspace;
    let prod: PulumiWorkspace;

    before(async () => {
        if (!clusterKubeconfig) {
            console.log(
                "    (no local cluster: dev previews against an unreachable kubeconfig, planned from inputs only)",
            );
        }
        dev = new PulumiWorkspace(clusterKubeconfig ?? unreachableKubeconfig(["exchange-local"]));
        await dev.initStack("dev");
        console.log(
            "    (prod previews against a kubeconfig whose exchange-prod context is a closed loopback port: the provider plans from the program's inputs, without the server's dry run)",
        );
        prod = new PulumiWorkspace(unreachableKubeconfig(["exchange-prod"]));
        await prod.initStack("prod");
    });

    after(() => {
        dev?.remove();
        prod?.remove();
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: the plan holds the contract's Services and workloads, with no mandatory violation`, async () => {
            const workspace = stack === "dev" ? dev : prod;
            const result = await workspace.preview(stack);
            assert.strictEqual(result.code, 0, result.output);
            const services = plannedResources(result, "kubernetes:core/v1:Service");
            for (const expected of PLATFORM_SERVICES) {
                const service = services.find((s) => s.metadata.name === expected.serviceName);
                assert.ok(service, `${expected.serviceName} planned`);
                assert.strictEqual(service.spec.type, "ClusterIP");
                assert.deepStrictEqual(service.spec.selector, { app: expected.appName });
                assert.strictEqual(service.spec.ports[0].port, 80);
                assert.strictEqual(service.spec.ports[0].targetPort, expected.containerPort);
            }
            for (const kind of ["Deployment", "StatefulSet"] as const) {
                assert.deepStrictEqual(
                    plannedResources(result, `kubernetes:apps/v1:${kind}`)
                        .map((workload) => workload.metadata.name)
                        .sort(),
                    PLATFORM_SERVICES.filter((s) => s.workloadKind === kind)
                        .map((s) => s.appName)
                        .sort(),
                    `the planned ${kind}s`,
                );
            }
            const ingresses = plannedResources(result, "kubernetes:networking.k8s.io/v1:Ingress");
            assert.deepStrictEqual(ingresses.map((i) => i.metadata.name).sort(), ["exchange-backend", "exchange-ws"]);
        });
    }

    // The CLI passes every plugin `--tracing ENDPOINT` when tracing is on: the project's own
    // language host and random provider must take it as upstream's plugins do.
    it("prod: a preview with the CLI's tracing on (--otel-traces) runs, and its trace holds the host's, the pack's and the providers' calls", async () => {
        const traceFile = path.join(prod.dir, "preview-trace.jsonl");
        const result = await prod.pulumi([
            "preview",
            "--stack",
            "prod",
            "--policy-pack",
            POLICY_PACK,
            "--otel-traces",
            `file://${traceFile}`,
        ]);
        assert.strictEqual(result.code, 0, result.output);
        const spans = readTraceSpans(traceFile);
        const names = [...new Set(spans.map((span) => span.name))].sort().join(", ");
        // Server-side spans (a leading slash) come from the plugins themselves, traced since they took the flag.
        for (const [name, request] of [
            ["/pulumirpc.LanguageRuntime/Run", ""],
            ["pulumirpc.Analyzer/Analyze", ""],
            ["/pulumirpc.ResourceProvider/Check", "random:index/randomPassword:RandomPassword"],
        ]) {
            assert.ok(
                spans.some((span) => span.name === name && span.attributeText.includes(request)),
                `a ${name} span ${request ? `for a ${request} ` : ""}among ${names}`,
            );
        }
    });

    it("a LoadBalancer that is not allowlisted fails the preview with the policy's message", async () => {
        dev.writeStackConfig("dev", withConfig(stackConfig("dev"), { router: { serviceType: "LoadBalancer" } }));
        const result = await dev.preview("dev");
        assert.notStrictEqual(result.code, 0, result.output);
        const violation = result.events.find(
            (event) => event.policyEvent?.policyName === "service-clusterip-by-default",
        )?.policyEvent;
        assert.ok(violation, `a service-clusterip-by-default violation:\n${result.output}`);
        assert.strictEqual(violation.enforcementLevel, "mandatory");
        assert.match(violation.resourceUrn ?? "", /::exchange-router-service$/);
    });

    it("the same LoadBalancer passes once the pack's config allowlists it", async () => {
        dev.writeStackConfig("dev", withConfig(stackConfig("dev"), { router: { serviceType: "LoadBalancer" } }));
        const configFile = dev.writePolicyConfig({
            "service-clusterip-by-default": { allowedLoadBalancers: ["exchange-router-service"] },
        });
        const result = await dev.preview("dev", { policyPackConfigs: [configFile] });
        assert.strictEqual(result.code, 0, result.output);
    });

    it("invalid stack config fails the preview with the program's message, naming the key", async () => {
        dev.writeStackConfig("dev", withConfig(stackConfig("dev"), { wsStream: { sessionAffinity: "Sticky" } }));
        const result = await dev.preview("dev");
        assert.notStrictEqual(result.code, 0, result.output);
        assert.match(
            result.output,
            /exchange:wsStream\.sessionAffinity: "Sticky" is not allowed; allowed values: None, ClientIP/,
        );
        dev.writeStackConfig("dev", stackConfig("dev"));
    });
});
