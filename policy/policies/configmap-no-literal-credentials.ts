import { fileCredentialProblem, namedValueCredentialProblem } from "../lib/credentials";
import {
    StackObject,
    describe,
    isConfigMap,
    objectAt,
    podSpecPath,
    workloadContainers,
    workloadKind,
} from "../lib/k8s";
import { stackPolicy } from "../lib/policy";
import { asArray, asRecord, at, own } from "../lib/values";

/** How a pod reads a ConfigMap: the keys it reads and what each becomes. */
interface Read {
    configMap: string;
    /** e.g. `envFrom of container "app"`, `volume "config"`. */
    how: string;
    /** undefined: every key of the ConfigMap. */
    keys?: string[];
    /** Why one key's value is a literal credential when read this way, or undefined. */
    problem(key: string, value: string): string | undefined;
}

/** Every way the pods of `w` read a ConfigMap by name: envFrom, env valueFrom, volumes (also projected). */
function readsOf(w: StackObject, exempt: (name: string) => boolean): Read[] {
    const out: Read[] = [];
    for (const c of workloadContainers(w, ["containers", "initContainers", "ephemeralContainers"])) {
        for (const from of asArray(c.container.envFrom) ?? []) {
            const ref = asRecord(at(from, "configMapRef"));
            const prefix = typeof at(from, "prefix") === "string" ? at(from, "prefix") : "";
            if (ref && typeof ref.name === "string") {
                out.push({
                    configMap: ref.name,
                    how: `envFrom of ${c.list === "containers" ? "container" : "init container"} "${c.name}"`,
                    problem: (key, value) =>
                        namedValueCredentialProblem(prefix + key, value, exempt(key) || exempt(prefix + key)),
                });
            }
        }
        for (const env of asArray(c.container.env) ?? []) {
            const ref = asRecord(at(env, "valueFrom", "configMapKeyRef"));
            const envName = at(env, "name");
            if (ref && typeof ref.name === "string" && typeof ref.key === "string" && typeof envName === "string") {
                const key = ref.key;
                out.push({
                    configMap: ref.name,
                    how: `env var "${envName}" of container "${c.name}"`,
                    keys: [key],
                    problem: (_key, value) =>
                        namedValueCredentialProblem(envName, value, exempt(envName)) ??
                        namedValueCredentialProblem(key, value, exempt(key)),
                });
            }
        }
    }
    const volumeReads = (source: unknown, how: string): void => {
        const cm = asRecord(source);
        if (!cm || typeof cm.name !== "string") {
            return;
        }
        const items = asArray(cm.items);
        const fileOf = new Map<string, string>(
            (items ?? []).flatMap((i) =>
                typeof at(i, "key") === "string" ? [[at(i, "key"), String(at(i, "path") ?? at(i, "key"))]] : [],
            ),
        );
        out.push({
            configMap: cm.name,
            how,
            keys: items ? [...fileOf.keys()] : undefined,
            problem: (key, value) => (exempt(key) ? undefined : fileCredentialProblem(fileOf.get(key) ?? key, value)),
        });
    };
    for (const v of asArray(at(w.props, ...podSpecPath(workloadKind(w.t)!), "volumes")) ?? []) {
        const volume = `volume "${String(at(v, "name"))}"`;
        volumeReads(at(v, "configMap"), `mounted ${volume}`);
        (asArray(at(v, "projected", "sources")) ?? []).forEach((s) =>
            volumeReads(at(s, "configMap"), `projected ${volume}`),
        );
    }
    return out;
}

/**
 * No ConfigMap that pods of the stack read (as env vars, or as mounted files) holds a literal
 * credential: the same leak as a literal env value, since ConfigMaps are readable by anyone who may
 * read the namespace's configuration, and stored in plain text in the Pulumi state.
 */
export const configmapNoLiteralCredentials = stackPolicy({
    name: "configmap-no-literal-credentials",
    description:
        "A ConfigMap that pods of the stack read (envFrom, env valueFrom.configMapKeyRef, configMap or projected " +
        "volume) must not hold a credential as a literal value: a key named like a credential (PASSWORD, SECRET, " +
        "TOKEN), a URL with a password, a password parameter, or a password line of a mounted config file.",
    enforcementLevel: "advisory",
    severity: "high",
    remediationSteps:
        "Move the credential into a Kubernetes Secret and read it with envFrom.secretRef, valueFrom.secretKeyRef or a " +
        "secret volume; keep only non-secret settings in the ConfigMap.",
    config: {
        allowedKeys: "ConfigMap keys (or the env var names they become) exempt from the credential checks.",
    },
    check: (objs, config, report) => {
        const configMaps = objs.filter((o) => isConfigMap(o.t));
        const reported = new Set<string>();
        const exempt = (name: string) => config.allowedKeys.includes(name);
        for (const w of objs.filter((o) => workloadKind(o.t) !== undefined)) {
            for (const read of readsOf(w, exempt)) {
                const cm = configMaps.find((o) => objectAt(o, w, w.namespace, read.configMap) === "yes");
                const data = asRecord(at(cm?.props, "data"));
                if (!cm || !data) {
                    continue;
                }
                for (const key of read.keys ?? Object.keys(data)) {
                    const value = own(data, key);
                    const problem = typeof value === "string" ? read.problem(key, value) : undefined;
                    if (!problem || reported.has(`${cm.urn} ${key}`)) {
                        continue;
                    }
                    reported.add(`${cm.urn} ${key}`);
                    report(
                        `${describe(cm)} key "${key}" (data.${key}), read by ${describe(w)} as ${read.how}, ${problem}; ` +
                            `anyone who can read ConfigMaps of the namespace (or the Pulumi state) can read it. Fix: move ` +
                            `it into a Kubernetes Secret and read it with secretRef / secretKeyRef / a secret volume, or, if ` +
                            `it is not a credential, add "${key}" to allowedKeys in the config of "configmap-no-literal-credentials".`,
                        cm,
                    );
                }
            }
        }
    },
});
