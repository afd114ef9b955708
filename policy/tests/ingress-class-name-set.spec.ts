import * as assert from "node:assert/strict";
import { ingressClassNameSet as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { ingress, mutate, patch, service } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const classless = () => mutate(ingress(), (p) => delete p.spec.ingressClassName);

describe("ingress-class-name-set", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "ingress-class-name-set", "advisory", "spec.ingressClassName");
        assert.equal(policy.configSchema, undefined);
    });

    it("passes an Ingress with spec.ingressClassName", async () => {
        assertClean(await runResourcePolicy(policy, ingress()));
    });

    it("flags an Ingress without a class", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, classless()),
            'Ingress "exchange-ingress" sets no spec.ingressClassName',
            "default IngressClass",
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.ingressClassName = "")),
            ),
            "sets no spec.ingressClassName",
        );
    });

    it("flags the deprecated kubernetes.io/ingress.class annotation used instead", async () => {
        const annotated = mutate(
            classless(),
            (p) => (p.metadata.annotations = { "kubernetes.io/ingress.class": "nginx" }),
        );
        assertOneViolation(
            await runResourcePolicy(policy, annotated),
            'deprecated kubernetes.io/ingress.class annotation ("nginx")',
            'set spec.ingressClassName to the IngressClass of its controller ("nginx") and remove the annotation',
        );
    });

    it("leaves an IngressPatch alone: the patched Ingress keeps its class", async () => {
        const p = patch("IngressPatch", "retarget", { metadata: { name: "exchange-ingress" }, spec: { rules: [] } });
        assertClean(await runResourcePolicy(policy, p));
    });

    it("is not applicable to other resource types", async () => {
        const r = await runResourcePolicy(policy, service());
        assert.match(r.notApplicable ?? "", /Ingresses/);
    });

    it("reports nothing during preview while the class or the spec is unknown", async () => {
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(ingress(), (p) => (p.spec.ingressClassName = unknown.string)),
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
