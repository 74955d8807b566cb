import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { outboxTakes } from "../../src/bus/write/outbox-contract.js";
import { type Event, EventBus, EventBusError, eventSchema, OutboxLockedError, StorageError } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { drained, outboxFolder, outboxLines } from "../support/outbox.js";
import { switchableStorage } from "../support/switchable-storage.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(mode: "up" | "down" | "commit-then-fail" = "down") {
  const { path, folder, remove } = await outboxFolder();
  const storage = switchableStorage(mode);
  const errors: Error[] = [];
  const outbox = fileOutbox({ path, retry: { initialDelayMs: 5, maxDelayMs: 20 }, onError: (e) => errors.push(e) });
  const bus = new EventBus({ storage, outbox });
  const seen: string[] = [];
  bus.subscribe("*", (event) => {
    seen.push(event.event_id);
  });
  cleanups.push(remove, () => bus.close());
  return { path, folder, storage, bus, errors, seen };
}

function storedEvent(index: number, fields: Partial<Record<keyof Event, unknown>> = {}): Event {
  return eventSchema.parse({
    event_id: crypto.randomUUID(),
    event_type: "deal.created",
    timestamp: new Date(Date.UTC(2026, 10, 24, 10, 0, 0, index)).toISOString(),
    deal_id: `d-${index}`,
    payload: { index },
    ...fields,
  });
}

describe("fileOutbox: fail-closed emits", () => {
  it("resolves audit emits into the file in order, rejects other types, and notifies nobody until stored", async () => {
    const { path, bus, storage, seen } = await setup("down");
    const emitted: Event[] = [];
    for (let index = 0; index < 5; index++) {
      emitted.push(await bus.emitEvent({ event_type: "deal.created", deal_id: `d-${index}`, payload: { index } }));
    }
    await expect(bus.emitEvent({ event_type: "session.created" })).rejects.toBeInstanceOf(StorageError);
    expect(bus.outboxStatus()).toMatchObject({ pending: 5, oldest_timestamp: emitted[0]?.timestamp });
    expect(bus.outboxStatus().last_error).toContain("ECONNREFUSED");
    expect(await outboxLines(path)).toEqual(emitted.map((event) => JSON.parse(JSON.stringify(event))));
    expect(seen).toEqual([]);
    expect(await bus.getEvent(emitted[0]?.event_id as string)).toBeNull();

    storage.mode = "up";
    await drained(bus, path);
    const stored = await bus.listEvents({ event_type: "deal.created" });
    expect(stored.map((event) => event.event_id)).toEqual(emitted.map((event) => event.event_id));
    expect(seen).toEqual(emitted.map((event) => event.event_id));
    expect(bus.outboxStatus()).toEqual({ pending: 0, oldest_timestamp: null, last_error: null });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it('takes every type with types: "all"', async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const bus = new EventBus({ storage: switchableStorage("down"), outbox: fileOutbox({ path, types: "all" }) });
    cleanups.push(() => bus.close());
    await bus.emitEvent({ event_type: "session.created" });
    expect(bus.outboxStatus().pending).toBe(1);
  });

  it("stores an event once when the failed append had committed after all, and still notifies once", async () => {
    const { path, bus, storage, seen } = await setup("commit-then-fail");
    const event = await bus.emitEvent({ event_type: "approval.granted", payload: { gate: "g" } });
    expect(bus.outboxStatus().pending).toBe(1);
    storage.mode = "up";
    await drained(bus);
    const stored = await bus.listEvents({ event_type: "approval.granted" });
    expect(stored).toEqual([event]);
    expect(seen).toEqual([event.event_id]);
    await expect(stat(`${path}.rejected`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("rejects with a StorageError naming both failures when the outbox cannot be written either", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    await mkdir(path); // a folder where the file should be: opening it for append fails
    const bus = new EventBus({ storage: switchableStorage("down"), outbox: fileOutbox({ path, onError: () => {} }) });
    cleanups.push(() => bus.close());
    const error = await bus.emitEvent({ event_type: "deal.created" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/ECONNREFUSED.*and the outbox .* failed too: .*EISDIR/);
    expect(bus.outboxStatus().pending).toBe(0);
  });

  it("refuses a lock it cannot read, with the reason", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    await mkdir(`${path}.lock`); // a folder where the lock file should be
    expect(() => fileOutbox({ path })).toThrow(/cannot take the lock of the outbox .*EISDIR/);
  });

  it("stops writing once its lock file is gone (deleted by hand): the emit rejects, naming both failures", async () => {
    const { path, bus } = await setup("down");
    await bus.emitEvent({ event_type: "deal.created" });
    await rm(`${path}.lock`);
    const error = await bus.emitEvent({ event_type: "deal.created" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/ECONNREFUSED.*and the outbox .* failed too: .*lost its lock/);
    expect(await outboxLines(path)).toHaveLength(1);
  });

  it("refuses a path whose folder cannot be created, with the reason", async () => {
    const { folder, remove } = await outboxFolder();
    cleanups.push(remove);
    await writeFile(join(folder, "plain-file"), "");
    expect(() => fileOutbox({ path: join(folder, "plain-file", "sub", "outbox.jsonl") })).toThrow(
      /cannot create the folder of the outbox .*(ENOTDIR|EEXIST)/,
    );
  });
});

describe("fileOutbox: batches (what emitEvents hands over) are one unit", () => {
  it("takes a batch only when every type is an outbox type, writes it as one line, replays it in one append", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const outbox = fileOutbox({ path });
    const batch = [storedEvent(1), storedEvent(2, { event_type: "approval.granted" })];
    expect(outboxTakes(outbox, batch)).toBe(true);
    expect(outboxTakes(outbox, [...batch, storedEvent(3, { event_type: "session.created" })])).toBe(false);
    await outbox.write(batch, new StorageError("switchable", "append", new Error("down")));
    expect(await outboxLines(path)).toEqual([JSON.parse(JSON.stringify(batch))]);
    expect(outbox.status().pending).toBe(2);

    const storage = switchableStorage("up");
    const bus = new EventBus({ storage, outbox });
    cleanups.push(() => bus.close());
    await drained(bus, path);
    expect(await bus.listEvents({})).toEqual(batch);
    expect(storage.appendCalls).toEqual([2]);
  });
});

describe("fileOutbox: replay of what a previous process left", () => {
  it("replays every line at start-up in file order, a batch line in one append, and removes the file", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const events = [0, 1, 2, 3].map((index) => storedEvent(index));
    const [first, second, third, fourth] = events.map((event) => JSON.stringify(event));
    await writeFile(path, `${first}\n[${second},${third}]\n${fourth}\n`);
    const storage = switchableStorage("up");
    const bus = new EventBus({ storage, outbox: fileOutbox({ path, replayBatchSize: 2 }) });
    cleanups.push(() => bus.close());
    await drained(bus, path);
    expect(await bus.listEvents({})).toEqual(events);
    // replayBatchSize 2: the first line alone (the batch line would make 3), then the batch line, then the last.
    expect(storage.appendCalls).toEqual([1, 2, 1]);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("skips and reports a torn last line, a non-JSON line and JSON that is not an event, keeping them aside", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const good = [storedEvent(1), storedEvent(2)];
    await writeFile(
      path,
      `${JSON.stringify(good[0])}\nnot json at all\n{"event_type":"nope"}\n${JSON.stringify(good[1])}\n{"event_id":"trunc`,
    );
    const errors: Error[] = [];
    const bus = new EventBus({
      storage: switchableStorage("up"),
      outbox: fileOutbox({ path, onError: (e) => errors.push(e) }),
    });
    cleanups.push(() => bus.close());
    await drained(bus, path);
    expect(await bus.listEvents({})).toEqual(good);
    const messages = errors.map((error) => error.message).join("\n");
    expect(messages).toContain("torn last line");
    expect(messages).toContain("line 2 is not JSON");
    expect(messages).toMatch(/line 3 does not hold a valid event/);
    const kept = (await readFile(`${path}.rejected`, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(kept.map((entry: { text: string }) => entry.text)).toEqual([
      '{"event_id":"trunc',
      "not json at all",
      '{"event_type":"nope"}',
    ]);
  });

  it("reports a conflicting line once and does not retry it", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const storage = switchableStorage("up");
    const original = storedEvent(1);
    await storage.append([original]);
    await writeFile(path, `${JSON.stringify({ ...original, deal_id: "other" })}\n${JSON.stringify(storedEvent(2))}\n`);
    const errors: Error[] = [];
    const bus = new EventBus({ storage, outbox: fileOutbox({ path, onError: (e) => errors.push(e) }) });
    cleanups.push(() => bus.close());
    await drained(bus, path);
    expect((await bus.getEvent(original.event_id))?.deal_id).toBe(original.deal_id);
    expect(errors.filter((error) => error.message.includes("already stored with different deal_id"))).toHaveLength(1);
    expect(await readFile(`${path}.rejected`, "utf8")).toContain('"deal_id\\":\\"other\\"');
    expect(storage.appendCalls).toEqual([1, 2]);
  });

  it("close() leaves what is pending in the file untouched and releases the lock for the next owner", async () => {
    const { path, bus } = await setup("down");
    for (let index = 0; index < 3; index++) await bus.emitEvent({ event_type: "deal.synced", payload: { index } });
    const before = await readFile(path, "utf8");
    await bus.close();
    expect(await readFile(path, "utf8")).toBe(before);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
    const next = new EventBus({ storage: switchableStorage("up"), outbox: fileOutbox({ path }) });
    cleanups.push(() => next.close());
    await drained(next, path);
    expect((await next.listEvents({})).map((event) => event.payload.index)).toEqual([0, 1, 2]);
  });

  it("a second owner of one path in the same process gets ERR_OUTBOX_LOCKED", async () => {
    const { path } = await setup("down");
    const error = (() => {
      try {
        fileOutbox({ path });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OutboxLockedError);
    expect(error).toBeInstanceOf(EventBusError);
    expect((error as OutboxLockedError).code).toBe("ERR_OUTBOX_LOCKED");
    expect((error as Error).message).toContain(`pid ${process.pid}`);
  });
});
