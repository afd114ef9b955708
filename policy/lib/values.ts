// Reading resource properties safely, including values that are unknown during `pulumi preview`.
//
// How @pulumi/policy 1.21 represents unknowns (see node_modules/@pulumi/policy/proxy.js and server.js):
//  * The engine marshals a value that is not known yet (e.g. an output of a resource that has not
//    been created) as one of seven sentinel strings (UUIDs, one per value type).
//  * The SDK wraps `args.props` (and every `resource.props` of a stack policy) in an
//    `unknownCheckingProxy`: reading a property whose value is a sentinel throws `UnknownValueError`.
//  * If that error escapes a policy, the SDK does not fail: it reports an *advisory* diagnostic
//    "can't run policy '<name>' ... during preview" and stops that policy for that resource (for a
//    stack policy: for the whole stack, so every other resource goes unchecked).
//
// To check everything that *is* known, every policy works on a `snapshot()` of the props: a plain
// deep copy in which each unknown value (thrown error or raw sentinel) becomes the `UNKNOWN` marker.
// Policies then decide with three-valued logic (`Tri`): a check whose outcome depends on an unknown
// value is "maybe" and reports nothing; a check that fails whatever the unknown turns out to be
// still reports.

/** Marker that replaces a value that is unknown during preview. Prints as readable text. */
class UnknownValue {
    toString(): string {
        return "(unknown during preview)";
    }
    toJSON(): string {
        return this.toString();
    }
}
export const UNKNOWN: UnknownValue = Object.freeze(new UnknownValue());
export type Unknown = UnknownValue;

/** Three-valued answer: "maybe" when a value unknown during preview decides it. */
export type Tri = "yes" | "no" | "maybe";

/** "yes" if any is yes, else "maybe" if any is maybe, else "no". */
export function anyOf(answers: Iterable<Tri>): Tri {
    let result: Tri = "no";
    for (const a of answers) {
        if (a === "yes") {
            return "yes";
        }
        if (a === "maybe") {
            result = "maybe";
        }
    }
    return result;
}

/** "no" if any is no, else "maybe" if any is maybe, else "yes". */
export function allOf(answers: Iterable<Tri>): Tri {
    let result: Tri = "yes";
    for (const a of answers) {
        if (a === "no") {
            return "no";
        }
        if (a === "maybe") {
            result = "maybe";
        }
    }
    return result;
}

/** The sentinel strings the engine sends for unknown values (same as the SDK's proxy.ts). */
export const UNKNOWN_SENTINELS: Readonly<Record<string, string>> = Object.freeze({
    boolean: "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    number: "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    string: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    array: "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    asset: "030794c1-ac77-496b-92df-f27374a8bd58",
    archive: "e48ece36-62e2-4504-bad9-02848725956a",
    object: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
});

const sentinelSet = new Set<string>(Object.values(UNKNOWN_SENTINELS));

/** True for the UNKNOWN marker and for a raw engine sentinel string. */
export function isUnknown(v: unknown): v is Unknown {
    return v === UNKNOWN || (typeof v === "string" && sentinelSet.has(v));
}

/** True for the SDK's UnknownValueError (checked by shape so a second copy of the SDK also matches). */
function isUnknownValueError(e: unknown): boolean {
    if (typeof e !== "object" || e === null) {
        return false;
    }
    const sentinel = (e as { unknownTypeSentinel?: unknown }).unknownTypeSentinel;
    return typeof sentinel === "string" && sentinelSet.has(sentinel);
}

/**
 * Keys under which the SDK's proxies (unknownCheckingProxy and secretsPreservingProxy, proxy.js and
 * secret.js of the pinned @pulumi/policy) answer "I am a proxy" and hand out the object they wrap.
 * Internal to the SDK, so tests/values.spec.ts checks that the pinned release still answers them.
 */
const SDK_IS_PROXY = "__isSpecialProxy";
const SDK_PROXY_TARGET = "__getSpecialProxyTarget";

/**
 * The plain data under one of the SDK's unknown-checking proxies, or undefined. The SDK deserializes
 * a resource's properties into plain data (unknowns as the raw sentinel strings, secrets unwrapped)
 * and wraps that in the proxy; copying the data itself gives the same snapshot as reading through the
 * proxy, without a trap, a new proxy and a thrown error per property. Under a remediation's proxy
 * sits the secrets-preserving one (its values wrap secrets): that is read through the proxies.
 */
function sdkProxyTarget(value: object): object | undefined {
    const proxy = value as Record<string, unknown>;
    if (proxy[SDK_IS_PROXY] !== true) {
        return undefined;
    }
    const target = proxy[SDK_PROXY_TARGET];
    return target !== null && typeof target === "object" && (target as Record<string, unknown>)[SDK_IS_PROXY] !== true
        ? target
        : undefined;
}

/**
 * Snapshots of the data under the SDK's proxies, by that data. Every stack policy gets the whole
 * stack, each resource's props under a proxy of its own but, in the pack's bundle, over one
 * deserialized object per resource and request (tools/bundle-deserialize-once.js): the 12 stack
 * policies then read each resource once, not 12 times. The data lives as long as its request.
 */
const snapshots = new WeakMap<object, unknown>();

/**
 * A plain deep copy of `value`, read through the SDK's proxies (or from the data under them, see
 * sdkProxyTarget). Unknown values become `UNKNOWN`; secrets (already unwrapped by the SDK's proxies)
 * become their plain values. Keys are copied as own properties (a key "__proto__" stays a key, it
 * does not replace the prototype). The copy is frozen: one snapshot serves every policy that reads
 * the same data (see snapshots), so none may change it for the others.
 */
export function snapshot(value: unknown): any {
    const target = value !== null && typeof value === "object" ? sdkProxyTarget(value) : undefined;
    if (!target) {
        return copy(value);
    }
    if (!snapshots.has(target)) {
        snapshots.set(target, copy(target));
    }
    return snapshots.get(target);
}

function copy(value: unknown): any {
    if (isUnknown(value)) {
        return UNKNOWN;
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        const length = value.length;
        for (let i = 0; i < length; i++) {
            out.push(readSafely(value, i));
        }
        return Object.freeze(out);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
        setOwn(out, key, readSafely(value as Record<string, unknown>, key));
    }
    return Object.freeze(out);
}

function readSafely(container: any, key: string | number): unknown {
    try {
        return copy(container[key]);
    } catch (e) {
        if (isUnknownValueError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
}

/** Sets an own, enumerable property (safe for keys such as "__proto__"). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The own property `key` of a record, never an inherited one: label and annotation keys such as
 * "constructor" or "toString" are data, not JavaScript methods.
 */
export function own(obj: unknown, key: string | number): any {
    if (obj === null || obj === undefined || typeof obj !== "object") {
        return undefined;
    }
    return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as any)[key] : undefined;
}

/**
 * Reads a nested property of a snapshot (own properties only). Returns UNKNOWN when the value or
 * any object on the way is unknown, undefined when it is absent (or null, or the path crosses a
 * non-object).
 */
export function at(obj: unknown, ...path: (string | number)[]): any {
    let cur: any = obj;
    for (const key of path) {
        if (isUnknown(cur)) {
            return UNKNOWN;
        }
        cur = own(cur, key);
    }
    if (isUnknown(cur)) {
        return UNKNOWN;
    }
    return cur === null ? undefined : cur;
}

/** A plain object (record) that is known, or undefined. */
export function asRecord(v: unknown): Record<string, any> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) && !isUnknown(v)
        ? (v as Record<string, any>)
        : undefined;
}

/** An array that is known, or undefined. */
export function asArray(v: unknown): any[] | undefined {
    return Array.isArray(v) ? v : undefined;
}

/** A value as message text: strings quoted, unknowns as "(unknown during preview)", never a marker. */
export function show(v: unknown): string {
    if (isUnknown(v)) {
        return UNKNOWN.toString();
    }
    if (typeof v === "string") {
        return JSON.stringify(v);
    }
    if (v === undefined) {
        return "(not set)";
    }
    // Nested UNKNOWN markers print through their toJSON.
    return JSON.stringify(v);
}
