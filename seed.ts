/**
 * Former name of contract.ts, kept only while tests/integration and bench still import it;
 * delete it once they import "contract".
 */
export * from "./contract";
