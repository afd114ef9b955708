/**
 * A team's shared state backend: Pulumi's DIY backend on a real PostgreSQL (`postgres://`), with
 * two checkouts of the project on the same stacks and the local cluster: a laptop (the password in
 * the backend URL) and a CI runner (the URL without it, the password in PGPASSWORD). Locking,
 * parallel stacks, the database going away mid-update and the recovery, and secrets at rest.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OperationResult, PROJECT_ROOT, PulumiWorkspace, runCommand, stackConfig, steps, withConfig } from "../support";
import { Kubectl } from "./kubectl";
import { LocalPostgres, STATE_DATABASE, STATE_TABLE } from "./postgres";

const kubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;

/** A second stack beside dev, in a namespace of its own so the two never share an object. */
const QA_STACK = "qa";
const QA_NAMESPACE = "exchange-qa";

/** The DIY backend's refusal when another process holds the stack's lock. */
const LOCKED =
    /the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`\./;

/** A pair started together may both be refused (see the test); how many pairs to try at most. */
const RACE_ATTEMPTS = 5;

describe("shared state backend on PostgreSQL", function () {
    this.timeout(30 * 60 * 1000);
    let postgres: LocalPostgres;
    let laptop: PulumiWorkspace;
    let ci: PulumiWorkspace;
    let kubectl: Kubectl;
    let loginHome: string;
    /** The state's resource URNs after one plain `up` of dev: what every later deployment must match. */
    let expectedUrns: string[];
    let expectedObjects: string[];

    const stateUrns = async (workspace: PulumiWorkspace, stack = "dev") => {
        const state = await workspace.exportState(stack);
        assert.deepStrictEqual(state.deployment.pending_operations ?? [], [], "no operation left pending");
        return state.deployment.resources.map((resource: { urn: string }) => resource.urn).sort();
    };

    /** Exactly the expected deployment: every resource once in the state, every object once in the cluster. */
    const assertOneDeployment = async (workspace: PulumiWorkspace) => {
        assert.deepStrictEqual(await stateUrns(workspace), expectedUrns, "the state holds each expected resource once");
        assert.deepStrictEqual(
            await kubectl.platformObjects(),
            expectedObjects,
            "the cluster holds each expected object once",
        );
    };

    const upSucceeds = async (workspace: PulumiWorkspace, stack = "dev") => {
        const result = await workspace.up(stack);
        assert.strictEqual(result.code, 0, result.output);
        return result;
    };

    before(async () => {
        assert.ok(kubeconfig, "EXCHANGE_TEST_KUBECONFIG must point at the local cluster (scripts/test.sh starts it)");
        kubectl = new Kubectl(kubeconfig);
        postgres = await LocalPostgres.create();
        laptop = new PulumiWorkspace(kubeconfig, { backendUrl: postgres.backendUrl });
        laptop.writeStackConfig(QA_STACK, withConfig(stackConfig("dev"), { namespace: QA_NAMESPACE }));
    });

    after(async () => {
        // Whatever happened: the stacks' objects off the cluster, then the database and every folder gone.
        try {
            if (postgres && laptop) {
                if (!postgres.running) {
                    await postgres.start();
                }
                for (const stack of ["dev", QA_STACK]) {
                    // A failed test may have left a dead run's lock behind.
                    await laptop.pulumi(["cancel", "--stack", stack, "--yes"]);
                    await laptop.destroy(stack);
                }
            }
        } finally {
            laptop?.remove();
            ci?.remove();
            if (loginHome) {
                fs.rmSync(loginHome, { recursive: true, force: true });
            }
            await postgres?.remove();
        }
    });

    it("stacks are created in the database, and `pulumi login` to its URL lists them", async () => {
        await laptop.initStack("dev");
        await laptop.initStack(QA_STACK);
        ci = laptop.clone(postgres.ciBackend);
        await ci.selectStack("dev");
        await ci.selectStack(QA_STACK);

        // Keys are the file backend's paths under the URL's path (the database name) as a prefix.
        const keys = (await postgres.query(`SELECT key FROM ${STATE_TABLE} ORDER BY key`)).split("\n");
        for (const stack of ["dev", QA_STACK]) {
            assert.ok(
                keys.includes(`${STATE_DATABASE}/.pulumi/stacks/exchange/${stack}.json`),
                `stack ${stack} in table ${STATE_TABLE}: ${keys.join(", ")}`,
            );
        }

        // A fresh PULUMI_HOME (with the machine's plugins) and no PULUMI_BACKEND_URL: only the login says where state is.
        loginHome = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-pulumi-home-"));
        fs.symlinkSync(
            path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins"),
            path.join(loginHome, "plugins"),
        );
        const { PULUMI_BACKEND_URL: _chosenByLogin, ...env } = laptop.env;
        const loggedIn = { cwd: laptop.dir, env: { ...env, PULUMI_HOME: loginHome } };
        const login = await runCommand("pulumi", ["login", postgres.backendUrl, "--non-interactive"], loggedIn);
        assert.strictEqual(login.code, 0, login.output);
        const whoami = await runCommand("pulumi", ["whoami", "--verbose", "--non-interactive"], loggedIn);
        assert.strictEqual(whoami.code, 0, whoami.output);
        assert.match(whoami.stdout, new RegExp(`Backend URL: postgres://.*@127\\.0\\.0\\.1:${postgres.port}/`));
        const listed = await runCommand("pulumi", ["stack", "ls", "--json", "--non-interactive"], loggedIn);
        assert.strictEqual(listed.code, 0, listed.output);
        assert.deepStrictEqual(
            JSON.parse(listed.stdout)
                .map((stack: { name: string }) => stack.name)
                .sort(),
            ["dev", QA_STACK],
        );
    });

    it("pulumi up of dev on the local cluster, state in the database", async () => {
        assert.deepStrictEqual(
            await kubectl.platformObjects(),
            [],
            "the namespace must start without platform objects",
        );
        await upSucceeds(laptop);
        expectedUrns = await stateUrns(laptop);
        expectedObjects = await kubectl.platformObjects();
        assert.ok(expectedObjects.length > 15, expectedObjects.join(", "));
        assert.ok(
            expectedUrns.length > expectedObjects.length,
            "every object, plus the stack, components, password and providers",
        );
        assert.strictEqual(new Set(expectedUrns).size, expectedUrns.length);
        const history = await postgres.query(
            `SELECT count(*) FROM ${STATE_TABLE} WHERE key LIKE '${STATE_DATABASE}/.pulumi/history/exchange/dev/%'`,
        );
        assert.notStrictEqual(history, "0", "the update's history is in the database too");
    });

    it("two ups of the same stack started together: one runs, the other is refused at once; one deployment results", async () => {
        const destroyed = await laptop.destroy("dev");
        assert.strictEqual(destroyed.code, 0, destroyed.output);
        // The DIY lock is optimistic: each process writes its lock, then looks for another's. Two that
        // collide within those milliseconds both see the other and both stop, so nothing runs twice
        // but nothing runs at all: that pair is started again, a bounded number of times.
        let pair: OperationResult[] = [];
        let attempt = 0;
        for (; attempt < RACE_ATTEMPTS; attempt++) {
            pair = await Promise.all([laptop.up("dev"), ci.up("dev")]);
            assert.ok(!pair.every((run) => run.code === 0), "two updates of one stack must never both run");
            for (const refused of pair.filter((run) => run.code !== 0)) {
                assert.match(refused.output, LOCKED, "a refusal names the lock and how to clear it");
                assert.deepStrictEqual(steps(refused), [], "a refused update touches no resource");
            }
            if (pair.some((run) => run.code === 0)) {
                break;
            }
        }
        assert.ok(attempt < RACE_ATTEMPTS, `in ${RACE_ATTEMPTS} pairs started together, neither update ever ran`);
        if (attempt > 0) {
            console.log(
                `    (${attempt} pair(s) collided within the lock's window and were both refused before one ran)`,
            );
        }
        const winner = pair.find((run) => run.code === 0)!;
        const refused = pair.find((run) => run.code !== 0)!;
        assert.ok(
            refused.endedAt < winner.endedAt,
            "the refused update ended before the other finished: it did not wait",
        );
        assert.match(refused.output, /created by \S+@\S+ \(pid \d+\)/, "the refusal says who holds the lock");

        await assertOneDeployment(laptop);
        for (const checkout of [laptop, ci]) {
            assert.strictEqual(
                (await checkout.up("dev", { expectNoChanges: true })).code,
                0,
                "both checkouts see the same converged stack",
            );
        }
    });

    it("a preview runs while an update of the same stack holds the lock", async () => {
        const destroyed = await laptop.destroy("dev");
        assert.strictEqual(destroyed.code, 0, destroyed.output);
        let preview: Promise<OperationResult> | undefined;
        const update = await laptop.up("dev", {
            onEvent: (event) => {
                if (!preview && event.resourcePreEvent?.metadata.op === "create") {
                    preview = ci.preview("dev");
                }
            },
        });
        assert.strictEqual(update.code, 0, update.output);
        assert.ok(preview, "the update created resources");
        const previewed = await preview!;
        assert.strictEqual(previewed.code, 0, previewed.output);
        assert.ok(previewed.endedAt < update.endedAt, "the preview did not wait for the update's lock");
        await assertOneDeployment(laptop);
    });

    it("two different stacks update in parallel", async () => {
        const [dev, qa] = await Promise.all([
            laptop.up("dev", { replace: expectedUrns.filter((urn) => urn.endsWith("::exchange-router-service")) }),
            ci.up(QA_STACK),
        ]);
        assert.strictEqual(dev.code, 0, dev.output);
        assert.strictEqual(qa.code, 0, qa.output);
        assert.strictEqual(steps(dev).filter((step) => step.op === "replace").length, 1, "dev did real work meanwhile");
        await assertOneDeployment(laptop);
        const qaObjects = await new Kubectl(kubeconfig!, QA_NAMESPACE).platformObjects();
        assert.deepStrictEqual(qaObjects, expectedObjects, "qa holds the same set in its own namespace");
        const qaUrns = await stateUrns(ci, QA_STACK);
        assert.strictEqual(new Set(qaUrns).size, qaUrns.length, "qa's state holds each resource once");
        const destroyed = await ci.destroy(QA_STACK);
        assert.strictEqual(destroyed.code, 0, destroyed.output);
    });

    it("the database stopped mid-update: the run ends with a clear error; once it is back, the documented recovery converges", async () => {
        const destroyed = await ci.destroy("dev");
        assert.strictEqual(destroyed.code, 0, destroyed.output);
        let stopped: Promise<void> | undefined;
        // CI's checkout: the backend's password only in PGPASSWORD, as docs/state-and-deployer.md recommends.
        const cut = await ci.up("dev", {
            onEvent: (event) => {
                const step = event.resourcePreEvent?.metadata;
                if (!stopped && step?.op === "create" && step.type === "kubernetes:apps/v1:Deployment") {
                    stopped = postgres.stop("fast");
                }
            },
        });
        assert.ok(stopped, "Deployments were being created");
        await stopped;
        assert.notStrictEqual(cut.code, 0, "an update whose state could not be saved does not report success");
        assert.match(
            cut.output,
            /error: .*failed to save snapshot: .*connection refused/,
            "the run says its state could not be saved",
        );
        assert.match(
            cut.output,
            /there was a problem deleting the lock at postgres:\/\/\*{4}:\*{4}@/,
            "and that its lock stayed behind",
        );
        const whileDown = await ci.pulumi(["stack", "ls"]);
        assert.notStrictEqual(whileDown.code, 0);
        assert.match(
            whileDown.output,
            /failed to ping PostgreSQL: .*connection refused/,
            "any command says the database is unreachable",
        );
        for (const output of [cut.output, whileDown.output]) {
            assert.ok(
                !output.includes(postgres.ciBackend.env.PGPASSWORD),
                "the backend's password is in no error message",
            );
        }

        await postgres.start();
        const blocked = await ci.up("dev");
        assert.notStrictEqual(blocked.code, 0, "the cut run's lock is still there");
        assert.match(blocked.output, LOCKED);

        const recovery = await runCommand(path.join(PROJECT_ROOT, "scripts", "recover-stack.sh"), ["dev"], {
            cwd: ci.dir,
            env: ci.env,
        });
        assert.strictEqual(recovery.code, 0, recovery.output);
        await upSucceeds(ci);
        assert.strictEqual((await ci.up("dev", { expectNoChanges: true })).code, 0, "converged");
        await assertOneDeployment(ci);
    });

    it("secrets stay encrypted in the database: the password is in no row, raw or decoded", async () => {
        const secret = await kubectl.json(["get", "secret", "exchange-postgres-credentials"]);
        const password = Buffer.from(secret.data.POSTGRES_PASSWORD, "base64").toString();
        assert.ok(password.length >= 32, "the Secret holds the generated password");

        const dump = await postgres.dump();
        assert.ok(dump.includes(`COPY public.${STATE_TABLE}`), "the dump holds the state table");
        assert.ok(!dump.includes(password), "plaintext password in the database dump");
        const blobs = await postgres.blobs();
        const checkpoint = blobs.get(`${STATE_DATABASE}/.pulumi/stacks/exchange/dev.json`);
        assert.ok(checkpoint, `dev's checkpoint among ${[...blobs.keys()].join(", ")}`);
        const state = checkpoint.toString("utf8");
        assert.match(state, /exchange-postgres-credentials/, "the decoded checkpoint holds the Secret's resource");
        assert.match(state, /"ciphertext"/, "and its secret values as ciphertext");
        for (const [key, blob] of blobs) {
            assert.ok(!blob.toString("utf8").includes(password), `plaintext password in ${key}`);
        }
    });
});
