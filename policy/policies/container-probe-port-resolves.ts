import { ContainerRef, StackObject, WORKLOADS, describeContainer, workloadContainers } from "../lib/k8s";
import { resourcePolicy } from "../lib/policy";
import { Tri, anyOf, asArray, at, isUnknown } from "../lib/values";

const PROBES = ["readinessProbe", "livenessProbe", "startupProbe"] as const;
/** The probe handlers with a port (grpc's is a number only). */
const HANDLERS = ["httpGet", "tcpSocket"] as const;

/**
 * Does the container declare a port of that name over TCP? Kubelet resolves a named probe port
 * among the container's own ports only, and every probe speaks TCP: a UDP port of that name serves
 * none.
 */
function declaresPortName(c: ContainerRef, name: string): Tri {
    const ports = at(c.container, "ports");
    if (isUnknown(ports)) {
        return "maybe";
    }
    return anyOf(
        (asArray(ports) ?? []).map((p): Tri => {
            const portName = at(p, "name");
            const protocol = at(p, "protocol") ?? "TCP";
            if (isUnknown(portName) || isUnknown(protocol)) {
                return "maybe";
            }
            return portName === name && protocol === "TCP" ? "yes" : "no";
        }),
    );
}

/**
 * The named probe ports of the container that it does not declare. A port given by number is not
 * judged: kubelet probes that number on the pod's IP whether a container declares it or not (the
 * ports list is informational; CoreDNS's own manifest probes undeclared ports 8080 and 8181).
 */
function unresolvedPorts(obj: StackObject, c: ContainerRef): string[] {
    const out: string[] = [];
    for (const probe of PROBES) {
        for (const handler of HANDLERS) {
            const port = at(c.container, probe, handler, "port");
            // Digits are a number to kubelet, whatever the JSON type.
            if (typeof port !== "string" || port === "" || /^[0-9]+$/.test(port)) {
                continue;
            }
            // On a patch, ports it does not list are the patched container's.
            if (declaresPortName(c, port) === "no" && !obj.partial) {
                out.push(`${c.path}.${probe}.${handler}.port "${port}"`);
            }
        }
    }
    return out;
}

/** Named probe ports resolve to ports the container declares. */
export const containerProbePortResolves = resourcePolicy({
    name: "container-probe-port-resolves",
    description:
        "Every readiness, liveness and startup probe (httpGet, tcpSocket) of a container that names its port must " +
        "name a TCP port the container declares (ports[].name); kubelet cannot run the probe otherwise.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Point the probe's port at the name of one of the container's TCP ports, or declare the port (with that " +
        "name) in the container's ports.",
    appliesTo: WORKLOADS,
    check: (obj, _config, report) => {
        for (const c of workloadContainers(obj, ["containers", "initContainers"])) {
            const found = unresolvedPorts(obj, c);
            if (found.length === 0) {
                continue;
            }
            const declared = (asArray(at(c.container, "ports")) ?? [])
                .map((p) => {
                    const name = at(p, "name");
                    const protocol = at(p, "protocol");
                    return (
                        `${String(at(p, "containerPort"))}${protocol === undefined || protocol === "TCP" ? "" : `/${String(protocol)}`}` +
                        (typeof name === "string" && name !== "" ? ` ("${name}")` : "")
                    );
                })
                .join(", ");
            report(
                `The ${describeContainer(obj, c)} probes port(s) by a name it does not declare over TCP: ` +
                    `${found.join("; ")}; its ports: ${declared || "none"}. Kubelet cannot resolve the name, so the ` +
                    `probe always fails: a readiness probe keeps the pod out of its Services, a liveness probe ` +
                    `restarts it forever. Fix: use the name of one of the container's TCP ports, or add a port of ` +
                    `that name to ${c.path}.ports.`,
            );
        }
    },
});
