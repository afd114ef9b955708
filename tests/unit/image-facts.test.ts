/**
 * images/images.json holds what several languages need to agree on about the local images: each
 * image's reference, the user and group it runs as, the ports it listens on by name. build.sh
 * builds the images from it and the image tests (Go) read it; this holds the TypeScript side to
 * it: the dev stack's image references, the users the program's pods run as, the contract's
 * ports, the stack files' ports and the cluster add-ons' users. Any drift fails here, before a
 * pod on the local node starts as the wrong user or waits on the wrong port.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { PLATFORM_SERVICES, PlatformService, ROUTER } from "@exchange/contract";
import { PROJECT_ROOT, stackConfig, toolchainVersions } from "../support";
import { ProgramRun, runProgram, workloadNamed } from "./harness";

interface ImagePort {
    name: string;
    port: number;
    protocol: "TCP" | "UDP";
    /** The variable the image config sets to this port, telling the program where to listen. */
    env?: string;
}

interface ImageFacts {
    /** `${NAME}` in it stands for NAME's value in toolchain/versions.env. */
    tag: string;
    user: { name: string; uid: number; gid: number };
    ports: ImagePort[];
}

const FACTS: { repository: string; images: Record<string, ImageFacts> } = JSON.parse(
    fs.readFileSync(path.join(PROJECT_ROOT, "images", "images.json"), "utf8"),
);

const VERSIONS = toolchainVersions();

/** The reference build.sh gives image NAME: repository/NAME:tag, versions filled in. */
function imageRef(name: string): string {
    const tag = FACTS.images[name].tag.replace(/\$\{([A-Z0-9_]+)\}/g, (variable: string, version: string) => {
        assert.ok(version in VERSIONS, `images.json: ${name}'s tag uses ${variable}, not in toolchain/versions.env`);
        return VERSIONS[version];
    });
    return `${FACTS.repository}/${name}:${tag}`;
}

function portNamed(image: string, portName: string): ImagePort {
    const found = FACTS.images[image].ports.find((p) => p.name === portName);
    assert.ok(found, `images.json: image ${image} has no port named ${portName}`);
    return found;
}

/** The stack files beside Pulumi.yaml: Pulumi.<stack>.yaml. */
const STACKS = fs
    .readdirSync(PROJECT_ROOT)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined);

/** The `image:` values a stack file sets, by config key (`exchange:router` ...). */
function stackImages(stack: string): Record<string, string> {
    return Object.fromEntries(
        Object.entries(stackConfig(stack))
            .map(([key, text]): [string, unknown] => {
                try {
                    return [key, JSON.parse(text)?.image];
                } catch {
                    return [key, undefined]; // a plain string value, such as the namespace
                }
            })
            .filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    );
}

function podSpecOf(run: ProgramRun, service: PlatformService): any {
    return workloadNamed(run, service.appName).inputs.spec.template.spec;
}

/** The image of images.json that the dev stack runs for a platform service (dev runs only those). */
function imageOf(devRun: ProgramRun, service: PlatformService): string {
    const ref = podSpecOf(devRun, service).containers[0].image;
    const image = Object.keys(FACTS.images).find((name) => imageRef(name) === ref);
    assert.ok(image, `dev runs ${ref} for ${service.appName}: not an image of images/images.json`);
    return image;
}

describe("images/images.json: the images' facts", () => {
    it("names images, each with a reference (versions filled in), a non-root user and group, uniquely named ports", () => {
        const names = Object.keys(FACTS.images);
        assert.ok(names.length > 0, "no images");
        for (const name of names) {
            const { user, ports } = FACTS.images[name];
            assert.match(imageRef(name), /^[a-z0-9./-]+:[\w.-]+$/, name);
            assert.ok(Number.isInteger(user.uid) && user.uid > 0, `${name}: uid ${user.uid}`);
            assert.ok(Number.isInteger(user.gid) && user.gid > 0, `${name}: gid ${user.gid}`);
            const portNames = ports.map((p) => p.name);
            assert.strictEqual(new Set(portNames).size, portNames.length, `${name}: port names ${portNames}`);
        }
    });
});

describe("the program, the contract and the stack files agree with images/images.json", () => {
    const runs: Record<string, ProgramRun> = {};
    before(async () => {
        for (const stack of ["dev", "prod"]) {
            runs[stack] = await runProgram(stackConfig(stack), stack);
            assert.ifError(runs[stack].error);
        }
    });

    it("Pulumi.dev.yaml runs every platform service on an image of images.json, by its reference", () => {
        const images = Object.values(stackImages("dev"));
        assert.strictEqual(images.length, PLATFORM_SERVICES.length, `dev's images: ${images}`);
        const refs = Object.keys(FACTS.images).map(imageRef);
        for (const image of images) {
            assert.ok(refs.includes(image), `Pulumi.dev.yaml: ${image} is none of ${refs.join(", ")}`);
        }
        for (const service of PLATFORM_SERVICES) {
            imageOf(runs.dev, service);
        }
    });

    it(`no stack file names an image under ${FACTS.repository}/ that images.json lacks`, () => {
        const local = STACKS.flatMap((stack) =>
            Object.entries(stackImages(stack)).map(([key, image]) => ({ stack, key, image })),
        ).filter(({ image }) => image.startsWith(`${FACTS.repository}/`));
        assert.ok(local.length > 0, "no stack runs a local image");
        const refs = Object.keys(FACTS.images).map(imageRef);
        for (const { stack, key, image } of local) {
            assert.ok(refs.includes(image), `Pulumi.${stack}.yaml ${key}: ${image} is not built by images/build.sh`);
        }
    });

    for (const service of PLATFORM_SERVICES) {
        it(`${service.appName}: the contract's port ${service.portName}=${service.containerPort} is its image's`, () => {
            const port = portNamed(imageOf(runs.dev, service), service.portName);
            assert.deepStrictEqual(
                { port: service.containerPort, protocol: "TCP" },
                { port: port.port, protocol: port.protocol },
            );
        });

        it(`${service.appName}: the pods of both stacks run as its image's user and group`, () => {
            const { uid, gid } = FACTS.images[imageOf(runs.dev, service)].user;
            for (const stack of ["dev", "prod"]) {
                const securityContext = podSpecOf(runs[stack], service).securityContext;
                assert.deepStrictEqual(
                    {
                        runAsUser: securityContext.runAsUser,
                        runAsGroup: securityContext.runAsGroup,
                        fsGroup: securityContext.fsGroup,
                    },
                    { runAsUser: uid, runAsGroup: gid, fsGroup: gid },
                    `${stack}: ${service.appName}`,
                );
            }
        });
    }

    it("a stack's router metrics port is the router image's metrics port", () => {
        const metrics = portNamed(imageOf(runs.dev, ROUTER), "metrics");
        const configured = STACKS.map((stack) => stackConfig(stack)["exchange:router"])
            .map((router) => (router === undefined ? undefined : JSON.parse(router).metricsPort))
            .filter((port) => port !== undefined);
        assert.ok(configured.length > 0, "no stack file sets router.metricsPort");
        for (const port of configured) {
            assert.strictEqual(port, metrics.port);
        }
        const prodPorts = podSpecOf(runs.prod, ROUTER).containers[0].ports;
        assert.deepStrictEqual(
            prodPorts.find((p: any) => p.name === "metrics"),
            { name: "metrics", containerPort: metrics.port, protocol: metrics.protocol },
        );
    });
});

describe("the local cluster's add-ons agree with images/images.json", () => {
    /** The Deployment of an add-on manifest, its @PLACEHOLDER@s left as plain words. */
    function addonDeployment(file: string): any {
        const text = fs.readFileSync(path.join(PROJECT_ROOT, "cluster", "addons", file), "utf8");
        const deployment = yaml
            .loadAll(text.replace(/@(\w+)@/g, "$1"))
            .find((document: any) => document?.kind === "Deployment");
        assert.ok(deployment, `${file}: no Deployment`);
        return deployment;
    }

    for (const [file, image] of [
        ["coredns.yaml", "coredns"],
        ["traefik.yaml", "traefik"],
    ]) {
        it(`${file} runs ${image} as its image's user and group`, () => {
            const { uid, gid } = FACTS.images[image].user;
            const securityContext = addonDeployment(file).spec.template.spec.securityContext;
            assert.deepStrictEqual(
                { runAsUser: securityContext.runAsUser, runAsGroup: securityContext.runAsGroup },
                { runAsUser: uid, runAsGroup: gid },
            );
        });
    }

    it("coredns.yaml's container ports are the coredns image's, by name", () => {
        const ports = addonDeployment("coredns.yaml").spec.template.spec.containers[0].ports;
        assert.deepStrictEqual(
            ports.map((p: any) => ({ name: p.name, port: p.containerPort, protocol: p.protocol })),
            FACTS.images.coredns.ports.map(({ name, port, protocol }) => ({ name, port, protocol })),
        );
    });
});
