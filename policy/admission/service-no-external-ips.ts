import { serviceNoExternalIps } from "../policies";
import { SERVICES, admissionPolicy, describeObject } from "./admission-policy";

/** No Service of any type sets spec.externalIPs (CVE-2020-8554); an empty list is no address. */
export const serviceNoExternalIpsAdmission = admissionPolicy(serviceNoExternalIps, {
    resources: [SERVICES],
    variables: {
        externalIPs: "has(object.spec.externalIPs) ? object.spec.externalIPs : []",
    },
    admits: "size(variables.externalIPs) == 0",
    message:
        `${describeObject("Service")} + ' sets spec.externalIPs [' + variables.externalIPs.join(', ') + ']: ` +
        `every node of the cluster then answers for those addresses and forwards their traffic to the Service ` +
        `(CVE-2020-8554). Fix: remove spec.externalIPs and expose the Service through the Ingress or Gateway.'`,
});
