/**
 * The pack's bundle deserializes a request's properties once for all its policies
 * (tools/bundle-deserialize-once.js, wrapped in by tools/bundle.js). Checked on a bundle made here
 * by the same tool, of a module that hands out the SDK's deserialization as the SDK's server gets
 * it, and on the wrapper itself over the pinned SDK's module.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const PACK_DIR = path.resolve(__dirname, "..", "..");
const TOOLS_DIR = path.resolve(PACK_DIR, "..", "tools");
const { Struct }: any = require("google-protobuf/google/protobuf/struct_pb");
const { deserializeOnce } = require(path.join(TOOLS_DIR, "bundle-deserialize-once.js"));
const { bundle } = require(path.join(TOOLS_DIR, "bundle.js"));

interface Deserialize {
    deserializeProperties(struct: unknown, proxySecrets: boolean): any;
    serializeProperties(props: unknown): Promise<any>;
}

const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc");
const SECRET = { [specialSigKey]: specialSecretSig, value: "s3cret" };
const request = () => Struct.fromJavaScript({ metadata: { name: "exchange-router" }, data: { password: SECRET } });

/** What every policy of one request gets, and what another request gets. */
function checkOncePerRequest(sdk: Deserialize): void {
    const struct = request();
    const first = sdk.deserializeProperties(struct, false);
    assert.deepEqual(first, { metadata: { name: "exchange-router" }, data: { password: "s3cret" } });
    assert.strictEqual(sdk.deserializeProperties(struct, false), first, "a second policy gets the same data");
    const other = sdk.deserializeProperties(request(), false);
    assert.notStrictEqual(other, first, "another request gets data of its own");
    assert.deepEqual(other, first);
    // A remediation's props: new each call (it may return them changed), secrets kept as secrets.
    const remediation = sdk.deserializeProperties(struct, true);
    assert.notStrictEqual(sdk.deserializeProperties(struct, true), remediation);
}

describe("deserializing a request's properties once for all policies", () => {
    it("the wrapper over the pinned SDK's deserialize.js: once per request, a remediation's each time", () => {
        const sdk: Deserialize = require("@pulumi/policy/deserialize");
        assert.notStrictEqual(sdk.deserializeProperties(request(), false), undefined);
        const plain = request();
        assert.notStrictEqual(
            sdk.deserializeProperties(plain, false),
            sdk.deserializeProperties(plain, false),
            "negative control: the SDK alone deserializes for every policy",
        );
        const wrapped: Deserialize = deserializeOnce(sdk);
        checkOncePerRequest(wrapped);
        assert.strictEqual(wrapped.serializeProperties, sdk.serializeProperties);
    });

    it("tools/bundle.js puts the wrapper in place of the SDK's module for every importer", async () => {
        const dir = fs.mkdtempSync(path.join(PACK_DIR, "bin", "deserialize-once-"));
        try {
            const entry = path.join(dir, "entry.js");
            fs.writeFileSync(entry, 'module.exports = require("@pulumi/policy/deserialize");\n');
            await bundle(entry, path.join(dir, "bundle.js"));
            checkOncePerRequest(require(path.join(dir, "bundle.js")));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
