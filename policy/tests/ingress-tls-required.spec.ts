import * as assert from "node:assert/strict";
import { ingressTlsRequired as policy } from "../policies";
import { tlsHostCovers } from "../policies/ingress-tls-required";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { ingress, mutate, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

describe("ingress-tls-required", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "ingress-tls-required", "advisory", "spec.tls");
    });

    it("passes an Ingress whose TLS covers its host", async () => {
        assertClean(await runResourcePolicy(policy, ingress()));
    });

    it("flags an Ingress without spec.tls", async () => {
        assertOneViolation(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => delete p.spec.tls),
            ),
            'Ingress "exchange-ingress" has no spec.tls',
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.tls = [])),
            ),
            "has no spec.tls",
        );
    });

    it("flags hosts that no TLS entry covers", async () => {
        const ing = mutate(ingress(), (p) => {
            p.spec.rules.push({ host: "admin.exchange.test", http: p.spec.rules[0].http });
            p.spec.rules.push({ host: "ws.other.test", http: p.spec.rules[0].http });
        });
        assertOneViolation(
            await runResourcePolicy(policy, ing),
            'host(s) "admin.exchange.test", "ws.other.test"',
            'TLS hosts: "exchange.test"',
        );
    });

    it("accepts a single-level wildcard TLS host", async () => {
        const ing = mutate(ingress(), (p) => {
            p.spec.tls = [{ hosts: ["*.exchange.test"], secretName: "wildcard" }];
            p.spec.rules[0].host = "api.exchange.test";
        });
        assertClean(await runResourcePolicy(policy, ing));
        assert.equal(tlsHostCovers("*.exchange.test", "a.b.exchange.test"), false);
        assert.equal(tlsHostCovers("*.exchange.test", "exchange.test"), false);
        assert.equal(tlsHostCovers("Exchange.TEST", "exchange.test"), true);
    });

    it("accepts host-less rules when spec.tls is present", async () => {
        const ing = mutate(ingress(), (p) => {
            delete p.spec.rules[0].host;
            p.spec.tls = [{ secretName: "exchange-tls" }];
        });
        assertClean(await runResourcePolicy(policy, ing));
    });

    it("is not applicable to Services", async () => {
        assert.ok((await runResourcePolicy(policy, service())).notApplicable);
    });

    it("reports nothing during preview when TLS or hosts are unknown", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.tls = unknown.array)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.tls[0].hosts = unknown.array)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.rules[0].host = unknown.string)),
            ),
        );
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec = unknown.object)),
            ),
        );
    });
});
