/**
 * The shared building block: one Deployment and the Service(s) in front of it.
 *
 * The Service selector is derived from the pod template labels (it is their `app` label), so a
 * Service can never drift from the pods it fronts. Service names are fixed by the platform's
 * document, so every Service (and the Deployment, whose name is fixed too) is replaced
 * delete-before-replace: creating the replacement first would collide with the old name.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSettings } from "../config";
import { clusterDnsName, SeedService, SERVICE_PORT } from "../seed";
import { PLATFORM_LABELS, platformMetadata } from "./metadata";

/** Restrictive container defaults; each service only relaxes what its image needs. */
const CONTAINER_SECURITY_CONTEXT: k8s.types.input.core.v1.SecurityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

export interface ServiceDeploymentArgs {
    namespace: pulumi.Input<string>;
    seed: SeedService;
    settings: ServiceSettings;
    /** Name of the container inside the pod. */
    containerName: string;
    /** Non-root user the image runs as; also the group that owns mounted volumes. */
    runAsUser: number;
    readinessProbe: k8s.types.input.core.v1.Probe;
    livenessProbe: k8s.types.input.core.v1.Probe;
    env?: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
    args?: string[];
    volumes?: pulumi.Input<k8s.types.input.core.v1.Volume>[];
    volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
    /**
     * `Recreate` for single writers on a ReadWriteOnce claim: a rolling update would start the
     * new pod while the old one still holds the volume.
     */
    strategy: "RollingUpdate" | "Recreate";
}

export class ServiceDeployment extends pulumi.ComponentResource {
    public readonly seed: SeedService;
    public readonly settings: ServiceSettings;
    public readonly deployment: k8s.apps.v1.Deployment;
    /** The main Service, with the seed's fixed name. */
    public readonly service: k8s.core.v1.Service;
    public readonly externalService?: k8s.core.v1.Service;
    public readonly headlessService?: k8s.core.v1.Service;
    /** Every label on the pod template. */
    public readonly podLabels: Record<string, string>;
    /** The subset of podLabels that the Deployment and the Services select on. */
    public readonly selectorLabels: Record<string, string>;
    /** `<service>.<namespace>.svc.cluster.local:<port>` of each Service, keyed by Service name. */
    public readonly dnsNames: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ServiceDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:ServiceDeployment", name, {}, opts);
        const { seed, settings } = args;
        this.seed = seed;
        this.settings = settings;

        this.podLabels = {
            app: seed.appName,
            "app.kubernetes.io/name": seed.appName,
            "app.kubernetes.io/component": seed.component,
            ...PLATFORM_LABELS,
        };
        // The seed selects on `app` alone; the Deployment's selector is immutable, so it stays
        // that narrow and the other labels can change freely.
        this.selectorLabels = { app: this.podLabels.app };

        const metadata = (objectName: string) => platformMetadata(objectName, args.namespace, this.podLabels);
        const fixedName: pulumi.CustomResourceOptions = { parent: this, deleteBeforeReplace: true };

        const containerPorts: k8s.types.input.core.v1.ContainerPort[] = [
            { name: seed.portName, containerPort: seed.containerPort, protocol: "TCP" },
        ];
        const servicePorts: k8s.types.input.core.v1.ServicePort[] = [
            { name: seed.portName, port: SERVICE_PORT, targetPort: seed.containerPort, protocol: "TCP" },
        ];
        if (settings.metricsPort !== undefined) {
            containerPorts.push({ name: "metrics", containerPort: settings.metricsPort, protocol: "TCP" });
            servicePorts.push({ name: "metrics", port: settings.metricsPort, targetPort: settings.metricsPort, protocol: "TCP" });
        }

        this.deployment = new k8s.apps.v1.Deployment(
            seed.appName,
            {
                metadata: metadata(seed.appName),
                spec: {
                    replicas: settings.replicas,
                    selector: { matchLabels: this.selectorLabels },
                    strategy: { type: args.strategy },
                    template: {
                        metadata: { labels: this.podLabels },
                        spec: {
                            // None of the services talks to the Kubernetes API.
                            automountServiceAccountToken: false,
                            // Keeps the <NAME>_SERVICE_HOST/_PORT variables the seed documents.
                            enableServiceLinks: true,
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: args.runAsUser,
                                runAsGroup: args.runAsUser,
                                fsGroup: args.runAsUser,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [
                                {
                                    name: args.containerName,
                                    image: settings.image,
                                    args: args.args,
                                    ports: containerPorts,
                                    env: args.env,
                                    resources: settings.resources,
                                    readinessProbe: args.readinessProbe,
                                    livenessProbe: args.livenessProbe,
                                    securityContext: CONTAINER_SECURITY_CONTEXT,
                                    volumeMounts: args.volumeMounts,
                                },
                            ],
                            volumes: args.volumes,
                        },
                    },
                },
            },
            fixedName,
        );

        this.service = new k8s.core.v1.Service(
            seed.serviceName,
            {
                metadata: metadata(seed.serviceName),
                spec: {
                    type: settings.serviceType,
                    selector: this.selectorLabels,
                    ports: servicePorts,
                    sessionAffinity: settings.sessionAffinity,
                    sessionAffinityConfig:
                        settings.sessionAffinity === "ClientIP"
                            ? { clientIP: { timeoutSeconds: settings.sessionAffinityTimeoutSeconds } }
                            : undefined,
                },
            },
            fixedName,
        );
        const services = [this.service];

        if (settings.external) {
            const externalName = `${seed.appName}-external`;
            this.externalService = new k8s.core.v1.Service(
                externalName,
                {
                    metadata: metadata(externalName),
                    spec: {
                        type: "LoadBalancer",
                        selector: this.selectorLabels,
                        ports: [{ name: seed.portName, port: SERVICE_PORT, targetPort: seed.containerPort, protocol: "TCP" }],
                    },
                },
                fixedName,
            );
            services.push(this.externalService);
        }

        if (settings.headless) {
            const headlessName = `${seed.appName}-headless`;
            this.headlessService = new k8s.core.v1.Service(
                headlessName,
                {
                    metadata: metadata(headlessName),
                    spec: {
                        clusterIP: "None",
                        selector: this.selectorLabels,
                        ports: [{ name: seed.portName, port: seed.containerPort, targetPort: seed.containerPort, protocol: "TCP" }],
                        // Peers and init scripts need the pod's DNS record before it is Ready.
                        publishNotReadyAddresses: true,
                    },
                },
                fixedName,
            );
            services.push(this.headlessService);
        }

        const namespace = pulumi.output(args.namespace);
        this.dnsNames = pulumi
            .all(
                services.map((service) =>
                    pulumi
                        .all([service.metadata.name, namespace, service.spec.ports])
                        .apply(([serviceName, ns, ports]): [string, string] => [serviceName, clusterDnsName(serviceName, ns, ports[0].port)]),
                ),
            )
            .apply((entries) => Object.fromEntries(entries));

        this.registerOutputs({
            deployment: this.deployment,
            service: this.service,
            externalService: this.externalService,
            headlessService: this.headlessService,
            dnsNames: this.dnsNames,
        });
    }
}
