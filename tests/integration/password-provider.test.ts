/**
 * The generated passwords moved from the default random provider to an explicit one, registered
 * first (components/credentials.ts, passwordProvider: the engine then loads it before the
 * Kubernetes provider). A stack deployed before the move must keep its passwords: the database's
 * data was initialised with them. Two inline programs through the real CLI and the project's random
 * provider, no cluster: the one before the move (a component generating a password with the default
 * provider), then the one after (the same component given the explicit provider).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { inlineTestStack } from "../support";

class Database extends pulumi.ComponentResource {
    readonly password: pulumi.Output<string>;
    constructor(opts: pulumi.ComponentResourceOptions) {
        super("exchange:test:Database", "database", {}, opts);
        this.password = new random.RandomPassword(
            "database-password",
            { length: 32, special: false },
            { parent: this },
        ).result;
        this.registerOutputs({});
    }
}

const beforeTheMove = async () => ({ password: new Database({}).password });
const afterTheMove = async () => {
    const passwords = new random.Provider("exchange-passwords");
    return { password: new Database({ providers: [passwords] }).password };
};

describe("the generated passwords' move to an explicit random provider", function () {
    this.timeout(10 * 60 * 1000);
    let dir: string;
    let stack: Stack;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-password-provider-"));
        stack = await inlineTestStack(dir, "password-provider", "move", beforeTheMove);
    });

    after(() => {
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("keeps a stack's password: the password is neither replaced nor changed", async () => {
        await stack.up();
        const before = (await stack.outputs()).password.value;
        assert.match(before, /^[A-Za-z0-9]{32}$/);

        stack.workspace.program = afterTheMove;
        const ops = new Map<string, string>();
        await stack.up({
            onEvent: (event: EngineEvent) => {
                const step = event.resourcePreEvent?.metadata;
                if (step) {
                    ops.set(step.urn.split("::").pop() ?? "", step.op);
                }
            },
        });
        assert.strictEqual(ops.get("database-password"), "same", `steps: ${JSON.stringify([...ops])}`);
        assert.strictEqual(ops.get("exchange-passwords"), "create");
        assert.strictEqual((await stack.outputs()).password.value, before);
    });
});
