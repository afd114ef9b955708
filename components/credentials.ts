/** Generated passwords and the env entries that read a Secret's or ConfigMap's keys by reference. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/**
 * The random provider the generated passwords are made with, meant to be the program's first
 * resource; the components that generate passwords get it through their `providers` option.
 *
 * Why not the default provider: the engine loads default providers one at a time, in the order
 * resources first ask for one, and the Kubernetes objects ask first. The default random provider
 * was loaded only after the Kubernetes one was configured and behind the objects queued by then,
 * so the database's password, then its Secret, then its StatefulSet came last: on the real node
 * an install created the StatefulSet 3.3 s in, its password at 2.4-2.7 s, and every user waits for
 * the database to be ready (docs/measured.md). An explicit provider registers with the program's
 * first request and the passwords are made while the Kubernetes provider starts.
 *
 * A stack whose passwords came from the default provider keeps them: the engine asks the new
 * provider's DiffConfig whether the change of provider replaces its resources, and neither
 * provider has any config (tests/integration covers the move).
 */
export function passwordProvider(): random.Provider {
    return new random.Provider("exchange-passwords");
}

/** 32 letters and digits, a secret in the state: it goes into URLs that most clients do not unescape. */
export function generatedPassword(name: string, parent: pulumi.Resource): pulumi.Output<string> {
    return new random.RandomPassword(name, { length: 32, special: false }, { parent }).result;
}

/** Env var ENV_NAME (default: the key's own name) from KEY of SECRET. */
export function secretKeyEnv(secret: k8s.core.v1.Secret, key: string, envName: string = key): EnvVar {
    return { name: envName, valueFrom: { secretKeyRef: { name: secret.metadata.name, key } } };
}

/** Env var KEY from KEY of CONFIG_MAP. */
export function configMapKeyEnv(configMap: k8s.core.v1.ConfigMap, key: string): EnvVar {
    return { name: key, valueFrom: { configMapKeyRef: { name: configMap.metadata.name, key } } };
}
