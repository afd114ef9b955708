import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { imagePinProblem } from "@exchange/contract";
import { containerImageTagPinned as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

const withImage = (image: unknown) => mutate(deployment(), (p) => (p.spec.template.spec.containers[0].image = image));
const DIGEST = "sha256:" + "a".repeat(64);

describe("container-image-tag-pinned", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-image-tag-pinned", "advisory", "latest");
    });

    const pinned = [
        "exchange/router:1.4.2",
        "postgres:16.4",
        "localhost:5000/exchange/router:1.4.2",
        `exchange/router@${DIGEST}`,
        `localhost:5000/exchange/router:1.4.2@${DIGEST}`,
    ];
    for (const image of pinned) {
        it(`passes ${image.replace(DIGEST, "sha256:…")}`, async () => {
            assert.equal(imagePinProblem(image), undefined);
            assertClean(await runResourcePolicy(policy, withImage(image)));
        });
    }

    const unpinned: [string, string][] = [
        ["exchange/router", "has no tag"],
        ["redis", "has no tag"],
        ["exchange/router:latest", 'uses the moving tag "latest"'],
        ["exchange/router:LATEST", 'uses the moving tag "latest"'],
        ["localhost:5000/exchange/router", "has no tag"],
        ["localhost:5000/exchange/router:latest", 'uses the moving tag "latest"'],
        ["exchange/router:", "has no tag"],
        ["redis:LATEST", 'uses the moving tag "latest"'],
        ["redis:", "has no tag"],
        ["redis:Latest", 'uses the moving tag "latest"'],
        ["redis@sha256:abc", "has a malformed digest"],
        ["redis 7", "is not an image reference"],
    ];
    for (const [image, why] of unpinned) {
        it(`flags ${image}`, async () => {
            assertOneViolation(
                await runResourcePolicy(policy, withImage(image)),
                `container "router" (spec.template.spec.containers[0]) of Deployment "exchange-router" image "${image}" ${why}`,
            );
        });
    }

    it("suggests a pinned form keeping the registry port", async () => {
        assertOneViolation(
            await runResourcePolicy(policy, withImage("localhost:5000/exchange/router:latest")),
            '"localhost:5000/exchange/router:1.2.3"',
        );
    });

    it("checks init containers", async () => {
        const d = mutate(
            deployment(),
            (p) => (p.spec.template.spec.initContainers = [container({ name: "migrate", image: "exchange/migrate" })]),
        );
        assertOneViolation(await runResourcePolicy(policy, d), 'init container "migrate"');
    });

    it("reports nothing during preview when the image is unknown", async () => {
        assertClean(await runResourcePolicy(policy, withImage(unknown.string)));
    });

    it("is the one rule of @exchange/contract, which the program's config check also uses", () => {
        const source = fs.readFileSync(
            path.join(__dirname, "..", "..", "policies", "container-image-tag-pinned.ts"),
            "utf8",
        );
        assert.match(source, /import \{ imagePinProblem \} from "@exchange\/contract";/);
        assert.doesNotMatch(source, /function imagePinProblem|latest"\s*\)/i);
    });
});
