// The shared case table (testing/admission-cases.ts) through the pack: each case gets the verdict
// the table gives it. The root project's tests/integration/admission.test.ts runs the same table
// through a real API server with the admission policies installed from the same config.

import * as assert from "node:assert/strict";
import { admissionPolicies } from "../admission";
import {
    ADMISSION_CASES,
    CASES_CONFIG,
    SHARED_RULES,
    admissionExpected,
    packVerdict,
} from "../testing/admission-cases";
import { nonEmpty } from "./assertions";

describe("shared admission cases, through the pack", () => {
    for (const c of nonEmpty(ADMISSION_CASES, "case")) {
        it(c.name, async () => {
            assert.deepEqual(await packVerdict(c), c.expected);
        });
    }

    it("has, for every shared rule, a case it refuses or warns about and one it lets through", () => {
        for (const rule of SHARED_RULES) {
            const judged = ADMISSION_CASES.filter((c) =>
                [...c.expected.refusedBy, ...c.expected.warnedBy].includes(rule),
            );
            assert.ok(judged.length > 0, `no case where ${rule} speaks`);
            const kinds = new Set(judged.map((c) => c.object.kind));
            const admittedOfKind = ADMISSION_CASES.filter(
                (c) => kinds.has(c.object.kind) && admissionExpected(c).refusedBy.length === 0,
            );
            assert.ok(admittedOfKind.length > 0, `no admitted case of the kinds ${rule} judges`);
        }
    });

    it("says why wherever the API server is expected to differ from the pack, and only there", () => {
        for (const c of ADMISSION_CASES) {
            if (c.admission) {
                assert.notDeepEqual(c.admission.expected, c.expected, `${c.name}: the same verdict needs no exception`);
                assert.ok(c.admission.why.length > 20, `${c.name}: say why`);
            }
        }
    });

    it("is judged under a config with an entry for every shared rule that has keys", () => {
        for (const policy of admissionPolicies.filter((p) => p.configKeys.length > 0)) {
            assert.ok(CASES_CONFIG[policy.pack.name], `CASES_CONFIG has no entry for ${policy.pack.name}`);
        }
    });

    it("names each case once (the integration test reports by name)", () => {
        const names = ADMISSION_CASES.map((c) => c.name);
        assert.equal(new Set(names).size, names.length);
    });
});
