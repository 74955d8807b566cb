import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { EVENT_TYPES, EventBus } from "ad-seller-events";
import { createEventsFetchHandler } from "ad-seller-events/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENERATED_MODULE, renderViewerAssetsModule } from "../../../scripts/build-viewer-assets.js";
import { EVENT_TYPE_GROUPS } from "../../../src/http/viewer/client/event-types.js";
import { VIEWER_ASSETS, VIEWER_SHELL, VIEWER_VERSION } from "../../../src/http/viewer/viewer-assets.generated.js";
import { SERVER_KINDS, send, startServer, type TestServer } from "../harness.js";

const BUDGET_BYTES = 60 * 1024;
const assetUrls = Object.keys(VIEWER_ASSETS).map((name) => `/events/ui/${VIEWER_VERSION}/${name}`);

describe.each(SERVER_KINDS)("the viewer routes on $kind", ({ kind }) => {
  const bus = new EventBus();
  let server: TestServer;
  let plain: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, bus, { viewer: true });
    plain = await startServer(kind, bus);
  });
  afterAll(async () => {
    await server.close();
    await plain.close();
    await bus.close();
  });

  it("serves the page with a strict CSP, nosniff, no referrer and no caching", async () => {
    const answer = await send(server.url, "/events/ui");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(answer.headers["content-security-policy"]);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe|\*|https?:/);
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["referrer-policy"]).toBe("no-referrer");
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.text).toContain(`<script type="module" src="ui/${VIEWER_VERSION}/main.js"></script>`);
    // With a trailing slash the asset URLs stay right relative to the page.
    const slashed = await send(server.url, "/events/ui/");
    expect(slashed.text).toContain(`src="${VIEWER_VERSION}/main.js"`);
  });

  it("serves every asset with its type and an immutable cache, HEAD without a body, other methods 405", async () => {
    for (const url of assetUrls) {
      const answer = await send(server.url, url);
      const asset = VIEWER_ASSETS[url.slice(url.lastIndexOf("/") + 1)];
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toBe(asset?.type);
      expect(answer.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.text).toBe(asset?.body);
    }
    const head = await send(server.url, assetUrls[0] as string, { method: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    const post = await send(server.url, "/events/ui", { method: "POST" });
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
  });

  it("answers 404 for an unknown asset, an old version, or a path trick", async () => {
    for (const path of [
      `/events/ui/${VIEWER_VERSION}/nope.js`,
      "/events/ui/0000000000000000/main.js",
      `/events/ui/${VIEWER_VERSION}/../main.js`,
      `/events/ui/${VIEWER_VERSION}/constructor`,
      "/events/ui/main.js",
    ]) {
      expect((await send(server.url, path)).status, path).toBe(404);
    }
  });

  it("does not exist without viewer: true", async () => {
    expect((await send(plain.url, "/events/ui")).status).toBe(404);
    expect((await send(plain.url, assetUrls[0] as string)).status).toBe(404);
  });
});

describe("the viewer under authorize", () => {
  const bus = new EventBus();
  let server: TestServer;
  const allowed = { cookie: "token=yes" };
  beforeAll(async () => {
    server = await startServer("node:http", bus, {
      viewer: true,
      authorize: (request) => request.headers.get("cookie") === "token=yes",
    });
  });
  afterAll(async () => {
    await server.close();
    await bus.close();
  });

  it("answers the page with 401 (the page then shows why) and the API with 401 to a stranger", async () => {
    const page = await send(server.url, "/events/ui");
    expect(page.status).toBe(401);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect((await send(server.url, "/events")).status).toBe(401);
    expect((await send(server.url, "/events/ui", { headers: allowed })).status).toBe(200);
    expect((await send(server.url, "/events", { headers: allowed })).status).toBe(200);
  });

  it("serves the static assets, which hold no event, to anyone", async () => {
    expect((await send(server.url, assetUrls[0] as string)).status).toBe(200);
  });

  it("runs authorize before the method check on the page, as on the API", async () => {
    expect((await send(server.url, "/events/ui", { method: "DELETE" })).status).toBe(401);
  });
});

describe("the viewer's assets", () => {
  it("are at most 60 KB gzipped, shell included", () => {
    const texts = [VIEWER_SHELL, ...Object.values(VIEWER_ASSETS).map((asset) => asset.body)];
    const gzipped = texts.reduce((sum, text) => sum + gzipSync(text, { level: 9 }).length, 0);
    console.info(`viewer assets: ${texts.length} files, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it("are generated from the current client sources (run `npm run build:viewer` after editing them)", async () => {
    expect(await readFile(GENERATED_MODULE, "utf8")).toBe(await renderViewerAssetsModule());
  });

  it("carry their exact UTF-8 length", () => {
    for (const asset of Object.values(VIEWER_ASSETS)) expect(asset.bytes).toBe(Buffer.byteLength(asset.body));
  });

  it("never parse HTML from strings, evaluate code, or name another host", () => {
    for (const [name, asset] of Object.entries(VIEWER_ASSETS)) {
      expect(asset.body, name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      );
      const hosts = asset.body.match(/https?:\/\/[^\s"'`)]+/g) ?? [];
      expect(hosts.filter((url) => url !== "http://www.w3.org/2000/svg")).toEqual([]);
    }
    expect(VIEWER_SHELL).not.toMatch(/<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i);
  });

  it("offer exactly the 22 event types, grouped by their prefix", () => {
    expect(Object.values(EVENT_TYPE_GROUPS).flat().sort()).toEqual([...EVENT_TYPES].sort());
    for (const [group, types] of Object.entries(EVENT_TYPE_GROUPS)) {
      for (const type of types) expect(type.startsWith(`${group}.`)).toBe(true);
    }
  });

  it("are served by a fetch handler with basePath / at /ui", async () => {
    const handler = createEventsFetchHandler(new EventBus(), { viewer: true, basePath: "/" });
    const page = await handler(new Request("http://localhost/ui"));
    expect(page.status).toBe(200);
    const asset = await handler(new Request(`http://localhost/ui/${VIEWER_VERSION}/main.js`));
    expect([asset.status, asset.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
  });
});
