// Recognising credentials written as literal values: in env vars, in ConfigMap keys and files.
// Functions return why a value is a credential, and never repeat the value.

/** Env var / key names that mark a credential. */
const SENSITIVE_NAME = /PASSWORD|PASSWD|SECRET|TOKEN/i;

/**
 * Names that mention a credential but hold something else: a file or path to it, the name of a
 * Secret, a reference, a lifetime, or an endpoint (e.g. POSTGRES_PASSWORD_FILE, TLS_SECRET_NAME,
 * TOKEN_URL). Their values are still checked for embedded credentials.
 */
const REFERENCE_NAME = /[_.-](FILE|PATH|DIR|NAME|REF|TTL|URL|URI|ENDPOINT|HEADER)$/i;

/** Keys (query parameters, connection-string and config-file keys) whose value is a credential. */
const SENSITIVE_KEY =
    /(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|sharedaccesskey|requirepass|masterauth)$/i;

/** A value that only refers to another one: "$(DB_PASSWORD)" (Kubernetes) or "${DB_PASSWORD}" (shells, apps). */
const PLACEHOLDER = /^(\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\{[A-Za-z_][A-Za-z0-9_.:-]*\})$/;

/** scheme://[user]:password@ (the user may be empty, as in redis://:password@host). */
const URL_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:([^\s/?#@]*)@/gi;

/** key=value pairs of query strings (?a=b&c=d) and connection strings (a=b;c=d). */
const PARAMETER = /(?:^|[?&;])\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*([^&;#\s]*)/g;

/** key=value, key: value or "key": "value" lines of config files; "requirepass value" of redis.conf. */
const CONFIG_LINE = /^\s*["']?([A-Za-z][A-Za-z0-9_.-]*)["']?\s*(?:[=:]|\s(?=\S))\s*(.*?)\s*,?\s*$/;

function isLiteral(value: string): boolean {
    const v = value.trim().replace(/^(["'])(.*)\1$/, "$2");
    return v !== "" && !PLACEHOLDER.test(v);
}

/** Does the env var / key name mark a credential? */
function sensitiveName(name: string): boolean {
    return SENSITIVE_NAME.test(name) && !REFERENCE_NAME.test(name);
}

/**
 * Why a single value embeds a credential (a URL with a password, a password parameter in a query
 * or connection string), or undefined.
 */
function valueCredentialProblem(value: string): string | undefined {
    for (const m of value.matchAll(URL_USERINFO)) {
        if (isLiteral(decodeSafely(m[1]))) {
            return "holds a URL with an embedded password (scheme://user:password@)";
        }
    }
    for (const m of value.matchAll(PARAMETER)) {
        if (SENSITIVE_KEY.test(m[1]) && isLiteral(decodeSafely(m[2]))) {
            return `holds a "${m[1]}=" parameter with a literal value`;
        }
    }
    return undefined;
}

/** Why a named value (env var, ConfigMap key read as env var) is a literal credential, or undefined. */
export function namedValueCredentialProblem(name: string, value: string, nameExempt: boolean): string | undefined {
    const embedded = valueCredentialProblem(value);
    if (embedded) {
        return embedded;
    }
    if (!nameExempt && sensitiveName(name) && isLiteral(value)) {
        return "has a name that marks it as a credential (PASSWORD/SECRET/TOKEN) but a literal value";
    }
    return undefined;
}

/** Why the content of a mounted file holds a literal credential, or undefined. */
export function fileCredentialProblem(fileName: string, content: string): string | undefined {
    if (sensitiveName(fileName) && isLiteral(content)) {
        return "is a file whose name marks it as a credential, with a literal value";
    }
    for (const [i, line] of content.split(/\r?\n/).entries()) {
        if (/^\s*[#;]/.test(line)) {
            continue;
        }
        const m = CONFIG_LINE.exec(line);
        if (m && SENSITIVE_KEY.test(m[1]) && isLiteral(m[2])) {
            return `line ${i + 1} sets "${m[1]}" to a literal value`;
        }
        const problem = valueCredentialProblem(line);
        if (problem) {
            return `line ${i + 1} ${problem}`;
        }
    }
    return undefined;
}

function decodeSafely(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}
