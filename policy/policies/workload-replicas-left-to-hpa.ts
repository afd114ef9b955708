import { describe } from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { autoscalersOf, ignoresChangesTo, scalableWorkloadsOf, scales } from "../lib/scaling";
import { asRecord, at, own, show } from "../lib/values";

const REPLICAS = ["spec", "replicas"];

/**
 * A workload an HPA of the stack scales either leaves `spec.replicas` out or is registered with
 * `ignoreChanges: ["spec.replicas"]`. Otherwise every `pulumi up` sends the program's count again:
 * with `pulumi.com/patchForce` it silently takes the count back from the HPA (a scaled-out service
 * drops to its creation count under load); without, server-side apply stops on the conflict with
 * the controller-manager, which owns the field through the scale subresource (pulumi-kubernetes #2491).
 */
export const workloadReplicasLeftToHpa = stackPolicy({
    name: "workload-replicas-left-to-hpa",
    description:
        "A Deployment, StatefulSet or ReplicaSet (or a patch of one) that a HorizontalPodAutoscaler of this stack " +
        "scales must not set spec.replicas unless its resource options include ignoreChanges on spec.replicas: " +
        "the HPA owns the count.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Register the workload with the resource option ignoreChanges: ["spec.replicas"] (the count then applies at ' +
        "creation only), or leave spec.replicas out of it.",
    check: (objs, _config, report) => {
        const hpas = autoscalersOf(objs);
        for (const w of scalableWorkloadsOf(objs)) {
            // Set for sure: a known spec with the key (its value may be unknown), not a spec unknown as a whole.
            const replicas = own(asRecord(at(w.obj.props, "spec")), "replicas");
            if (replicas === undefined || replicas === null || ignoresChangesTo(w.obj.ignoreChanges, REPLICAS)) {
                continue;
            }
            const owner = hpas.find((h) => scales(h, w) === "yes");
            if (!owner) {
                continue;
            }
            const options =
                w.obj.ignoreChanges.length > 0
                    ? `its ignoreChanges (${w.obj.ignoreChanges.map((p) => JSON.stringify(p)).join(", ")}) do not cover it`
                    : "it has no ignoreChanges option";
            report(
                `${describe(w.obj)} sets spec.replicas to ${show(replicas)} while ${describe(owner.obj)} scales it, ` +
                    `and ${options}: every pulumi up sends that count again, which either takes the count back from ` +
                    `the HPA (with pulumi.com/patchForce: a scaled-out service drops back under load) or fails on the ` +
                    `server-side apply conflict with the HPA's writes to the scale subresource. Fix: register the ` +
                    `${w.kind} with the resource option ignoreChanges: ["spec.replicas"] (the count then applies at ` +
                    `creation only), or leave spec.replicas out.`,
                w.obj,
            );
        }
    },
});
