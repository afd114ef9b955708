/**
 * A traffic client that runs inside the real node's network namespace: the tests start it with
 * `cluster/local-cluster.sh netns-exec node netns-client.js ...`, since pod and Service addresses
 * may only be reached from there. It prints one JSON document on stdout and always stops by
 * itself: every operation has a count and a timeout.
 *
 *   netns-client.js ws URL COUNT TIMEOUT_MS [keep-cookies]
 *       COUNT WebSocket connections one after another; each reads the server's first message,
 *       sends one of its own and reads the echo. With keep-cookies, each upgrade request carries
 *       the cookies the earlier upgrade responses set, as a browser's would. Prints WsExchange[].
 *   netns-client.js [--host NAME] http-loop URL COUNT INTERVAL_MS TIMEOUT_MS
 *       COUNT GET requests, one every INTERVAL_MS. Prints HttpLoopResult.
 *   netns-client.js [--host NAME] ws-hold URL CLIENTS DURATION_MS RECONNECT_TIMEOUT_MS
 *       CLIENTS WebSocket clients that stay connected for DURATION_MS, as a trading screen does;
 *       one whose connection the server closes (or that breaks) connects again at once, trying
 *       for up to RECONNECT_TIMEOUT_MS. Prints HeldClient[].
 *   --host NAME sends NAME as the Host header, for a front door that routes by host name (the
 *   URL then holds the front door's address: no resolver here knows the public name), and over
 *   https:// or wss:// asks for NAME (SNI); --ca FILE verifies the certificate for NAME against
 *   the CA in FILE only, and without it the certificate is not verified (the local front door's
 *   own self-signed one, before the stack's is issued).
 *
 * WebSockets through the `ws` library rather than the WHATWG WebSocket, which neither sends a
 * Cookie header nor shows the upgrade response's Set-Cookie.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import WebSocket from "ws";

export interface WsExchange {
    /** The server's first message (the ws-stream's hello), or undefined if none came. */
    first?: string;
    sent: string;
    /** What came back after `sent`. */
    echoed?: string;
    /** The Cookie header of the upgrade request, if the client had cookies to send. */
    cookie?: string;
    /** The Set-Cookie headers of the upgrade response. */
    setCookies: string[];
    error?: string;
}

/** The pod named in a ws-stream's first message, `{"type":"hello","pod":...,"path":...}`. */
export function helloPod(exchange: WsExchange): string {
    const hello = JSON.parse(exchange.first ?? "{}") as { type?: string; pod?: string };
    if (hello.type !== "hello" || !hello.pod) {
        throw new Error(`not a ws-stream hello: ${exchange.first}`);
    }
    return hello.pod;
}

export interface HttpLoopResult {
    total: number;
    ok: number;
    failures: { index: number; at: string; error: string }[];
}

/** One closing of a held connection, and how the client got a new one. */
export interface HeldClose {
    /** The pod the closed connection was on. */
    pod: string;
    /** The close code: 1001 (going away) from a server that stops cleanly, 1006 when none came. */
    code: number;
    /** Milliseconds since the client started. */
    atMs: number;
    /** Until the new connection's hello; absent if none came within the reconnect timeout. */
    reconnectMs?: number;
}

export interface HeldClient {
    /** The pods of its connections, in order. */
    pods: string[];
    closes: HeldClose[];
    /** Attempts that got no connection (each retried until the reconnect timeout). */
    errors: string[];
}

/** The CA that --ca names: the only one a front door's certificate is verified against. */
let trustedCa: Buffer | undefined;

/**
 * With a Host header (--host), TLS asks for that name (SNI); the certificate is verified against
 * the --ca file (for that name), or without one taken unverified (the local front door's own
 * certificate, before the stack's is issued). Verified requests each open a connection of their
 * own (no keep-alive agent), so each one checks the certificate served at that moment: a
 * renewal drill would otherwise watch one connection made before it.
 */
function tlsFor(headers: Record<string, string>): {
    servername?: string;
    rejectUnauthorized?: boolean;
    ca?: Buffer;
    agent?: false;
} {
    if (headers.Host === undefined) {
        return {};
    }
    return trustedCa === undefined
        ? { servername: headers.Host, rejectUnauthorized: false }
        : { servername: headers.Host, rejectUnauthorized: true, ca: trustedCa, agent: false };
}

function setCookiesOf(response: http.IncomingMessage): string[] {
    return response.headers["set-cookie"] ?? [];
}

function exchange(url: string, index: number, timeoutMs: number, cookie: string | undefined): Promise<WsExchange> {
    const sent = `exchange-e2e-${process.pid}-${index}`;
    return new Promise((resolve) => {
        const result: WsExchange = { sent, cookie, setCookies: [] };
        const socket = new WebSocket(url, { headers: cookie ? { Cookie: cookie } : {}, handshakeTimeout: timeoutMs });
        const finish = (error?: string) => {
            clearTimeout(timer);
            if (error && !result.error) {
                result.error = error;
            }
            socket.removeAllListeners();
            socket.on("error", () => undefined);
            if (socket.readyState === WebSocket.OPEN) {
                socket.close(1000);
            } else {
                socket.terminate();
            }
            resolve(result);
        };
        const timer = setTimeout(() => finish(`no complete exchange within ${timeoutMs} ms`), timeoutMs);
        socket.on("upgrade", (response) => (result.setCookies = setCookiesOf(response)));
        socket.on("unexpected-response", (_request, response) => {
            result.setCookies = setCookiesOf(response);
            finish(`upgrade answered HTTP ${response.statusCode}`);
        });
        socket.on("message", (data, isBinary) => {
            if (isBinary) {
                return finish("a binary message where text was expected");
            }
            if (result.first === undefined) {
                result.first = data.toString();
                socket.send(sent);
            } else {
                result.echoed = data.toString();
                finish();
            }
        });
        socket.on("error", (error) => finish(`socket error: ${error.message}`));
        socket.on("close", () => finish("closed before the echo"));
    });
}

/** `name=value` of each Set-Cookie, later ones replacing earlier ones of the same name. */
function keepCookies(jar: Map<string, string>, setCookies: string[]): void {
    for (const header of setCookies) {
        const pair = header.split(";")[0].trim();
        const equals = pair.indexOf("=");
        if (equals > 0) {
            jar.set(pair.slice(0, equals), pair.slice(equals + 1));
        }
    }
}

async function ws(url: string, count: number, timeoutMs: number, withCookies: boolean): Promise<WsExchange[]> {
    const results: WsExchange[] = [];
    const jar = new Map<string, string>();
    for (let i = 0; i < count; i++) {
        const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ") || undefined;
        const result = await exchange(url, i, timeoutMs, withCookies ? cookie : undefined);
        keepCookies(jar, result.setCookies);
        results.push(result);
    }
    return results;
}

/** One GET; resolves with the status once the whole body has arrived. */
function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
    const target = new URL(url);
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const request = client.get(target, { headers, timeout: timeoutMs, ...tlsFor(headers) }, (response) => {
            response.resume();
            response.on("end", () => resolve(response.statusCode ?? 0));
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        request.on("error", reject);
    });
}

async function httpLoop(
    url: string,
    count: number,
    intervalMs: number,
    timeoutMs: number,
    headers: Record<string, string>,
): Promise<HttpLoopResult> {
    const result: HttpLoopResult = { total: count, ok: 0, failures: [] };
    for (let index = 0; index < count; index++) {
        const started = Date.now();
        try {
            const status = await get(url, headers, timeoutMs);
            if (status >= 200 && status < 300) {
                result.ok++;
            } else {
                result.failures.push({ index, at: new Date(started).toISOString(), error: `HTTP ${status}` });
            }
        } catch (error) {
            const code = (error as { code?: string }).code;
            result.failures.push({
                index,
                at: new Date(started).toISOString(),
                error: `${(error as Error).message}${code ? ` (${code})` : ""}`,
            });
        }
        const wait = intervalMs - (Date.now() - started);
        if (wait > 0 && index < count - 1) {
            await new Promise((resolve) => setTimeout(resolve, wait));
        }
    }
    return result;
}

/** Opens a connection and resolves with it and its hello's pod, or rejects. */
function connectForHello(
    url: string,
    timeoutMs: number,
    headers: Record<string, string>,
): Promise<{ socket: WebSocket; pod: string }> {
    return new Promise((resolve, reject) => {
        const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, ...tlsFor(headers) });
        const timer = setTimeout(() => fail("no hello within the timeout"), timeoutMs);
        function fail(error: string) {
            clearTimeout(timer);
            socket.removeAllListeners();
            socket.on("error", () => undefined);
            socket.terminate();
            reject(new Error(error));
        }
        socket.once("message", (data) => {
            clearTimeout(timer);
            socket.removeAllListeners();
            try {
                resolve({ socket, pod: helloPod({ first: data.toString(), sent: "", setCookies: [] }) });
            } catch (error) {
                fail((error as Error).message);
            }
        });
        socket.on("unexpected-response", (_request, response) => fail(`upgrade answered HTTP ${response.statusCode}`));
        socket.on("error", (error) => fail(`socket error: ${error.message}`));
        socket.on("close", (code) => fail(`closed (${code}) before the hello`));
    });
}

async function holdOne(
    url: string,
    durationMs: number,
    reconnectTimeoutMs: number,
    headers: Record<string, string>,
): Promise<HeldClient> {
    const started = Date.now();
    const deadline = started + durationMs;
    const client: HeldClient = { pods: [], closes: [], errors: [] };
    let pending: HeldClose | undefined;
    while (Date.now() < deadline) {
        let connection: { socket: WebSocket; pod: string };
        try {
            connection = await connectForHello(url, Math.min(5_000, reconnectTimeoutMs), headers);
        } catch (error) {
            client.errors.push(`${Date.now() - started} ms: ${(error as Error).message}`);
            if (pending && Date.now() - started - pending.atMs > reconnectTimeoutMs) {
                pending = undefined;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
            continue;
        }
        if (pending) {
            pending.reconnectMs = Date.now() - started - pending.atMs;
            pending = undefined;
        }
        client.pods.push(connection.pod);
        const { socket, pod } = connection;
        const code = await new Promise<number | undefined>((resolve) => {
            const timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
            socket.on("error", () => undefined);
            socket.on("close", (closeCode) => {
                clearTimeout(timer);
                resolve(closeCode);
            });
        });
        if (code === undefined) {
            socket.close(1000);
            break;
        }
        pending = { pod, code, atMs: Date.now() - started };
        client.closes.push(pending);
    }
    return client;
}

function holdClients(
    url: string,
    clients: number,
    durationMs: number,
    reconnectTimeoutMs: number,
    headers: Record<string, string>,
): Promise<HeldClient[]> {
    return Promise.all(Array.from({ length: clients }, () => holdOne(url, durationMs, reconnectTimeoutMs, headers)));
}

function positive(text: string | undefined, name: string): number {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
    }
    return value;
}

async function main(argv: string[]): Promise<unknown> {
    const headers: Record<string, string> = {};
    let args = argv;
    for (; args[0] === "--host" || args[0] === "--ca"; args = args.slice(2)) {
        if (args[1] === undefined) {
            throw new Error(`${args[0]} needs a value`);
        }
        if (args[0] === "--host") {
            headers.Host = args[1];
        } else {
            trustedCa = fs.readFileSync(args[1]);
        }
    }
    if (trustedCa !== undefined && headers.Host === undefined) {
        throw new Error("--ca verifies the certificate for the --host name: give both");
    }
    const [command, url, ...rest] = args;
    switch (command) {
        case "ws":
            if (rest[2] !== undefined && rest[2] !== "keep-cookies") {
                throw new Error(`the fourth argument of ws can only be keep-cookies, not ${JSON.stringify(rest[2])}`);
            }
            return ws(url, positive(rest[0], "COUNT"), positive(rest[1], "TIMEOUT_MS"), rest[2] === "keep-cookies");
        case "http-loop":
            return httpLoop(
                url,
                positive(rest[0], "COUNT"),
                positive(rest[1], "INTERVAL_MS"),
                positive(rest[2], "TIMEOUT_MS"),
                headers,
            );
        case "ws-hold":
            return holdClients(
                url,
                positive(rest[0], "CLIENTS"),
                positive(rest[1], "DURATION_MS"),
                positive(rest[2], "RECONNECT_TIMEOUT_MS"),
                headers,
            );
        default:
            throw new Error(
                "usage: netns-client.js ws URL COUNT TIMEOUT_MS [keep-cookies] | [--host NAME [--ca FILE]] http-loop URL" +
                    " COUNT INTERVAL_MS TIMEOUT_MS | [--host NAME [--ca FILE]] ws-hold URL CLIENTS DURATION_MS RECONNECT_TIMEOUT_MS",
            );
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
        (error: Error) => {
            process.stderr.write(`netns-client: ${error.message}\n`);
            process.exitCode = 2;
        },
    );
}
