import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Event, EventBus, memoryStorage } from "ad-seller-events";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DESK_COUNTS,
  HOSTILE_OUTCOME,
  HOSTILE_PROPOSAL,
  SEARCHED_BUYER,
  seedSellerDesk,
} from "../../fixtures/viewer-desk-seed.js";
import { chromiumAvailable, type LaunchedChromium, launchChromium } from "../../support/chromium.js";
import { startServer, type TestServer } from "../harness.js";

const available = chromiumAvailable();
const TOKEN = "desk-test-token";
/** With UPDATE_SCREENSHOTS=1 the screenshots replace the committed ones in docs/images/. */
const screenshotDir =
  process.env.UPDATE_SCREENSHOTS === "1" ? resolve(import.meta.dirname, "../../../docs/images") : "";

describe.skipIf(!available)("the seller desk views in chromium", () => {
  let bus: EventBus;
  let server: TestServer;
  let browser: LaunchedChromium;
  let northwind: Event[];
  let shots: string;
  const problems: string[] = [];
  /** The seed ends at the real "now", so that ages and preset ranges read against the browser's clock. */
  const clock = { at: Date.now() - 30 * 3_600_000 };

  beforeAll(async () => {
    bus = new EventBus({ storage: memoryStorage(), now: () => new Date(clock.at) });
    ({ northwind } = await seedSellerDesk(bus, clock));
    clock.at = Date.now(); // events emitted by the tests are stamped now
    server = await startServer("node:http", bus, {
      viewer: true,
      authorize: (request) => (request.headers.get("cookie") ?? "").includes(`events_token=${TOKEN}`),
    });
    shots = screenshotDir || (await mkdtemp(join(tmpdir(), "desk-shots-")));
    await mkdir(shots, { recursive: true });
    browser = await launchChromium();
    browser.context.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    await browser.context.addCookies([{ name: "events_token", value: TOKEN, url: server.url }]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await bus?.close();
  });

  async function openPage(search = "", ready = "#state[data-state='ready']"): Promise<Page> {
    const page = await browser.context.newPage();
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    expect((await page.goto(`${server.url}/events/ui${search}`))?.status()).toBe(200);
    await page.locator(ready).waitFor({ state: "attached" });
    return page;
  }
  const openSummary = (search = "") => openPage(`?view=summary${search}`, "#summary .funnel, #summary .state");
  const rowIds = (page: Page) =>
    page
      .locator("#events li[data-event-id]")
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.eventId));
  const pwned = (page: Page) => page.evaluate(() => (window as { __viewerPwned?: unknown }).__viewerPwned);

  it("says in each row what happened, in words and amounts, with local times and UTC on hover", async () => {
    const page = await openPage();
    const first = northwind[0] as Event;
    const row = page.locator(`#events li[data-event-id='${first.event_id}']`);
    await expect(row.locator(".summary-text").textContent()).resolves.toBe(`from ${SEARCHED_BUYER} · budget $20,000`);
    await expect(row.locator("time").getAttribute("title")).resolves.toBe(`${first.timestamp} (UTC)`);
    const shown = await row.locator("time").textContent();
    expect(shown).not.toContain("T");
    expect(shown).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    const rounds = await bus.listEvents({ proposal_id: "p-1", event_type: "negotiation.round" });
    const third = page.locator(`#events li[data-event-id='${rounds[2]?.event_id}'] .summary-text`);
    await expect(third.textContent()).resolves.toBe("round 3 · buyer $11.00 CPM · seller $11.00 CPM");
    // A legend names the colour of each type group.
    await expect(page.locator("#stripes li").allTextContents()).resolves.toEqual([
      "proposal",
      "deal",
      "execution",
      "approval",
      "session",
      "package",
      "negotiation",
    ]);
    await page.close();
  });

  it("shows the deal funnel as counted by hand, pending approvals with their age, and negotiations", async () => {
    const page = await openSummary();
    const funnel = await page
      .locator("#summary .funnel li")
      .evaluateAll((items) =>
        items.map((item) => [(item as HTMLElement).dataset.step, item.querySelector("strong")?.textContent]),
      );
    expect(Object.fromEntries(funnel)).toEqual(
      Object.fromEntries(Object.entries(DESK_COUNTS.funnel).map(([step, count]) => [step, String(count)])),
    );
    const pending = page.locator("#summary table").first().locator("tbody tr");
    await expect(pending.count()).resolves.toBe(DESK_COUNTS.pending.length);
    const cells = await pending.evaluateAll((rows) =>
      rows.map((row) => Array.from(row.querySelectorAll("td"), (cell) => cell.textContent)),
    );
    expect(cells.map((row) => [row[2], row[3]])).toEqual(DESK_COUNTS.pending.map((item) => [item.gate, item.deal_id]));
    expect(cells[0]?.[1]).toBe("1 d 2 h"); // requested 26 h before the seed's end
    expect(cells[1]?.[1]).toMatch(/^3 h [01] min$/); // 3 h before it (the test may run into the next minute)
    const outcomes = await page.locator("#summary .outcomes li").allTextContents();
    expect(outcomes.sort()).toEqual(
      Object.entries(DESK_COUNTS.outcomes)
        .map(([key, count]) => `${key}: ${count}`)
        .sort(),
    );
    const rounds = await page
      .locator("#summary .rounds li")
      .evaluateAll((items) =>
        items.map((item) => [(item as HTMLElement).dataset.key, item.textContent?.split(": ")[1]]),
      );
    expect(Object.fromEntries(rounds)).toEqual(
      Object.fromEntries(Object.entries(DESK_COUNTS.roundsToClose).map(([key, count]) => [key, String(count)])),
    );
    // Every counted event is in one bar of the chart over time.
    const barTotal = await page
      .locator("#summary svg.over-time rect.bar")
      .evaluateAll((bars) => bars.reduce((sum, bar) => sum + Number(bar.getAttribute("data-count")), 0));
    expect(barTotal).toBe((await bus.listEvents({ limit: 1000 })).length);
    await expect(page.locator("#summary .scope").getAttribute("data-complete")).resolves.toBe("true");
    await page.screenshot({ path: join(shots, "viewer-summary.png"), fullPage: true });
    await page.close();
  });

  it("finds a buyer's name inside payloads with the search box, and keeps it in the URL", async () => {
    const page = await openPage();
    await page.locator("input[name='q']").fill(SEARCHED_BUYER.toLowerCase());
    await page.locator("input[name='q']").press("Enter");
    await expect.poll(() => new URL(page.url()).searchParams.get("q")).toBe(SEARCHED_BUYER.toLowerCase());
    await expect.poll(() => rowIds(page)).toEqual(northwind.map((event) => event.event_id).reverse());
    await page.screenshot({ path: join(shots, "viewer-search.png") });
    await page.close();
  });

  it("filters by several types at once and by the preset ranges", async () => {
    const page = await openPage();
    await page.locator("details.types summary").click();
    await page.locator("input[name='event_type'][value='deal.created']").check();
    await expect.poll(() => new URL(page.url()).searchParams.get("event_type")).toBe("deal.created");
    await page.locator("input[name='event_type'][value='approval.requested']").check();
    await expect.poll(() => new URL(page.url()).searchParams.get("event_type")).toBe("deal.created,approval.requested");
    const expected = await bus.listEvents({ event_type: ["deal.created", "approval.requested"], limit: 100 });
    await expect.poll(() => rowIds(page)).toEqual(expected.map((event) => event.event_id).reverse());
    await expect(page.locator("#types-chosen").textContent()).resolves.toBe("2 chosen");
    // The seed's newest event is 3 hours old: nothing in the last hour, all of it within 7 days.
    await page.locator("button[data-preset='hour']").click();
    await page.locator("#state[data-state='empty']").waitFor();
    const since = Date.parse(new URL(page.url()).searchParams.get("since") ?? "");
    expect(Math.abs(Date.now() - 3_600_000 - since)).toBeLessThan(120_000);
    await page.locator("button[data-preset='week']").click();
    await expect.poll(() => rowIds(page)).toEqual(expected.map((event) => event.event_id).reverse());
    await page.close();
  });

  it("exports the current filter as CSV and JSON Lines equal to the API's answer", async () => {
    const page = await openPage(`?q=${encodeURIComponent(SEARCHED_BUYER)}&group=proposal`);
    const hrefs = {
      csv: await page.locator("#export-csv").getAttribute("href"),
      jsonl: await page.locator("#export-jsonl").getAttribute("href"),
    };
    expect(hrefs.jsonl).toContain("format=jsonl");
    const download = (href: string | null) =>
      page.evaluate(async (url) => (await fetch(url ?? "", { credentials: "same-origin" })).text(), href);
    const api = (await page.evaluate(async () => {
      const response = await fetch(
        `../events?q=${encodeURIComponent("Northwind Media")}&event_type=proposal.received,proposal.evaluated,proposal.accepted,proposal.rejected,proposal.countered&limit=1000`,
        { credentials: "same-origin" },
      );
      return (await response.json()) as { events: unknown[] };
    })) as { events: Event[] };
    const jsonl = (await download(hrefs.jsonl))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Event);
    expect(jsonl).toEqual([...api.events].reverse());
    expect(jsonl.map((event) => event.event_id)).toEqual(northwind.map((event) => event.event_id).reverse());
    const csv = (await download(hrefs.csv)).split("\r\n").filter(Boolean);
    expect(csv[0]).toBe(
      "event_id,event_type,timestamp,flow_id,flow_type,proposal_id,deal_id,session_id,payload,metadata",
    );
    expect(csv.slice(1).map((line) => line.split(",")[0])).toEqual(jsonl.map((event) => event.event_id));
    await page.close();
  });

  it("keeps hostile text as text in the rows, the summary and its tables", async () => {
    const list = await openPage();
    await expect(list.locator("#events .summary-text").first().textContent()).resolves.toBe(
      `${HOSTILE_OUTCOME} · at $1.00 CPM`,
    );
    const summary = await openSummary();
    await expect(summary.locator("#summary .outcomes").textContent()).resolves.toContain(HOSTILE_OUTCOME);
    const closed = summary.locator("#summary table").nth(1).locator("tbody tr").first();
    await expect(closed.locator("td").nth(1).textContent()).resolves.toBe(HOSTILE_PROPOSAL);
    await expect(closed.locator("td").nth(2).textContent()).resolves.toBe(HOSTILE_OUTCOME);
    for (const page of [list, summary]) {
      expect(await page.locator("img").count()).toBe(0);
      expect(await pwned(page)).toBeUndefined();
      await page.close();
    }
  });

  it("switches views with the keyboard and fits a 390 px window", async () => {
    const page = await openPage();
    await expect(page.locator("#summary").isHidden()).resolves.toBe(true);
    await page.locator("#tab-summary").focus();
    await page.keyboard.press("Enter");
    await page.locator("#summary .funnel").waitFor();
    expect(new URL(page.url()).searchParams.get("view")).toBe("summary");
    await expect(page.locator("#list").isHidden()).resolves.toBe(true);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, "viewer-summary-narrow.png"), fullPage: true });
    await page.goBack();
    await page.locator("#events li").first().waitFor();
    await expect(page.locator("#summary").isHidden()).resolves.toBe(true);
    await page.close();
  });

  // Last: it prunes events of the seed.
  it("starts again from the newest events, and says so, when retention pruned the event it followed", async () => {
    const page = await openPage();
    await expect.poll(() => page.locator("#live").getAttribute("data-live"), { timeout: 10_000 }).toBe("live");
    const followed = await bus.emitEvent({ event_type: "package.synced", payload: { package_id: "pkg-followed" } });
    await page.locator(`#events li[data-event-id='${followed.event_id}']`).waitFor({ timeout: 10_000 });
    await expect(page.locator("#notice").isHidden()).resolves.toBe(true);
    server.server.closeAllConnections();
    await bus.storage.prune?.({ before: new Date(Date.now() + 60_000).toISOString(), types: ["package.synced"] });
    const notice = page.locator("#notice");
    await notice.waitFor({ state: "visible", timeout: 20_000 });
    await expect(notice.textContent()).resolves.toContain("started again from the newest events");
    expect(await rowIds(page)).not.toContain(followed.event_id);
    await expect.poll(() => page.locator("#live").getAttribute("data-live"), { timeout: 10_000 }).toBe("live");
    const next = await bus.emitEvent({ event_type: "deal.synced", deal_id: "d-2", payload: { ad_server: "gam" } });
    await page.locator(`#events li[data-event-id='${next.event_id}']`).waitFor({ timeout: 10_000 });
    expect((await rowIds(page))[0]).toBe(next.event_id);
    await page.close();
  }, 40_000);

  it("raised no page error and no CSP violation", () => {
    expect(problems.filter((text) => /pageerror|Content Security Policy|Refused to|Trusted Type/i.test(text))).toEqual(
      [],
    );
  });
});
