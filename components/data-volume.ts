/** The PersistentVolumeClaim that keeps a single-writer service's data across updates. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { StorageSettings } from "../config";
import { PLATFORM_LABELS, fixedNameOptions, platformMetadata } from "./metadata";
import { PodVolume } from "./service-deployment";

/**
 * The claim is its own resource, not part of the Deployment, so an image or config change to
 * the Deployment never touches it. `protect` (on in prod) makes `pulumi destroy` and any
 * replacement of the claim fail instead of deleting the data.
 *
 * `pulumi up` does not wait for the claim to be Bound (`pulumi.com/skipAwait`): the workload
 * that mounts it is created right after it and its own await waits for its pod to be ready,
 * which it cannot be before the claim is bound; waiting for the binding first put the volume
 * controller's binding (0.6 s on the local cluster, a disk's provisioning on a cloud) before the
 * workload's creation on every install. A claim that never binds still fails the update, at the
 * workload's await, whose message names the pod that stays Pending.
 */
export function dataClaim(
    name: string,
    namespace: pulumi.Input<string>,
    storage: StorageSettings,
    parent: pulumi.Resource,
): k8s.core.v1.PersistentVolumeClaim {
    return new k8s.core.v1.PersistentVolumeClaim(
        name,
        {
            metadata: platformMetadata(name, namespace, PLATFORM_LABELS, { "pulumi.com/skipAwait": "true" }),
            spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName: storage.className,
                resources: { requests: { storage: storage.size } },
            },
        },
        { ...fixedNameOptions(parent), protect: storage.protect },
    );
}

/** The claim as the pod's `data` volume, mounted at MOUNT_PATH. */
export function claimVolume(claim: k8s.core.v1.PersistentVolumeClaim, mountPath: string): PodVolume {
    return { name: "data", mountPath, source: { persistentVolumeClaim: { claimName: claim.metadata.name } } };
}
