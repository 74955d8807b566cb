import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Event, EventBus, memoryStorage } from "ad-seller-events";
import { createTestClock } from "ad-seller-events/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HOSTILE_SESSION,
  HOSTILE_TEXT,
  NEGOTIATION_DEAL,
  NEGOTIATION_SESSION,
  ROUNDS,
  seedSellerDay,
} from "../../fixtures/viewer-seed.js";
import { chromiumAvailable, type LaunchedChromium, launchChromium } from "../../support/chromium.js";
import { startServer, type TestServer } from "../harness.js";

const available = chromiumAvailable();
const TOKEN = "viewer-test-token";
/** With UPDATE_SCREENSHOTS=1 the screenshots replace the committed ones in docs/images/. */
const screenshotDir =
  process.env.UPDATE_SCREENSHOTS === "1" ? resolve(import.meta.dirname, "../../../docs/images") : "";

describe.skipIf(!available)("the events page in chromium", () => {
  let bus: EventBus;
  let server: TestServer;
  let browser: LaunchedChromium;
  let hostile: Event;
  let shots: string;
  /** Every URL the browser asked for, from every page of the run. */
  const requested: string[] = [];
  /** Console errors and uncaught page errors (a CSP violation is reported as a console error). */
  const problems: string[] = [];

  beforeAll(async () => {
    bus = new EventBus({
      storage: memoryStorage(),
      now: createTestClock({ start: "2026-11-24T09:00:00.000Z", stepMs: 1500 }).now,
    });
    hostile = await seedSellerDay(bus);
    server = await startServer("node:http", bus, {
      viewer: true,
      authorize: (request) => (request.headers.get("cookie") ?? "").includes(`events_token=${TOKEN}`),
    });
    shots = screenshotDir || (await mkdtemp(join(tmpdir(), "viewer-shots-")));
    await mkdir(shots, { recursive: true });
    browser = await launchChromium();
    browser.context.on("request", (request) => requested.push(request.url()));
    browser.context.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    // Outside the page's CSP (injected by the browser tool): records every violation the page would report.
    await browser.context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (violation) => {
        console.error(`CSP violation: ${violation.violatedDirective} ${violation.blockedURI}`);
      });
    });
    await authorizeBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await bus?.close();
  });

  async function authorizeBrowser(): Promise<void> {
    await browser.context.addCookies([{ name: "events_token", value: TOKEN, url: server.url }]);
  }

  async function openPage(search = ""): Promise<Page> {
    const page = await browser.context.newPage();
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    const response = await page.goto(`${server.url}/events/ui${search}`);
    expect(response?.status()).toBe(200);
    await page.locator("#state[data-state='ready']").waitFor({ state: "attached" });
    return page;
  }

  const rowIds = (page: Page) =>
    page
      .locator("#events li[data-event-id]")
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.eventId));

  it("lists the newest seeded events first, 50 a page, and pages back with Older", async () => {
    const page = await openPage();
    const newest = (await bus.listEvents({ limit: 50 })).map((event) => event.event_id).reverse();
    expect(await rowIds(page)).toEqual(newest);
    await page.screenshot({ path: join(shots, "viewer-list.png") });
    const all = (await bus.listEvents({ limit: 1000 })).map((event) => event.event_id).reverse();
    expect(all.length).toBeGreaterThan(50);
    await page.locator("#older").click();
    await expect.poll(async () => (await rowIds(page)).length).toBe(all.length);
    expect(await rowIds(page)).toEqual(all);
    await expect(page.locator("#older").isHidden()).resolves.toBe(true);
    await page.close();
  });

  it("narrows the list and the URL to a session, and back restores the whole list", async () => {
    const page = await openPage();
    await page.locator("input[name='session_id']").fill("sess-b210");
    await page.locator("input[name='session_id']").press("Enter");
    await expect.poll(() => new URL(page.url()).searchParams.get("session_id")).toBe("sess-b210");
    const expected = (await bus.listEvents({ session_id: "sess-b210" })).map((event) => event.event_id).reverse();
    await expect.poll(() => rowIds(page)).toEqual(expected);
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get("session_id")).toBeNull();
    await expect.poll(async () => (await rowIds(page)).length).toBe(50);
    await expect(page.locator("input[name='session_id']").inputValue()).resolves.toBe("");
    await page.goForward();
    await expect.poll(() => rowIds(page)).toEqual(expected);
    await page.close();
  });

  it("filters by a type group through the select, and a shared link opens the same view", async () => {
    const page = await openPage();
    await page.locator("select[name='group']").selectOption("negotiation");
    await expect.poll(() => new URL(page.url()).searchParams.get("group")).toBe("negotiation");
    await expect.poll(async () => (await rowIds(page)).length).toBe(ROUNDS.length + 2);
    const types = await page.locator("#events .type").allTextContents();
    expect(new Set(types)).toEqual(new Set(["negotiation.started", "negotiation.round", "negotiation.concluded"]));
    const shared = await openPage(new URL(page.url()).search);
    expect(await rowIds(shared)).toEqual(await rowIds(page));
    await expect(shared.locator("select[name='group']").inputValue()).resolves.toBe("negotiation");
    await shared.close();
    await page.close();
  });

  it("narrows by time, says so when nothing matches, and shows the API's words for a bad time", async () => {
    const all = await bus.listEvents({ limit: 1000 });
    const since = (all.at(-3) as Event).timestamp;
    const page = await openPage(`?since=${encodeURIComponent(since)}`);
    const expected = (await bus.listEvents({ since })).map((event) => event.event_id).reverse();
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(await rowIds(page)).toEqual(expected);
    await page.locator("input[name='session_id']").fill("no-such-session");
    await page.locator("input[name='session_id']").press("Enter");
    await page.locator("#state[data-state='empty']").waitFor();
    expect(await page.locator("#events li").count()).toBe(0);
    await page.goto(`${server.url}/events/ui?since=yesterday`);
    const error = page.locator("#state[data-state='error']");
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain("since");
    await expect(error.locator("button.retry").isVisible()).resolves.toBe(true);
    await page.close();
  });

  it("opens an event's detail with Enter, shows every field and the payload as JSON, and Escape closes it", async () => {
    const page = await openPage();
    const target = (await bus.listEvents({ event_type: "approval.requested" }))[0] as Event;
    const row = page.locator(`#events li[data-event-id='${target.event_id}']`);
    await row.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator("dialog#detail");
    await expect.poll(() => dialog.evaluate((node) => (node as HTMLDialogElement).open)).toBe(true);
    expect(new URL(page.url()).searchParams.get("event")).toBe(target.event_id);
    await expect(page.locator("#detail-title").textContent()).resolves.toBe("approval.requested");
    const fields = await dialog.locator("dl.fields dd code").allTextContents();
    expect(fields).toEqual([
      target.event_id,
      target.event_type,
      target.timestamp,
      '""',
      '""',
      '""',
      '""',
      NEGOTIATION_DEAL,
    ]);
    const json = await dialog.locator("pre.json").allTextContents();
    expect(json).toEqual([JSON.stringify(target.payload, null, 2), JSON.stringify(target.metadata, null, 2)]);
    await expect(dialog.locator("a[data-filter='deal_id']").getAttribute("href")).resolves.toBe(
      `?deal_id=${NEGOTIATION_DEAL}`,
    );
    await page.screenshot({ path: join(shots, "viewer-detail.png") });
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.evaluate((node) => (node as HTMLDialogElement).open)).toBe(false);
    // The dialog's `close` event (which updates the URL and focus) is dispatched in a task after `open` turns false.
    await expect.poll(() => new URL(page.url()).searchParams.get("event")).toBeNull();
    // Focus goes back to the row, so the keyboard user continues where they were.
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.eventId))
      .toBe(target.event_id);
    // The detail's link filters by the deal.
    await page.goto(`${server.url}/events/ui?event=${target.event_id}`);
    await dialog.locator("a[data-filter='deal_id']").click();
    await expect.poll(() => new URL(page.url()).search).toBe(`?deal_id=${NEGOTIATION_DEAL}`);
    const dealEvents = (await bus.listEvents({ deal_id: NEGOTIATION_DEAL })).map((event) => event.event_id).reverse();
    await expect.poll(() => rowIds(page)).toEqual(dealEvents);
    await page.close();
  });

  it("charts a session's negotiation rounds, one point per round for each numeric field", async () => {
    const page = await openPage(`?session_id=${NEGOTIATION_SESSION}`);
    const chart = page.locator("#timeline svg.chart");
    await chart.waitFor();
    for (const field of ["buyer_cpm", "seller_cpm"] as const) {
      const points = chart.locator(`g.series[data-field='${field}'] circle.point`);
      await expect(points.count()).resolves.toBe(ROUNDS.length);
      const titles = await points.locator("title").allTextContents();
      expect(titles).toEqual(ROUNDS.map((round) => `round ${round.round}: ${field} ${round[field]}`));
    }
    // Lower CPM is drawn lower: the buyer's line rises, the seller's falls.
    const heights = (field: string) =>
      chart
        .locator(`g.series[data-field='${field}'] circle.point`)
        .evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute("cy"))));
    const buyer = await heights("buyer_cpm");
    expect([...buyer].sort((a, b) => b - a)).toEqual(buyer);
    // The floor of the negotiation's start is a dashed line; the axes say what they measure and in which unit.
    await expect(page.locator(".legend li").allTextContents()).resolves.toEqual(["buyer_cpm", "seller_cpm", "floor 9"]);
    await expect(chart.locator("g.floor").getAttribute("data-floor")).resolves.toBe("9");
    const floorY = Number(await chart.locator("g.floor line").getAttribute("y1"));
    // 9 lies between the first two buyer bids (8.5, 9.75): higher values are drawn higher (smaller y).
    expect(floorY).toBeLessThan(buyer[0] as number);
    expect(floorY).toBeGreaterThan(buyer[1] as number);
    await expect(chart.locator("text.axis-title").allTextContents()).resolves.toEqual([
      "negotiation round",
      "CPM (USD)",
    ]);
    await page.screenshot({ path: join(shots, "viewer-timeline.png") });
    // Above the chart, the session's events oldest first; each opens its detail.
    const steps = await page.locator("#steps li a").allTextContents();
    const session = await bus.listEvents({ session_id: NEGOTIATION_SESSION, limit: 200 });
    expect(steps).toEqual(session.map((event) => event.event_type));
    await page.locator("#steps li a").nth(3).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("event")).toBe(session[3]?.event_id);
    await expect(page.locator("#detail-title").textContent()).resolves.toBe("negotiation.round");
    await page.keyboard.press("Escape");
    await page.close();
  });

  it("shows an event emitted on the server without a reload, holds it back while paused, and resume shows it", async () => {
    const page = await openPage();
    await expect.poll(() => page.locator("#live").getAttribute("data-live"), { timeout: 10_000 }).toBe("live");
    const first = await bus.emitEvent({
      event_type: "deal.synced",
      deal_id: NEGOTIATION_DEAL,
      payload: { ad_server: "gam" },
    });
    await page.locator(`#events li[data-event-id='${first.event_id}']`).waitFor({ timeout: 10_000 });
    expect((await rowIds(page))[0]).toBe(first.event_id);

    await page.locator("#pause").click();
    await expect(page.locator("#pause").getAttribute("aria-pressed")).resolves.toBe("true");
    const second = await bus.emitEvent({ event_type: "deal.registered", deal_id: "deal-3000" });
    const third = await bus.emitEvent({ event_type: "deal.created", deal_id: "deal-3001" });
    await expect.poll(() => page.locator("#held").textContent(), { timeout: 10_000 }).toBe("2 new");
    expect(await page.locator(`#events li[data-event-id='${second.event_id}']`).count()).toBe(0);
    expect((await rowIds(page))[0]).toBe(first.event_id);

    await page.locator("#pause").click();
    expect((await rowIds(page)).slice(0, 3)).toEqual([third.event_id, second.event_id, first.event_id]);
    await expect(page.locator("#held").isHidden()).resolves.toBe(true);

    // A dropped connection loses nothing: the browser resumes the stream with Last-Event-ID.
    server.server.closeAllConnections();
    const fourth = await bus.emitEvent({ event_type: "deal.synced", deal_id: "deal-3001" });
    await page.locator(`#events li[data-event-id='${fourth.event_id}']`).waitFor({ timeout: 15_000 });
    const ids = await rowIds(page);
    expect(ids.slice(0, 4)).toEqual([fourth.event_id, third.event_id, second.event_id, first.event_id]);
    expect(new Set(ids).size).toBe(ids.length);
    await page.close();
  });

  it("shows a hostile payload as literal text and never runs it", async () => {
    const page = await openPage();
    const row = page.locator(`#events li[data-event-id='${hostile.event_id}']`);
    await expect(row.locator(".ids").textContent()).resolves.toContain(`session ${HOSTILE_SESSION}`);
    await expect(row.locator(".preview").textContent()).resolves.toContain(JSON.stringify(HOSTILE_TEXT).slice(1, 60));
    await row.click();
    const payload = page.locator("dialog#detail pre.json").first();
    await expect(payload.textContent()).resolves.toBe(JSON.stringify(hostile.payload, null, 2));
    await expect(page.locator("dialog#detail pre.json").nth(1).textContent()).resolves.toContain("</script><script>");
    expect(await page.evaluate(() => (window as { __viewerPwned?: unknown }).__viewerPwned)).toBeUndefined();
    // Nothing of the payload became markup: the page has no img, b or extra script element.
    expect(await page.locator("img, b").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    await page.close();
  });

  it("shows the 401 state, with status 401, to a browser without credentials", async () => {
    await browser.context.clearCookies();
    try {
      const page = await browser.context.newPage();
      const response = await page.goto(`${server.url}/events/ui`);
      expect(response?.status()).toBe(401);
      const state = page.locator("#state[data-state='unauthorized']");
      await state.waitFor();
      await expect(state.textContent()).resolves.toContain("401 Not authorized");
      expect(await page.locator("#events li").count()).toBe(0);
      await page.close();
    } finally {
      await authorizeBrowser();
    }
  });

  it("works in a 390 px wide window", async () => {
    const page = await openPage(`?deal_id=${NEGOTIATION_DEAL}`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator("#timeline svg.chart").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, "viewer-narrow.png"), fullPage: true });
    await page.close();
  });

  it("keeps at most 1000 rows while following a busy stream; Older brings back the ones pushed out", async () => {
    const packageTypes: Event["event_type"][] = ["package.created", "package.updated", "package.synced"];
    const seeded = (await bus.listEvents({ event_type: packageTypes, limit: 1000 })).length;
    const page = await openPage("?group=package");
    await expect.poll(() => page.locator("#live").getAttribute("data-live"), { timeout: 10_000 }).toBe("live");
    let last: Event | undefined;
    for (let index = 0; index < 1000; index++) {
      last = await bus.emitEvent({ event_type: "package.synced", flow_id: "flow-burst", payload: { index } });
    }
    await page.locator(`#events li[data-event-id='${last?.event_id}']`).waitFor({ timeout: 20_000 });
    const ids = await rowIds(page);
    expect(ids.length).toBe(1000);
    expect(ids[0]).toBe(last?.event_id);
    await page.locator("#older").click();
    await expect.poll(async () => (await rowIds(page)).length).toBe(1000 + Math.min(50, seeded));
    const expected = (await bus.listEvents({ event_type: packageTypes, limit: 1000 }))
      .map((event) => event.event_id)
      .reverse();
    const after = await rowIds(page);
    expect(after.slice(0, 1000)).toEqual(expected);
    expect(new Set(after).size).toBe(after.length);
    await page.close();
  }, 60_000);

  it("sent every request to its own host, under a CSP that the page never violated", async () => {
    const page = await openPage();
    const response = await page.reload();
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe");
    await page.close();
    const origin = new URL(server.url).origin;
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"))).toEqual([]);
    const violations = problems.filter((text) =>
      /CSP violation|Content Security Policy|Trusted Type|Refused to/i.test(text),
    );
    expect(violations).toEqual([]);
    expect(problems.filter((text) => text.startsWith("pageerror"))).toEqual([]);
  });
});
