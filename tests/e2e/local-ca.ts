/**
 * A certificate authority of the tests' own, made with openssl, and the server certificates it
 * signs: what an issuer (cert-manager's ClusterIssuer) would write into a front door's Secret.
 * Everything lives in one temporary folder; the keys never leave it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Kubectl } from "../integration/kubectl";
import { CommandResult, runCommand } from "../support";
import { onNode } from "./cluster";

export interface Issued {
    certificate: string;
    key: string;
    /** As openssl prints it: `serial=0A`. */
    serial: string;
}

export class LocalCa {
    /** The CA's certificate: what a client that trusts this CA is given. */
    readonly certificate: string;

    private constructor(
        readonly dir: string,
        readonly name: string,
    ) {
        this.certificate = path.join(dir, `${name}.crt`);
    }

    /** A new CA named NAME (its subject's CN), valid for a day, in a folder of its own. */
    static async create(name: string): Promise<LocalCa> {
        const ca = new LocalCa(fs.mkdtempSync(path.join(os.tmpdir(), "exchange-ca-")), name);
        await ca.openssl(
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
        );
        return ca;
    }

    /** A server certificate for HOST with serial SERIAL, valid for a day (a short-lived one). */
    async issue(host: string, serial: number): Promise<Issued> {
        const name = `${host}-${serial}`;
        fs.writeFileSync(
            path.join(this.dir, `${name}.ext`),
            `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`,
        );
        await this.openssl(
            ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
                "-keyout",
                `${name}.key`,
                "-out",
                `${name}.csr`,
                "-subj",
                `/CN=${host}`,
            ]),
        );
        await this.openssl(
            ["x509", "-req", "-in", `${name}.csr`, "-CA", `${this.name}.crt`, "-CAkey", `${this.name}.key`].concat([
                "-set_serial",
                String(serial),
                "-days",
                "1",
                "-extfile",
                `${name}.ext`,
                "-out",
                `${name}.crt`,
            ]),
        );
        return {
            certificate: path.join(this.dir, `${name}.crt`),
            key: path.join(this.dir, `${name}.key`),
            serial: (await this.openssl(["x509", "-noout", "-serial", "-in", `${name}.crt`])).trim(),
        };
    }

    /** Writes ISSUED into the `kubernetes.io/tls` Secret NAME, in place, as an issuer does. */
    async writeSecret(kubectl: Kubectl, name: string, issued: Issued): Promise<void> {
        const manifest = await kubectl.run(
            ["create", "secret", "tls", name, `--cert=${issued.certificate}`, `--key=${issued.key}`].concat([
                "--dry-run=client",
                "-o",
                "yaml",
            ]),
        );
        const file = path.join(this.dir, `secret-${name}.yaml`);
        fs.writeFileSync(file, manifest, { mode: 0o600 });
        await kubectl.run(["apply", "-f", file]);
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    private async openssl(args: string[]): Promise<string> {
        const result = await runCommand("openssl", args, { cwd: this.dir, timeoutMs: 30_000 });
        assert.strictEqual(result.code, 0, `openssl ${args.join(" ")}:\n${result.output}`);
        return result.stdout;
    }
}

/** A front door that serves HOST over TLS at ADDRESS, as clients in node NODE's namespace see it. */
export class TlsFrontDoor {
    constructor(
        readonly host: string,
        readonly address: string,
        readonly node = 1,
    ) {}

    /** curl of https://HOST/PATH at the front door (SNI: HOST), trusting only CA, with ARGS. */
    curl(pathAndQuery: string, ca: string, args: string[] = []): Promise<CommandResult> {
        return onNode(this.node, [
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "10",
            "--resolve",
            `${this.host}:443:${this.address}`,
            "--cacert",
            ca,
            ...args,
            `https://${this.host}${pathAndQuery}`,
        ]);
    }

    /** The serial of the certificate served for HOST now, as openssl prints it (`serial=0A`). */
    async servedSerial(): Promise<string> {
        const script =
            `openssl s_client -connect ${this.address}:443 -servername ${this.host} </dev/null 2>/dev/null` +
            " | openssl x509 -noout -serial";
        const result = await onNode(this.node, ["timeout", "10", "bash", "-c", script]);
        assert.strictEqual(result.code, 0, result.output);
        return result.stdout.trim();
    }

    /** The Set-Cookie line of COOKIE that a WebSocket upgrade of PATH sets (curl, HTTP/1.1). */
    async upgradeCookie(pathAndQuery: string, cookie: string, ca: string): Promise<string> {
        const upgrade = await this.curl(pathAndQuery, ca, [
            "--http1.1",
            "--include",
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
        const line = upgrade.stdout
            .split("\r\n")
            .find((header) => header.toLowerCase().startsWith(`set-cookie: ${cookie}=`));
        assert.ok(line, `the upgrade sets ${cookie}:\n${upgrade.stdout}`);
        return line;
    }
}

/** The attributes of a Set-Cookie line, lower-cased (`secure`, `httponly`, `path=/ws`, ...). */
export function cookieAttributes(setCookie: string): string[] {
    return setCookie
        .split(";")
        .slice(1)
        .map((part) => part.trim().toLowerCase());
}
