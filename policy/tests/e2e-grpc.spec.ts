// End-to-end: starts the pack as the Pulumi CLI does (its folder, so package.json "main": the bundle
// bin/bundle.js), and talks to it over
// the analyzer gRPC protocol on the loopback interface: GetAnalyzerInfo, Configure, Analyze,
// AnalyzeStack, Remediate. This checks what the in-process harness cannot: that the pack loads from
// bin/, that the SDK accepts the policies and their config schemas, and how the SDK's own server
// treats unknown preview values sent as the engine sends them.

import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { EXTERNAL_WORKLOAD_ANNOTATION } from "../lib/k8s";
import { UNKNOWN_SENTINELS } from "../lib/values";
import { POLICY_PACK_NAME, policies } from "../policies";
import {
    deployment,
    exchangeService,
    exchangeStack,
    ingress,
    mutate,
    networkPolicy,
    service,
} from "../testing/fixtures";
import { TestResource } from "../testing/harness";

const grpc: any = require("@grpc/grpc-js");
const analyzerPb: any = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerGrpc: any = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct }: any = require("google-protobuf/google/protobuf/struct_pb");
const { Empty }: any = require("google-protobuf/google/protobuf/empty_pb");

const PACK_DIR = path.resolve(__dirname, "..", "..");
const LEVEL_NAMES: Record<number, string> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate" };
const LEVEL_ENUM: Record<string, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };

function urnOf(r: TestResource): string {
    return `urn:pulumi:ci::exchange-platform::${r.type}::${r.name}`;
}

function resourceOptions(r: TestResource): any {
    const opts = new analyzerPb.AnalyzerResourceOptions();
    opts.setProtect(false);
    // The engine sends the resource's ignoreChanges option; workload-replicas-left-to-hpa reads it.
    opts.setIgnorechangesList(r.opts?.ignoreChanges ?? []);
    return opts;
}

/** Fills what an AnalyzeRequest and a stack's AnalyzerResource both carry, from a test resource. */
function withResource(message: any, r: TestResource): any {
    message.setType(r.type);
    message.setName(r.name);
    message.setUrn(urnOf(r));
    message.setProperties(Struct.fromJavaScript(r.props));
    message.setOptions(resourceOptions(r));
    return message;
}

function analyzeRequest(r: TestResource): any {
    return withResource(new analyzerPb.AnalyzeRequest(), r);
}

function stackRequest(resources: TestResource[]): any {
    const req = new analyzerPb.AnalyzeStackRequest();
    req.setResourcesList(resources.map((r) => withResource(new analyzerPb.AnalyzerResource(), r)));
    return req;
}

interface Diag {
    policyName: string;
    level: string;
    message: string;
    urn: string;
}

function diagnostics(resp: any): Diag[] {
    return resp.getDiagnosticsList().map((d: any) => ({
        policyName: d.getPolicyname(),
        level: LEVEL_NAMES[d.getEnforcementlevel()],
        message: d.getMessage(),
        urn: d.getUrn(),
    }));
}

describe("policy pack over gRPC (bin/bundle.js, as the Pulumi CLI runs it)", function () {
    this.timeout(60000);
    let child: ChildProcess | undefined;
    let client: any;
    let stderr = "";

    const call = <T>(method: string, req: any): Promise<T> =>
        new Promise((resolve, reject) => {
            client[method](req, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp)));
        });

    const analyzeAll = async (resources: TestResource[]): Promise<Diag[]> => {
        const out: Diag[] = [];
        for (const r of resources) {
            // The engine attaches a resource diagnostic to the analyzed resource (the SDK leaves urn empty).
            out.push(
                ...diagnostics(await call("analyze", analyzeRequest(r))).map((d) => ({ ...d, urn: d.urn || urnOf(r) })),
            );
        }
        out.push(...diagnostics(await call("analyzeStack", stackRequest(resources))));
        return out;
    };

    const configure = async (
        config: Record<string, { enforcementLevel: string; [k: string]: unknown }>,
    ): Promise<void> => {
        const req = new analyzerPb.ConfigureAnalyzerRequest();
        const map = req.getPolicyconfigMap();
        for (const [name, { enforcementLevel, ...props }] of Object.entries(config)) {
            const pc = new analyzerPb.PolicyConfig();
            pc.setEnforcementlevel(LEVEL_ENUM[enforcementLevel]);
            pc.setProperties(Struct.fromJavaScript(props));
            map.set(name, pc);
        }
        await call("configure", req);
    };

    before(async () => {
        child = spawn(process.execPath, [PACK_DIR], {
            cwd: PACK_DIR,
            stdio: ["ignore", "pipe", "pipe"],
        });
        child.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`no port printed; stderr: ${stderr}`)), 30000);
            child!.stdout!.on("data", (d) => {
                out += String(d);
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            });
            child!.on("exit", (code) => reject(new Error(`policy pack exited with ${code}; stderr: ${stderr}`)));
        });
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        if (child && child.exitCode === null) {
            child.kill();
        }
    });

    it("serves every policy with its default level and config schema", async () => {
        const info: any = await call("getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), POLICY_PACK_NAME);
        const served = info.getPoliciesList().map((p: any) => ({
            name: p.getName(),
            level: LEVEL_NAMES[p.getEnforcementlevel()],
            schema: p.getConfigschema()?.getProperties()?.toJavaScript(),
        }));
        assert.deepEqual(
            served.map((p: any) => [p.name, p.level]),
            policies.map((p) => [p.name, p.enforcementLevel]),
        );
        const clusterIp = served.find((p: any) => p.name === "service-clusterip-by-default");
        assert.deepEqual(clusterIp.schema.allowedLoadBalancers, {
            type: "array",
            items: { type: "string" },
            default: [],
            description: policies[0].configSchema!.properties.allowedLoadBalancers.description,
        });
    });

    it("reports nothing for the exchange platform (resource and stack analysis)", async () => {
        const diags = await analyzeAll([
            ...exchangeStack(),
            exchangeService("router", "headless"),
            exchangeService("router", "multiport"),
        ]);
        assert.deepEqual(diags, []);
    });

    it("reports a mandatory violation for an unlisted LoadBalancer and for a selector typo", async () => {
        const lb = exchangeService("router", "external");
        const typo = service({ spec: { selector: { app: "exchange-routr" } } });
        const diags = await analyzeAll([deployment(), lb, typo, networkPolicy()]);
        assert.deepEqual(
            diags.map((d) => [d.policyName, d.level, d.urn]),
            [
                ["service-clusterip-by-default", "mandatory", urnOf(lb)],
                ["service-selector-matches-workload", "mandatory", urnOf(typo)],
            ],
        );
        assert.match(diags[0].message, /is of type LoadBalancer/);
        assert.match(diags[1].message, /has selector \{app=exchange-routr\}/);
    });

    it("reports nothing, not even a 'can't run during preview' diagnostic, for unknown values", async () => {
        const u = UNKNOWN_SENTINELS;
        const resources = [
            mutate(deployment(), (p) => {
                p.spec.selector.matchLabels.app = u.string;
                p.spec.template.metadata.labels = u.object;
                p.spec.template.spec.containers[0].image = u.string;
                p.spec.template.spec.containers[0].resources = u.object;
                p.spec.template.spec.securityContext = u.object;
            }),
            mutate(exchangeService("router", "external"), (p) => (p.spec.type = u.string)),
            mutate(service(), (p) => (p.spec.ports[0].targetPort = u.number)),
            exchangeService("ws-stream"),
            mutate(ingress(), (p) => {
                p.spec.rules[0].http.paths[0].backend.service.name = u.string;
                p.spec.tls = u.array;
            }),
            mutate(networkPolicy(), (p) => (p.spec.podSelector = u.object)),
        ];
        assert.deepEqual(await analyzeAll(resources), []);
    });

    it("honours the pack config: levels, allowlists and exemptions", async () => {
        await configure({
            "service-clusterip-by-default": {
                enforcementLevel: "mandatory",
                allowedLoadBalancers: ["exchange-router-external"],
            },
            "service-selector-matches-workload": { enforcementLevel: "advisory" },
            "container-readiness-probe": { enforcementLevel: "mandatory" },
        });
        const lb = exchangeService("router", "external");
        const typo = service({ spec: { selector: { app: "exchange-routr" } } });
        const noProbe = mutate(deployment(), (p) => delete p.spec.template.spec.containers[0].readinessProbe);
        const diags = await analyzeAll([noProbe, lb, typo, networkPolicy()]);
        assert.deepEqual(
            diags.map((d) => [d.policyName, d.level]),
            [
                ["container-readiness-probe", "mandatory"],
                ["service-selector-matches-workload", "advisory"],
            ],
        );
        const exempt = mutate(typo, (p) => (p.metadata.annotations = { [EXTERNAL_WORKLOAD_ANNOTATION]: "true" }));
        assert.deepEqual(await analyzeAll([deployment(), exempt, networkPolicy()]), []);
    });

    it("fails the analysis, naming the key, when the config has a key the policy does not declare", async () => {
        // The CLI lets unknown keys through its schema check; the policies refuse them.
        await configure({ "service-clusterip-by-default": { enforcementLevel: "mandatory", allowedLoadBalancer: [] } });
        await assert.rejects(
            call("analyze", analyzeRequest(service())),
            /unknown key\(s\) "allowedLoadBalancer".*accepts "allowedLoadBalancers", "allowedNodePorts"/s,
        );
        await configure({ "ingress-tls-required": { enforcementLevel: "advisory", hosts: [] } });
        await assert.rejects(
            call("analyze", analyzeRequest(ingress())),
            /"ingress-tls-required": unknown key\(s\) "hosts"/,
        );
        await configure({});
        assert.deepEqual(await analyzeAll(exchangeStack()), []);
    });

    it("remediates a LoadBalancer to ClusterIP at level remediate", async () => {
        await configure({ "service-clusterip-by-default": { enforcementLevel: "remediate" } });
        const lb = exchangeService("router", "external", { spec: { externalTrafficPolicy: "Local" } });
        const resp: any = await call("remediate", analyzeRequest(lb));
        const remediations = resp.getRemediationsList();
        assert.equal(remediations.length, 1);
        assert.equal(remediations[0].getPolicyname(), "service-clusterip-by-default");
        const props = remediations[0].getProperties().toJavaScript();
        assert.equal(props.spec.type, "ClusterIP");
        assert.equal("externalTrafficPolicy" in props.spec, false);
        assert.deepEqual(props.spec.selector, { app: "exchange-router" });
        assert.equal(stderr.includes("Error"), false, stderr);
    });
});
