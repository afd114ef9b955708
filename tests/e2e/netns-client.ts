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
 * The WebSocket client is written on a plain socket (RFC 6455, ws:// only): the WHATWG
 * WebSocket neither sends a Cookie header nor shows the upgrade response's Set-Cookie.
 */
import * as crypto from "crypto";
import * as net from "net";

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

/** RFC 6455's constant for Sec-WebSocket-Accept. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OPCODE = { text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** A client frame: always masked, always final. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
    if (payload.length > 0xffff) {
        throw new Error("frames over 64 KiB are not needed here");
    }
    const mask = crypto.randomBytes(4);
    const length =
        payload.length < 126
            ? Buffer.from([0x80 | payload.length])
            : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
    return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, masked]);
}

interface Frame {
    final: boolean;
    opcode: number;
    payload: Buffer;
}

/** The first whole frame of `data` and what follows it, or undefined while it is incomplete. */
function readFrame(data: Buffer): { frame: Frame; rest: Buffer } | undefined {
    if (data.length < 2) {
        return undefined;
    }
    let length = data[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
        if (data.length < 4) return undefined;
        length = data.readUInt16BE(2);
        offset = 4;
    } else if (length === 127) {
        if (data.length < 10) return undefined;
        length = Number(data.readBigUInt64BE(2));
        offset = 10;
    }
    const mask = data[1] & 0x80 ? data.subarray(offset, offset + 4) : undefined;
    offset += mask ? 4 : 0;
    if (data.length < offset + length) {
        return undefined;
    }
    const payload = Buffer.from(data.subarray(offset, offset + length));
    if (mask) {
        payload.forEach((byte, i) => (payload[i] = byte ^ mask[i % 4]));
    }
    return {
        frame: { final: (data[0] & 0x80) !== 0, opcode: data[0] & 0x0f, payload },
        rest: data.subarray(offset + length),
    };
}

/** The upgrade response's status line and headers (names in lower case, repeated ones kept). */
function parseResponseHead(head: string): { status: string; headers: [string, string][] } {
    const [status, ...lines] = head.split("\r\n");
    const headers = lines.map((line): [string, string] => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    });
    return { status, headers };
}

function exchange(url: string, index: number, timeoutMs: number, cookie: string | undefined): Promise<WsExchange> {
    const target = new URL(url);
    if (target.protocol !== "ws:") {
        throw new Error(`only ws:// URLs: ${url}`);
    }
    const sent = `exchange-e2e-${process.pid}-${index}`;
    const key = crypto.randomBytes(16).toString("base64");
    const accept = crypto
        .createHash("sha1")
        .update(key + WEBSOCKET_GUID)
        .digest("base64");
    return new Promise((resolve) => {
        const result: WsExchange = { sent, cookie, setCookies: [] };
        const socket = net.connect(Number(target.port || 80), target.hostname);
        let received: Buffer = Buffer.alloc(0);
        let upgraded = false;
        const finish = (error?: string) => {
            clearTimeout(timer);
            if (error && !result.error) {
                result.error = error;
            }
            socket.removeAllListeners();
            socket.on("error", () => undefined);
            if (upgraded && !socket.destroyed) {
                socket.end(clientFrame(OPCODE.close, Buffer.from([0x03, 0xe8])));
            } else {
                socket.destroy();
            }
            resolve(result);
        };
        const timer = setTimeout(() => finish(`no complete exchange within ${timeoutMs} ms`), timeoutMs);
        socket.on("connect", () => {
            socket.write(
                [
                    `GET ${target.pathname}${target.search} HTTP/1.1`,
                    `Host: ${target.host}`,
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    `Sec-WebSocket-Key: ${key}`,
                    "Sec-WebSocket-Version: 13",
                    ...(cookie ? [`Cookie: ${cookie}`] : []),
                    "",
                    "",
                ].join("\r\n"),
            );
        });
        socket.on("data", (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            if (!upgraded) {
                const end = received.indexOf("\r\n\r\n");
                if (end < 0) {
                    return;
                }
                const { status, headers } = parseResponseHead(received.subarray(0, end).toString("latin1"));
                result.setCookies = headers.filter(([name]) => name === "set-cookie").map(([, value]) => value);
                if (!/^HTTP\/1\.1 101 /.test(status)) {
                    return finish(`upgrade answered ${status}`);
                }
                if (!headers.some(([name, value]) => name === "sec-websocket-accept" && value === accept)) {
                    return finish("upgrade answered without the expected Sec-WebSocket-Accept");
                }
                upgraded = true;
                received = received.subarray(end + 4);
            }
            for (let next = readFrame(received); next; next = readFrame(received)) {
                received = next.rest;
                const { final, opcode, payload } = next.frame;
                if (opcode === OPCODE.close) {
                    return finish("closed before the echo");
                } else if (opcode === OPCODE.ping) {
                    socket.write(clientFrame(OPCODE.pong, payload));
                } else if (opcode === OPCODE.text && final) {
                    if (result.first === undefined) {
                        result.first = payload.toString("utf8");
                        socket.write(clientFrame(OPCODE.text, Buffer.from(sent)));
                    } else {
                        result.echoed = payload.toString("utf8");
                        return finish();
                    }
                } else if (opcode !== OPCODE.pong) {
                    return finish(`unexpected frame: opcode ${opcode}, final ${final}`);
                }
            }
        });
        socket.on("error", (error) => finish(`socket error: ${error.message}`));
        socket.on("close", () => finish(upgraded ? "closed before the echo" : "closed before the upgrade"));
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
