/**
 * The public entry as Gateway API routes (gateway.networking.k8s.io/v1), the successor of
 * Ingress: HTTPRoute `exchange-backend` sends `/backend/*` to the router with the prefix replaced
 * by `/` (a URLRewrite filter), HTTPRoute `exchange-ws` sends `/ws` to the stream unchanged. They
 * attach to a Gateway named in config, or to one the program creates (HTTP on 80, and with TLS an
 * HTTPS listener on 443 whose certificate cert-manager issues from the Gateway's annotation).
 *
 * Sticky WebSockets: standard Gateway API has no cookie affinity (HTTPRoute sessionPersistence is
 * in the experimental channel only, and Traefik 3.7's Gateway provider does not serve it). Traefik
 * does accept a backendRef to its own TraefikService (group traefik.io) when its kubernetesCRD
 * provider is on: the `/ws` rule then points to a TraefikService whose one weighted entry is the
 * stream's Service with a sticky cookie, which pins a client to one pod.
 *
 * @pulumi/kubernetes 4.25 has no typed Gateway API classes, so these are CustomResources.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { GatewaySettings, PublicEntrySettings } from "../config";
import { PUBLIC_ROUTES, SERVICE_PORT } from "@exchange/contract";
import { publicUrls } from "./ingress";
import { fixedNameOptions, platformMetadata } from "./metadata";

const GATEWAY_API = "gateway.networking.k8s.io";
const API_VERSION = `${GATEWAY_API}/v1`;
const TRAEFIK_API = "traefik.io";
const TRAEFIK_SERVICE = "TraefikService";

export interface GatewayRoutesArgs {
    namespace: pulumi.Input<string>;
    /** Host and TLS of the public entry. */
    settings: PublicEntrySettings;
    gateway: GatewaySettings;
    routerService: k8s.core.v1.Service;
    wsStreamService: k8s.core.v1.Service;
    /** Lifetime of the affinity cookie: the ws Service's own affinity timeout. */
    affinitySeconds: number;
}

type BackendRef = Record<string, pulumi.Input<string | number>>;

type GatewayStatus = { addresses?: { value: string }[] } | undefined;

export class GatewayRoutes extends pulumi.ComponentResource {
    /** The Gateway, when the program creates it. */
    public readonly gateway?: k8s.apiextensions.CustomResource;
    public readonly backend: k8s.apiextensions.CustomResource;
    public readonly ws: k8s.apiextensions.CustomResource;
    /** With sticky sessions: the Traefik service that pins a client's WebSockets to one pod. */
    public readonly stickyWs?: k8s.apiextensions.CustomResource;
    public readonly urls: pulumi.Output<{ api: string; ws: string }>;

    constructor(name: string, args: GatewayRoutesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:GatewayRoutes", name, {}, opts);
        const { settings } = args;
        const { api, stream } = PUBLIC_ROUTES;
        this.gateway = args.gateway.create ? this.createGateway(args) : undefined;

        this.backend = this.route(args, api.objectName, serviceRef(args.routerService), {
            matches: [{ path: { type: "PathPrefix", value: api.pathPrefix } }],
            // PathPrefix matches whole segments, so `/backendx` is not `/backend`.
            filters: [
                { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } },
            ],
        });
        this.stickyWs = settings.stickySessions ? this.stickyService(args) : undefined;
        const wsBackend = this.stickyWs
            ? { group: TRAEFIK_API, kind: TRAEFIK_SERVICE, name: this.stickyWs.metadata.name }
            : serviceRef(args.wsStreamService);
        this.ws = this.route(args, stream.objectName, wsBackend, {
            matches: [{ path: { type: "PathPrefix", value: stream.pathPrefix } }],
        });

        // Without a host, the routes answer on the Gateway's address.
        const address = settings.host
            ? pulumi.output(settings.host)
            : this.gatewayStatus(args).apply<string>(
                  (status) => status?.addresses?.[0]?.value ?? "<pending gateway address>",
              );
        this.urls = publicUrls(address, settings.tls !== undefined);
        this.registerOutputs({
            gateway: this.gateway,
            backend: this.backend,
            ws: this.ws,
            stickyWs: this.stickyWs,
            urls: this.urls,
        });
    }

    /** A weighted TraefikService of one entry, the stream's Service, whose load balancer sets the cookie. */
    private stickyService(args: GatewayRoutesArgs): k8s.apiextensions.CustomResource {
        const { stream } = PUBLIC_ROUTES;
        const name = `${stream.objectName}-sticky`;
        const cookie = {
            name: stream.affinityCookie,
            path: stream.pathPrefix,
            maxAge: args.affinitySeconds,
            httpOnly: true,
            // Over TLS the cookie is never sent in clear.
            secure: args.settings.tls !== undefined,
        };
        return new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: `${TRAEFIK_API}/v1alpha1`,
                kind: TRAEFIK_SERVICE,
                metadata: platformMetadata(name, args.namespace),
                spec: {
                    weighted: {
                        services: [
                            {
                                kind: "Service",
                                name: args.wsStreamService.metadata.name,
                                port: SERVICE_PORT,
                                sticky: { cookie },
                            },
                        ],
                    },
                },
            },
            fixedNameOptions(this),
        );
    }

    private createGateway(args: GatewayRoutesArgs): k8s.apiextensions.CustomResource {
        const { settings, gateway } = args;
        const hostname = settings.host;
        // Only the platform's routes may attach, from the platform's namespace.
        const allowedRoutes = {
            namespaces: {
                from: "Selector",
                selector: { matchLabels: { "kubernetes.io/metadata.name": args.namespace } },
            },
        };
        const listeners: Record<string, unknown>[] = [
            { name: "http", protocol: "HTTP", port: 80, hostname, allowedRoutes },
        ];
        if (settings.tls) {
            listeners.push({
                name: "https",
                protocol: "HTTPS",
                port: 443,
                hostname,
                tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: settings.tls.secretName }] },
                allowedRoutes,
            });
        }
        const annotations: Record<string, string> = {
            // The provider has no readiness check of its own for a Gateway: without one it records
            // the object as created, before the controller has written the address the URLs use.
            "pulumi.com/waitFor": "condition=Programmed",
            // cert-manager's Gateway support reads this annotation and fills the listener's Secret.
            ...(settings.tls ? { "cert-manager.io/cluster-issuer": settings.tls.clusterIssuer } : {}),
        };
        return new k8s.apiextensions.CustomResource(
            gateway.name,
            {
                apiVersion: API_VERSION,
                kind: "Gateway",
                metadata: platformMetadata(gateway.name, gateway.namespace, undefined, annotations),
                spec: { gatewayClassName: gateway.className, listeners },
                // Declared so that the resource exposes the status the provider reads back.
                status: undefined,
            },
            fixedNameOptions(this),
        );
    }

    private route(
        args: GatewayRoutesArgs,
        routeName: string,
        backendRef: BackendRef,
        rule: Record<string, unknown>,
    ): k8s.apiextensions.CustomResource {
        const { settings, gateway } = args;
        const parentRef = {
            group: GATEWAY_API,
            kind: "Gateway",
            name: this.gateway?.metadata.name ?? gateway.name,
            namespace: gateway.namespace,
            sectionName: gateway.listener,
        };
        return new k8s.apiextensions.CustomResource(
            routeName,
            {
                apiVersion: API_VERSION,
                kind: "HTTPRoute",
                metadata: platformMetadata(routeName, args.namespace),
                spec: {
                    parentRefs: [parentRef],
                    hostnames: settings.host ? [settings.host] : undefined,
                    rules: [{ ...rule, backendRefs: [backendRef] }],
                },
            },
            fixedNameOptions(this),
        );
    }

    /** The status of the Gateway the routes attach to: the created one, or the named one, read. */
    private gatewayStatus(args: GatewayRoutesArgs): pulumi.Output<GatewayStatus> {
        const { name, namespace } = args.gateway;
        const gateway =
            this.gateway ??
            // A read, not a registration: the Gateway stays its owner's.
            new k8s.apiextensions.CustomResource(
                `${name}-attached`,
                { apiVersion: API_VERSION, kind: "Gateway", status: undefined },
                { id: `${namespace}/${name}`, parent: this },
            );
        return (gateway as unknown as { status: pulumi.Output<GatewayStatus> }).status;
    }
}

function serviceRef(service: k8s.core.v1.Service): BackendRef {
    return { name: service.metadata.name, port: SERVICE_PORT };
}
