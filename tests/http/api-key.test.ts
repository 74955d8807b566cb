// The documented `authorize` example (docs/http.md, examples/api-key.ts): constant time, and closed when the key is
// not configured or the header is empty, on every server kind.
import { readFileSync } from "node:fs";
import type { EventsHttpRequest } from "ad-seller-events/http";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeyAuthorizer } from "../../examples/api-key.js";
import { fixtureBus, SERVER_KINDS, send, startServer } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function requestWith(headers: Record<string, string>): EventsHttpRequest {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return {
    method: "GET",
    path: "/events",
    url: "/events",
    headers: { get: (name) => lower.get(name.toLowerCase()) ?? null },
    native: undefined,
  };
}

describe("apiKeyAuthorizer", () => {
  it("refuses everything when the secret is unset or empty, whatever the header holds", () => {
    for (const secret of [undefined, ""]) {
      const authorize = apiKeyAuthorizer(secret);
      expect(authorize(requestWith({}))).toBe(false);
      expect(authorize(requestWith({ "x-api-key": "" }))).toBe(false);
      expect(authorize(requestWith({ "x-api-key": "anything" }))).toBe(false);
      expect(authorize(requestWith({ "x-api-key": "undefined" }))).toBe(false);
    }
  });

  it("allows exactly the configured key, refusing empty, missing, longer, shorter and same-length wrong keys", () => {
    const authorize = apiKeyAuthorizer("s3cret-key");
    expect(authorize(requestWith({ "x-api-key": "s3cret-key" }))).toBe(true);
    expect(authorize(requestWith({ "X-Api-Key": "s3cret-key" }))).toBe(true);
    for (const wrong of ["", "s3cret-kez", "s3cret-key ", "s3cret", "S3CRET-KEY"]) {
      expect(authorize(requestWith({ "x-api-key": wrong })), JSON.stringify(wrong)).toBe(false);
    }
    expect(authorize(requestWith({}))).toBe(false);
    expect(apiKeyAuthorizer("k", "authorization")(requestWith({ authorization: "k" }))).toBe(true);
  });

  it("is the function docs/http.md shows, word for word", () => {
    const source = readFileSync(new URL("../../examples/api-key.ts", import.meta.url), "utf8");
    const documented = /\/\/ docs-sample:start apiKeyAuthorizer\n([\s\S]*?)\/\/ docs-sample:end/.exec(source)?.[1];
    expect(documented).toContain("timingSafeEqual(digest(given), expected)");
    const docs = readFileSync(new URL("../../docs/http.md", import.meta.url), "utf8");
    expect(docs).toContain(documented);
  });
});

describe.each(SERVER_KINDS)("apiKeyAuthorizer on $kind", ({ kind }) => {
  it("answers 401 without a configured key or with an empty header, 200 with the key", async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const open = await startServer(kind, bus, { authorize: apiKeyAuthorizer(undefined) });
    cleanups.push(() => open.close());
    expect((await send(open.url, "/events", { headers: { "x-api-key": "" } })).status).toBe(401);
    const keyed = await startServer(kind, bus, { authorize: apiKeyAuthorizer("s3cret") });
    cleanups.push(() => keyed.close());
    expect((await send(keyed.url, "/events", { headers: { "x-api-key": "" } })).status).toBe(401);
    expect((await send(keyed.url, "/events", { headers: { "x-api-key": "s3cret" } })).status).toBe(200);
  });
});
