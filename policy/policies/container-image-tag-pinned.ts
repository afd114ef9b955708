import { imagePinProblem } from "@exchange/contract";
import { WORKLOADS, describeContainer, workloadContainers } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { at } from "../lib/values";

/** Images are pinned: an explicit tag other than latest, or a digest (the rule of @exchange/contract). */
export const containerImageTagPinned = resourcePolicy({
    name: "container-image-tag-pinned",
    description:
        "Every container and init container image must be pinned to an explicit tag other than 'latest' (in any " +
        "case; e.g. exchange/router:1.4.2) or to a digest (@sha256:...).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: "Reference images by a release tag (name:1.4.2) or by digest (name@sha256:...).",
    appliesTo: WORKLOADS,
    check: (obj, _config, report) => {
        for (const c of workloadContainers(obj, ["containers", "initContainers"])) {
            const image = at(c.container, "image");
            if (typeof image !== "string" || image === "") {
                // Unknown during preview, absent (the API server rejects that), or left as is by a patch.
                continue;
            }
            const problem = imagePinProblem(image);
            if (problem) {
                report(
                    `The ${describeContainer(obj, c)} image "${image}" ${problem}: deployments are not reproducible ` +
                        `and a rollback may not restore the old code. Fix: pin ${c.path}.image to a release tag ` +
                        `(e.g. "${image.replace(/@.*$/, "").replace(/:[^:/]*$/, "")}:1.2.3") or a digest (@sha256:...).`,
                );
            }
        }
    },
});
