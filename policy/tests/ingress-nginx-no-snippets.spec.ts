import * as assert from "node:assert/strict";
import { ingressNginxNoSnippets as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { ingress, mutate, patch, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const annotated = (annotations: unknown) => mutate(ingress(), (p) => (p.metadata.annotations = annotations));

describe("ingress-nginx-no-snippets", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "ingress-nginx-no-snippets", "mandatory", "-snippet");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes an Ingress with the dedicated ingress-nginx annotations", async () => {
        assertClean(await runResourcePolicy(policy, ingress()));
        assertClean(
            await runResourcePolicy(
                policy,
                annotated({
                    "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
                    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                    "cert-manager.io/cluster-issuer": "letsencrypt-prod",
                }),
            ),
        );
    });

    for (const key of [
        "nginx.ingress.kubernetes.io/configuration-snippet",
        "nginx.ingress.kubernetes.io/server-snippet",
        "nginx.ingress.kubernetes.io/auth-snippet",
        "nginx.ingress.kubernetes.io/stream-snippet",
        "nginx.ingress.kubernetes.io/modsecurity-snippet",
    ]) {
        it(`flags ${key}`, async () => {
            assertOneViolation(
                await runResourcePolicy(policy, annotated({ [key]: "more_set_headers 'X-A: b';" })),
                `Ingress "exchange-ingress" carries ingress-nginx snippet annotation(s) "${key}"`,
            );
        });
    }

    it("reports the snippets of one Ingress in one violation", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                annotated({
                    "nginx.ingress.kubernetes.io/server-snippet": "location /x { return 200; }",
                    "nginx.ingress.kubernetes.io/configuration-snippet": "set $a 1;",
                }),
            ),
            '"nginx.ingress.kubernetes.io/server-snippet", "nginx.ingress.kubernetes.io/configuration-snippet"',
        );
    });

    it("leaves alone empty snippets and -snippet keys of other prefixes", async () => {
        assertClean(await runResourcePolicy(policy, annotated({ "nginx.ingress.kubernetes.io/server-snippet": "" })));
        assertClean(await runResourcePolicy(policy, annotated({ "example.com/server-snippet": "x" })));
    });

    it("flags an IngressPatch that adds a snippet", async () => {
        const p = patch("IngressPatch", "inject", {
            metadata: {
                name: "exchange-ingress",
                annotations: { "nginx.ingress.kubernetes.io/configuration-snippet": "proxy_set_header X 1;" },
            },
        });
        assertOneViolation(await runResourcePolicy(policy, p), 'IngressPatch "exchange-ingress"');
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, service());
        assert.match(r.notApplicable ?? "", /Ingresses/);
    });

    it("reports nothing during preview while the annotations or a snippet's text are unknown", async () => {
        assertClean(await runResourcePolicy(policy, annotated(unknown.object)));
        assertClean(
            await runResourcePolicy(
                policy,
                annotated({ "nginx.ingress.kubernetes.io/server-snippet": unknown.string }),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.metadata = unknown.object)),
            ),
        );
    });
});
