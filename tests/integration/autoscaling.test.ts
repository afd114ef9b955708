/**
 * Who owns a Deployment's `replicas` when an HPA scales it (pulumi-kubernetes #2491): after the
 * count changed through the Deployment's `scale` subresource, the way the HPA controller changes
 * it, a `pulumi up` that updates the Deployment must leave the count alone. The kwok cluster has no
 * metrics API, so its HPA controller never scales by itself (a count within the HPA's bounds stays
 * as set); the test changes the count as the controller would. Negative control: without
 * autoscaling the same update sets the count back, so the check can fail.
 */
import * as assert from "assert";
import { ROUTER } from "@exchange/contract";
import { PulumiWorkspace, stackConfig, withConfig } from "../support";
import { Kubectl } from "./kubectl";

const kubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;

const AUTOSCALED = { replicas: 2, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } };
const SCALED_TO = 5;

describe("autoscaling on the local cluster: the HPA's count survives pulumi up", function () {
    this.timeout(10 * 60 * 1000);
    let workspace: PulumiWorkspace;
    let kubectl: Kubectl;

    before(async () => {
        assert.ok(kubeconfig, "EXCHANGE_TEST_KUBECONFIG must point at the local cluster (scripts/test.sh starts it)");
        workspace = new PulumiWorkspace(kubeconfig);
        kubectl = new Kubectl(kubeconfig);
        await workspace.initStack("dev");
    });

    after(async () => {
        if (workspace) {
            await workspace.destroy("dev");
            workspace.remove();
        }
    });

    async function upWithRouter(router: Record<string, unknown>): Promise<void> {
        workspace.writeStackConfig("dev", withConfig(stackConfig("dev"), { router }));
        const result = await workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
    }

    /** What the HPA controller does: an update of the `scale` subresource under its own field manager. */
    async function scaleAsTheAutoscalerDoes(replicas: number): Promise<void> {
        await kubectl.run([
            "patch",
            "deployment",
            ROUTER.appName,
            "--subresource=scale",
            "--type=merge",
            "--field-manager=kube-controller-manager",
            "-p",
            JSON.stringify({ spec: { replicas } }),
        ]);
    }

    async function routerDeployment(): Promise<any> {
        return kubectl.json(["get", "deployment", ROUTER.appName]);
    }

    it("with autoscaling: created at replicas, scaled by the HPA's way, then updated: the count stays", async () => {
        await upWithRouter(AUTOSCALED);
        const hpa = await kubectl.json(["get", "hpa", ROUTER.appName]);
        assert.deepStrictEqual(
            [hpa.spec.scaleTargetRef.name, hpa.spec.minReplicas, hpa.spec.maxReplicas],
            [ROUTER.appName, 2, 6],
        );
        assert.strictEqual((await routerDeployment()).spec.replicas, 2, "the count at creation");

        await scaleAsTheAutoscalerDoes(SCALED_TO);
        // A change to the Deployment itself, so the update really applies it.
        await upWithRouter({ ...AUTOSCALED, terminationGracePeriodSeconds: 45 });
        const after = await routerDeployment();
        console.log(`      replicas after pulumi up: ${after.spec.replicas} (scaled to ${SCALED_TO}, declared 2)`);
        assert.strictEqual(
            after.spec.template.spec.terminationGracePeriodSeconds,
            45,
            "the update reached the Deployment",
        );
        assert.strictEqual(after.spec.replicas, SCALED_TO, "pulumi up left the HPA's count alone");
    });

    it("negative control: without autoscaling the same update sets the count back to the declared one", async () => {
        await upWithRouter({ replicas: 2 });
        await scaleAsTheAutoscalerDoes(SCALED_TO);
        await upWithRouter({ replicas: 2, terminationGracePeriodSeconds: 50 });
        const after = await routerDeployment();
        console.log(`      replicas after pulumi up: ${after.spec.replicas} (scaled to ${SCALED_TO}, declared 2)`);
        assert.strictEqual(
            after.spec.template.spec.terminationGracePeriodSeconds,
            50,
            "the update reached the Deployment",
        );
        assert.strictEqual(after.spec.replicas, 2, "the program's count wins when nothing else owns it");
    });
});
