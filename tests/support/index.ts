/**
 * What the tests and the benchmark share: the project's files, the Pulumi CLI on a throw-away
 * workspace, the local cluster's node, polling, and the CLI's traces. Suites and the benchmark import from here.
 */
export * from "./eventually";
export * from "./local-cluster";
export * from "./project";
export * from "./traces";
export * from "./workspace";
