// Assertions shared by the spec files.

import * as assert from "node:assert/strict";
import { EnforcementLevel, Policy } from "@pulumi/policy";
import { PolicyRunResult } from "../testing/harness";

/**
 * Asserts that `list` holds at least one `what` and returns it: a check made on each element of
 * an empty list would pass without checking anything.
 */
export function nonEmpty<T>(list: T[], what: string): T[] {
    assert.ok(list.length > 0, `expected at least one ${what}, found none`);
    return list;
}

/** Passes when the run reported nothing at all (no violation, no preview diagnostic). */
export function assertClean(r: PolicyRunResult): void {
    assert.deepEqual(r.violations, [], `expected no violation, got:\n${r.violations.join("\n")}`);
    assert.equal(r.previewSkip, undefined, `expected no preview diagnostic, got: ${r.previewSkip}`);
}

/** Passes when the run reported exactly one violation that contains every fragment. */
export function assertOneViolation(r: PolicyRunResult, ...fragments: string[]): string {
    assert.equal(r.previewSkip, undefined, `unexpected preview diagnostic: ${r.previewSkip}`);
    assert.equal(
        r.violations.length,
        1,
        `expected exactly one violation, got ${r.violations.length}:\n${r.violations.join("\n")}`,
    );
    const message = r.violations[0];
    for (const f of fragments) {
        assert.ok(message.includes(f), `violation message lacks ${JSON.stringify(f)}:\n${message}`);
    }
    assert.ok(message.includes("Fix:"), `violation message does not say how to fix it:\n${message}`);
    return message;
}

/** Checks a policy's documented metadata. */
export function assertMetadata(
    policy: Policy,
    name: string,
    level: EnforcementLevel,
    descriptionFragment: string,
): void {
    assert.equal(policy.name, name);
    assert.equal(policy.enforcementLevel, level);
    assert.match(policy.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(policy.description.includes(descriptionFragment), `description: ${policy.description}`);
    assert.ok((policy.remediationSteps ?? "").length > 0, "remediationSteps must say how to fix a violation");
}
