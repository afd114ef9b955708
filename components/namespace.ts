/**
 * The platform's namespace. `default` always exists and is not the program's to own, label or
 * delete: the program leaves it as it is. Any other namespace is created here, carrying Pod
 * Security Admission labels, so the API server itself refuses a pod that breaks the chosen level.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../config";
import { PLATFORM_LABELS } from "./metadata";

/** `pod-security.kubernetes.io/<mode>: <level>` for enforce, audit and warn. */
function podSecurityLabels(podSecurity: PlatformConfig["podSecurity"]): Record<string, string> {
    return Object.fromEntries(
        Object.entries(podSecurity).map(([mode, level]) => [`pod-security.kubernetes.io/${mode}`, level]),
    );
}

/** The namespace's name, as an Output that depends on its creation when the program creates it. */
export function platformNamespace(config: Pick<PlatformConfig, "namespace" | "podSecurity">): pulumi.Output<string> {
    if (config.namespace === "default") {
        return pulumi.output(config.namespace);
    }
    const namespace = new k8s.core.v1.Namespace(config.namespace, {
        metadata: { name: config.namespace, labels: { ...PLATFORM_LABELS, ...podSecurityLabels(config.podSecurity) } },
    });
    return namespace.metadata.name;
}
