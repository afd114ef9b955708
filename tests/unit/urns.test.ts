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

/**
 * Resources that took an old URN's place on purpose, through an alias: what the state holds under
 * the old URN becomes theirs on the next update. PostgreSQL and Redis became StatefulSets (one
 * writer, docs/backups.md); the alias with the kind's replacement deletes each Deployment before
 * its StatefulSet is created.
 */
const MOVED: [from: string, to: string][] = [
    ["Postgres", "exchange-postgres"],
    ["Redis", "exchange-redis"],
].map(([component, name]) => {
    const parents = `exchange:platform:${component}$exchange:platform:ServiceDeployment`;
    return [`${parents}$kubernetes:apps/v1:Deployment::${name}`, `${parents}$kubernetes:apps/v1:StatefulSet::${name}`];
});

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
            const prefix = `urn:pulumi:${stack}::exchange::`;
            const moved = new Map(MOVED.map(([from, to]) => [prefix + from, prefix + to]));
            assert.deepStrictEqual(
                run.resources.map((resource) => resource.urn).sort(),
                expected.map((urn) => moved.get(urn) ?? urn).sort(),
            );
            for (const [from, to] of moved) {
                const resource = run.resources.find((registered) => registered.urn === to);
                assert.ok(resource?.aliasUrns.includes(from), `${to} carries ${from} over`);
                assert.deepStrictEqual(resource?.replaceOnChanges, ["kind"], `${to} replaces its Deployment`);
                assert.strictEqual(resource?.deleteBeforeReplace, true, `${to} deletes its Deployment first`);
            }
        });
    }
});
