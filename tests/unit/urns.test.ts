/**
 * A resource's URN is its identity in a stack's state: its type after its parents' type chain, and
 * its name. When any part changes (a renamed resource, a component's type, another parent), `pulumi
 * up` deletes the object and creates a new one: for the platform's fixed names that is an outage,
 * for a data claim the loss of its data.
 *
 * The fixtures are the sorted URNs of dev and prod as the program registered them before router and
 * ws-stream became two instances of one component. Edit them only for a change that is meant to add
 * or remove resources of an existing stack, never to make this test pass.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT, stackConfig } from "../support";
import { runProgram } from "./harness";

function frozenUrns(stack: string): string[] {
    const file = path.join(PROJECT_ROOT, "tests", "unit", "fixtures", `urns-${stack}.txt`);
    return fs.readFileSync(file, "utf8").trim().split("\n");
}

describe("resource identities of the existing stacks", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: registers exactly the URNs its state already holds`, async () => {
            const expected = frozenUrns(stack);
            assert.ok(expected.length > 0, "the fixture lists URNs");
            const run = await runProgram(stackConfig(stack), stack);
            assert.ifError(run.error);
            assert.deepStrictEqual(run.resources.map((resource) => resource.urn).sort(), expected);
        });
    }
});
