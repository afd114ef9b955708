// The pack's testing entry, `exchange-platform-policy/testing` (package.json "exports"): the
// in-process harness that runs the pack's real policies as `pulumi preview --policy-pack` would,
// and the fixture factories of the pack's own specs, for other projects' tests to check their
// resources against the pack without reaching into its folders, and the table of cases the pack
// and the admission policies share (admission-cases.ts). It uses no mocha globals.
export * from "./harness";
export * from "./fixtures";
export * from "./admission-cases";
