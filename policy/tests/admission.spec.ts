// The admission policies' generator (admission/): each one mirrors a pack policy by name, level
// and config keys; the manifests follow the pack's config exactly as the CLI reads it.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    AdmissionPolicy,
    PARAMS_NAME,
    PARAMS_NAMESPACE,
    PART_OF,
    admissionManifests,
    admissionPolicies,
    paramKey,
} from "../admission";
import { PackConfig } from "../lib/pack-config";
import { policies } from "../policies";
import { nonEmpty } from "./assertions";

const PACK_DIR = path.resolve(__dirname, "..", "..");
const RENDER = path.join(PACK_DIR, "bin", "admission", "render.js");

const byKind = (items: any[], kind: string) => items.filter((i) => i.kind === kind);
const bindings = (config?: PackConfig) =>
    Object.fromEntries(
        byKind(admissionManifests(admissionPolicies, config), "ValidatingAdmissionPolicyBinding").map((b) => [
            b.metadata.name,
            b.spec.validationActions,
        ]),
    );
const params = (config?: PackConfig) => byKind(admissionManifests(admissionPolicies, config), "ConfigMap")[0].data;

/** Every CEL text of a policy, where it may name params keys. */
const celOf = (p: AdmissionPolicy) => [...Object.values(p.variables), p.admits, p.message].join("\n");

describe("admission policies", () => {
    it("each mirrors a resource policy of the pack, from admission/<policy name>.ts, names unique", () => {
        for (const p of nonEmpty(admissionPolicies, "admission policy")) {
            assert.ok(policies.includes(p.pack), `${p.pack.name} is a policy of the pack`);
            assert.equal(typeof (p.pack as any).validateResource, "function", `${p.pack.name} judges one object`);
            assert.ok(
                Object.values(require(`../admission/${p.pack.name}`)).includes(p),
                `admission/${p.pack.name}.ts exports it`,
            );
        }
        const names = admissionPolicies.map((p) => p.pack.name);
        assert.equal(new Set(names).size, names.length);
        const files = fs.readdirSync(path.join(PACK_DIR, "admission")).filter((f) => f.endsWith(".ts"));
        assert.deepEqual(
            files.filter((f) => !["index.ts", "admission-policy.ts", "manifests.ts", "render.ts"].includes(f)).sort(),
            names.map((n) => `${n}.ts`).sort(),
        );
    });

    it("reads every config key of its pack policy from the params, and no other", () => {
        for (const p of admissionPolicies) {
            const named = [...celOf(p).matchAll(/'([a-z0-9-]+)\.([A-Za-z]+)' in params\.data/g)].map((m) => [
                m[1],
                m[2],
            ]);
            assert.deepEqual(
                named.map(([policy]) => policy).filter((policy) => policy !== p.pack.name),
                [],
                `${p.pack.name} reads only its own keys`,
            );
            assert.deepEqual(named.map(([, key]) => key).sort(), [...p.configKeys].sort(), p.pack.name);
        }
    });

    it("binds each policy at its pack level: mandatory refuses, advisory warns and audits", () => {
        const expected = Object.fromEntries(
            admissionPolicies.map((p) => [
                p.pack.name,
                p.pack.enforcementLevel === "mandatory" ? ["Deny"] : ["Warn", "Audit"],
            ]),
        );
        assert.deepEqual(bindings(), expected);
        assert.ok(
            Object.values(expected).some((a) => a[0] === "Warn"),
            "an advisory rule is among them",
        );
    });

    it("follows the config's levels: per policy, 'all', remediate, disabled (no binding)", () => {
        const config: PackConfig = {
            all: "advisory",
            "service-no-nodeport": "mandatory",
            "service-clusterip-by-default": { enforcementLevel: "remediate" },
            "service-no-external-ips": "disabled",
        };
        assert.deepEqual(bindings(config), {
            "service-clusterip-by-default": ["Deny"],
            "service-no-nodeport": ["Deny"],
            "ingress-nginx-no-snippets": ["Warn", "Audit"],
            "service-loadbalancer-source-ranges": ["Warn", "Audit"],
        });
    });

    it("puts the config's allowlists in the params ConfigMap, one entry a line; the defaults are empty", () => {
        const example = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "policy-config.example.json"), "utf8"));
        const data = params(example);
        assert.equal(
            data[paramKey("service-clusterip-by-default", "allowedLoadBalancers")],
            "exchange-router-external",
        );
        assert.deepEqual(
            params({ "service-no-nodeport": { allowedNodePorts: ["legacy-nodeport", "edge/gateway"] } })[
                paramKey("service-no-nodeport", "allowedNodePorts")
            ],
            "legacy-nodeport\nedge/gateway",
        );
        const defaults = params();
        const keys = admissionPolicies.flatMap((p) => p.configKeys.map((k) => paramKey(p.pack.name, k)));
        assert.deepEqual(Object.keys(defaults).sort(), nonEmpty(keys, "config key").sort());
        assert.ok(Object.values(defaults).every((v) => v === ""));
    });

    it("refuses what the pack refuses (unknown policy, unknown key, wrong type) and entries that name no object", () => {
        const render = (config: PackConfig) => () => admissionManifests(admissionPolicies, config);
        assert.throws(render({ "service-no-nodeports": "mandatory" }), /not in the pack: "service-no-nodeports"/);
        assert.throws(render({ "service-no-nodeport": { allowedNodePort: [] } }), /unknown property "allowedNodePort"/);
        assert.throws(render({ "service-no-nodeport": { allowedNodePorts: "legacy" } }), /must be of type array/);
        for (const bad of ["legacy nodeport", "a\nb", "Legacy", "a/b/c", ""]) {
            assert.throws(
                render({ "service-no-nodeport": { allowedNodePorts: [bad] } }),
                /is not a name or namespace\/name/,
                JSON.stringify(bad),
            );
        }
    });

    it("orders the manifests for kubectl apply: namespace, params, policies, bindings; labels every one", () => {
        const items = admissionManifests(admissionPolicies) as any[];
        assert.deepEqual(
            [...new Set(items.map((i) => i.kind))],
            ["Namespace", "ConfigMap", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"],
        );
        for (const item of items) {
            assert.deepEqual(item.metadata.labels, PART_OF, `${item.kind} ${item.metadata.name}`);
        }
        for (const vap of byKind(items, "ValidatingAdmissionPolicy")) {
            const binding = byKind(items, "ValidatingAdmissionPolicyBinding").find(
                (b) => b.spec.policyName === vap.metadata.name,
            );
            assert.equal(vap.spec.failurePolicy, "Fail");
            assert.deepEqual(vap.spec.matchConstraints.resourceRules[0].operations, ["CREATE", "UPDATE"]);
            assert.equal(Boolean(vap.spec.paramKind), Boolean(binding.spec.paramRef), vap.metadata.name);
            if (binding.spec.paramRef) {
                assert.deepEqual(binding.spec.paramRef, {
                    name: PARAMS_NAME,
                    namespace: PARAMS_NAMESPACE,
                    parameterNotFoundAction: "Deny",
                });
            }
        }
    });

    it("render.js prints a List for kubectl from a config file, and refuses a bad one", () => {
        const list = JSON.parse(
            execFileSync(process.execPath, [RENDER, path.join(PACK_DIR, "policy-config.example.json")], {
                encoding: "utf8",
            }),
        );
        assert.equal(list.kind, "List");
        assert.deepEqual(
            list.items,
            admissionManifests(
                admissionPolicies,
                JSON.parse(fs.readFileSync(path.join(PACK_DIR, "policy-config.example.json"), "utf8")),
            ),
        );
        const bad = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "admission-")), "bad.json");
        fs.writeFileSync(bad, JSON.stringify({ "service-no-nodeport": { allowedNodePort: [] } }));
        const result = spawnSync(process.execPath, [RENDER, bad], { encoding: "utf8" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /unknown property "allowedNodePort"/);
        assert.equal(result.stdout, "");
    });
});
