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
 *   netns-client.js http-loop URL COUNT INTERVAL_MS TIMEOUT_MS
 *       COUNT GET requests, one every INTERVAL_MS. Prints HttpLoopResult.
 *
 * WebSockets through the `ws` library rather than the WHATWG WebSocket, which neither sends a
 * Cookie header nor shows the upgrade response's Set-Cookie.
 */
import { IncomingMessage } from "http";
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

function setCookiesOf(response: IncomingMessage): string[] {
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

async function httpLoop(url: string, count: number, intervalMs: number, timeoutMs: number): Promise<HttpLoopResult> {
    const result: HttpLoopResult = { total: count, ok: 0, failures: [] };
    for (let index = 0; index < count; index++) {
        const started = Date.now();
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
            await response.text();
            if (response.ok) {
                result.ok++;
            } else {
                result.failures.push({ index, at: new Date(started).toISOString(), error: `HTTP ${response.status}` });
            }
        } catch (error) {
            const cause = (error as { cause?: { code?: string } }).cause?.code;
            result.failures.push({
                index,
                at: new Date(started).toISOString(),
                error: `${(error as Error).message}${cause ? ` (${cause})` : ""}`,
            });
        }
        const wait = intervalMs - (Date.now() - started);
        if (wait > 0 && index < count - 1) {
            await new Promise((resolve) => setTimeout(resolve, wait));
        }
    }
    return result;
}

function positive(text: string | undefined, name: string): number {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
    }
    return value;
}

async function main(argv: string[]): Promise<unknown> {
    const [command, url, ...rest] = argv;
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
            );
        default:
            throw new Error(
                "usage: netns-client.js ws URL COUNT TIMEOUT_MS [keep-cookies] | http-loop URL COUNT INTERVAL_MS TIMEOUT_MS",
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
