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
import { Kubectl } from "../integration/kubectl";
import { eventually } from "../support";
import { PUBLIC_ROUTES } from "@exchange/contract";
import { heldWebSocketClients, httpLoop } from "../e2e/cluster";
import { cookieAttributes, Issued, LocalCa, TlsFrontDoor } from "../e2e/local-ca";
import { prodStack } from "./prod-stack";

/** How long the front door may take to serve a Secret's new certificate. */
const RELOAD_BOUND_MS = 30_000;
const SECURE_ANNOTATION = "nginx.ingress.kubernetes.io/session-cookie-secure";
const { stream } = PUBLIC_ROUTES;

describe("several real nodes: TLS at the prod stack's front door", function () {
    this.timeout(20 * 60 * 1000);
    let kubectl: Kubectl;
    let host: string;
    let ingressAddress: string;
    let secretName: string;
    let ca: LocalCa;
    let otherCa: LocalCa;
    let first: Issued;
    /** The front door as each node's clients see it. */
    let fromNode: (index: number) => TlsFrontDoor;

    /** The affinity cookie a WebSocket upgrade through the front door sets, seen from node 1. */
    function affinityCookie(): Promise<string> {
        return fromNode(1).upgradeCookie(stream.pathPrefix, stream.affinityCookie, ca.certificate);
    }

    function secure(setCookie: string): boolean {
        return cookieAttributes(setCookie).includes("secure");
    }

    before(async () => {
        const stack = await prodStack();
        ({ kubectl, host, ingressAddress } = stack);
        assert.ok(stack.config.publicEntry.tls, "Pulumi.prod.yaml asks for TLS");
        secretName = stack.config.publicEntry.tls.secretName;
        fromNode = (index) => new TlsFrontDoor(host, ingressAddress, index);
        ca = await LocalCa.create("exchange-local-ca");
        otherCa = await LocalCa.create("another-ca");
        first = await ca.issue(host, 1);
        await ca.writeSecret(kubectl, secretName, first);
    });

    after(() => {
        ca?.remove();
        otherCa?.remove();
    });

    it("every node gets the stack's certificate for its host, verified against the issuing CA; a client trusting another CA refuses it", async () => {
        const path = "/backend/api/v1/orders";
        const served = await eventually("the front door serves the Secret's certificate", RELOAD_BOUND_MS, async () =>
            (await fromNode(1).servedSerial()) === first.serial ? first.serial : undefined,
        );
        for (const index of [1, 2, 3]) {
            const verified = await fromNode(index).curl(path, ca.certificate);
            assert.strictEqual(verified.code, 0, `node ${index}: ${verified.output}`);
            assert.strictEqual(JSON.parse(verified.stdout).host, host);
            const refused = await fromNode(index).curl(path, otherCa.certificate);
            console.log(
                `      node ${index}: ${served} verified for ${host}; trusting another CA: curl exit ${refused.code}`,
            );
            // 60: the peer's certificate could not be verified with the known CAs.
            assert.strictEqual(refused.code, 60, `node ${index}: ${refused.output}`);
        }
    });

    it("WebSockets over wss:// verified; the affinity cookie is Secure and HttpOnly, and not Secure without its annotation (negative control)", async () => {
        const [held] = await heldWebSocketClients(`wss://${ingressAddress}/ws`, 1, 3_000, 3_000, host, ca.certificate);
        assert.deepStrictEqual(held.errors, [], "a verified wss:// connection");
        assert.strictEqual(held.pods.length, 1, "one connection, held");

        const cookie = await affinityCookie();
        console.log(`      wss:// verified, held on ${held.pods[0]}; ${cookie}`);
        assert.ok(secure(cookie), `Secure: ${cookie}`);
        assert.ok(cookieAttributes(cookie).includes("httponly"), `HttpOnly: ${cookie}`);

        // The same upgrade once the Ingress lacks the annotation the program sets for TLS.
        await kubectl.run(["annotate", "ingress", stream.objectName, `${SECURE_ANNOTATION}-`]);
        try {
            const unmarked = await eventually("the cookie without Secure", RELOAD_BOUND_MS, async () => {
                const candidate = await affinityCookie();
                return secure(candidate) ? undefined : candidate;
            });
            console.log(`      without ${SECURE_ANNOTATION}: ${unmarked}`);
        } finally {
            await kubectl.run(["annotate", "ingress", stream.objectName, `${SECURE_ANNOTATION}=true`]);
        }
        await eventually("the cookie Secure again", RELOAD_BOUND_MS, async () =>
            secure(await affinityCookie()) ? true : undefined,
        );
    });

    it("a renewal: the new certificate is served while requests and WebSockets go on, none failing; a certificate from another CA fails them (negative control)", async () => {
        const renewed = await ca.issue(host, 2);
        // Every request opens its own verified connection (netns-client --ca): 20 a second for 20 s.
        const requests = httpLoop(
            `https://${ingressAddress}/backend/api/v1/orders`,
            400,
            50,
            5_000,
            host,
            ca.certificate,
        );
        const clients = heldWebSocketClients(`wss://${ingressAddress}/ws`, 5, 20_000, 5_000, host, ca.certificate);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const renewedAt = Date.now();
        await ca.writeSecret(kubectl, secretName, renewed);
        await eventually("the renewed certificate served", RELOAD_BOUND_MS, async () =>
            (await fromNode(1).servedSerial()) === renewed.serial ? true : undefined,
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

        const foreign = await otherCa.issue(host, 3);
        await otherCa.writeSecret(kubectl, secretName, foreign);
        try {
            await eventually("the foreign certificate served", RELOAD_BOUND_MS, async () =>
                (await fromNode(1).servedSerial()) === foreign.serial ? true : undefined,
            );
            const refused = await httpLoop(
                `https://${ingressAddress}/backend/api/v1/orders`,
                5,
                100,
                5_000,
                host,
                ca.certificate,
            );
            console.log(
                `      a certificate from another CA: ${refused.failures.length}/${refused.total} requests refused`,
            );
            assert.strictEqual(refused.failures.length, refused.total, "the verified client refuses it");
        } finally {
            await ca.writeSecret(kubectl, secretName, renewed);
        }
    });
});
