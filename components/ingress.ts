/**
 * External HTTP entry: `/backend/*` to the router with the prefix stripped (the router serves
 * `/api/v1/...` and `/health`), `/ws` to the WebSocket stream unchanged.
 *
 * Two Ingress objects because a rewrite annotation applies to a whole Ingress and must not touch
 * `/ws`; ingress-nginx merges Ingresses of the same host. The annotations assume ingress-nginx
 * (the default class); another controller needs its own equivalents.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IngressSettings } from "../config";
import { PUBLIC_ROUTES, SERVICE_PORT } from "../contract";
import { platformMetadata } from "./metadata";

export interface PlatformIngressArgs {
    namespace: pulumi.Input<string>;
    settings: IngressSettings;
    routerService: k8s.core.v1.Service;
    wsStreamService: k8s.core.v1.Service;
}

interface Route {
    name: string;
    path: string;
    pathType: "Prefix" | "ImplementationSpecific";
    service: k8s.core.v1.Service;
    annotations: Record<string, string>;
}

export class PlatformIngress extends pulumi.ComponentResource {
    public readonly backend: k8s.networking.v1.Ingress;
    public readonly ws: k8s.networking.v1.Ingress;
    /** Public URLs of the API and of the stream. */
    public readonly urls: pulumi.Output<{ api: string; ws: string }>;

    constructor(name: string, args: PlatformIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:Ingress", name, {}, opts);
        const { settings } = args;

        const tlsAnnotations: Record<string, string> = settings.tls
            ? { "cert-manager.io/cluster-issuer": settings.tls.clusterIssuer }
            : {};
        const ingressFor = (route: Route) =>
            new k8s.networking.v1.Ingress(
                route.name,
                {
                    metadata: platformMetadata(route.name, args.namespace, undefined, {
                        ...tlsAnnotations,
                        ...route.annotations,
                    }),
                    spec: {
                        ingressClassName: settings.className,
                        tls:
                            settings.tls && settings.host
                                ? [{ hosts: [settings.host], secretName: settings.tls.secretName }]
                                : undefined,
                        rules: [
                            {
                                host: settings.host,
                                http: {
                                    paths: [
                                        {
                                            path: route.path,
                                            pathType: route.pathType,
                                            backend: {
                                                service: {
                                                    name: route.service.metadata.name,
                                                    port: { number: SERVICE_PORT },
                                                },
                                            },
                                        },
                                    ],
                                },
                            },
                        ],
                    },
                },
                { parent: this, deleteBeforeReplace: true },
            );

        this.backend = ingressFor({
            name: PUBLIC_ROUTES.api.objectName,
            // `/backend`, `/backend/` and `/backend/<rest>`; the second group is what the router sees.
            path: `${PUBLIC_ROUTES.api.pathPrefix}(/|$)(.*)`,
            pathType: "ImplementationSpecific",
            service: args.routerService,
            annotations: {
                "nginx.ingress.kubernetes.io/use-regex": "true",
                "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
            },
        });
        this.ws = ingressFor({
            name: PUBLIC_ROUTES.stream.objectName,
            path: PUBLIC_ROUTES.stream.pathPrefix,
            pathType: "Prefix",
            service: args.wsStreamService,
            // WebSocket connections stay open far longer than nginx's 60 s default.
            annotations: {
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
            },
        });

        // Without a host (dev) the Ingress answers on the controller's address.
        const address = settings.host
            ? pulumi.output(settings.host)
            : this.backend.status.apply((status) => {
                  const entry = status?.loadBalancer?.ingress?.[0];
                  return entry?.hostname ?? entry?.ip ?? "<pending ingress address>";
              });
        const secure = settings.tls !== undefined;
        this.urls = address.apply((host) => ({
            api: `${secure ? "https" : "http"}://${host}${PUBLIC_ROUTES.api.pathPrefix}`,
            ws: `${secure ? "wss" : "ws"}://${host}${PUBLIC_ROUTES.stream.pathPrefix}`,
        }));

        this.registerOutputs({ backend: this.backend, ws: this.ws, urls: this.urls });
    }
}
