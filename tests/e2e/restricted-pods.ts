/**
 * What the security suite needs beside cluster.ts: pods written for a namespace that enforces
 * Pod Security "restricted" (cluster.ts's probe pod sets no security context, so such a namespace
 * refuses it), a real `kubectl create` whose refusal is the result, and a raw TCP exchange from
 * inside the node's network namespace with its request on stdin, so that a password sent to
 * Redis never lands on a command line.
 */
import * as assert from "assert";
import * as path from "path";
import { PROJECT_ROOT } from "../unit/harness";
import { Kubectl } from "../integration/kubectl";
import { CommandResult, runCommand } from "../integration/workspace";
import { apply, e2eKubeconfig } from "./cluster";

const LOCAL_CLUSTER = path.join(PROJECT_ROOT, "cluster", "local-cluster.sh");

/** A container security context that meets "restricted" (the pod adds RuntimeDefault seccomp). */
export const RESTRICTED_CONTAINER_CONTEXT = {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

/** A pod that sleeps for lifetimeSeconds, then ends by itself in case a run is killed before its cleanup. */
export function sleeperPod(
    name: string,
    namespace: string,
    image: string,
    container: Record<string, unknown> = {},
    lifetimeSeconds = 900,
): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { "app.kubernetes.io/name": name } },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 1,
            containers: [
                {
                    name: "probe",
                    image,
                    imagePullPolicy: "Never",
                    command: ["sleep", String(lifetimeSeconds)],
                    ...container,
                },
            ],
        },
    };
}

/**
 * A probe pod that "restricted" admits: uid `runAsUser`, RuntimeDefault seccomp, no privilege
 * escalation, every capability dropped. `container` adds fields (env) to its only container.
 */
export async function startRestrictedProbePod(
    kubectl: Kubectl,
    name: string,
    image: string,
    runAsUser: number,
    container: Record<string, unknown> = {},
): Promise<string> {
    await kubectl.run(["delete", "pod", name, "--ignore-not-found", "--wait=true"]);
    const pod = sleeperPod(name, kubectl.namespace, image, {
        securityContext: RESTRICTED_CONTAINER_CONTEXT,
        ...container,
    });
    pod.spec.securityContext = { runAsUser, runAsGroup: runAsUser, seccompProfile: { type: "RuntimeDefault" } };
    await apply(pod);
    await kubectl.run(["wait", "--for=condition=Ready", `pod/${name}`, "--timeout=120s"]);
    return name;
}

/** `kubectl create` of one object as it is, its result returned whether it was admitted or not. */
export function createObject(object: object, extraArgs: string[] = []): Promise<CommandResult> {
    return runCommand("kubectl", ["--kubeconfig", e2eKubeconfig(), "create", "-f", "-", ...extraArgs], {
        input: JSON.stringify(object),
        timeoutMs: 60_000,
    });
}

/**
 * Sends REQUEST (raw bytes, e.g. RESP commands) to HOST:PORT from inside the node's network
 * namespace and returns the first `lines` lines of the answer. The request travels on stdin.
 */
export async function tcpExchange(host: string, port: number, request: string, lines: number): Promise<string[]> {
    const script = `exec 3<>/dev/tcp/${host}/${port} && cat >&3 && head -n ${lines} <&3`;
    const result = await runCommand(LOCAL_CLUSTER, ["netns-exec", "timeout", "10", "bash", "-c", script], {
        input: request,
        timeoutMs: 30_000,
    });
    assert.strictEqual(
        result.code,
        0,
        `TCP exchange with ${host}:${port} from the node's namespace:\n${result.output}`,
    );
    return result.stdout.split("\r\n").filter((line) => line.trim());
}
