import { ResourceValidationPolicy } from "@pulumi/policy";
import { readConfig } from "../lib/config";
import { describeContainer, workloadUnderValidation } from "../lib/k8s";
import { at } from "../lib/values";

/**
 * Why an image reference is not pinned, or undefined when it is (an explicit tag other than
 * "latest", or a digest). The tag is looked for after the last "/", so a registry port
 * ("localhost:5000/exchange/router") is not mistaken for a tag.
 */
export function imagePinProblem(image: string): string | undefined {
    if (/@[A-Za-z0-9][A-Za-z0-9+._-]*:[0-9a-fA-F]{32,}$/.test(image)) {
        return undefined;
    }
    const lastPart = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastPart.indexOf(":");
    if (colon < 0 || colon === lastPart.length - 1) {
        return "has no tag, so it resolves to :latest";
    }
    const tag = lastPart.slice(colon + 1);
    if (tag.toLowerCase() === "latest") {
        return 'uses the moving tag "latest"';
    }
    return undefined;
}

/** 8. Images are pinned: an explicit tag other than latest, or a digest. */
export const containerImageTagPinned: ResourceValidationPolicy = {
    name: "container-image-tag-pinned",
    description:
        "Every container and init container image must be pinned to an explicit tag other than 'latest' " +
        "(e.g. exchange/router:1.4.2) or to a digest (@sha256:...).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: "Reference images by a release tag (name:1.4.2) or by digest (name@sha256:...).",
    validateResource: (args, reportViolation) => {
        const { obj, containers } = workloadUnderValidation(args, ["containers", "initContainers"]);
        readConfig(args, "container-image-tag-pinned");
        for (const c of containers) {
            const image = at(c.container, "image");
            if (typeof image !== "string" || image === "") {
                // Unknown during preview, or absent (the API server rejects that on its own).
                continue;
            }
            const problem = imagePinProblem(image);
            if (problem) {
                reportViolation(
                    `The ${describeContainer(obj, c)} image "${image}" ${problem}: deployments are not reproducible ` +
                        `and a rollback may not restore the old code. Fix: pin ${c.path}.image to a release tag ` +
                        `(e.g. "${image.replace(/:[^:/]*$/, "")}:1.2.3") or a digest (@sha256:...).`,
                );
            }
        }
    },
};
