/**
 * The public entry as Ingresses: `/backend/*` to the router with the prefix stripped (the router
 * serves `/api/v1/...` and `/health`), `/ws` to the WebSocket stream unchanged, with long
 * timeouts and, when asked, cookie affinity.
 *
 * Two Ingress objects because a rewrite annotation applies to a whole Ingress and must not touch
 * `/ws`; the controllers merge Ingresses of the same host.
 */
import * as k8s from "./k8s";
import * as pulumi from "@pulumi/pulumi";
import { IngressController, PublicEntrySettings } from "../config";
import { PUBLIC_ROUTES, SERVICE_PORT } from "@exchange/contract";
import { fixedNameOptions, platformMetadata } from "./metadata";

export interface PlatformIngressArgs {
    namespace: pulumi.Input<string>;
    settings: PublicEntrySettings;
    routerService: k8s.core.v1.Service;
    wsStreamService: k8s.core.v1.Service;
    /** Lifetime of the affinity cookie: the ws Service's own affinity timeout. */
    affinitySeconds: number;
}

type Annotations = Record<string, string>;

/** How one controller is told to do what the platform needs, by purpose. */
interface AnnotationSet {
    /** `/backend`, `/backend/` and `/backend/<rest>` reach the service as `/<rest>`. */
    stripPrefix(prefix: string): {
        path: string;
        pathType: k8s.types.input.networking.v1.HTTPIngressPath["pathType"];
        annotations: Annotations;
    };
    longLived(seconds: number): Annotations;
    /** `secure`: the entry serves TLS, so the cookie is never sent over plain HTTP. */
    cookieAffinity(cookie: string, seconds: number, path: string, secure: boolean): Annotations;
}

const NGINX = "nginx.ingress.kubernetes.io";

/** ingress-nginx's annotations. */
const NGINX_ANNOTATIONS: AnnotationSet = {
    stripPrefix: (prefix) => ({
        // The second group is what the service sees.
        path: `${prefix}(/|$)(.*)`,
        pathType: "ImplementationSpecific",
        annotations: { [`${NGINX}/use-regex`]: "true", [`${NGINX}/rewrite-target`]: "/$2" },
    }),
    // WebSocket connections stay open far longer than the default of 60 s.
    longLived: (seconds) => ({
        [`${NGINX}/proxy-read-timeout`]: String(seconds),
        [`${NGINX}/proxy-send-timeout`]: String(seconds),
    }),
    // use-regex applies to the whole host, and with regex locations ingress-nginx needs the cookie path set.
    // Both controllers make the cookie HttpOnly themselves, but Secure only when told (Traefik's
    // provider reads session-cookie-secure, default false, whatever the request's scheme).
    cookieAffinity: (cookie, seconds, path, secure) => ({
        [`${NGINX}/affinity`]: "cookie",
        [`${NGINX}/session-cookie-name`]: cookie,
        [`${NGINX}/session-cookie-max-age`]: String(seconds),
        [`${NGINX}/session-cookie-path`]: path,
        ...(secure ? { [`${NGINX}/session-cookie-secure`]: "true" } : {}),
    }),
};

/**
 * Traefik v3.7+ serves class `nginx` through its kubernetesIngressNGINX provider, which honours
 * each of these annotations (use-regex, rewrite-target with capture groups, proxy-read/send-timeout,
 * affinity with session-cookie-name/max-age/path). Its native provider could only strip a prefix
 * through a Middleware custom resource, which needs its CRD provider as well: not required here.
 */
const ANNOTATIONS: Record<IngressController, AnnotationSet> = { nginx: NGINX_ANNOTATIONS, traefik: NGINX_ANNOTATIONS };

interface Route {
    name: string;
    path: string;
    pathType: k8s.types.input.networking.v1.HTTPIngressPath["pathType"];
    service: k8s.core.v1.Service;
    annotations: Annotations;
}

export class PlatformIngress extends pulumi.ComponentResource {
    public readonly backend: k8s.networking.v1.Ingress;
    public readonly ws: k8s.networking.v1.Ingress;
    /** Public URLs of the API and of the stream. */
    public readonly urls: pulumi.Output<{ api: string; ws: string }>;

    constructor(name: string, args: PlatformIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("exchange:platform:Ingress", name, {}, opts);
        const { settings } = args;
        const annotations = ANNOTATIONS[settings.controller];
        const { api, stream } = PUBLIC_ROUTES;

        this.backend = this.ingress(args, {
            name: api.objectName,
            ...annotations.stripPrefix(api.pathPrefix),
            service: args.routerService,
        });
        this.ws = this.ingress(args, {
            name: stream.objectName,
            path: stream.pathPrefix,
            pathType: "Prefix",
            service: args.wsStreamService,
            annotations: {
                ...annotations.longLived(stream.idleTimeoutSeconds),
                ...(settings.stickySessions
                    ? annotations.cookieAffinity(
                          stream.affinityCookie,
                          args.affinitySeconds,
                          stream.pathPrefix,
                          settings.tls !== undefined,
                      )
                    : {}),
            },
        });

        // Without a host (dev) the Ingress answers on the controller's address.
        const address = settings.host
            ? pulumi.output(settings.host)
            : this.backend.status.apply((status) => {
                  const entry = status?.loadBalancer?.ingress?.[0];
                  return entry?.hostname ?? entry?.ip ?? "<pending ingress address>";
              });
        this.urls = publicUrls(address, settings.tls !== undefined);
        this.registerOutputs({ backend: this.backend, ws: this.ws, urls: this.urls });
    }

    private ingress(args: PlatformIngressArgs, route: Route): k8s.networking.v1.Ingress {
        const { settings } = args;
        const tlsAnnotations: Annotations = settings.tls
            ? { "cert-manager.io/cluster-issuer": settings.tls.clusterIssuer }
            : {};
        const backend = { service: { name: route.service.metadata.name, port: { number: SERVICE_PORT } } };
        return new k8s.networking.v1.Ingress(
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
                            http: { paths: [{ path: route.path, pathType: route.pathType, backend }] },
                        },
                    ],
                },
            },
            fixedNameOptions(this),
        );
    }
}

/** `http(s)://<host>/backend` and `ws(s)://<host>/ws`, for either front door. */
export function publicUrls(host: pulumi.Output<string>, secure: boolean): pulumi.Output<{ api: string; ws: string }> {
    return host.apply((name) => ({
        api: `${secure ? "https" : "http"}://${name}${PUBLIC_ROUTES.api.pathPrefix}`,
        ws: `${secure ? "wss" : "ws"}://${name}${PUBLIC_ROUTES.stream.pathPrefix}`,
    }));
}
