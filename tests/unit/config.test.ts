/** The config contract: defaults, and every kind of bad value refused before anything is registered. */
import * as assert from "assert";
import { ConfigError, parseConfig } from "../../config";
import { imagePinProblem as imageTagProblem } from "@exchange/contract";
import { stackConfig, withConfig } from "../support";
import { runProgram } from "./harness";

describe("config defaults", () => {
    it("an empty config gives the contract's platform: namespace default, ClusterIP, no variants", () => {
        const config = parseConfig({}, "dev");
        assert.strictEqual(config.namespace, "default");
        assert.strictEqual(config.publicEntry.className, "nginx");
        assert.strictEqual(config.publicEntry.host, undefined);
        assert.strictEqual(config.networkPolicy.enabled, true);
        for (const service of [config.router, config.wsStream, config.postgres, config.redis]) {
            assert.strictEqual(service.serviceType, "ClusterIP");
            assert.strictEqual(service.sessionAffinity, "None");
            assert.strictEqual(service.sessionAffinityTimeoutSeconds, 10800);
            assert.strictEqual(service.external, false);
            assert.strictEqual(service.headless, false);
            assert.strictEqual(service.metricsPort, undefined);
            assert.strictEqual(service.replicas, 1);
            assert.strictEqual(imageTagProblem(service.image), undefined);
        }
        assert.strictEqual(config.postgres.user, "exchange");
        assert.strictEqual(config.postgres.database, "exchange");
        assert.strictEqual(config.postgres.storage.protect, false);
    });

    it("accepts images by digest and with a registry port", () => {
        assert.strictEqual(
            imageTagProblem("postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            undefined,
        );
        assert.strictEqual(imageTagProblem("registry.local:5000/exchange/router:1.2.3"), undefined);
        assert.notStrictEqual(imageTagProblem("registry.local:5000/exchange/router"), undefined);
    });
});

/** Each case: the override, and the fragments the message must contain (key, value, what is allowed). */
const INVALID: [string, Record<string, unknown>, string[]][] = [
    ["unknown top-level key", { routr: { replicas: 2 } }, ["exchange:routr", "unknown key", "router"]],
    [
        "unknown key inside a service",
        { router: { replica: 2 } },
        ["exchange:router.replica", "unknown key", "replicas"],
    ],
    [
        "service type outside the list",
        { router: { serviceType: "NodePort" } },
        ["exchange:router.serviceType", '"NodePort"', "ClusterIP, LoadBalancer"],
    ],
    [
        "session affinity outside the list",
        { wsStream: { sessionAffinity: "Cookie" } },
        ["exchange:wsStream.sessionAffinity", '"Cookie"', "None, ClientIP"],
    ],
    [
        "affinity timeout too large",
        { wsStream: { sessionAffinityTimeoutSeconds: 86401 } },
        ["exchange:wsStream.sessionAffinityTimeoutSeconds", "86401", "1 to 86400"],
    ],
    [
        "affinity timeout zero",
        { router: { sessionAffinityTimeoutSeconds: 0 } },
        ["exchange:router.sessionAffinityTimeoutSeconds", "0", "1 to 86400"],
    ],
    ["replicas below 1", { router: { replicas: 0 } }, ["exchange:router.replicas", "0", "1 to 100"]],
    ["replicas not an integer", { wsStream: { replicas: 1.5 } }, ["exchange:wsStream.replicas", "1.5", "integer"]],
    ["replicas as text", { wsStream: { replicas: "three" } }, ["exchange:wsStream.replicas", '"three"', "integer"]],
    ["a second postgres writer", { postgres: { replicas: 2 } }, ["exchange:postgres.replicas", "2", "1 to 1"]],
    [
        "image without a tag",
        { router: { image: "exchange/router" } },
        ["exchange:router.image", '"exchange/router"', "pinned tag"],
    ],
    ["image tagged latest", { redis: { image: "redis:latest" } }, ["exchange:redis.image", '"redis:latest"', "latest"]],
    [
        "metrics port out of range",
        { router: { metricsPort: 70000 } },
        ["exchange:router.metricsPort", "70000", "1 to 65535"],
    ],
    [
        "metrics port equal to the service port",
        { router: { metricsPort: 8080 } },
        ["exchange:router.metricsPort", "8080", "differ"],
    ],
    ["external not a boolean", { router: { external: "yes" } }, ["exchange:router.external", '"yes"', "true or false"]],
    [
        "bad CPU quantity",
        { router: { resources: { limits: { cpu: "lots" } } } },
        ["exchange:router.resources.limits.cpu", '"lots"', "250m"],
    ],
    [
        "requests above limits",
        { router: { resources: { requests: { memory: "2Gi" } } } },
        ["exchange:router.resources.requests.memory", '"2Gi"', "limits.memory"],
    ],
    ["bad storage size", { redis: { storage: { size: "big" } } }, ["exchange:redis.storage.size", '"big"', "10Gi"]],
    [
        "namespace not a DNS label",
        { namespace: "Trading_Floor" },
        ["exchange:namespace", '"Trading_Floor"', "DNS label"],
    ],
    [
        "TLS without a host",
        { publicEntry: { tls: { secretName: "tls", clusterIssuer: "le" } } },
        ["exchange:publicEntry", "needs publicEntry.host"],
    ],
    [
        "TLS missing its issuer",
        { publicEntry: { host: "exchange.example.com", tls: { secretName: "tls" } } },
        ["exchange:publicEntry.tls.clusterIssuer", "required"],
    ],
    ["service settings not an object", { redis: "small" }, ["exchange:redis", '"small"', "object"]],
];

describe("invalid config is refused before any resource is registered", () => {
    for (const [title, override, fragments] of INVALID) {
        it(title, async () => {
            // Over the dev stack, which has no publicEntry host.
            const run = await runProgram(withConfig(stackConfig("dev"), override));
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
            for (const fragment of fragments) {
                assert.ok(
                    run.error.message.includes(fragment),
                    `message lacks ${JSON.stringify(fragment)}:\n${run.error.message}`,
                );
            }
            assert.deepStrictEqual(run.resources, [], "nothing may be registered");
        });
    }

    it("reports every problem at once", () => {
        assert.throws(
            () => parseConfig({ router: JSON.stringify({ replicas: 0, serviceType: "NodePort" }), bogus: "1" }, "dev"),
            (error: ConfigError) => error.problems.length === 3,
        );
    });

    it("a malformed structured value names its key", () => {
        assert.throws(() => parseConfig({ router: "{replicas: 2" }, "dev"), /exchange:router: .*structured/);
    });
});

/** STACK's file as it was before exchange:ingress became exchange:publicEntry. */
function fromBeforeTheRename(stack: string): Record<string, string> {
    const { "exchange:publicEntry": settings, ...rest } = stackConfig(stack);
    assert.ok(settings !== undefined, `Pulumi.${stack}.yaml sets exchange:publicEntry`);
    return { ...rest, "exchange:ingress": settings };
}

describe("a stack file that still has exchange:ingress is refused before any resource is registered", () => {
    it("prod: the error names the old key and the new one and gives the commands that move the settings", async () => {
        const run = await runProgram(fromBeforeTheRename("prod"), "prod");
        assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
        assert.deepStrictEqual(run.error.problems, [
            [
                "exchange:ingress was renamed to exchange:publicEntry, with the same settings; move them: in Pulumi.prod.yaml, rename the key exchange:ingress to exchange:publicEntry, or run",
                "      pulumi config set --path exchange:publicEntry.host exchange.jogeshwar.xyz --stack prod",
                "      pulumi config set --path exchange:publicEntry.className nginx --stack prod",
                "      pulumi config set --path exchange:publicEntry.tls.secretName exchange-tls --stack prod",
                "      pulumi config set --path exchange:publicEntry.tls.clusterIssuer letsencrypt-prod --stack prod",
                "      pulumi config rm exchange:ingress --stack prod",
            ].join("\n"),
        ]);
        assert.deepStrictEqual(run.resources, [], "nothing may be registered");
    });

    it("dev: refused as well, with its one setting to move", async () => {
        const run = await runProgram(fromBeforeTheRename("dev"), "dev");
        assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
        assert.match(
            run.error.message,
            /exchange:ingress was renamed to exchange:publicEntry.*\n {6}pulumi config set --path exchange:publicEntry\.className nginx --stack dev\n {6}pulumi config rm exchange:ingress --stack dev$/,
        );
        assert.deepStrictEqual(run.resources, [], "nothing may be registered");
    });

    it("beside exchange:publicEntry, the old key is still refused rather than ignored", async () => {
        const run = await runProgram(withConfig(stackConfig("dev"), { ingress: { controller: "traefik" } }));
        assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
        assert.strictEqual(run.error.problems.length, 1);
        assert.match(run.error.message, /exchange:ingress was renamed to exchange:publicEntry/);
        assert.match(
            run.error.message,
            /pulumi config set --path exchange:publicEntry\.controller traefik --stack dev/,
        );
        assert.deepStrictEqual(run.resources, [], "nothing may be registered");
    });

    it("the commands keep booleans bare and quote a value the shell would split", () => {
        const oldValue = JSON.stringify({ stickySessions: true, host: "it's an example" });
        assert.throws(
            () => parseConfig({ ingress: oldValue }, "dev"),
            (error: ConfigError) =>
                error.message.includes(
                    "pulumi config set --path exchange:publicEntry.stickySessions true --stack dev",
                ) &&
                error.message.includes(
                    "pulumi config set --path exchange:publicEntry.host 'it'\\''s an example' --stack dev",
                ),
        );
    });
});
