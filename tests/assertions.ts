/** Assertions shared by the unit, integration and end-to-end tests. */
import * as assert from "assert";

/**
 * Asserts that `list` holds at least one `what` and returns it: a check made on each element of
 * an empty list would pass without checking anything.
 */
export function nonEmpty<T>(list: T[], what: string): T[] {
    assert.ok(list.length > 0, `expected at least one ${what}, found none`);
    return list;
}
