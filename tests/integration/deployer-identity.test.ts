/**
 * The deployer identity CI uses (bootstrap/deployer.sh) on the local cluster: `pulumi up`, a
 * refresh and `pulumi destroy` of dev succeed with its kubeconfig alone, and the API server
 * refuses it (403) what the program never needs: Secrets of other namespaces, cluster-wide RBAC,
 * kube-system.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PLATFORM_SERVICES } from "@exchange/contract";
import { CommandResult, PROJECT_ROOT, PulumiWorkspace, runCommand } from "../support";
import { Kubectl } from "./kubectl";

const adminKubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;
const DEPLOYER_SCRIPT = path.join(PROJECT_ROOT, "bootstrap", "deployer.sh");
/** Another team's namespace, and a Secret there. */
const OTHER_NAMESPACE = "exchange-other-team";
const OTHER_SECRET = "other-team-token";
/** The API server's refusal, as kubectl prints it (after "Error from server (Forbidden)" or "failed to create"). */
const DEPLOYER_REFUSED =
    /is forbidden: User "system:serviceaccount:exchange-deployer:exchange-deployer" cannot (get|list|create|delete) resource/;

describe("deployer identity on the local cluster", function () {
    this.timeout(20 * 60 * 1000);
    let admin: Kubectl;
    let workspace: PulumiWorkspace;
    let folder: string;
    let deployerKubeconfig: string;

    const bootstrap = async (args: string[]) => {
        const result = await runCommand(DEPLOYER_SCRIPT, args, {
            env: { ...process.env, KUBECONFIG: adminKubeconfig },
        });
        assert.strictEqual(result.code, 0, result.output);
        return result;
    };

    /** kubectl as the deployer, with the API's response codes in its log (-v=6). */
    const asDeployer = (args: string[]) => runCommand("kubectl", ["--kubeconfig", deployerKubeconfig, "-v=6", ...args]);

    /** The request reached the API server, which answered 403 and named the deployer as the refused user. */
    const assertForbidden = (result: CommandResult, what: string) => {
        assert.notStrictEqual(result.code, 0, `${what} must be refused:\n${result.output}`);
        assert.match(
            result.stderr,
            /"Response" verb="\w+" url="[^"]+" status="403 Forbidden"/,
            `${what}: ${result.stderr}`,
        );
        assert.match(result.stderr, DEPLOYER_REFUSED, `${what}: ${result.stderr}`);
    };

    before(async () => {
        assert.ok(
            adminKubeconfig,
            "EXCHANGE_TEST_KUBECONFIG must point at the local cluster (scripts/test.sh starts it)",
        );
        admin = new Kubectl(adminKubeconfig);
        await bootstrap(["apply", "default"]);
        await admin.run(["create", "namespace", OTHER_NAMESPACE]);
        await admin.run([
            "create",
            "secret",
            "generic",
            OTHER_SECRET,
            "-n",
            OTHER_NAMESPACE,
            "--from-literal=token=not-for-the-deployer",
        ]);
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-deployer-"));
        deployerKubeconfig = path.join(folder, "kubeconfig");
        const issued = await bootstrap(["kubeconfig", "--duration", "1h"]);
        fs.writeFileSync(deployerKubeconfig, issued.stdout, { mode: 0o600 });
        workspace = new PulumiWorkspace(deployerKubeconfig);
        await workspace.initStack("dev");
    });

    after(async () => {
        try {
            if (workspace) {
                await workspace.destroy("dev");
                workspace.remove();
            }
        } finally {
            await admin?.run(["delete", "namespace", OTHER_NAMESPACE, "--ignore-not-found"]);
            await bootstrap(["delete", "default"]);
            if (folder) {
                fs.rmSync(folder, { recursive: true, force: true });
            }
        }
    });

    it("its kubeconfig holds a TokenRequest token of the ServiceAccount, not the admin's credentials", async () => {
        const config = fs.readFileSync(deployerKubeconfig, "utf8");
        assert.doesNotMatch(config, /client-certificate|client-key/);
        const whoami = JSON.parse((await asDeployer(["auth", "whoami", "-o", "json"])).stdout);
        assert.strictEqual(
            whoami.status.userInfo.username,
            "system:serviceaccount:exchange-deployer:exchange-deployer",
        );
        // A TokenRequest-issued token is bound: it carries the credential id and expiry of its request.
        assert.ok(whoami.status.userInfo.extra?.["authentication.kubernetes.io/credential-id"], JSON.stringify(whoami));
    });

    it("pulumi up of dev as the deployer succeeds", async () => {
        assert.deepStrictEqual(await admin.platformObjects(), [], "the namespace must start without platform objects");
        const result = await workspace.up("dev");
        assert.strictEqual(result.code, 0, result.output);
        for (const seed of PLATFORM_SERVICES) {
            assert.ok(await admin.workloadReady(seed), `${seed.appName} ready`);
        }
    });

    it("a refreshing up as the deployer reads everything back and changes nothing", async () => {
        const result = await workspace.up("dev", { refresh: true, expectNoChanges: true });
        assert.strictEqual(result.code, 0, result.output);
    });

    it("is refused Secrets of another namespace", async () => {
        assertForbidden(
            await asDeployer(["get", "secret", OTHER_SECRET, "-n", OTHER_NAMESPACE]),
            "reading a Secret of another namespace",
        );
        assertForbidden(
            await asDeployer(["get", "secrets", "-n", OTHER_NAMESPACE]),
            "listing Secrets of another namespace",
        );
    });

    it("is refused creating a ClusterRole or binding one", async () => {
        assertForbidden(
            await asDeployer(["create", "clusterrole", "exchange-escalation", "--verb=*", "--resource=*"]),
            "creating a ClusterRole",
        );
        assertForbidden(
            await asDeployer([
                "create",
                "clusterrolebinding",
                "exchange-escalation",
                "--clusterrole=cluster-admin",
                "--serviceaccount=exchange-deployer:exchange-deployer",
            ]),
            "binding cluster-admin",
        );
    });

    it("is refused anything in kube-system", async () => {
        assertForbidden(await asDeployer(["get", "pods", "-n", "kube-system"]), "listing kube-system's pods");
        assertForbidden(await asDeployer(["get", "secrets", "-n", "kube-system"]), "listing kube-system's Secrets");
        assertForbidden(
            await asDeployer(["create", "configmap", "exchange-probe", "-n", "kube-system"]),
            "creating in kube-system",
        );
        assertForbidden(
            await asDeployer(["delete", "configmap", "exchange-probe", "-n", "kube-system"]),
            "deleting in kube-system",
        );
    });

    it("pulumi destroy of dev as the deployer succeeds and leaves nothing", async () => {
        const result = await workspace.destroy("dev");
        assert.strictEqual(result.code, 0, result.output);
        assert.deepStrictEqual(await admin.platformObjects(), [], result.output);
    });
});
