/** Generated passwords and the env entries that read a Secret's or ConfigMap's keys by reference. */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

type EnvVar = k8s.types.input.core.v1.EnvVar;

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
