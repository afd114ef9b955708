import * as assert from "node:assert/strict";
import { containerEnvNoLiteralCredentials as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate } from "./fixtures";
import { runResourcePolicy, unknown } from "./harness";

const withEnv = (...env: unknown[]) => mutate(deployment(), (p) => (p.spec.template.spec.containers[0].env = env));

describe("container-env-no-literal-credentials", () => {
    it("has the documented name, description and default level", () => {
        assertMetadata(policy, "container-env-no-literal-credentials", "advisory", "PASSWORD, SECRET or TOKEN");
        assert.deepEqual(policy.configSchema!.properties.allowedEnvNames.default, []);
    });

    it("passes valueFrom secrets, plain settings and $(VAR) references in URLs", async () => {
        assertClean(await runResourcePolicy(policy, deployment()));
        assertClean(
            await runResourcePolicy(
                policy,
                withEnv(
                    { name: "REDIS_URL", value: "redis://exchange-redis-service:80/0" },
                    { name: "API_TOKEN", valueFrom: { secretKeyRef: { name: "api", key: "token" } } },
                    { name: "DB_PASSWORD", value: "$(VAULT_DB_PASSWORD)" },
                    { name: "SESSION_SECRET", value: "" },
                ),
            ),
        );
    });

    it("flags a URL with user:password without repeating the password", async () => {
        const msg = assertOneViolation(
            await runResourcePolicy(policy, withEnv({ name: "DATABASE_URL", value: "postgres://exchange:hunter2@exchange-postgres-service:80/exchange" })),
            'env var "DATABASE_URL" (spec.template.spec.containers[0].env[0]) holds a URL with an embedded password',
            "valueFrom.secretKeyRef",
            "$(VAR_NAME)",
        );
        assert.ok(!msg.includes("hunter2"), "the message must not leak the credential");
    });

    for (const name of ["DB_PASSWORD", "jwt_secret", "ApiToken", "REDIS_PASSWORD"]) {
        it(`flags a literal value for ${name}`, async () => {
            const msg = assertOneViolation(
                await runResourcePolicy(policy, withEnv({ name: "LOG_LEVEL", value: "info" }, { name, value: "p4ss-w0rd" })),
                `env var "${name}" (spec.template.spec.containers[0].env[1]) has a name that marks it as a credential`,
            );
            assert.ok(!msg.includes("p4ss-w0rd"));
        });
    }

    it("checks init containers", async () => {
        const d = mutate(deployment(), (p) => (p.spec.template.spec.initContainers = [container({ name: "migrate", env: [{ name: "PGPASSWORD", value: "x" }] })]));
        assertOneViolation(await runResourcePolicy(policy, d), 'init container "migrate"', '"PGPASSWORD"');
    });

    it("exempts names on allowedEnvNames from the name check, but not from the URL check", async () => {
        const config = { "container-env-no-literal-credentials": { allowedEnvNames: ["TOKEN_TTL_SECONDS", "UPSTREAM_TOKEN_URL"] } };
        assertClean(await runResourcePolicy(policy, withEnv({ name: "TOKEN_TTL_SECONDS", value: "3600" }), config));
        assertOneViolation(await runResourcePolicy(policy, withEnv({ name: "TOKEN_TTL_SECONDS", value: "3600" })), "TOKEN_TTL_SECONDS");
        assertOneViolation(
            await runResourcePolicy(policy, withEnv({ name: "UPSTREAM_TOKEN_URL", value: "https://u:p@upstream.internal/" }), config),
            "holds a URL",
        );
    });

    it("reports nothing during preview when a value or the env list is unknown", async () => {
        assertClean(await runResourcePolicy(policy, withEnv({ name: "DB_PASSWORD", value: unknown.string })));
        assertClean(await runResourcePolicy(policy, mutate(deployment(), (p) => (p.spec.template.spec.containers[0].env = unknown.array))));
        assertClean(await runResourcePolicy(policy, withEnv(unknown.object, { name: "LOG_LEVEL", value: "info" })));
    });
});
