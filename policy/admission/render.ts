// `node bin/admission/render.js [POLICY_PACK_CONFIG]`: prints the admission manifests (a JSON List
// for `kubectl apply -f -`) for the given policy pack config file, the one passed to
// `--policy-pack-config` (none: the pack's defaults, every allowlist empty). bootstrap/admission.sh
// runs it.

import * as fs from "node:fs";
import { PackConfig } from "../lib/pack-config";
import { admissionManifests, admissionPolicies } from ".";

function main(args: string[]): void {
    if (args.length > 1 || args[0]?.startsWith("-")) {
        process.stderr.write("usage: render.js [POLICY_PACK_CONFIG]\n");
        process.exit(2);
    }
    const config: PackConfig = args[0] ? JSON.parse(fs.readFileSync(args[0], "utf8")) : {};
    const items = admissionManifests(admissionPolicies, config);
    process.stdout.write(`${JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 2)}\n`);
}

try {
    main(process.argv.slice(2));
} catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
}
