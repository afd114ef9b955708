/**
 * The shared building block: one workload (a Deployment, or a single writer's StatefulSet) and
 * the Service(s) in front of it.
 *
 * The Service selector is derived from the pod template labels (it is their `app` label), so a
 * Service can never drift from the pods it fronts. Service names are fixed by the platform's
 * document, so every Service (and the workload, whose name is fixed too) is replaced
 * delete-before-replace: creating the replacement first would collide with the old name.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSettings, StatelessServiceSettings } from "../config";
import {
    clusterDnsName,
    externalServiceName,
    headlessServiceName,
    PlatformService,
    SERVICE_PORT,
} from "@exchange/contract";
import { fixedNameOptions, PLATFORM_LABELS, platformMetadata } from "./metadata";

type Probe = k8s.types.input.core.v1.Probe;
type ServicePort = k8s.types.input.core.v1.ServicePort;

/** The non-root user of the platform's own images (router, ws-stream). */
const APP_USER = 10001;

/** What kubelet runs to check a container: one of exec, httpGet or tcpSocket. */
export type HealthCheck = Pick<Probe, "exec" | "httpGet" | "tcpSocket">;

/** When kubelet checks: the same check serves readiness and liveness. */
export interface ProbeTimings {
    readiness: Omit<Probe, keyof HealthCheck>;
    liveness: Omit<Probe, keyof HealthCheck>;
}

/** For quick stateless servers: ready within seconds, restarted after 30 s without an answer. */
const APP_PROBE_TIMINGS: ProbeTimings = {
    readiness: { periodSeconds: 5, failureThreshold: 3 },
    liveness: { initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
};

/** A pod volume and where the container mounts it, as one value (like kubernetesx's `mount()`). */
export interface PodVolume {
    name: string;
    mountPath: string;
    source: Omit<k8s.types.input.core.v1.Volume, "name">;
}

/** Restrictive container defaults (with the pod's RuntimeDefault seccomp: Pod Security "restricted"). */
const CONTAINER_SECURITY_CONTEXT: k8s.types.input.core.v1.SecurityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

/** How a replicated service spreads, scales and weathers disruptions (docs/availability.md). */
export type Availability = Pick<
    StatelessServiceSettings,
    "autoscaling" | "disruptionBudget" | "topologySpread" | "terminationGracePeriodSeconds"
>;

export interface ServiceDeploymentArgs {
    namespace: pulumi.Input<string>;
    /**
     * Its workloadKind picks the controller: a Deployment rolls pods one by one (stateless
     * services); a StatefulSet is a single writer on a claim, at most one pod at any time (see
     * createSingleWriter).
     */
    contract: PlatformService;
    settings: ServiceSettings;
    /** Name of the container inside the pod. */
    containerName: string;
    /** Non-root user the image runs as; also the group that owns mounted volumes. Default APP_USER. */
    runAsUser?: number;
    healthCheck: HealthCheck;
    /** Default APP_PROBE_TIMINGS. */
    probeTimings?: ProbeTimings;
    env?: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.EnvVar>[]>;
    args?: pulumi.Input<string>[];
    volumes?: PodVolume[];
    /** Replicated services only; a single writer has none of it. */
    availability?: Availability;
    /** More containers in the pod, on the main container's image, env, volumes and restrictions. */
    companions?: Companion[];
}

/** A container beside the main one: run to completion before it (`init`), or alongside it. */
export interface Companion {
    name: string;
    init: boolean;
    command: string[];
    resources: k8s.types.input.core.v1.ResourceRequirements;
    /** A sidecar's: ready when what it works for is (it serves no traffic of its own). */
    readiness?: HealthCheck;
}

export class ServiceDeployment extends pulumi.ComponentResource {
    public readonly contract: PlatformService;
    public readonly settings: ServiceSettings;
    /** The Deployment, or a single writer's StatefulSet. */
    public readonly controller: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet;
    /** The main Service, with the contract's fixed name. */
    public readonly service: k8s.core.v1.Service;
    public readonly externalService?: k8s.core.v1.Service;
    public readonly headlessService?: k8s.core.v1.Service;
    public readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    public readonly autoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
    /** Every label on the pod template. */
    public readonly podLabels: Record<string, string>;
    /** The subset of podLabels that the Deployment and the Services select on. */
    public readonly selectorLabels: Record<string, string>;
    /** `<service>.<namespace>.svc.cluster.local:<port>` of each Service, keyed by Service name. */
    public readonly dnsNames: pulumi.Output<Record<string, string>>;

    private readonly namespace: pulumi.Input<string>;

    constructor(name: string, args: ServiceDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:ServiceDeployment", name, {}, opts);
        const { contract, settings } = args;
        this.contract = contract;
        this.settings = settings;
        this.namespace = args.namespace;

        this.podLabels = {
            app: contract.appName,
            "app.kubernetes.io/name": contract.appName,
            "app.kubernetes.io/component": contract.component,
            ...PLATFORM_LABELS,
        };
        // The contract selects on `app` alone; the Deployment's selector is immutable, so it stays
        // that narrow and the other labels can change freely.
        this.selectorLabels = { app: this.podLabels.app };

        this.controller =
            args.contract.workloadKind === "StatefulSet" ? this.createSingleWriter(args) : this.createDeployment(args);
        ({
            service: this.service,
            externalService: this.externalService,
            headlessService: this.headlessService,
        } = this.createServices(contract, settings));

        if (args.availability?.disruptionBudget.enabled) {
            this.disruptionBudget = this.createDisruptionBudget(args.availability.disruptionBudget.maxUnavailable);
        }
        if (args.availability?.autoscaling.enabled) {
            this.autoscaler = this.createAutoscaler(args.availability.autoscaling);
        }

        this.dnsNames = this.dnsNamesOf([this.service, this.externalService, this.headlessService]);
        this.registerOutputs({
            controller: this.controller,
            service: this.service,
            externalService: this.externalService,
            headlessService: this.headlessService,
            disruptionBudget: this.disruptionBudget,
            autoscaler: this.autoscaler,
            dnsNames: this.dnsNames,
        });
    }

    private createDeployment(args: ServiceDeploymentArgs): k8s.apps.v1.Deployment {
        const { contract, settings } = args;
        return new k8s.apps.v1.Deployment(
            contract.appName,
            {
                metadata: platformMetadata(contract.appName, this.namespace, this.podLabels),
                spec: {
                    replicas: settings.replicas,
                    selector: { matchLabels: this.selectorLabels },
                    strategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: this.podLabels },
                        spec: podSpec(args, this.selectorLabels),
                    },
                },
            },
            {
                ...fixedNameOptions(this),
                // An HPA owns `replicas` once the Deployment exists: the program's count is the one
                // at creation, and an update never takes the field back (with patchForce it would
                // silently reset the HPA's count; without, it would stop on a field conflict with
                // the controller-manager's scale subresource, pulumi-kubernetes #2491).
                ignoreChanges: args.availability?.autoscaling.enabled ? ["spec.replicas"] : undefined,
            },
        );
    }

    /**
     * A single writer (PostgreSQL, Redis): one pod on its data claim, never two at once. A
     * Deployment starts a deleted pod's replacement at once, while the old server may still be
     * shutting down on the same volume: `Recreate` governs only rollouts, a ReadWriteOnce claim
     * lets any number of pods on one node mount it, and PostgreSQL's postmaster.pid cannot see a
     * server in another container's PID namespace. A StatefulSet creates its pod `<name>-0` again
     * only once the old pod object is gone, that is once the kubelet reported its containers
     * stopped (docs/backups.md, "One writer"). ReadWriteOncePod would say the same on the claim,
     * but a claim's access modes are immutable: every existing claim, and its data, would be
     * replaced (and prod's protected claims could not be).
     *
     * The claim stays the program's own resource (no volumeClaimTemplates), so its name, URN and
     * data are unchanged. The StatefulSet takes the former Deployment's place in the state
     * through an alias of its type. The provider alone would see a changed `kind` as an update
     * (an apply that creates the StatefulSet and leaves the Deployment running: two writers), so
     * a change of `kind` replaces, delete-before-replace: the Deployment is deleted in the
     * foreground (the provider's default), its pods gone, before the StatefulSet is created.
     */
    private createSingleWriter(args: ServiceDeploymentArgs): k8s.apps.v1.StatefulSet {
        const { contract, settings } = args;
        return new k8s.apps.v1.StatefulSet(
            contract.appName,
            {
                metadata: platformMetadata(contract.appName, this.namespace, this.podLabels),
                spec: {
                    replicas: settings.replicas,
                    // Immutable, and required: the main Service, which every stack has. The pods need
                    // no per-pod DNS record (prod's headless Service gives PostgreSQL's one).
                    serviceName: contract.serviceName,
                    selector: { matchLabels: this.selectorLabels },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: this.podLabels },
                        spec: podSpec(args, this.selectorLabels),
                    },
                },
            },
            {
                ...fixedNameOptions(this),
                aliases: [{ type: "kubernetes:apps/v1:Deployment" }],
                replaceOnChanges: ["kind"],
            },
        );
    }

    /**
     * A drain evicts at most maxUnavailable of the pods at once and waits for replacements to be
     * Ready before the next. Unhealthy pods may always be evicted: a pod that never turns Ready
     * must not hold up a node's drain forever.
     */
    private createDisruptionBudget(maxUnavailable: number): k8s.policy.v1.PodDisruptionBudget {
        const name = this.contract.appName;
        return new k8s.policy.v1.PodDisruptionBudget(
            name,
            {
                metadata: platformMetadata(name, this.namespace, this.podLabels),
                spec: {
                    maxUnavailable,
                    selector: { matchLabels: this.selectorLabels },
                    unhealthyPodEvictionPolicy: "AlwaysAllow",
                },
            },
            fixedNameOptions(this),
        );
    }

    private createAutoscaler(settings: Availability["autoscaling"]): k8s.autoscaling.v2.HorizontalPodAutoscaler {
        const name = this.contract.appName;
        return new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            name,
            {
                metadata: platformMetadata(name, this.namespace, this.podLabels),
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.controller.metadata.name },
                    minReplicas: settings.minReplicas,
                    maxReplicas: settings.maxReplicas,
                    metrics: [
                        {
                            type: "Resource",
                            resource: {
                                name: "cpu",
                                target: {
                                    type: "Utilization",
                                    averageUtilization: settings.targetCPUUtilizationPercent,
                                },
                            },
                        },
                    ],
                },
            },
            fixedNameOptions(this),
        );
    }

    /** The main Service with the contract's name, and the variants the settings ask for. */
    private createServices(contract: PlatformService, settings: ServiceSettings) {
        // Port 80 of the main and external Services leads to the container's own named port.
        const mainPort: ServicePort = {
            name: contract.portName,
            port: SERVICE_PORT,
            targetPort: contract.containerPort,
            protocol: "TCP",
        };
        const metricsPort: ServicePort[] =
            settings.metricsPort === undefined
                ? []
                : [{ name: "metrics", port: settings.metricsPort, targetPort: settings.metricsPort, protocol: "TCP" }];
        const affinity =
            settings.sessionAffinity === "ClientIP"
                ? { clientIP: { timeoutSeconds: settings.sessionAffinityTimeoutSeconds } }
                : undefined;
        return {
            service: this.createService(contract.serviceName, {
                type: settings.serviceType,
                ports: [mainPort, ...metricsPort],
                sessionAffinity: settings.sessionAffinity,
                sessionAffinityConfig: affinity,
            }),
            externalService: settings.external
                ? this.createService(externalServiceName(contract), { type: "LoadBalancer", ports: [mainPort] })
                : undefined,
            headlessService: settings.headless
                ? this.createService(headlessServiceName(contract), {
                      clusterIP: "None",
                      ports: [{ ...mainPort, port: contract.containerPort }],
                      // Peers and init scripts need the pod's DNS record before it is Ready.
                      publishNotReadyAddresses: true,
                  })
                : undefined,
        };
    }

    /**
     * A Service selecting this workload's pods; `spec` gives the rest.
     *
     * The provider's await for a Service waits for its endpoints and then sleeps 10 s after the
     * last change to them before it counts them "settled" (pkg/await/service.go), which was most
     * of an install's time. What it would prove is already proven: the workload's own await
     * (kept) waits for its pods to be ready, the endpoints follow them within the same second, and
     * the policy pack refuses a selector that matches no pod template before anything is
     * deployed. So the program's Services skip it, except a LoadBalancer's, whose await is the
     * one that waits for its external address (docs/deployment.md, "What `pulumi up` waits for").
     */
    private createService(serviceName: string, spec: k8s.types.input.core.v1.ServiceSpec): k8s.core.v1.Service {
        const annotations: Record<string, string> =
            spec.type === "LoadBalancer" ? {} : { "pulumi.com/skipAwait": "true" };
        return new k8s.core.v1.Service(
            serviceName,
            {
                metadata: platformMetadata(serviceName, this.namespace, this.podLabels, annotations),
                spec: { ...spec, selector: this.selectorLabels },
            },
            fixedNameOptions(this),
        );
    }

    private dnsNamesOf(services: (k8s.core.v1.Service | undefined)[]): pulumi.Output<Record<string, string>> {
        const namespace = pulumi.output(this.namespace);
        const entries = services
            .filter((service): service is k8s.core.v1.Service => service !== undefined)
            .map((service) =>
                pulumi
                    .all([service.metadata.name, namespace, service.spec.ports])
                    .apply(([serviceName, ns, ports]): [string, string] => [
                        serviceName,
                        clusterDnsName(serviceName, ns, ports[0].port),
                    ]),
            );
        return pulumi.all(entries).apply((pairs) => Object.fromEntries(pairs));
    }
}

/**
 * With more than one replica: at most one more pod per node than on any other node that can take
 * one (cordoned and tainted nodes do not count, so a drain is never blocked by the rule), and the
 * same over zones where the cluster has them, as a preference (a single-zone cluster must still
 * schedule). Each ReplicaSet spreads on its own (pod-template-hash), so a rollout's new pods
 * spread too, not only the old and new together.
 */
function topologySpread(
    availability: Availability | undefined,
    replicas: number,
    selectorLabels: Record<string, string>,
): k8s.types.input.core.v1.TopologySpreadConstraint[] | undefined {
    const replicated = replicas > 1 || availability?.autoscaling.enabled === true;
    if (!availability?.topologySpread || !replicated) {
        return undefined;
    }
    const constraint = (topologyKey: string, whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway") => ({
        topologyKey,
        maxSkew: 1,
        whenUnsatisfiable,
        labelSelector: { matchLabels: selectorLabels },
        matchLabelKeys: ["pod-template-hash"],
        nodeTaintsPolicy: "Honor",
    });
    return [
        constraint("topology.kubernetes.io/zone", "ScheduleAnyway"),
        constraint("kubernetes.io/hostname", "DoNotSchedule"),
    ];
}

/** The pod: one non-root container, its named ports, probes and volumes. */
function podSpec(args: ServiceDeploymentArgs, selectorLabels: Record<string, string>): k8s.types.input.core.v1.PodSpec {
    const { contract, settings } = args;
    const user = args.runAsUser ?? APP_USER;
    const timings = args.probeTimings ?? APP_PROBE_TIMINGS;
    const ports: k8s.types.input.core.v1.ContainerPort[] = [
        { name: contract.portName, containerPort: contract.containerPort, protocol: "TCP" },
    ];
    // The platform's apps learn their metrics port from METRICS_PORT: the named port, the
    // Service port and the server then agree on one number, written once in the stack config.
    const metricsEnv: k8s.types.input.core.v1.EnvVar[] = [];
    if (settings.metricsPort !== undefined) {
        ports.push({ name: "metrics", containerPort: settings.metricsPort, protocol: "TCP" });
        metricsEnv.push({ name: "METRICS_PORT", value: String(settings.metricsPort) });
    }
    // No `env` at all rather than an empty list, so a pod without variables keeps the manifest it
    // always had (no diff on existing stacks). The SDK's input type admits an Output of a list but
    // not of a list that may be undefined, although the provider takes both.
    const env = pulumi.output(args.env ?? []).apply((list) => {
        const all = [...list, ...metricsEnv];
        return all.length > 0 ? all : undefined;
    }) as pulumi.Output<k8s.types.input.core.v1.EnvVar[]>;
    const volumes = args.volumes ?? [];
    const volumeMounts = volumes.length > 0 ? volumes.map(({ name, mountPath }) => ({ name, mountPath })) : undefined;
    const companions = args.companions ?? [];
    const companion = ({ name, command, resources, readiness }: Companion): k8s.types.input.core.v1.Container => ({
        name,
        image: settings.image,
        command,
        env,
        resources,
        readinessProbe: readiness && { ...readiness, ...timings.readiness },
        securityContext: CONTAINER_SECURITY_CONTEXT,
        volumeMounts,
    });
    const initContainers = companions.filter((c) => c.init).map(companion);
    return {
        // None of the services talks to the Kubernetes API.
        automountServiceAccountToken: false,
        // Keeps the <NAME>_SERVICE_HOST/_PORT variables the platform document describes.
        enableServiceLinks: true,
        terminationGracePeriodSeconds: args.availability?.terminationGracePeriodSeconds,
        topologySpreadConstraints: topologySpread(args.availability, settings.replicas, selectorLabels),
        securityContext: {
            runAsNonRoot: true,
            runAsUser: user,
            runAsGroup: user,
            fsGroup: user,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
            {
                name: args.containerName,
                image: settings.image,
                args: args.args,
                ports,
                env,
                resources: settings.resources,
                readinessProbe: { ...args.healthCheck, ...timings.readiness },
                livenessProbe: { ...args.healthCheck, ...timings.liveness },
                securityContext: CONTAINER_SECURITY_CONTEXT,
                volumeMounts,
            },
            ...companions.filter((c) => !c.init).map(companion),
        ],
        initContainers: initContainers.length > 0 ? initContainers : undefined,
        volumes: volumes.length > 0 ? volumes.map(({ name, source }) => ({ name, ...source })) : undefined,
    };
}
