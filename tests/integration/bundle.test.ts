/**
 * The program and the policy pack run as esbuild bundles (package.json "main": bin/bundle.js,
 * built by tools/bundle.js without @pulumi/pulumi's Automation API and closure serializer): a real
 * `pulumi preview` of each stack with the pack plans and judges exactly what the compiled sources
 * (bin/index.js) do: the same steps with the same inputs, the same policy violations, the same
 * diagnostics.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import {
    OperationResult,
    POLICY_PACK,
    PROJECT_ROOT,
    PulumiWorkspace,
    stackConfig,
    unreachableKubeconfig,
    withConfig,
} from "../support";

const BUNDLE = "bin/bundle.js";
const COMPILED = "bin/index.js";

function mainOf(packageDir: string): string {
    return JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")).main;
}

/** Sets the entry point the language host runs: the workspace's package.json "main". */
function useProgramEntry(workspace: PulumiWorkspace, main: string): void {
    const file = path.join(workspace.dir, "package.json");
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), main }, null, 2));
}

/**
 * The policy pack started from its compiled sources: a folder with the pack's manifest and its
 * package.json, "main" pointing at bin/index.js, and a link to its bin. The folder is inside the
 * pack's own, so that modules resolve from there upwards exactly as for the pack itself (the
 * language host looks for @pulumi/pulumi's runner the same way).
 */
function compiledPolicyPack(): string {
    const dir = fs.mkdtempSync(path.join(POLICY_PACK, ".compiled-pack-"));
    fs.copyFileSync(path.join(POLICY_PACK, "PulumiPolicy.yaml"), path.join(dir, "PulumiPolicy.yaml"));
    const manifest = JSON.parse(fs.readFileSync(path.join(POLICY_PACK, "package.json"), "utf8"));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ ...manifest, main: COMPILED }, null, 2));
    fs.symlinkSync(path.join(POLICY_PACK, "bin"), path.join(dir, "bin"));
    return dir;
}

/** What a preview decided, in an order that does not depend on timing. */
function outcome(result: OperationResult) {
    const byText = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    const events = (pick: (event: EngineEvent) => unknown) =>
        result.events
            .map(pick)
            .filter((value) => value !== undefined)
            .sort(byText);
    return {
        code: result.code,
        steps: events((event) => {
            const step = event.resourcePreEvent?.metadata;
            return step && { op: step.op, urn: step.urn, provider: step.provider, inputs: step.new?.inputs };
        }),
        violations: events((event) => event.policyEvent && { ...event.policyEvent, color: undefined }),
        diagnostics: events((event) => {
            const diagnostic = event.diagnosticEvent;
            return diagnostic && (diagnostic.severity as string) !== "debug"
                ? { urn: diagnostic.urn, severity: diagnostic.severity, message: diagnostic.message }
                : undefined;
        }),
        changes: events((event) => event.summaryEvent?.resourceChanges),
    };
}

describe("the bundled program and policy pack preview as the compiled sources do", function () {
    this.timeout(20 * 60 * 1000);
    const clusterKubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;
    let dev: PulumiWorkspace;
    let prod: PulumiWorkspace;
    let compiledPack: string;

    before(async () => {
        assert.strictEqual(mainOf(PROJECT_ROOT), BUNDLE, "the program's package.json runs the bundle");
        assert.strictEqual(mainOf(POLICY_PACK), BUNDLE, "the pack's package.json runs the bundle");
        compiledPack = compiledPolicyPack();
        dev = new PulumiWorkspace(clusterKubeconfig ?? unreachableKubeconfig(["exchange-local"]));
        await dev.initStack("dev");
        prod = new PulumiWorkspace(unreachableKubeconfig(["exchange-prod"]));
        await prod.initStack("prod");
    });

    after(() => {
        dev?.remove();
        prod?.remove();
        if (compiledPack) {
            fs.rmSync(compiledPack, { recursive: true, force: true });
        }
    });

    /** Previews `stack` on the bundles, then on the compiled sources, in the same workspace. */
    async function bothWays(workspace: PulumiWorkspace, stack: string) {
        useProgramEntry(workspace, BUNDLE);
        const bundled = await workspace.preview(stack, { policyPacks: [POLICY_PACK] });
        useProgramEntry(workspace, COMPILED);
        const compiled = await workspace.preview(stack, { policyPacks: [compiledPack] });
        useProgramEntry(workspace, BUNDLE);
        assert.strictEqual(compiled.code, bundled.code, `on the compiled sources:\n${compiled.output}`);
        return { bundled, compiled };
    }

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: the same plan, violations and diagnostics`, async () => {
            const { bundled, compiled } = await bothWays(stack === "dev" ? dev : prod, stack);
            assert.strictEqual(bundled.code, 0, bundled.output);
            assert.ok(outcome(bundled).steps.length > 0, "the preview planned resources");
            assert.deepStrictEqual(outcome(bundled), outcome(compiled));
        });
    }

    it("dev with a mandatory violation: the same failure", async () => {
        dev.writeStackConfig("dev", withConfig(stackConfig("dev"), { router: { serviceType: "LoadBalancer" } }));
        try {
            const { bundled, compiled } = await bothWays(dev, "dev");
            assert.notStrictEqual(bundled.code, 0, bundled.output);
            assert.ok(
                outcome(bundled).violations.some((v: any) => v.enforcementLevel === "mandatory"),
                `a mandatory violation:\n${bundled.output}`,
            );
            assert.deepStrictEqual(outcome(bundled), outcome(compiled));
        } finally {
            dev.writeStackConfig("dev", stackConfig("dev"));
        }
    });
});
