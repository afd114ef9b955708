import * as assert from "node:assert/strict";
import { configmapNoLiteralCredentials as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { configMap, container, deployment, mutate, onCluster, patch, statefulSet } from "../testing/fixtures";
import { TestResource, runStackPolicy, unknown } from "../testing/harness";

/** exchange-router reading ConfigMap "db-config" the way `read` says. */
function reading(
    read: "envFrom" | "keyRef" | "volume" | "projected",
    extra: Record<string, unknown> = {},
): TestResource {
    return mutate(deployment(), (p) => {
        const pod = p.spec.template.spec;
        const c = pod.containers[0];
        switch (read) {
            case "envFrom":
                c.envFrom = [{ configMapRef: { name: "db-config" }, ...extra }];
                break;
            case "keyRef":
                c.env.push({
                    name: "DB_PASSWORD",
                    valueFrom: { configMapKeyRef: { name: "db-config", key: "POSTGRES_PASSWORD" } },
                });
                break;
            case "volume":
                pod.volumes = [{ name: "config", configMap: { name: "db-config", ...extra } }];
                c.volumeMounts = [{ name: "config", mountPath: "/etc/exchange" }];
                break;
            case "projected":
                pod.volumes = [{ name: "config", projected: { sources: [{ configMap: { name: "db-config" } }] } }];
                c.volumeMounts = [{ name: "config", mountPath: "/etc/exchange" }];
                break;
        }
    });
}

const settings = { POSTGRES_DB: "exchange", POSTGRES_USER: "exchange", LOG_LEVEL: "info" };

describe("configmap-no-literal-credentials", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "configmap-no-literal-credentials", "advisory", "ConfigMap");
        assert.deepEqual(policy.configSchema!.properties.allowedKeys.default, []);
    });

    it("passes ConfigMaps of plain settings, read in every way", async () => {
        for (const read of ["envFrom", "keyRef", "volume", "projected"] as const) {
            assertClean(
                await runStackPolicy(policy, [
                    reading(read),
                    configMap("db-config", { ...settings, POSTGRES_PASSWORD: "$(VAULT_PASSWORD)" }),
                ]),
            );
        }
    });

    it("flags a credential key read through envFrom (the platform's original plain-YAML deployment did this)", async () => {
        const r = await runStackPolicy(policy, [
            reading("envFrom"),
            configMap("db-config", { ...settings, POSTGRES_PASSWORD: "hunter2" }),
        ]);
        const msg = assertOneViolation(
            r,
            'ConfigMap "db-config" key "POSTGRES_PASSWORD"',
            'read by Deployment "exchange-router" as envFrom of container "router"',
            "Secret",
        );
        assert.ok(!msg.includes("hunter2"));
        assert.match(r.urns[0] ?? "", /ConfigMap::db-config$/);
    });

    it("applies the envFrom prefix to the env var names", async () => {
        const cm = configMap("db-config", { ADMIN: "hunter2" });
        assertClean(await runStackPolicy(policy, [reading("envFrom"), cm]));
        assertOneViolation(
            await runStackPolicy(policy, [reading("envFrom", { prefix: "SECRET_" }), cm]),
            'key "ADMIN"',
        );
        const config = { "configmap-no-literal-credentials": { allowedKeys: ["SECRET_ADMIN"] } };
        assertClean(await runStackPolicy(policy, [reading("envFrom", { prefix: "SECRET_" }), cm], config));
    });

    it("flags a key read through configMapKeyRef, by the env var's name or the key's", async () => {
        assertOneViolation(
            await runStackPolicy(policy, [reading("keyRef"), configMap("db-config", { POSTGRES_PASSWORD: "hunter2" })]),
            'as env var "DB_PASSWORD" of container "router"',
        );
    });

    it("flags a URL with a password in a key read as an env var", async () => {
        const cm = configMap("db-config", { DATABASE_URL: "postgres://exchange:hunter2@db:5432/exchange" });
        assertOneViolation(await runStackPolicy(policy, [reading("envFrom"), cm]), "embedded password");
    });

    it("flags password lines of mounted config files, and files named like a credential", async () => {
        const files: [string, string, string][] = [
            [
                "application.properties",
                "server.port=8080\nspring.datasource.password=hunter2\n",
                'line 2 sets "spring.datasource.password"',
            ],
            ["config.yaml", 'db:\n  host: db\n  password: "hunter2"\n', 'line 3 sets "password"'],
            ["settings.json", '{\n  "apiKey": "hunter2",\n  "port": 80\n}', 'line 2 sets "apiKey"'],
            ["redis.conf", "port 6379\nrequirepass hunter2\n", 'line 2 sets "requirepass"'],
            ["db-password", "hunter2", "file whose name marks it as a credential"],
            ["app.env", "DATABASE_URL=postgres://u:hunter2@db/x\n", "line 1 holds a URL with an embedded password"],
        ];
        for (const [file, content, why] of files) {
            const msg = assertOneViolation(
                await runStackPolicy(policy, [reading("volume"), configMap("db-config", { [file]: content })]),
                `key "${file}"`,
                why,
            );
            assert.ok(!msg.includes("hunter2"));
        }
        assertOneViolation(
            await runStackPolicy(policy, [
                reading("projected"),
                configMap("db-config", { "redis.conf": "requirepass hunter2" }),
            ]),
            "projected volume",
        );
    });

    it("passes config files without literal credentials (placeholders, comments, empty values)", async () => {
        const cm = configMap("db-config", {
            "application.properties":
                "# password=changeme\nspring.datasource.password=${DB_PASSWORD}\nspring.datasource.username=exchange\n",
            "config.yaml": "db:\n  password:\n  passwordFile: /run/secrets/db\n",
            "nginx.conf": "server {\n  listen 8080;\n}\n",
        });
        assertClean(await runStackPolicy(policy, [reading("volume"), cm]));
    });

    it("only reads the keys a volume's items select", async () => {
        const cm = configMap("db-config", { "app.conf": "port 80", "redis.conf": "requirepass hunter2" });
        assertClean(
            await runStackPolicy(policy, [reading("volume", { items: [{ key: "app.conf", path: "app.conf" }] }), cm]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [
                reading("volume", { items: [{ key: "redis.conf", path: "redis.conf" }] }),
                cm,
            ]),
            "requirepass",
        );
    });

    it("leaves alone ConfigMaps that no pod of the stack reads, or that pods on another cluster or namespace read", async () => {
        const cm = configMap("db-config", { POSTGRES_PASSWORD: "hunter2" });
        assertClean(await runStackPolicy(policy, [deployment(), cm]));
        assertClean(await runStackPolicy(policy, [onCluster(reading("envFrom"), "eu-cluster"), cm]));
        assertClean(
            await runStackPolicy(policy, [
                reading("envFrom"),
                configMap("db-config", { POSTGRES_PASSWORD: "hunter2" }, { metadata: { namespace: "other" } }),
            ]),
        );
    });

    it("checks the keys a ConfigMapPatch sets on a ConfigMap that pods read", async () => {
        const cmPatch = patch("ConfigMapPatch", "db-password", {
            metadata: { name: "db-config" },
            data: { POSTGRES_PASSWORD: "hunter2" },
        });
        assertOneViolation(
            await runStackPolicy(policy, [reading("envFrom"), cmPatch]),
            'ConfigMapPatch "db-config" key "POSTGRES_PASSWORD"',
        );
        assertOneViolation(
            await runStackPolicy(policy, [reading("envFrom"), configMap("db-config", settings), cmPatch]),
            '(as patched by "db-password")',
        );
    });

    it("checks StatefulSets and init containers", async () => {
        const sts = mutate(
            statefulSet(),
            (p) =>
                (p.spec.template.spec.initContainers = [
                    container({ name: "init", envFrom: [{ configMapRef: { name: "db-config" } }] }),
                ]),
        );
        assertOneViolation(
            await runStackPolicy(policy, [sts, configMap("db-config", { POSTGRES_PASSWORD: "hunter2" })]),
            'envFrom of init container "init"',
        );
    });

    it("reports nothing while the data, a value or the referenced name is unknown", async () => {
        assertClean(await runStackPolicy(policy, [reading("envFrom"), configMap("db-config", unknown.object as any)]));
        assertClean(
            await runStackPolicy(policy, [
                reading("envFrom"),
                configMap("db-config", { POSTGRES_PASSWORD: unknown.string }),
            ]),
        );
        const unknownRef = mutate(
            reading("envFrom"),
            (p) => (p.spec.template.spec.containers[0].envFrom[0].configMapRef.name = unknown.string),
        );
        assertClean(
            await runStackPolicy(policy, [unknownRef, configMap("db-config", { POSTGRES_PASSWORD: "hunter2" })]),
        );
    });
});
