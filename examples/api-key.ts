/**
 * The `authorize` check that docs/http.md shows, as a module the examples and tests import: an API key in a header,
 * compared in constant time, refusing everything when no key is configured.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { EventsHttpRequest } from "ad-seller-events/http";

// docs-sample:start apiKeyAuthorizer
/**
 * An `authorize` function that allows a request only when its `header` carries `secret`. It refuses every request
 * when the secret is unset or empty (a missing environment variable must not open the API) and when the header is
 * missing or empty. Both sides are hashed first so that `timingSafeEqual` compares equal-length buffers and the time
 * taken says nothing about the secret, not even its length.
 */
export function apiKeyAuthorizer(
  secret: string | undefined,
  header = "x-api-key",
): (request: EventsHttpRequest) => boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  const expected = secret ? digest(secret) : undefined;
  return (request) => {
    const given = request.headers.get(header);
    if (expected === undefined || !given) return false;
    return timingSafeEqual(digest(given), expected);
  };
}
// docs-sample:end apiKeyAuthorizer
