/** The dev stack of one integration suite on the test cluster (scripts/test.sh starts it). */
import * as assert from "assert";
import { PulumiWorkspace } from "../support";
import { Kubectl } from "./kubectl";

export interface SuiteStack {
    workspace: PulumiWorkspace;
    kubectl: Kubectl;
}

/**
 * Mocha hooks, registered in the calling `describe`: the dev stack in a workspace of its own before
 * the suite's tests, destroyed after them (also after a failure half-way, so the next suite finds
 * the namespace as it was). The returned object is filled in when the suite starts.
 */
export function devStackForSuite(): SuiteStack {
    const stack = {} as SuiteStack;
    before(async () => {
        const kubeconfig = process.env.EXCHANGE_TEST_KUBECONFIG;
        assert.ok(kubeconfig, "EXCHANGE_TEST_KUBECONFIG must point at the local cluster (scripts/test.sh starts it)");
        stack.workspace = new PulumiWorkspace(kubeconfig);
        stack.kubectl = new Kubectl(kubeconfig);
        await stack.workspace.initStack("dev");
    });
    after(async () => {
        if (stack.workspace) {
            await stack.workspace.destroy("dev");
            stack.workspace.remove();
        }
    });
    return stack;
}
