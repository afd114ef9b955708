// What tools/bundle.js puts in a bundle in place of a module it cuts. Loading it costs nothing and
// reading its properties succeeds (the SDK's module wrappers copy them at load); calling or
// constructing anything of it throws, naming the call, so a wrong cut fails loudly.
"use strict";

function stub(name) {
    return new Proxy(function () {}, {
        get(target, prop) {
            // What module interop and promise checks read: a stub is a plain CommonJS module.
            if (typeof prop === "symbol" || prop === "__esModule" || prop === "then") {
                return undefined;
            }
            return stub(`${name}.${prop}`);
        },
        apply() {
            throw new Error(`${name}() was called, but it is not in this bundle (tools/bundle.js cuts it)`);
        },
        construct() {
            throw new Error(`new ${name}() was called, but it is not in this bundle (tools/bundle.js cuts it)`);
        },
    });
}

module.exports = { stub };
