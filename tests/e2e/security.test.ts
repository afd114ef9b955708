/**
 * End to end on a real node, the locked doors of the program: the cluster's own namespaces
 * refused before anything is touched; Pod Security Admission on a namespace the program creates
 * (every platform pod admitted under "restricted", a pod that breaks the profile refused by the
 * API server); what happens in `default`, which the program does not label; and Redis that asks
 * for its generated password (refused without it, answering with it, through the URL the apps
 * get from the Secret).
 */
import * as assert from "assert";
import { Kubectl } from "../integration/kubectl";
import { eventually, httpGet, localImagesConfig, nodeImages, PulumiWorkspace, runCommand } from "../support";
import { CONNECTION_ENV, OBJECT_NAMES, PLATFORM_SERVICES, REDIS, ROUTER } from "@exchange/contract";
import { PLATFORM_LABELS } from "../../components/metadata";
import {
    e2eKubeconfig,
    e2eKubectl,
    execInPod,
    readyPods,
    asWorkloadClient,
    restrictedSleeperPod,
    sleeperPod,
    startPod,
    submitObject,
    tcpExchange,
    e2eDevWorkspace,
    destroyDev,
} from "./cluster";

/** The namespace the program creates here, with the default Pod Security labels. */
const SECURE_NAMESPACE = "exchange-e2e-restricted";
const POD_SECURITY_MODES = ["enforce", "audit", "warn"];
/** The Redis image's `redis` user: the probe pod runs redis-cli as it. */
const REDIS_IMAGE_UID = 999;
/** A pod with no security context: it meets "baseline" and breaks "restricted" on four counts. */
const UNRESTRICTED_POD = "exchange-e2e-unrestricted";
const REDIS_CLIENT_POD = "exchange-e2e-redis-client";
/** The cluster's own namespaces, which the program refuses. */
const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

/** The Secret's key, decoded. */
async function secretValue(kubectl: Kubectl, secret: string, key: string): Promise<string> {
    const object = await kubectl.json(["get", "secret", secret]);
    return Buffer.from(object.data[key], "base64").toString();
}

/** A RESP command as redis-cli sends it. */
function resp(...words: string[]): string {
    return `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join("")}`;
}

describe("end to end on a real node: system namespaces, Pod Security Admission, Redis authentication", function () {
    this.timeout(20 * 60 * 1000);
    let images: Record<string, string>;
    let workspace: PulumiWorkspace;

    before(async () => {
        images = await nodeImages();
        workspace = await e2eDevWorkspace();
    });

    after(() => workspace?.remove());

    it("pulumi up into kube-system, kube-public or kube-node-lease is refused naming the key, nothing touched", async () => {
        const kubectl = e2eKubectl();
        // Every object in the three namespaces of a kind the program writes (and their RBAC), each
        // with its resourceVersion. Not pods and ReplicaSets: the cluster's own controllers create,
        // update and delete those there at any time (CoreDNS's status, the Deployments' ReplicaSets).
        const systemObjects = async () =>
            (
                await kubectl.json([
                    "get",
                    "namespaces,deployments,services,configmaps,secrets,persistentvolumeclaims,serviceaccounts," +
                        "roles,rolebindings,networkpolicies,ingresses,gateways,httproutes",
                    "--all-namespaces",
                ])
            ).items
                .filter((item: any) => SYSTEM_NAMESPACES.includes(item.metadata.namespace ?? item.metadata.name))
                .map(
                    (item: any) =>
                        `${item.kind}/${item.metadata.namespace}/${item.metadata.name}@${item.metadata.resourceVersion}`,
                )
                .sort();
        const before = await systemObjects();
        assert.ok(before.length > 3, "the system namespaces hold objects");
        for (const system of SYSTEM_NAMESPACES) {
            workspace.writeStackConfig("dev", localImagesConfig(images, { namespace: system }));
            const up = await workspace.up("dev");
            assert.notStrictEqual(up.code, 0, up.output);
            assert.match(up.output, new RegExp(`exchange:namespace: "${system}" is not allowed`));
            const registered = (await workspace.exportState("dev")).deployment.resources ?? [];
            assert.deepStrictEqual(
                registered.filter((resource: any) => !resource.type.startsWith("pulumi:")),
                [],
                "no resource registered",
            );
        }
        assert.deepStrictEqual(await systemObjects(), before);
    });

    describe(`a namespace the program creates (${SECURE_NAMESPACE}), restricted, with redis.auth`, () => {
        let kubectl: Kubectl;
        let redisAddress: string;
        let password: string;

        before(async () => {
            kubectl = e2eKubectl(SECURE_NAMESPACE);
            workspace.writeStackConfig(
                "dev",
                localImagesConfig(images, { namespace: SECURE_NAMESPACE, redis: { auth: true } }),
            );
            const up = await workspace.up("dev");
            assert.strictEqual(up.code, 0, up.output);
            redisAddress = (await kubectl.json(["get", "service", REDIS.serviceName])).spec.clusterIP;
            password = await secretValue(kubectl, OBJECT_NAMES.redisConnection, "REDIS_PASSWORD");
        });

        after(async () => {
            await kubectl?.run([
                "delete",
                "pod",
                UNRESTRICTED_POD,
                REDIS_CLIENT_POD,
                "--ignore-not-found",
                "--wait=false",
            ]);
            await destroyDev(workspace);
            const namespaces = await e2eKubectl().json(["get", "namespaces"]);
            assert.ok(
                !namespaces.items.some(
                    (ns: any) => ns.metadata.name === SECURE_NAMESPACE && !ns.metadata.deletionTimestamp,
                ),
                `destroy deletes ${SECURE_NAMESPACE}`,
            );
        });

        it("the namespace enforces, audits and warns at restricted", async () => {
            const namespace = await e2eKubectl().json(["get", "namespace", SECURE_NAMESPACE]);
            for (const mode of POD_SECURITY_MODES) {
                assert.strictEqual(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`], "restricted", mode);
            }
        });

        it("every platform pod was admitted there and is Ready", async () => {
            for (const seed of PLATFORM_SERVICES) {
                const workload = await kubectl.json(["get", seed.workloadKind.toLowerCase(), seed.appName]);
                // A Deployment reports a refused pod as ReplicaFailure; a StatefulSet only by the
                // missing pod, which the count of Ready ones below catches for both.
                const replicaFailures = (workload.status.conditions ?? []).filter(
                    (c: any) => c.type === "ReplicaFailure" && c.status === "True",
                );
                assert.deepStrictEqual(replicaFailures, [], `${seed.appName}: no pod refused`);
                const ready = await readyPods(kubectl, seed.appName);
                assert.strictEqual(ready.length, workload.spec.replicas, `${seed.appName}: every replica Ready`);
            }
        });

        it("a pod that breaks restricted is refused by the API server, naming PodSecurity and each broken rule", async () => {
            const unrestricted = sleeperPod(UNRESTRICTED_POD, SECURE_NAMESPACE, images.redis);
            const refused = await submitObject("create", unrestricted);
            assert.notStrictEqual(refused.code, 0, `the pod was admitted:\n${refused.output}`);
            assert.match(refused.stderr, /forbidden: violates PodSecurity "restricted:latest"/);
            for (const rule of [
                "allowPrivilegeEscalation != false",
                "unrestricted capabilities",
                "runAsNonRoot != true",
                "seccompProfile",
            ]) {
                assert.ok(refused.stderr.includes(rule), `the refusal names ${rule}:\n${refused.stderr}`);
            }
            const pods = await kubectl.json(["get", "pods", "--field-selector", `metadata.name=${UNRESTRICTED_POD}`]);
            assert.deepStrictEqual(pods.items, [], "nothing was created");
        });

        it("the Redis server asks for the password, and its probes pass with it and fail without it", async () => {
            const [pod] = await readyPods(kubectl, REDIS.appName);
            const container = (await kubectl.json(["get", "pod", pod.name])).spec.containers[0];
            assert.ok(container.args.includes("--requirepass"), "the server starts with --requirepass");
            const probe: string[] = container.readinessProbe.exec.command;
            assert.deepStrictEqual(container.livenessProbe.exec.command, probe, "liveness runs the same check");
            const quoted = probe.map((word) => `'${word}'`).join(" ");
            const asProbe = await execInPod(kubectl, pod.name, quoted);
            assert.strictEqual(asProbe.code, 0, `the probe's check passes in the container:\n${asProbe.output}`);
            const withoutPassword = await execInPod(kubectl, pod.name, `env -u REDISCLI_AUTH ${quoted}`);
            assert.notStrictEqual(withoutPassword.code, 0, "the probe's check fails without the password");
        });

        it("from the node's network namespace: PING without the password is refused NOAUTH, a wrong one WRONGPASS, the Secret's one PONG", async () => {
            assert.match(password, /^[A-Za-z0-9]{32}$/);
            const unauthenticated = await tcpExchange(redisAddress, 80, resp("PING"), 1);
            assert.match(unauthenticated[0], /^-NOAUTH /, unauthenticated.join("\n"));
            const wrong = await tcpExchange(redisAddress, 80, resp("AUTH", `not-${password}`) + resp("PING"), 2);
            assert.match(wrong[0], /^-WRONGPASS /, wrong.join("\n"));
            assert.match(wrong[1], /^-NOAUTH /, "still refused after a wrong password");
            const authenticated = await tcpExchange(redisAddress, 80, resp("AUTH", password) + resp("PING"), 2);
            assert.deepStrictEqual(authenticated, ["+OK", "+PONG"]);
        });

        it("REDIS_URL from the Secret, as a pod's env gets it: its host, port and password answer PONG; the bare Service NOAUTH", async () => {
            const url = await secretValue(kubectl, OBJECT_NAMES.redisConnection, CONNECTION_ENV.redis);
            assert.strictEqual(url, `redis://:${password}@${REDIS.serviceName}:80`);
            // With the router's labels, on purpose: the e2e cluster enforces the program's
            // NetworkPolicies, under which only the router's and ws-stream's pods reach Redis.
            const client = restrictedSleeperPod(REDIS_CLIENT_POD, SECURE_NAMESPACE, images.redis, REDIS_IMAGE_UID, {
                env: [
                    {
                        name: CONNECTION_ENV.redis,
                        valueFrom: { secretKeyRef: { name: OBJECT_NAMES.redisConnection, key: CONNECTION_ENV.redis } },
                    },
                ],
            });
            await startPod(kubectl, asWorkloadClient(client, { app: ROUTER.appName }));
            // Not `redis-cli -u`: the image's redis-cli 7.0 sends AUTH with an empty user name for a
            // URL without one, which Redis refuses. The URL's parts, taken apart in the pod, are
            // what a client library uses (the router's go-redis, next test).
            const withUrl = await execInPod(
                kubectl,
                REDIS_CLIENT_POD,
                `[[ $${CONNECTION_ENV.redis} =~ ^redis://:([A-Za-z0-9]+)@([^:/]+):([0-9]+)$ ]] || exit 3; ` +
                    'REDISCLI_AUTH="${BASH_REMATCH[1]}" redis-cli -h "${BASH_REMATCH[2]}" -p "${BASH_REMATCH[3]}" ping',
            );
            assert.strictEqual(withUrl.code, 0, withUrl.output);
            assert.strictEqual(withUrl.stdout.trim(), "PONG");
            const bare = await execInPod(kubectl, REDIS_CLIENT_POD, `redis-cli -h ${REDIS.serviceName} -p 80 ping`);
            assert.match(bare.stdout, /^NOAUTH /);
        });

        it("the router reads REDIS_URL from the Secret and its PING through it answers PONG", async () => {
            const router = await kubectl.json(["get", "deployment", ROUTER.appName]);
            const env = router.spec.template.spec.containers[0].env.find((e: any) => e.name === CONNECTION_ENV.redis);
            assert.deepStrictEqual(env.valueFrom, {
                secretKeyRef: { name: OBJECT_NAMES.redisConnection, key: CONNECTION_ENV.redis },
            });
            const routerAddress = (await kubectl.json(["get", "service", ROUTER.serviceName])).spec.clusterIP;
            const deps = await httpGet(`http://${routerAddress}/deps`);
            assert.strictEqual(deps.status, 200, deps.body);
            assert.deepStrictEqual(JSON.parse(deps.body).redis, { ok: true, result: "PONG" });
        });
    });

    describe("default, which the program does not own", () => {
        let kubectl: Kubectl;
        let labelsBefore: Record<string, string>;
        let unrestrictedCreated: Awaited<ReturnType<typeof submitObject>>;

        before(async () => {
            kubectl = e2eKubectl();
            labelsBefore = (await kubectl.json(["get", "namespace", "default"])).metadata.labels;
            workspace.writeStackConfig("dev", localImagesConfig(images));
            const up = await workspace.up("dev");
            assert.strictEqual(up.code, 0, up.output);
            // The dry run below judges every pod in default: wait out any other suite's pod still
            // terminating there, so that only the platform's pods and this one are judged.
            await eventually("only the platform's pods in default", 120_000, async () => {
                const pods = (await kubectl.json(["get", "pods"])).items;
                const others = pods.filter((pod: any) =>
                    Object.entries(PLATFORM_LABELS).some(([key, value]) => pod.metadata.labels?.[key] !== value),
                );
                return others.length === 0 ? true : undefined;
            });
            unrestrictedCreated = await submitObject("create", sleeperPod(UNRESTRICTED_POD, "default", images.redis));
        });

        after(async () => {
            await kubectl?.run(["delete", "pod", UNRESTRICTED_POD, "--ignore-not-found", "--wait=false"]);
            await destroyDev(workspace);
        });

        it("keeps the labels it had: no Pod Security label, so nothing is enforced there", async () => {
            const labels = (await kubectl.json(["get", "namespace", "default"])).metadata.labels;
            assert.deepStrictEqual(labels, labelsBefore);
            assert.deepStrictEqual(
                Object.keys(labels).filter((key) => key.startsWith("pod-security.kubernetes.io/")),
                [],
            );
            assert.strictEqual(
                unrestrictedCreated.code,
                0,
                `default admits a pod that breaks restricted:\n${unrestrictedCreated.output}`,
            );
        });

        it("were restricted enforced on default, the API server's dry run names that pod and none of the platform's", async () => {
            for (const seed of PLATFORM_SERVICES) {
                assert.ok((await readyPods(kubectl, seed.appName)).length >= 1, `${seed.appName} runs in default`);
            }
            const dryRun = await runCommand("kubectl", [
                "--kubeconfig",
                e2eKubeconfig(),
                "label",
                "--dry-run=server",
                "--overwrite",
                "namespace",
                "default",
                "pod-security.kubernetes.io/enforce=restricted",
            ]);
            assert.strictEqual(dryRun.code, 0, dryRun.output);
            const warnings = dryRun.stderr.split("\n").filter((line) => line.startsWith("Warning: "));
            assert.match(
                warnings[0] ?? "",
                /violate the new PodSecurity enforce level "restricted:latest"/,
                dryRun.stderr,
            );
            // Pods with the same violations share one line ("<pod> (and N other pods)"): exactly
            // one line naming one pod means every other pod in default meets the profile.
            assert.deepStrictEqual(
                warnings.slice(1).map((line) => line.slice("Warning: ".length).split(":")[0]),
                [UNRESTRICTED_POD],
                dryRun.stderr,
            );
            const labels = (await kubectl.json(["get", "namespace", "default"])).metadata.labels;
            assert.deepStrictEqual(labels, labelsBefore, "a dry run changes nothing");
        });
    });
});
