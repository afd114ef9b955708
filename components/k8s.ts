/**
 * The parts of the Kubernetes provider's SDK that the program uses, for the components to import
 * instead of `@pulumi/kubernetes`: that package's index loads every API group and all of its
 * input and output types at each preview and update (about 0.13 s CPU; these modules, 0.02 s).
 * Types cost nothing at run time: `types` is exported as a type only.
 */
export * as apiextensions from "@pulumi/kubernetes/apiextensions";
export * as apps from "@pulumi/kubernetes/apps";
export * as autoscaling from "@pulumi/kubernetes/autoscaling";
export * as core from "@pulumi/kubernetes/core";
export * as networking from "@pulumi/kubernetes/networking";
export * as policy from "@pulumi/kubernetes/policy";
export type * as types from "@pulumi/kubernetes/types";
