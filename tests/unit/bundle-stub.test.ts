/**
 * What the bundles hold in place of a module tools/bundle.js cuts: loading it and reading its
 * properties (as the SDK's module wrappers do) must work, and any call must fail loudly, naming
 * what was called, so that a wrong cut never passes silently.
 */
import * as assert from "assert";
import * as path from "path";
import { PROJECT_ROOT } from "../support";

const { stub } = require(path.join(PROJECT_ROOT, "tools", "bundle-stub.js"));

describe("the bundles' stub for a cut module", () => {
    it("reads like a plain CommonJS module", () => {
        const cut = stub("typescript");
        assert.strictEqual(cut.__esModule, undefined);
        assert.strictEqual(cut.then, undefined);
        assert.deepStrictEqual(Object.keys(cut), []);
    });

    it("throws on a call, naming it", () => {
        assert.throws(
            () => stub("typescript").createSourceFile("x.ts", ""),
            /typescript\.createSourceFile\(\) was called, but it is not in this bundle/,
        );
    });

    it("throws on a construction, naming it", () => {
        const cut = stub("@pulumi/pulumi/automation");
        assert.throws(() => new cut.LocalWorkspace(), /new @pulumi\/pulumi\/automation\.LocalWorkspace\(\) was called/);
    });
});
