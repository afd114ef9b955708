import { describe, isIngress } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { at, isUnknown } from "../lib/values";

/** The annotation that chose the class before Kubernetes 1.18; spec.ingressClassName replaces it. */
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/** Every Ingress names its IngressClass in spec.ingressClassName. */
export const ingressClassNameSet = resourcePolicy({
    name: "ingress-class-name-set",
    description:
        "Every Ingress must set spec.ingressClassName (not the deprecated kubernetes.io/ingress.class annotation), " +
        "so that the controller meant to serve it does, and no other.",
    enforcementLevel: "advisory",
    severity: "low",
    remediationSteps:
        "Set spec.ingressClassName to the IngressClass of the controller (e.g. nginx) and drop the " +
        "kubernetes.io/ingress.class annotation.",
    appliesTo: { types: isIngress, text: "Ingresses" },
    check: (ing, _config, report) => {
        if (ing.partial) {
            // A patch leaves the class it does not set as it is.
            return;
        }
        const spec = at(ing.props, "spec");
        const className = at(spec, "ingressClassName");
        if (isUnknown(spec) || isUnknown(className) || (typeof className === "string" && className !== "")) {
            return;
        }
        const annotation = at(ing.props, "metadata", "annotations", CLASS_ANNOTATION);
        const how =
            typeof annotation === "string" && annotation !== ""
                ? `chooses its class with the deprecated ${CLASS_ANNOTATION} annotation ("${annotation}")`
                : "sets no spec.ingressClassName, so the cluster's default IngressClass (if any) decides which controller serves it";
        report(
            `${describe(ing)} ${how}. Fix: set spec.ingressClassName to the IngressClass of its controller` +
                `${typeof annotation === "string" && annotation !== "" ? ` ("${annotation}") and remove the annotation` : ""}.`,
        );
    },
});
