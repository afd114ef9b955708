/** Polls `check` every intervalMs until it returns a value, at most timeoutMs. */
export async function eventually<T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined>,
    intervalMs = 1_000,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined) {
                return value;
            }
        } catch (error) {
            lastError = error;
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${lastError ? `; last error: ${(lastError as Error).message}` : ""}`,
    );
}
