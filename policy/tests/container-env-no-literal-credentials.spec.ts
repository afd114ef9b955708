import * as assert from "node:assert/strict";
import { containerEnvNoLiteralCredentials as policy } from "../policies";
import { assertClean, assertMetadata, assertOneViolation } from "./assertions";
import { container, deployment, mutate, patch } from "../testing/fixtures";
import { runResourcePolicy, unknown } from "../testing/harness";

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
            await runResourcePolicy(
                policy,
                withEnv({
                    name: "DATABASE_URL",
                    value: "postgres://exchange:hunter2@exchange-postgres-service:80/exchange",
                }),
            ),
            'env var "DATABASE_URL" (spec.template.spec.containers[0].env[0]) holds a URL with an embedded password',
            "valueFrom.secretKeyRef",
            "$(VAR_NAME)",
        );
        assert.ok(!msg.includes("hunter2"), "the message must not leak the credential");
    });

    for (const name of ["DB_PASSWORD", "jwt_secret", "ApiToken", "REDIS_PASSWORD"]) {
        it(`flags a literal value for ${name}`, async () => {
            const msg = assertOneViolation(
                await runResourcePolicy(
                    policy,
                    withEnv({ name: "LOG_LEVEL", value: "info" }, { name, value: "p4ss-w0rd" }),
                ),
                `env var "${name}" (spec.template.spec.containers[0].env[1]) has a name that marks it as a credential`,
            );
            assert.ok(!msg.includes("p4ss-w0rd"));
        });
    }

    it("checks init containers", async () => {
        const d = mutate(
            deployment(),
            (p) =>
                (p.spec.template.spec.initContainers = [
                    container({ name: "migrate", env: [{ name: "PGPASSWORD", value: "x" }] }),
                ]),
        );
        assertOneViolation(await runResourcePolicy(policy, d), 'init container "migrate"', '"PGPASSWORD"');
    });

    it("exempts names on allowedEnvNames from the name check, but not from the URL check", async () => {
        const config = {
            "container-env-no-literal-credentials": { allowedEnvNames: ["TOKEN_TTL_SECONDS", "UPSTREAM_TOKEN_URL"] },
        };
        assertClean(await runResourcePolicy(policy, withEnv({ name: "TOKEN_TTL_SECONDS", value: "3600" }), config));
        assertOneViolation(
            await runResourcePolicy(policy, withEnv({ name: "TOKEN_TTL_SECONDS", value: "3600" })),
            "TOKEN_TTL_SECONDS",
        );
        assertOneViolation(
            await runResourcePolicy(
                policy,
                withEnv({ name: "UPSTREAM_TOKEN_URL", value: "https://u:p@upstream.internal/" }),
                config,
            ),
            "holds a URL",
        );
    });

    it("reports nothing during preview when a value or the env list is unknown", async () => {
        assertClean(await runResourcePolicy(policy, withEnv({ name: "DB_PASSWORD", value: unknown.string })));
        assertClean(
            await runResourcePolicy(
                policy,
                mutate(deployment(), (p) => (p.spec.template.spec.containers[0].env = unknown.array)),
            ),
        );
        assertClean(await runResourcePolicy(policy, withEnv(unknown.object, { name: "LOG_LEVEL", value: "info" })));
    });

    describe("credentials in URLs and connection strings", () => {
        const leaks: [string, string][] = [
            ["redis://:hunter2@exchange-redis-service:80/0", "embedded password"],
            ["amqp://:hunter2@rabbit:5672/", "embedded password"],
            ["postgres://exchange@db/exchange?sslmode=require&password=hunter2", '"password=" parameter'],
            ["jdbc:postgresql://db:5432/exchange?user=exchange&password=hunter2", '"password=" parameter'],
            ["jdbc:sqlserver://db:1433;databaseName=exchange;user=sa;password=hunter2", '"password=" parameter'],
            ["Server=db;Database=exchange;User Id=sa;Pwd=hunter2;", '"Pwd=" parameter'],
            ["https://api.example.test/v1?api_key=hunter2", '"api_key=" parameter'],
            ["DefaultEndpointsProtocol=https;AccountName=x;AccountKey=aHVudGVyMg==;", '"AccountKey=" parameter'],
            ["mongodb://user:hunter2%40x@mongo:27017/", "embedded password"],
        ];
        for (const [value, why] of leaks) {
            it(`flags ${value.replace("hunter2", "…")}`, async () => {
                const msg = assertOneViolation(
                    await runResourcePolicy(policy, withEnv({ name: "CONNECTION", value })),
                    why,
                );
                assert.ok(!msg.includes("hunter2"), "the message must not leak the credential");
            });
        }

        const fine = [
            "redis://exchange-redis-service:80/0",
            "redis://:$(REDIS_PASSWORD)@exchange-redis-service:80/0",
            "postgres://exchange:${PGPASSWORD}@db/exchange",
            "jdbc:postgresql://db:5432/exchange?user=exchange&password=$(DB_PASSWORD)",
            "https://auth.example.test/token?grant_type=client_credentials",
            "postgres://exchange:@db/exchange",
            "Server=db;Database=exchange;Integrated Security=true;",
            "https://example.test/?password=",
        ];
        for (const value of fine) {
            it(`passes ${value}`, async () => {
                assertClean(await runResourcePolicy(policy, withEnv({ name: "CONNECTION", value })));
            });
        }

        it("passes names that point at a credential rather than hold it", async () => {
            const env = [
                { name: "POSTGRES_PASSWORD_FILE", value: "/run/secrets/postgres-password" },
                { name: "TLS_SECRET_NAME", value: "exchange-tls" },
                { name: "TOKEN_URL", value: "https://auth.example.test/oauth/token" },
            ];
            assertClean(await runResourcePolicy(policy, withEnv(...env)));
        });
    });

    describe("patches", () => {
        it("checks the env values a DeploymentPatch sets", async () => {
            const envPatch = patch("DeploymentPatch", "creds", {
                metadata: { name: "exchange-router" },
                spec: {
                    template: {
                        spec: { containers: [{ name: "router", env: [{ name: "DB_PASSWORD", value: "hunter2" }] }] },
                    },
                },
            });
            assertOneViolation(
                await runResourcePolicy(policy, envPatch),
                'DeploymentPatch "exchange-router" env var "DB_PASSWORD"',
            );
        });
    });
});
