/**
 * The pinned-image rule, in one place: the program's config check (config.ts) and the pack's
 * container-image-tag-pinned policy both call it, so an image the program accepts is one the pack
 * lets through.
 *
 * An image is pinned when it names a digest (`name@sha256:<hex>`, with or without a tag) or an
 * explicit tag other than `latest` (in any case: `LATEST` is the same moving tag to a reader).
 * The tag is looked for after the last "/", so a registry port (`localhost:5000/exchange/router`)
 * is not mistaken for a tag. `name:` (an empty tag) is not a tag.
 */

/** Why IMAGE is not a valid pinned reference, or undefined when it is. */
export function imagePinProblem(image: string): string | undefined {
    if (!/^[a-z0-9][a-z0-9._\-/:@+]*$/i.test(image)) {
        return "is not an image reference (expected e.g. postgres:16.6-alpine)";
    }
    if (/@[A-Za-z0-9][A-Za-z0-9+._-]*:[0-9a-fA-F]{32,}$/.test(image)) {
        return undefined;
    }
    if (image.includes("@")) {
        return "has a malformed digest (expected name@sha256:<hex>)";
    }
    const lastPart = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastPart.indexOf(":");
    if (colon < 0 || colon === lastPart.length - 1) {
        return "has no tag, so it resolves to :latest (pin a tag such as name:1.2.3, or a digest)";
    }
    if (lastPart.slice(colon + 1).toLowerCase() === "latest") {
        return 'uses the moving tag "latest" (pin a version tag or a digest)';
    }
    return undefined;
}
