/** Labels and annotations that every object of the platform carries. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";

export const PLATFORM_LABELS = {
    "app.kubernetes.io/part-of": "exchange",
    "app.kubernetes.io/managed-by": "pulumi",
};

/**
 * The program owns these objects outright. With server-side apply, a field someone changed by
 * hand (`kubectl patch`, `kubectl edit`) belongs to that field manager, and the next `pulumi up`
 * would stop on a field conflict instead of repairing the drift; `patchForce` makes Pulumi take
 * the field back, which is what "the program's declared state wins" means.
 */
const OWNERSHIP_ANNOTATIONS = { "pulumi.com/patchForce": "true" };

/**
 * Options of an object with a fixed name (every object of the platform: the names are the platform
 * document's or the stack config's). It is replaced delete-before-replace: creating the
 * replacement first would collide with the old object's name.
 */
export function fixedNameOptions(parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, deleteBeforeReplace: true };
}

export function platformMetadata(
    name: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string> = PLATFORM_LABELS,
    annotations: Record<string, string> = {},
): k8s.types.input.meta.v1.ObjectMeta {
    return { name, namespace, labels, annotations: { ...OWNERSHIP_ANNOTATIONS, ...annotations } };
}
