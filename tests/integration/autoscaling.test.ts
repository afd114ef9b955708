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
import { stackConfig, withConfig } from "../support";
import { devStackForSuite } from "./dev-stack";

const AUTOSCALED = { replicas: 2, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } };
const SCALED_TO = 5;

describe("autoscaling on the local cluster: the HPA's count survives pulumi up", function () {
    this.timeout(10 * 60 * 1000);
    const dev = devStackForSuite();

    async function upWithRouter(router: Record<string, unknown>): Promise<void> {
        dev.workspace.writeStackConfig("dev", withConfig(stackConfig("dev"), { router }));
        const result = await dev.workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
    }

    async function routerDeployment(): Promise<any> {
        return dev.kubectl.json(["get", "deployment", ROUTER.appName]);
    }

    /**
     * Changes the router's count the way the HPA controller does (an update of the Deployment's
     * `scale` subresource under its field manager), then runs an update that changes the
     * Deployment itself (its grace period), and returns the count the update left.
     */
    async function replicasAfterScaleAndUpdate(router: Record<string, unknown>, gracePeriod: number): Promise<number> {
        await dev.kubectl.run([
            "patch",
            "deployment",
            ROUTER.appName,
            "--subresource=scale",
            "--type=merge",
            "--field-manager=kube-controller-manager",
            "-p",
            JSON.stringify({ spec: { replicas: SCALED_TO } }),
        ]);
        await upWithRouter({ ...router, terminationGracePeriodSeconds: gracePeriod });
        const after = await routerDeployment();
        console.log(`      replicas after pulumi up: ${after.spec.replicas} (scaled to ${SCALED_TO}, declared 2)`);
        assert.strictEqual(
            after.spec.template.spec.terminationGracePeriodSeconds,
            gracePeriod,
            "the update was applied",
        );
        return after.spec.replicas;
    }

    it("with autoscaling: created at replicas, scaled by the HPA's way, then updated: the count stays", async () => {
        await upWithRouter(AUTOSCALED);
        const hpa = await dev.kubectl.json(["get", "hpa", ROUTER.appName]);
        assert.deepStrictEqual(
            [hpa.spec.scaleTargetRef.name, hpa.spec.minReplicas, hpa.spec.maxReplicas],
            [ROUTER.appName, 2, 6],
        );
        assert.strictEqual((await routerDeployment()).spec.replicas, 2, "the count at creation");
        assert.strictEqual(await replicasAfterScaleAndUpdate(AUTOSCALED, 45), SCALED_TO, "the HPA's count stays");
    });

    it("negative control: without autoscaling the same update sets the count back to the declared one", async () => {
        await upWithRouter({ replicas: 2 });
        assert.strictEqual(await replicasAfterScaleAndUpdate({ replicas: 2 }, 50), 2, "the program's count wins");
    });
});
