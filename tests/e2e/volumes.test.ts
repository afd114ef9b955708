/**
 * End to end on a real node: the local cluster's volumes (cluster/lib/volume-recycler.sh). Two
 * claims deleted at once, as an uninstall deletes postgres' and redis': both volumes are emptied and
 * offered again, and a claim bound to each of them sees nothing of the old data. Kubernetes' own
 * hostPath recycler, which the cluster used before, raced on exactly this (docs/local-cluster.md).
 * The negative control: the same look into a volume that still holds the data finds it, so an
 * empty answer is the wipe's and not a look that cannot see.
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { eventually, nodeImages } from "../support";
import { apply, e2eKubectl, execInPod, sleeperPod, startPod } from "./cluster";

const NAMESPACE = "exchange-e2e-volumes";
const CLAIMS = ["exchange-e2e-volume-a", "exchange-e2e-volume-b"];
const MARKER = "left-by-the-old-claim";

/** A claim on the pool's StorageClass; pinned to VOLUME when given. */
function claim(name: string, volume?: string): Record<string, any> {
    return {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name, namespace: NAMESPACE },
        spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "standard",
            resources: { requests: { storage: "1Gi" } },
            ...(volume ? { volumeName: volume } : {}),
        },
    };
}

/** A sleeper pod with CLAIM mounted at /data. */
function podWithClaim(name: string, claimName: string, image: string): Record<string, any> {
    const pod = sleeperPod(name, NAMESPACE, image, { volumeMounts: [{ name: "data", mountPath: "/data" }] }, 600);
    pod.spec.volumes = [{ name: "data", persistentVolumeClaim: { claimName } }];
    return pod;
}

/** What /data of POD holds, one name a line, hidden files too. */
async function contents(kubectl: Kubectl, pod: string): Promise<string> {
    const result = await execInPod(kubectl, pod, "ls -A /data");
    assert.strictEqual(result.code, 0, result.output);
    return result.stdout.trim();
}

const phaseOf = async (kubectl: Kubectl, volume: string): Promise<string> =>
    (await kubectl.json(["get", "pv", volume])).status.phase;

describe("end to end on a real node: the local cluster's volumes are emptied before they are offered again", function () {
    const kubectl = e2eKubectl(NAMESPACE);
    let image: string;

    before(async () => {
        image = (await nodeImages()).postgres;
        await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
    });

    after(async () => {
        await kubectl.run(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    });

    it("two claims deleted at once: both volumes Available again, and a new claim on each finds it empty", async () => {
        const writers = CLAIMS.map((name) => `${name}-writer`);
        for (const [i, name] of CLAIMS.entries()) {
            await apply(claim(name));
            await startPod(kubectl, podWithClaim(writers[i], name, image));
            const written = await execInPod(kubectl, writers[i], `echo data > /data/${MARKER}`);
            assert.strictEqual(written.code, 0, written.output);
        }
        const volumes: string[] = [];
        for (const name of CLAIMS) {
            volumes.push((await kubectl.json(["get", "pvc", name])).spec.volumeName);
        }
        // Negative control: the look finds the data while it is there.
        for (const writer of writers) {
            assert.strictEqual(await contents(kubectl, writer), MARKER, `${writer} sees what it wrote`);
        }
        console.log(`      claims ${CLAIMS.join(", ")} on volumes ${volumes.join(", ")}: each holds ${MARKER}`);

        const released = Date.now();
        await kubectl.run(["delete", "pod", ...writers, "--wait=false"]);
        await kubectl.run(["delete", "pvc", ...CLAIMS, "--wait=false"]);
        const backAfter = await eventually("both volumes Available again", 90_000, async () => {
            const phases = await Promise.all(volumes.map((volume) => phaseOf(kubectl, volume)));
            return phases.every((phase) => phase === "Available") ? (Date.now() - released) / 1000 : undefined;
        });
        console.log(`      both claims deleted at once: both volumes Available again ${backAfter.toFixed(1)} s later`);

        for (const [i, volume] of volumes.entries()) {
            const name = `${CLAIMS[i]}-again`;
            await apply(claim(name, volume));
            const reader = await startPod(kubectl, podWithClaim(`${name}-reader`, name, image));
            assert.strictEqual(await contents(kubectl, reader), "", `a new claim on ${volume} finds it empty`);
        }
        console.log(`      new claims pinned to ${volumes.join(", ")}: each volume empty`);
    });
});
