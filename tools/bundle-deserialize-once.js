// What tools/bundle.js gives the policy pack's bundle in place of @pulumi/policy's deserialize.js:
// the same module, but a request's properties are turned into JavaScript once, not once per policy.
//
// Why: the SDK's server (server.js of @pulumi/policy 1.21) deserializes the properties of the
// resource under analysis again for every resource policy (Analyze), and every resource of the
// stack again for every stack policy (AnalyzeStack: 33 live objects, 12 stack policies, on every
// preview and update). Each policy still gets a proxy of its own (the SDK wraps the result per
// policy); what they share is the plain data under it, which no policy of this pack changes: the
// pack reads it into frozen snapshots (policy/lib/values.ts), and each snapshot of one resource's
// data is taken once too. The data is kept by its request's message (a WeakMap on the Struct, which
// the request hands out as one object), so it lives as long as the request.
//
// A remediation (proxySecrets true) is not cached: the SDK deserializes once per request there
// anyway, and the remediation may return that very object changed.
"use strict";

function deserializeOnce(sdk) {
    const byStruct = new WeakMap();
    return {
        ...sdk,
        deserializeProperties(outputsStruct, proxySecrets) {
            if (proxySecrets) {
                return sdk.deserializeProperties(outputsStruct, proxySecrets);
            }
            if (!byStruct.has(outputsStruct)) {
                byStruct.set(outputsStruct, sdk.deserializeProperties(outputsStruct, false));
            }
            return byStruct.get(outputsStruct);
        },
    };
}

module.exports = { deserializeOnce };
