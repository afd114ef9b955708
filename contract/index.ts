/**
 * What the program, the policy pack, the tests and the benchmark must agree on, in a package of
 * its own with no dependencies, so that none of them reaches into another's sources.
 *
 * - services.ts: the platform's service contract (names, ports, labels, DNS names, connection
 *   strings). The program builds its resources from it; the tests and the benchmark check and
 *   address the deployed platform by it.
 * - image-reference.ts: the pinned-image rule, which the program's config check and the pack's
 *   container-image-tag-pinned policy both apply.
 *
 * The pack uses only the image rule: its policies check any Kubernetes stack's own consistency
 * (selectors, ports, references) and name none of the platform's services, so it stays free to
 * guard another stack. The rule lives here, beside the contract, rather than in a second package
 * because it is the same kind of fact (one both sides must read alike) and one small package is
 * one build step instead of two.
 */
export * from "./services";
export * from "./image-reference";
