// The provider's *Patch kinds: recognised by type token, checked on what they set, and merged into
// the objects of the stack they patch the way server-side apply merges.

import * as assert from "node:assert/strict";
import { parseK8sType } from "../lib/k8s";
import { mergeValue } from "../lib/patches";
import { UNKNOWN } from "../lib/values";
import { deployment, patch, service } from "../testing/fixtures";
import { formatViolations, runPolicyPack, unknown } from "../testing/harness";

describe("Patch kinds", () => {
    it("reads every *Patch type token the provider has for the kinds the pack checks, and CustomResourcePatch's", () => {
        const tokens: [string, string, string][] = [
            ["kubernetes:core/v1:ServicePatch", "", "Service"],
            ["kubernetes:core/v1:ConfigMapPatch", "", "ConfigMap"],
            ["kubernetes:core/v1:PodPatch", "", "Pod"],
            ["kubernetes:core/v1:ReplicationControllerPatch", "", "ReplicationController"],
            ["kubernetes:apps/v1:DeploymentPatch", "apps", "Deployment"],
            ["kubernetes:apps/v1:StatefulSetPatch", "apps", "StatefulSet"],
            ["kubernetes:apps/v1:DaemonSetPatch", "apps", "DaemonSet"],
            ["kubernetes:apps/v1:ReplicaSetPatch", "apps", "ReplicaSet"],
            ["kubernetes:extensions/v1beta1:DeploymentPatch", "extensions", "Deployment"],
            ["kubernetes:batch/v1:JobPatch", "batch", "Job"],
            ["kubernetes:batch/v1:CronJobPatch", "batch", "CronJob"],
            ["kubernetes:networking.k8s.io/v1:IngressPatch", "networking.k8s.io", "Ingress"],
            ["kubernetes:extensions/v1beta1:IngressPatch", "extensions", "Ingress"],
            ["kubernetes:gateway.networking.k8s.io/v1:HTTPRoutePatch", "gateway.networking.k8s.io", "HTTPRoute"],
            ["kubernetes:gateway.networking.k8s.io/v1:GatewayPatch", "gateway.networking.k8s.io", "Gateway"],
        ];
        for (const [token, group, kind] of tokens) {
            assert.deepEqual(
                parseK8sType(token),
                { group, version: token.split(":")[1].split("/").pop(), kind, patch: true },
                token,
            );
        }
        assert.deepEqual(parseK8sType("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"), {
            group: "gateway.networking.k8s.io",
            version: "v1",
            kind: "HTTPRoute",
            patch: false,
        });
    });

    it("checks what a workload patch sets, and not what it leaves alone", async () => {
        const imageOnly = patch("DeploymentPatch", "bump", {
            metadata: { name: "exchange-router" },
            spec: { template: { spec: { containers: [{ name: "router", image: "exchange/router:1.4.3" }] } } },
        });
        const v = await runPolicyPack([imageOnly]);
        assert.deepEqual(v, [], formatViolations(v));
        const unpinned = patch("StatefulSetPatch", "bump", {
            metadata: { name: "exchange-postgres" },
            spec: {
                template: {
                    spec: {
                        containers: [{ name: "postgres", image: "postgres:latest", securityContext: { runAsUser: 0 } }],
                    },
                },
            },
        });
        assert.deepEqual(
            (await runPolicyPack([unpinned])).map((x) => [x.policyName, x.enforcementLevel]),
            [
                ["container-image-tag-pinned", "advisory"],
                ["container-runs-as-non-root", "advisory"],
            ],
        );
    });

    it("a patch of a Service of the stack is checked on the merged Service, attached to that Service", async () => {
        const retarget = patch("ServicePatch", "retarget", {
            metadata: { name: "exchange-router-service" },
            spec: { ports: [{ port: 80, protocol: "TCP", targetPort: 8081 }] },
        });
        const v = (await runPolicyPack([deployment(), service(), retarget])).filter(
            (x) => x.enforcementLevel === "mandatory",
        );
        assert.deepEqual(
            v.map((x) => [x.policyName, x.resourceName]),
            [["service-target-port-resolves", "exchange-router-service"]],
        );
        assert.match(v[0].message, /as patched by "retarget"/);
    });

    describe("merging like server-side apply", () => {
        it("merges maps key by key and replaces a selector whole", () => {
            const base = {
                metadata: { name: "s", labels: { a: "1" } },
                spec: { selector: { app: "x", tier: "web" }, type: "ClusterIP" },
            };
            const merged = mergeValue(base, { metadata: { labels: { b: "2" } }, spec: { selector: { app: "y" } } }, "");
            assert.deepEqual(merged, {
                metadata: { name: "s", labels: { a: "1", b: "2" } },
                spec: { selector: { app: "y" }, type: "ClusterIP" },
            });
        });

        it("merges ports by port and protocol, containers and env by name; replaces other lists", () => {
            const base = {
                ports: [
                    { port: 53, protocol: "UDP", targetPort: "dns" },
                    { port: 53, targetPort: "dns-tcp" },
                ],
                containers: [
                    { name: "a", image: "a:1", env: [{ name: "X", value: "1" }] },
                    { name: "b", image: "b:1" },
                ],
                args: ["--one"],
            };
            const merged = mergeValue(
                base,
                {
                    ports: [{ port: 53, protocol: "TCP", targetPort: 5353 }],
                    containers: [{ name: "b", image: "b:2" }],
                    args: ["--two"],
                },
                "",
            );
            assert.deepEqual(merged, {
                ports: [
                    { port: 53, protocol: "UDP", targetPort: "dns" },
                    { port: 53, targetPort: 5353, protocol: "TCP" },
                ],
                containers: [
                    { name: "a", image: "a:1", env: [{ name: "X", value: "1" }] },
                    { name: "b", image: "b:2" },
                ],
                args: ["--two"],
            });
        });

        it("gives an unknown result where either side is unknown", () => {
            assert.equal(mergeValue({ a: 1 }, unknown.object, ""), UNKNOWN);
            assert.deepEqual(mergeValue({ a: unknown.object }, { a: { b: 1 } }, ""), { a: UNKNOWN });
        });
    });
});
