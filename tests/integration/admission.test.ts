/**
 * The admission policies (bootstrap/admission.sh) on the local cluster's real API server. Every
 * case of the table the pack's specs run too (ADMISSION_CASES of exchange-platform-policy/testing)
 * is sent with kubectl (`create` or `patch --type merge`, server-side dry run) under the same pack
 * config: first without the policies (the API server takes every object: each is valid, so a
 * refusal later is the policies' own), then at the config's levels (refused naming the policy and
 * its message, or admitted with exactly the expected warnings), then at advisory levels (every
 * policy that objects warns, so the set of rules an object breaks is compared in full, not just
 * the first refusal the API server reports). Then: a level the config disables is unbound, the
 * deployer identity can change none of it (403) and is refused an offending Service, and the
 * platform's own objects (`pulumi up` of dev, then prod's Service variants with an allowlisted
 * LoadBalancer) are admitted under the same config file the pack gets.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    ADMISSION_CASES,
    AdmissionCase,
    CASES_CONFIG,
    CASES_NAMESPACE,
    OTHER_NAMESPACE,
    SHARED_RULES,
    Verdict,
    admissionExpected,
} from "exchange-platform-policy/testing";
import { PLATFORM_SERVICES, ROUTER } from "@exchange/contract";
import {
    CommandResult,
    PROJECT_ROOT,
    PulumiWorkspace,
    eventually,
    runCommand,
    stackConfig,
    withConfig,
} from "../support";
import { Kubectl } from "./kubectl";

const adminKubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;
const ADMISSION_SCRIPT = path.join(PROJECT_ROOT, "bootstrap", "admission.sh");
const DEPLOYER_SCRIPT = path.join(PROJECT_ROOT, "bootstrap", "deployer.sh");
const LABEL = "app.kubernetes.io/part-of=exchange-admission";
/** How long a new or changed binding may take to reach the API server's policy cache. */
const ACTIVATION_TIMEOUT_MS = 60_000;

const DENIED = /ValidatingAdmissionPolicy '([a-z0-9-]+)' with binding '\1' denied request: (.*)/;
const WARNED = /^Warning: Validation failed for ValidatingAdmissionPolicy '([a-z0-9-]+)' with binding '\1': (.*)$/gm;

/** What the API server did with one request. */
interface Outcome {
    /** The policy that refused it, and its message; undefined when admitted. */
    refusal?: { policy: string; message: string };
    /** The policies that warned, sorted. */
    warnedBy: string[];
    result: CommandResult;
}

/** The case's request, as kubectl sends it, with the server's answer read back. */
async function attempt(kubeconfig: string, c: AdmissionCase): Promise<Outcome> {
    const kubectl = ["--kubeconfig", kubeconfig];
    const result = c.update
        ? await runCommand("kubectl", [
              ...kubectl,
              "patch",
              c.update.before.kind.toLowerCase(),
              c.update.before.metadata.name,
              "--namespace",
              c.update.before.metadata.namespace,
              "--type",
              "merge",
              "--patch",
              JSON.stringify(c.update.mergePatch),
              "--dry-run=server",
          ])
        : await runCommand("kubectl", [...kubectl, "create", "--dry-run=server", "-f", "-"], {
              input: JSON.stringify(c.object),
          });
    const denied = DENIED.exec(result.stderr);
    if (result.code !== 0 && !denied) {
        throw new Error(`${c.name}: kubectl failed without a policy's refusal:\n${result.output}`);
    }
    const warnedBy = [...result.stderr.matchAll(WARNED)].map((m) => m[1]).sort();
    return { refusal: denied ? { policy: denied[1], message: denied[2] } : undefined, warnedBy, result };
}

const show = (o: Outcome) =>
    `${o.refusal ? `refused by ${o.refusal.policy}` : "admitted"}, warned by [${o.warnedBy.join(", ")}]\n${o.result.output}`;

function caseNamed(name: string): AdmissionCase {
    const found = ADMISSION_CASES.find((c) => c.name === name);
    assert.ok(found, `no case named ${JSON.stringify(name)}`);
    return found;
}

/** The only policy expected to speak about the case, if exactly one does. */
function onlySpeaker(verdict: Verdict): string | undefined {
    const speakers = [...verdict.refusedBy, ...verdict.warnedBy];
    return speakers.length === 1 ? speakers[0] : undefined;
}

describe("admission policies on the local cluster", function () {
    this.timeout(30 * 60 * 1000);
    let admin: Kubectl;
    let folder: string;
    let deployerKubeconfig: string;
    let workspace: PulumiWorkspace | undefined;

    const script = async (file: string, args: string[]) => {
        const result = await runCommand(file, args, { env: { ...process.env, KUBECONFIG: adminKubeconfig } });
        assert.strictEqual(result.code, 0, `${path.basename(file)} ${args.join(" ")}:\n${result.output}`);
        return result;
    };

    /** A pack config as a file, as a team keeps the one it passes to --policy-pack-config. */
    const configFile = (name: string, config: unknown) => {
        const file = path.join(folder, name);
        fs.writeFileSync(file, JSON.stringify(config));
        return file;
    };

    /**
     * Installs the policies from `config` with bootstrap/admission.sh, then waits, for each bound
     * policy, until a case where it alone speaks shows it speaking (the API server picks bindings
     * up a moment after they are written).
     */
    const install = async (config: unknown, expect: (c: AdmissionCase) => Verdict, bound = SHARED_RULES) => {
        await script(ADMISSION_SCRIPT, ["apply", configFile("admission-config.json", config)]);
        const applied = Date.now();
        for (const policy of bound) {
            const probe = ADMISSION_CASES.find((c) => onlySpeaker(expect(c)) === policy);
            assert.ok(probe, `a case where only ${policy} speaks`);
            const refuses = expect(probe).refusedBy.includes(policy);
            await eventually(`${policy} ${refuses ? "refusing" : "warning"}`, ACTIVATION_TIMEOUT_MS, async () => {
                const outcome = await attempt(adminKubeconfig!, probe);
                const active = refuses
                    ? outcome.refusal?.policy === policy
                    : !outcome.refusal && outcome.warnedBy.includes(policy);
                return active ? true : undefined;
            });
        }
        console.log(`      every binding active ${((Date.now() - applied) / 1000).toFixed(1)} s after the apply`);
    };

    before(async () => {
        assert.ok(
            adminKubeconfig,
            "EXCHANGE_TEST_KUBECONFIG must point at the local cluster (scripts/test.sh starts it)",
        );
        admin = new Kubectl(adminKubeconfig);
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-admission-"));
        for (const namespace of [CASES_NAMESPACE, OTHER_NAMESPACE]) {
            await admin.run(["create", "namespace", namespace]);
        }
        // The objects the update cases change, created for real before any policy is installed.
        for (const c of ADMISSION_CASES.filter((c) => c.update)) {
            const created = await runCommand("kubectl", ["--kubeconfig", adminKubeconfig, "create", "-f", "-"], {
                input: JSON.stringify(c.update!.before),
            });
            assert.strictEqual(created.code, 0, created.output);
        }
    });

    after(async () => {
        try {
            if (workspace) {
                await workspace.destroy("dev");
                workspace.remove();
            }
        } finally {
            await script(ADMISSION_SCRIPT, ["delete"]);
            await script(DEPLOYER_SCRIPT, ["delete", "default"]);
            for (const namespace of [CASES_NAMESPACE, OTHER_NAMESPACE]) {
                await admin?.run(["delete", "namespace", namespace, "--ignore-not-found"]);
            }
            if (folder) {
                fs.rmSync(folder, { recursive: true, force: true });
            }
        }
    });

    describe("without the admission policies (control)", () => {
        for (const c of ADMISSION_CASES) {
            it(`admits: ${c.name}`, async () => {
                const outcome = await attempt(adminKubeconfig!, c);
                assert.ok(!outcome.refusal && outcome.warnedBy.length === 0, show(outcome));
            });
        }
    });

    describe("at the pack config's levels", () => {
        before(async () => {
            await install(CASES_CONFIG, admissionExpected);
        });

        it("installs every shared rule, each type-checked without a warning", async () => {
            const names = (await admin.json(["get", "validatingadmissionpolicies", "-l", LABEL])).items
                .map((p: any) => p.metadata.name)
                .sort();
            assert.deepStrictEqual(names, [...SHARED_RULES].sort());
            const checked = await eventually("type checking of every policy", ACTIVATION_TIMEOUT_MS, async () => {
                const items = (await admin.json(["get", "validatingadmissionpolicies", "-l", LABEL])).items;
                return items.every((p: any) => p.status?.observedGeneration === p.metadata.generation)
                    ? items
                    : undefined;
            });
            for (const policy of checked) {
                assert.deepStrictEqual(policy.status.typeChecking?.expressionWarnings ?? [], [], policy.metadata.name);
            }
        });

        for (const c of ADMISSION_CASES) {
            const expected = admissionExpected(c);
            const verdict =
                expected.refusedBy.length > 0 ? `refused by ${expected.refusedBy.join(" or ")}` : "admitted";
            it(`${verdict}: ${c.name}`, async () => {
                const outcome = await attempt(adminKubeconfig!, c);
                if (expected.refusedBy.length === 0) {
                    assert.ok(!outcome.refusal, show(outcome));
                    assert.deepStrictEqual(outcome.warnedBy, expected.warnedBy, show(outcome));
                    return;
                }
                assert.ok(outcome.refusal && expected.refusedBy.includes(outcome.refusal.policy), show(outcome));
                assert.notStrictEqual(outcome.result.code, 0);
                const { message } = outcome.refusal;
                assert.ok(message.includes(`in namespace "${c.object.metadata.namespace}"`), message);
                assert.ok(message.includes("Fix:"), message);
                if (c.object.metadata.name) {
                    assert.ok(message.includes(`"${c.object.metadata.name}"`), message);
                }
            });
        }
    });

    describe("at advisory levels: every rule an object breaks warns", () => {
        before(async () => {
            const advisory = Object.fromEntries(
                SHARED_RULES.map((rule) => {
                    const entry = CASES_CONFIG[rule];
                    return [rule, { ...(typeof entry === "object" ? entry : {}), enforcementLevel: "advisory" }];
                }),
            );
            const allWarn = (c: AdmissionCase) => ({
                refusedBy: [],
                warnedBy: [...admissionExpected(c).refusedBy, ...admissionExpected(c).warnedBy].sort(),
            });
            await install(advisory, allWarn);
        });

        for (const c of ADMISSION_CASES) {
            const expected = admissionExpected(c);
            const all = [...expected.refusedBy, ...expected.warnedBy].sort();
            it(`warned by [${all.join(", ")}]: ${c.name}`, async () => {
                const outcome = await attempt(adminKubeconfig!, c);
                assert.ok(!outcome.refusal, show(outcome));
                assert.deepStrictEqual(outcome.warnedBy, all, show(outcome));
            });
        }
    });

    describe("a rule the config disables", () => {
        it("is unbound: an object only it refuses is admitted, the others still refused", async () => {
            const disabled = "service-no-external-ips";
            await install(
                { ...CASES_CONFIG, [disabled]: "disabled" },
                admissionExpected,
                SHARED_RULES.filter((r) => r !== disabled),
            );
            const bindings = (await admin.json(["get", "validatingadmissionpolicybindings", "-l", LABEL])).items.map(
                (b: any) => b.metadata.name,
            );
            assert.ok(!bindings.includes(disabled), bindings.join(", "));
            const only = ADMISSION_CASES.filter((c) => onlySpeaker(admissionExpected(c)) === disabled);
            assert.ok(only.length > 0);
            for (const c of only) {
                // Until the API server's policy cache drops the deleted binding, the rule may still
                // speak (refusing, or warning if an earlier case left it at warn).
                const outcome = await eventually(`${c.name} admitted`, ACTIVATION_TIMEOUT_MS, async () => {
                    const o = await attempt(adminKubeconfig!, c);
                    return o.refusal || o.warnedBy.includes(disabled) ? undefined : o;
                });
                assert.deepStrictEqual(outcome.warnedBy, [], show(outcome));
            }
        });
    });

    describe("the deployer identity and the platform's own objects", () => {
        let platformConfig: string;

        before(async () => {
            // The config a team with prod's LoadBalancer variants passes to the pack, installed as is.
            const config = {
                "service-clusterip-by-default": {
                    allowedLoadBalancers: [ROUTER.serviceName, "exchange-router-external"],
                },
            };
            platformConfig = configFile("platform-policy-config.json", config);
            await script(ADMISSION_SCRIPT, ["apply", platformConfig]);
            // Active once the router's own LoadBalancer is admitted and externalIPs are refused again.
            const routerLb = caseNamed("LoadBalancer not on the allowlist");
            const externalIps = caseNamed("externalIPs on a ClusterIP Service");
            await eventually("the platform's allowlist and every binding active", ACTIVATION_TIMEOUT_MS, async () => {
                const lb = await attempt(adminKubeconfig!, routerLb);
                const ips = await attempt(adminKubeconfig!, externalIps);
                return !lb.refusal && ips.refusal?.policy === "service-no-external-ips" ? true : undefined;
            });
            await script(DEPLOYER_SCRIPT, ["apply", "default"]);
            deployerKubeconfig = path.join(folder, "deployer.kubeconfig");
            const issued = await script(DEPLOYER_SCRIPT, ["kubeconfig", "--duration", "1h"]);
            fs.writeFileSync(deployerKubeconfig, issued.stdout, { mode: 0o600 });
        });

        it("the deployer can neither change nor remove the policies, their bindings or their params (403)", async () => {
            const asDeployer = (args: string[]) =>
                runCommand("kubectl", ["--kubeconfig", deployerKubeconfig, "-v=6", ...args]);
            const forbidden = async (what: string, args: string[]) => {
                const result = await asDeployer(args);
                assert.notStrictEqual(result.code, 0, `${what} must be refused:\n${result.output}`);
                assert.match(result.stderr, /"Response" verb="\w+" url="[^"]+" status="403 Forbidden"/, what);
                assert.match(
                    result.stderr,
                    /User "system:serviceaccount:exchange-deployer:exchange-deployer" cannot \w+ resource/,
                    what,
                );
            };
            await forbidden("deleting a binding", [
                "delete",
                "validatingadmissionpolicybinding",
                "service-no-nodeport",
            ]);
            await forbidden("deleting a policy", [
                "delete",
                "validatingadmissionpolicy",
                "service-clusterip-by-default",
            ]);
            await forbidden("patching a policy", [
                "patch",
                "validatingadmissionpolicy",
                "service-no-external-ips",
                "--type",
                "json",
                "--patch",
                '[{"op":"replace","path":"/spec/failurePolicy","value":"Ignore"}]',
            ]);
            const weakened = configFile("weakened-binding.json", {
                apiVersion: "admissionregistration.k8s.io/v1",
                kind: "ValidatingAdmissionPolicyBinding",
                metadata: { name: "service-no-nodeport-warn-only" },
                spec: { policyName: "service-no-nodeport", validationActions: ["Warn"] },
            });
            await forbidden("creating a binding", ["create", "-f", weakened]);
            await forbidden("editing the allowlists", [
                "patch",
                "configmap",
                "exchange-admission-params",
                "--namespace",
                "exchange-admission",
                "--type",
                "merge",
                "--patch",
                '{"data":{"service-no-nodeport.allowedNodePorts":"exchange-router-service"}}',
            ]);
        });

        it("the deployer's own kubectl, which no pack sees, is refused a NodePort Service", async () => {
            const nodePort = caseNamed("NodePort");
            const inDefault = {
                ...nodePort,
                object: { ...nodePort.object, metadata: { name: "deployer-nodeport", namespace: "default" } },
            };
            const outcome = await attempt(deployerKubeconfig, inDefault);
            assert.ok(outcome.refusal, show(outcome));
        });

        it("pulumi up of dev as the deployer is admitted", async () => {
            workspace = new PulumiWorkspace(deployerKubeconfig);
            await workspace.initStack("dev");
            const result = await workspace.up("dev", { policyPackConfigs: [platformConfig] });
            assert.strictEqual(result.code, 0, result.output);
            for (const seed of PLATFORM_SERVICES) {
                assert.ok(await admin.workloadReady(seed), `${seed.appName} ready`);
            }
        });

        it("prod's Service variants (allowlisted LoadBalancers, headless, metrics port, ClientIP affinity) are admitted", async () => {
            workspace!.writeStackConfig(
                "dev",
                withConfig(stackConfig("dev"), {
                    router: { serviceType: "LoadBalancer", external: true, metricsPort: 9090 },
                    wsStream: { sessionAffinity: "ClientIP" },
                    postgres: { headless: true },
                }),
            );
            const result = await workspace!.up("dev", { policyPackConfigs: [platformConfig] });
            assert.strictEqual(result.code, 0, result.output);
            const router = await admin.json(["get", "service", ROUTER.serviceName]);
            assert.strictEqual(router.spec.type, "LoadBalancer");
            // Node ports the API server allocated itself: not a pinned one, so admitted.
            assert.ok(
                router.spec.ports.every((p: any) => p.nodePort > 0),
                JSON.stringify(router.spec.ports),
            );
            assert.strictEqual(
                (await admin.json(["get", "service", "exchange-router-external"])).spec.type,
                "LoadBalancer",
            );
            assert.strictEqual(
                (await admin.json(["get", "service", "exchange-postgres-headless"])).spec.clusterIP,
                "None",
            );
        });
    });
});
