import { open, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type Event, EventBus, type EventStorage, eventSchema } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { drained, outboxFolder } from "../support/outbox.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store that keeps nothing but checks the order and counts: replaying huge files without holding them. */
function countingStorage() {
  const state = { count: 0, lastIndex: -1, outOfOrder: 0 };
  const storage: EventStorage = {
    name: "counting",
    async append(events) {
      for (const event of events) {
        const index = event.payload.index as number;
        if (index <= state.lastIndex) state.outOfOrder += 1;
        state.lastIndex = index;
      }
      state.count += events.length;
      return events.map(() => null);
    },
    get: async () => null,
    list: async () => [],
    close: async () => {},
  };
  return { storage, state };
}

function line(index: number): string {
  const event: Event = eventSchema.parse({
    event_id: crypto.randomUUID(),
    event_type: "negotiation.round",
    timestamp: new Date(Date.UTC(2026, 10, 24, 10, 0, 0, index % 1000)).toISOString(),
    session_id: "s-large",
    payload: { index, buyer_cpm: 9.5, seller_cpm: 11.25, note: "x".repeat(200) },
  });
  return `${JSON.stringify(event)}\n`;
}

/** Samples the resident set size while `work` runs; returns the largest growth over the start, in bytes. */
async function peakGrowth(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

describe("fileOutbox on large files: streamed line by line, never read whole", () => {
  it("replays 100,000 lines (about 45 MB) in order with bounded memory", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const lines = 100_000;
    const file = await open(path, "w");
    for (let start = 0; start < lines; start += 5000) {
      await file.write(Array.from({ length: 5000 }, (_, offset) => line(start + offset)).join(""));
    }
    const { size } = await file.stat();
    await file.close();
    const { storage, state } = countingStorage();
    let bus: EventBus | undefined;
    const growth = await peakGrowth(async () => {
      bus = new EventBus({ storage, outbox: fileOutbox({ path, fsync: false }) });
      await drained(bus, path, 120_000);
    });
    cleanups.push(async () => bus?.close());
    expect(state).toEqual({ count: lines, lastIndex: lines - 1, outOfOrder: 0 });
    // Reading the file whole would hold it at least twice (bytes and string); streaming holds a few chunks.
    expect(growth).toBeLessThan(size);
  }, 180_000);

  it("reads past a 1 GB line (a sparse hole of zeros) as one rejected line, replaying the lines around it", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    await writeFile(path, `${line(0)}${line(1)}`);
    const file = await open(path, "r+");
    const { size } = await file.stat();
    const hole = 1024 ** 3;
    await file.write(`\n${line(2)}`, size + hole); // a 1 GiB run of zero bytes, then a newline and an event
    await file.close();
    const { storage, state } = countingStorage();
    const errors: Error[] = [];
    let bus: EventBus | undefined;
    const growth = await peakGrowth(async () => {
      bus = new EventBus({ storage, outbox: fileOutbox({ path, fsync: false, onError: (e) => errors.push(e) }) });
      await drained(bus, path, 120_000);
    });
    cleanups.push(async () => bus?.close());
    expect(state).toEqual({ count: 2 + 1, lastIndex: 2, outOfOrder: 0 });
    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/line 3 is longer than/)]);
    expect(growth).toBeLessThan(512 * 1024 ** 2);
  }, 180_000);
});
