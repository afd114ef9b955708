/**
 * TLS at the prod stack's front door (./prod-stack.ts), as real clients see it from the nodes: the
 * certificate in the Secret the stack names (`publicEntry.tls.secretName`) served for the stack's
 * host (SNI) and verified against the CA that issued it, WebSockets over wss://, the affinity
 * cookie `Secure` and `HttpOnly`, and a renewal that no request notices.
 *
 * The issuer here is the suite: a local CA made with openssl signs a certificate of one day and
 * writes it into the Secret, exactly what cert-manager's ClusterIssuer would write (a
 * `kubernetes.io/tls` Secret, updated in place on renewal). cert-manager itself cannot be built
 * here (docs/front-doors.md says why); what this proves is everything downstream of the Secret.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { eventually, runCommand } from "../support";
import { PUBLIC_ROUTES } from "@exchange/contract";
import { heldWebSocketClients, httpLoop, onNode } from "../e2e/cluster";
import { prodStack } from "./prod-stack";

/** How long the front door may take to serve a Secret's new certificate. */
const RELOAD_BOUND_MS = 30_000;
const SECURE_ANNOTATION = "nginx.ingress.kubernetes.io/session-cookie-secure";

interface Issued {
    certificate: string;
    key: string;
    serial: string;
}

async function openssl(args: string[], cwd: string): Promise<string> {
    const result = await runCommand("openssl", args, { cwd, timeoutMs: 30_000 });
    assert.strictEqual(result.code, 0, `openssl ${args.join(" ")}:\n${result.output}`);
    return result.stdout;
}

/** A CA of its own in DIR/NAME.crt and .key, valid for a day. */
async function makeCa(dir: string, name: string): Promise<string> {
    await openssl(
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.crt`,
            "-days",
            "1",
            "-subj",
            `/CN=${name}`,
        ]),
        dir,
    );
    return path.join(dir, `${name}.crt`);
}

/** A server certificate for HOST signed by CA (DIR/CA.crt), serial SERIAL, valid for a day. */
async function issue(dir: string, ca: string, host: string, serial: number): Promise<Issued> {
    const name = `${host}-${serial}`;
    fs.writeFileSync(
        path.join(dir, `${name}.ext`),
        `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`,
    );
    await openssl(
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.csr`,
            "-subj",
            `/CN=${host}`,
        ]),
        dir,
    );
    await openssl(
        ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`].concat([
            "-set_serial",
            String(serial),
            "-days",
            "1",
            "-extfile",
            `${name}.ext`,
            "-out",
            `${name}.crt`,
        ]),
        dir,
    );
    return {
        certificate: path.join(dir, `${name}.crt`),
        key: path.join(dir, `${name}.key`),
        serial: (await openssl(["x509", "-noout", "-serial", "-in", `${name}.crt`], dir)).trim(),
    };
}

describe("several real nodes: TLS at the prod stack's front door", function () {
    this.timeout(20 * 60 * 1000);
    let kubectl: Kubectl;
    let host: string;
    let ingressAddress: string;
    let secretName: string;
    let dir: string;
    let ca: string;
    let otherCa: string;
    let first: Issued;

    /** Writes ISSUED into the stack's Secret, in place, as an issuer does on issue and renewal. */
    async function writeSecret(issued: Issued): Promise<void> {
        const manifest = await kubectl.run(
            ["create", "secret", "tls", secretName, `--cert=${issued.certificate}`, `--key=${issued.key}`].concat([
                "--dry-run=client",
                "-o",
                "yaml",
            ]),
        );
        const file = path.join(dir, "secret.yaml");
        fs.writeFileSync(file, manifest, { mode: 0o600 });
        await kubectl.run(["apply", "-f", file]);
    }

    /** curl from node INDEX's namespace to the stack's host at the front door, with ARGS. */
    function curlFromNode(index: number, url: string, args: string[] = []) {
        return onNode(index, [
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--resolve",
            `${host}:443:${ingressAddress}`,
            ...args,
            url,
        ]);
    }

    /** The serial of the certificate the front door serves for the stack's host now. */
    async function servedSerial(): Promise<string> {
        const script =
            `openssl s_client -connect ${ingressAddress}:443 -servername ${host} </dev/null 2>/dev/null` +
            " | openssl x509 -noout -serial";
        const result = await onNode(1, ["timeout", "10", "bash", "-c", script]);
        assert.strictEqual(result.code, 0, result.output);
        return result.stdout.trim();
    }

    /** The affinity cookie a WebSocket upgrade through the front door sets (curl, HTTP/1.1). */
    async function affinityCookie(): Promise<string> {
        const upgrade = await curlFromNode(1, `https://${host}${PUBLIC_ROUTES.stream.pathPrefix}`, [
            "--http1.1",
            "--include",
            "--cacert",
            `${ca}`,
            "--max-time",
            "3",
            "--header",
            "Connection: Upgrade",
            "--header",
            "Upgrade: websocket",
            "--header",
            "Sec-WebSocket-Version: 13",
            "--header",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]);
        // The upgraded connection stays open until curl's --max-time (exit 28).
        assert.ok([0, 28].includes(upgrade.code), upgrade.output);
        assert.match(upgrade.stdout, /^HTTP\/1\.1 101 /, upgrade.output);
        const cookie = upgrade.stdout
            .split("\r\n")
            .find((line) => line.toLowerCase().startsWith(`set-cookie: ${PUBLIC_ROUTES.stream.affinityCookie}=`));
        assert.ok(cookie, `the upgrade sets ${PUBLIC_ROUTES.stream.affinityCookie}:\n${upgrade.stdout}`);
        return cookie;
    }

    before(async () => {
        const stack = await prodStack();
        ({ kubectl, host, ingressAddress } = stack);
        assert.ok(stack.config.publicEntry.tls, "Pulumi.prod.yaml asks for TLS");
        secretName = stack.config.publicEntry.tls.secretName;
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "exchange-tls-"));
        ca = await makeCa(dir, "exchange-local-ca");
        otherCa = await makeCa(dir, "another-ca");
        first = await issue(dir, "exchange-local-ca", host, 1);
        await writeSecret(first);
    });

    after(() => {
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("every node gets the stack's certificate for its host, verified against the issuing CA; a client trusting another CA refuses it", async () => {
        const url = `https://${host}/backend/api/v1/orders`;
        const served = await eventually("the front door serves the Secret's certificate", RELOAD_BOUND_MS, async () =>
            (await servedSerial()) === first.serial ? first.serial : undefined,
        );
        for (const index of [1, 2, 3]) {
            const verified = await curlFromNode(index, url, ["--cacert", ca]);
            assert.strictEqual(verified.code, 0, `node ${index}: ${verified.output}`);
            assert.strictEqual(JSON.parse(verified.stdout).host, host);
            const refused = await curlFromNode(index, url, ["--cacert", otherCa]);
            console.log(
                `      node ${index}: ${served} verified for ${host}; trusting another CA: curl exit ${refused.code}`,
            );
            // 60: the peer's certificate could not be verified with the known CAs.
            assert.strictEqual(refused.code, 60, `node ${index}: ${refused.output}`);
        }
    });

    it("WebSockets over wss:// verified; the affinity cookie is Secure and HttpOnly, and not Secure without its annotation (negative control)", async () => {
        const [held] = await heldWebSocketClients(`wss://${ingressAddress}/ws`, 1, 3_000, 3_000, host, ca);
        assert.deepStrictEqual(held.errors, [], "a verified wss:// connection");
        assert.strictEqual(held.pods.length, 1, "one connection, held");

        const cookie = await affinityCookie();
        const attributes = cookie.split(";").map((part) => part.trim().toLowerCase());
        console.log(`      wss:// verified, held on ${held.pods[0]}; ${cookie}`);
        assert.ok(attributes.includes("secure"), `Secure: ${cookie}`);
        assert.ok(attributes.includes("httponly"), `HttpOnly: ${cookie}`);

        // The same upgrade once the Ingress lacks the annotation the program sets for TLS.
        await kubectl.run(["annotate", "ingress", PUBLIC_ROUTES.stream.objectName, `${SECURE_ANNOTATION}-`]);
        try {
            const unmarked = await eventually("the cookie without Secure", RELOAD_BOUND_MS, async () => {
                const candidate = await affinityCookie();
                return /;\s*secure(;|$)/i.test(candidate) ? undefined : candidate;
            });
            console.log(`      without ${SECURE_ANNOTATION}: ${unmarked}`);
        } finally {
            await kubectl.run(["annotate", "ingress", PUBLIC_ROUTES.stream.objectName, `${SECURE_ANNOTATION}=true`]);
        }
        await eventually("the cookie Secure again", RELOAD_BOUND_MS, async () =>
            /;\s*secure(;|$)/i.test(await affinityCookie()) ? true : undefined,
        );
    });

    it("a renewal: the new certificate is served while requests and WebSockets go on, none failing; a certificate from another CA fails them (negative control)", async () => {
        const renewed = await issue(dir, "exchange-local-ca", host, 2);
        // Every request opens its own verified connection (netns-client --ca): 20 a second for 20 s.
        const requests = httpLoop(`https://${ingressAddress}/backend/api/v1/orders`, 400, 50, 5_000, host, ca);
        const clients = heldWebSocketClients(`wss://${ingressAddress}/ws`, 5, 20_000, 5_000, host, ca);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const renewedAt = Date.now();
        await writeSecret(renewed);
        await eventually("the renewed certificate served", RELOAD_BOUND_MS, async () =>
            (await servedSerial()) === renewed.serial ? true : undefined,
        );
        const servedAfter = (Date.now() - renewedAt) / 1000;
        const [http, held] = await Promise.all([requests, clients]);
        const closes = held.flatMap((client) => client.closes);
        console.log(
            `      renewed ${first.serial} -> ${renewed.serial}: served after ${servedAfter.toFixed(1)} s; ` +
                `HTTPS ${http.ok}/${http.total} ok; WebSocket: ${held.length} clients, ${closes.length} closes, ` +
                `${held.reduce((sum, client) => sum + client.errors.length, 0)} failed attempts`,
        );
        assert.deepStrictEqual(http.failures, [], "no request failed across the renewal");
        assert.deepStrictEqual(closes, [], "no WebSocket was closed by the renewal");

        const foreign = await issue(dir, "another-ca", host, 3);
        await writeSecret(foreign);
        try {
            await eventually("the foreign certificate served", RELOAD_BOUND_MS, async () =>
                (await servedSerial()) === foreign.serial ? true : undefined,
            );
            const refused = await httpLoop(`https://${ingressAddress}/backend/api/v1/orders`, 5, 100, 5_000, host, ca);
            console.log(
                `      a certificate from another CA: ${refused.failures.length}/${refused.total} requests refused`,
            );
            assert.strictEqual(refused.failures.length, refused.total, "the verified client refuses it");
        } finally {
            await writeSecret(renewed);
        }
    });
});
