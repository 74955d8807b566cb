import { describe, expect, it } from "vitest";
import { normalizeTimestamp } from "../../src/event/timestamp.js";
import { EventBus } from "../../src/index.js";

// vitest.config.ts pins TZ=Pacific/Chatham for the whole run: a naive timestamp read as local time is off by hours.
describe("the test run's time zone", () => {
  it("is pinned far from UTC, in the test process itself", () => {
    expect(process.env.TZ).toBe("Pacific/Chatham");
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("Pacific/Chatham");
    // +13:45 in (southern) summer, +12:45 in winter.
    expect(new Date("2026-11-24T10:15:30Z").getTimezoneOffset()).toBe(-825);
    expect(new Date("2026-06-24T10:15:30Z").getTimezoneOffset()).toBe(-765);
  });

  it("reads naive timestamps as UTC, not as the machine's local time", async () => {
    expect(normalizeTimestamp("2026-11-24T10:15:30")).toBe("2026-11-24T10:15:30.000Z");
    expect(normalizeTimestamp("2026-11-24T10:15:30.123456")).toBe("2026-11-24T10:15:30.123Z");
    expect(normalizeTimestamp("2026-11-24 23:59:59")).toBe("2026-11-24T23:59:59.000Z");
    expect(normalizeTimestamp("2026-06-24")).toBe("2026-06-24T00:00:00.000Z");
    const event = await new EventBus().emitEvent({ event_type: "session.created", timestamp: "2026-11-24T10:15:30" });
    expect(event.timestamp).toBe("2026-11-24T10:15:30.000Z");
  });

  it("formats the bus clock in UTC whatever the zone", async () => {
    const bus = new EventBus({ now: () => new Date(Date.UTC(2026, 10, 24, 23, 30)) });
    expect((await bus.emitEvent({ event_type: "session.created" })).timestamp).toBe("2026-11-24T23:30:00.000Z");
  });
});
