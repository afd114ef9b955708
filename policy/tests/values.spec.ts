// Reading a resource's properties into a snapshot: the same plain data whether it is read through
// the SDK's proxies or taken from under them, and taken from under them when the SDK allows it.

import * as assert from "node:assert/strict";
import { Secret } from "@pulumi/policy";
import { UNKNOWN, setOwn, snapshot } from "../lib/values";
import { unknown } from "../testing/harness";

// The SDK's proxies, as its server wraps a resource's properties (not in its .d.ts files).
const sdkProxy: { unknownCheckingProxy<T extends object>(o: T): T } = require("@pulumi/policy/proxy");
const sdkSecret: { secretsPreservingProxy<T>(o: T): T } = require("@pulumi/policy/secret");

/** Properties as the SDK deserializes them for a policy: unknowns as the engine's sentinels. */
function deserialized(): Record<string, any> {
    const labels: Record<string, unknown> = { app: "router", constructor: "data" };
    // A key that is data, not the prototype: the snapshot keeps it as an own property.
    setOwn(labels, "__proto__", "still-a-label");
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: unknown.string, labels },
        spec: {
            replicas: unknown.number,
            selector: unknown.object,
            template: {
                spec: {
                    hostNetwork: unknown.boolean,
                    containers: [
                        { name: "router", image: "router:1.2.3", ports: unknown.array },
                        { name: "sidecar", env: [{ name: "A", value: unknown.string }, null] },
                    ],
                },
            },
        },
    };
}

/** The snapshot those properties must give. */
function expected(): Record<string, any> {
    const labels: Record<string, unknown> = { app: "router", constructor: "data" };
    setOwn(labels, "__proto__", "still-a-label");
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: UNKNOWN, labels },
        spec: {
            replicas: UNKNOWN,
            selector: UNKNOWN,
            template: {
                spec: {
                    hostNetwork: UNKNOWN,
                    containers: [
                        { name: "router", image: "router:1.2.3", ports: UNKNOWN },
                        { name: "sidecar", env: [{ name: "A", value: UNKNOWN }, null] },
                    ],
                },
            },
        },
    };
}

/** A proxy that records every property read through it and forwards it to `target`. */
function recording<T extends object>(target: T, reads: PropertyKey[]): T {
    return new Proxy(target, {
        get: (t, key) => {
            reads.push(key);
            return (t as any)[key];
        },
    });
}

describe("snapshot of a resource's properties", () => {
    it("of the SDK's unknown-checking proxy (analysis): plain data, unknowns as UNKNOWN", () => {
        assert.deepEqual(snapshot(sdkProxy.unknownCheckingProxy(deserialized())), expected());
    });

    it("of the proxies a remediation gets (secrets kept under them): the same data, read through the proxies", () => {
        const props = deserialized();
        props.spec.template.spec.containers[0].image = new Secret("router:1.2.3");
        const remediationProps = sdkProxy.unknownCheckingProxy(sdkSecret.secretsPreservingProxy(props));
        assert.deepEqual(snapshot(remediationProps), expected());
    });

    it("of plain data, and of any other proxy: the same data, read property by property", () => {
        assert.deepEqual(snapshot(deserialized()), expected());
        const reads: PropertyKey[] = [];
        assert.deepEqual(snapshot(recording(deserialized(), reads)), expected());
        assert.ok(reads.includes("metadata") && reads.includes("spec"), `read: ${String(reads)}`);
    });

    it("takes the data from under the SDK's proxy instead of reading each property through it", () => {
        // The two keys are the pinned SDK's internals (proxy.ts); if a release renames them, the
        // snapshot is still right (read through the proxy, as above) but slower, and this fails.
        const reads: PropertyKey[] = [];
        const snap = snapshot(recording(sdkProxy.unknownCheckingProxy(deserialized()), reads));
        assert.deepEqual(snap, expected());
        assert.deepEqual(reads, ["__isSpecialProxy", "__getSpecialProxyTarget"]);
    });

    it("is a frozen copy: changing it throws and leaves the properties under the proxy as they were", () => {
        const props = deserialized();
        const snap = snapshot(sdkProxy.unknownCheckingProxy(props));
        assert.throws(() => (snap.spec.template.spec.containers[0].image = "changed"), TypeError);
        assert.throws(() => (snap.metadata.labels.app = "changed"), TypeError);
        assert.throws(() => snap.spec.template.spec.containers.push({}), TypeError);
        assert.deepEqual(props, deserialized());
    });

    it("is read once per data: proxies over the same data share one snapshot, other data gets its own", () => {
        const props = deserialized();
        const reads: string[] = [];
        const first = snapshot(sdkProxy.unknownCheckingProxy(props));
        const second = snapshot(recording(sdkProxy.unknownCheckingProxy(props), reads));
        assert.strictEqual(second, first);
        assert.deepEqual(reads, ["__isSpecialProxy", "__getSpecialProxyTarget"]);
        const other = snapshot(sdkProxy.unknownCheckingProxy(deserialized()));
        assert.notStrictEqual(other, first);
        assert.deepEqual(other, first);
    });
});
