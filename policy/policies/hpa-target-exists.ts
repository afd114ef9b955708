import { describe, onAllowlist } from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { SCALABLE_KINDS, apiGroupOf, autoscalersOf, scalableWorkloadsOf, scales } from "../lib/scaling";
import { anyOf, isUnknown, show } from "../lib/values";

const NAME = "hpa-target-exists";

/**
 * Every HorizontalPodAutoscaler scales a workload of the stack: its spec.scaleTargetRef names a
 * Deployment, StatefulSet or ReplicaSet of the stack in the HPA's namespace and cluster. One that
 * names nothing (a typo, a wrong apiVersion, a renamed workload) scales nothing, and says so only
 * in its status (FailedGetScale), while the workload it was meant for stays at its count.
 */
export const hpaTargetExists = stackPolicy({
    name: NAME,
    description:
        "Every HorizontalPodAutoscaler's spec.scaleTargetRef (apiVersion, kind, name) must name a Deployment, " +
        "StatefulSet or ReplicaSet of this stack in the HPA's namespace and cluster (also of HPA patches).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Point spec.scaleTargetRef at the workload: apiVersion "apps/v1", its kind and its metadata.name (the ' +
        "workload's name output when the name is generated), or list workloads managed elsewhere in " +
        "externalScaleTargets.",
    config: {
        externalScaleTargets:
            "Names (metadata.name, or namespace/name) of workloads that exist outside this stack and that HPAs of " +
            "this stack may scale.",
    },
    check: (objs, config, report) => {
        const workloads = scalableWorkloadsOf(objs);
        for (const h of autoscalersOf(objs)) {
            // Other kinds (custom resources with a scale subresource) are not judged; nor an unknown kind.
            if (typeof h.kind !== "string" || !SCALABLE_KINDS.includes(h.kind) || h.name === undefined) {
                continue;
            }
            if (onAllowlist(config.externalScaleTargets, h.name, h.obj.namespace) !== "no") {
                continue;
            }
            if (anyOf(workloads.map((w) => scales(h, w))) !== "no") {
                continue;
            }
            const ns = String(h.obj.namespace);
            const wrongGroup =
                !isUnknown(h.apiVersion) && apiGroupOf(h.apiVersion) !== "apps"
                    ? ` Its apiVersion ${show(h.apiVersion)} is not of the API group "apps", where the controller ` +
                      `finds a ${h.kind}.`
                    : "";
            const sameName = isUnknown(h.name)
                ? []
                : workloads.filter(
                      (w) => w.obj.cluster === h.obj.cluster && typeof w.obj.name === "string" && w.obj.name === h.name,
                  );
            const near =
                sameName.length > 0 ? ` This stack has ${sameName.map((w) => describe(w.obj)).join(", ")}.` : "";
            report(
                `${describe(h.obj)} scales ${h.kind} ${show(h.name)} (spec.scaleTargetRef, apiVersion ` +
                    `${show(h.apiVersion)}), which is no ${h.kind} of this stack in namespace "${ns}" on the same ` +
                    `cluster: the HPA scales nothing (its status says FailedGetScale) and the workload it was meant ` +
                    `for keeps its count under any load.${wrongGroup}${near} Fix: set spec.scaleTargetRef to ` +
                    `apiVersion "apps/v1", the workload's kind and its metadata.name (its name output when the name ` +
                    `is generated), or add ${show(h.name)} (or "<namespace>/<name>") to externalScaleTargets in the ` +
                    `config of "${NAME}" when it is deployed outside this stack.`,
                h.obj,
            );
        }
    },
});
