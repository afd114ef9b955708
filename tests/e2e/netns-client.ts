/**
 * A traffic client that runs inside the real node's network namespace: the tests start it with
 * `cluster/local-cluster.sh netns-exec node --experimental-websocket netns-client.js ...`, since
 * pod and Service addresses may only be reached from there. It prints one JSON document on stdout
 * and always stops by itself: every operation has a count and a timeout.
 *
 *   netns-client.js ws URL COUNT TIMEOUT_MS
 *       COUNT WebSocket connections one after another; each reads the server's first message,
 *       sends one of its own and reads the echo. Prints WsExchange[].
 *   netns-client.js http-loop URL COUNT INTERVAL_MS TIMEOUT_MS
 *       COUNT GET requests, one every INTERVAL_MS. Prints HttpLoopResult.
 */

export interface WsExchange {
    /** The server's first message (the ws-stream's hello), or undefined if none came. */
    first?: string;
    sent: string;
    /** What came back after `sent`. */
    echoed?: string;
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

/** The part of the WHATWG WebSocket that is used; Node 20 has it behind --experimental-websocket. */
interface MinimalWebSocket {
    onopen: (() => void) | null;
    onmessage: ((event: { data: unknown }) => void) | null;
    onerror: ((event: { message?: string }) => void) | null;
    onclose: (() => void) | null;
    send(data: string): void;
    close(): void;
}

function exchange(url: string, index: number, timeoutMs: number): Promise<WsExchange> {
    const WebSocketClass = (globalThis as unknown as { WebSocket?: new (url: string) => MinimalWebSocket }).WebSocket;
    if (!WebSocketClass) {
        throw new Error("no WebSocket client: run node with --experimental-websocket");
    }
    const sent = `exchange-e2e-${process.pid}-${index}`;
    return new Promise((resolve) => {
        const result: WsExchange = { sent };
        const socket = new WebSocketClass(url);
        const finish = (error?: string) => {
            clearTimeout(timer);
            if (error && !result.error) {
                result.error = error;
            }
            socket.onclose = socket.onerror = socket.onmessage = null;
            socket.close();
            resolve(result);
        };
        const timer = setTimeout(() => finish(`no complete exchange within ${timeoutMs} ms`), timeoutMs);
        socket.onmessage = (event) => {
            const text = String(event.data);
            if (result.first === undefined) {
                result.first = text;
                socket.send(sent);
            } else {
                result.echoed = text;
                finish();
            }
        };
        socket.onerror = (event) => finish(`WebSocket error: ${event.message ?? "connection failed"}`);
        socket.onclose = () => finish("closed before the echo");
    });
}

async function ws(url: string, count: number, timeoutMs: number): Promise<WsExchange[]> {
    const results: WsExchange[] = [];
    for (let i = 0; i < count; i++) {
        results.push(await exchange(url, i, timeoutMs));
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
            return ws(url, positive(rest[0], "COUNT"), positive(rest[1], "TIMEOUT_MS"));
        case "http-loop":
            return httpLoop(
                url,
                positive(rest[0], "COUNT"),
                positive(rest[1], "INTERVAL_MS"),
                positive(rest[2], "TIMEOUT_MS"),
            );
        default:
            throw new Error(
                "usage: netns-client.js ws URL COUNT TIMEOUT_MS | http-loop URL COUNT INTERVAL_MS TIMEOUT_MS",
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
