import { afterEach, describe, expect, it } from "vitest";
import { type AuditReport, sealAuditTrail, verifyAuditTrail } from "../../src/audit/index.js";
import { EventBus } from "../../src/bus/event-bus.js";
import type { Event } from "../../src/event/event.js";
import { memoryStorage } from "../../src/storage/memory/memory-storage.js";
import { arrayView, emitDeals, keys, otherKeys, sealAll } from "./audit-support.js";

const buses: EventBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
});

async function sealedBus(count = 6) {
  const bus = new EventBus({ storage: memoryStorage() });
  buses.push(bus);
  const sealer = sealAuditTrail(bus, { signingKey: keys.privateKey, every: 3_600_000 });
  const events = await emitDeals(bus, count);
  await sealAll(sealer);
  return { bus, sealer, events };
}

const kinds = (report: AuditReport) => report.findings.map((finding) => [finding.kind, finding.event_id]);

describe("audit trail logic (memory)", () => {
  it("verifies an untouched store as intact, one interval per digest, empty ones included", async () => {
    const { bus, sealer, events } = await sealedBus();
    await sealAll(sealer); // an empty interval
    const report = await verifyAuditTrail(bus, { publicKey: keys.publicKey });
    expect(report.findings).toEqual([]);
    expect(report.intact).toBe(true);
    expect(report.intervals.map((interval) => [interval.sequence, interval.sealed, interval.intact])).toEqual([
      [1, events.length, true],
      [2, 0, true],
    ]);
    expect(report.summary.sealed_events).toBe(events.length);
  });

  it("names an altered event", async () => {
    const { bus, events } = await sealedBus();
    const tampered = [...events];
    tampered[2] = { ...(events[2] as Event), payload: { cpm: 1 } };
    const report = await verifyAuditTrail(arrayView(bus.storage, tampered), { publicKey: keys.publicKey });
    expect(report.intact).toBe(false);
    expect(kinds(report)).toEqual([["altered", events[2]?.event_id]]);
  });

  it("names a removed event, and an event moved to another place", async () => {
    const { bus, events } = await sealedBus();
    const without = events.filter((_, index) => index !== 3);
    expect(kinds(await verifyAuditTrail(arrayView(bus.storage, without), { publicKey: keys.publicKey }))).toEqual([
      ["removed", events[3]?.event_id],
    ]);
    const swapped = [...events];
    [swapped[1], swapped[4]] = [swapped[4] as Event, swapped[1] as Event];
    const report = await verifyAuditTrail(arrayView(bus.storage, swapped), { publicKey: keys.publicKey });
    // The one moved earlier and the one moved later are both named.
    expect(kinds(report).sort()).toEqual(
      [
        ["reordered", events[1]?.event_id],
        ["reordered", events[4]?.event_id],
      ].sort(),
    );
  });

  it("names an inserted event among sealed ones, but counts new events after the last digest as unsealed", async () => {
    const { bus, events } = await sealedBus();
    const forged = { ...(events[0] as Event), event_id: "0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e" };
    const inserted = [...events.slice(0, 2), forged, ...events.slice(2)];
    const report = await verifyAuditTrail(arrayView(bus.storage, inserted), { publicKey: keys.publicKey });
    expect(kinds(report)).toEqual([["inserted", forged.event_id]]);
    await emitDeals(bus, 2, "late");
    const later = await verifyAuditTrail(bus, { publicKey: keys.publicKey });
    expect(later.intact).toBe(true);
    expect(later.summary.unsealed_events).toBe(2);
  });

  it("reports a digest checked with another key as forged", async () => {
    const { bus } = await sealedBus();
    const report = await verifyAuditTrail(bus, { publicKey: otherKeys.publicKey });
    expect(report.findings.map((finding) => finding.kind)).toEqual(["forged-digest"]);
  });

  it("reports a tail cut after the anchor the caller holds", async () => {
    const { bus, sealer, events } = await sealedBus(2);
    await emitDeals(bus, 2, "tail");
    const anchor = await sealer.sealNow();
    const cut = arrayView(bus.storage, events);
    const digests = cut.digests;
    if (digests === undefined || anchor === null) throw new Error("no digests");
    // Drop the anchor digest from the view as a truncating owner would.
    const view = {
      ...cut,
      digests: {
        ...digests,
        range: async (log: string, after: number, limit: number) =>
          (await digests.range(log, after, limit)).filter(
            (record) => !log.endsWith(":digests") || record.key < anchor.sequence,
          ),
      },
    };
    const report = await verifyAuditTrail(view, { publicKey: keys.publicKey, anchor });
    expect(report.findings.map((finding) => finding.kind)).toEqual(["truncated"]);
    expect(report.findings[0]?.event_id).toBe(anchor.entries.last);
  });

  it("reports pruned events as pruned, not tampering", async () => {
    const { bus, sealer, events } = await sealedBus();
    const pruned = await bus.storage.prune?.({
      before: new Date(Date.now() + 1000),
      types: ["deal.synced"],
      // The sealer is a durable consumer: it holds events stamped within a minute of its checkpoint.
      consumers: "ignore",
    });
    expect(pruned).toBe(3);
    await sealAll(sealer);
    const report = await verifyAuditTrail(bus, { publicKey: keys.publicKey });
    expect(report.intact).toBe(true);
    expect(kinds(report)).toEqual(
      events.filter((event) => event.event_type === "deal.synced").map((event) => ["pruned", event.event_id]),
    );
  });

  it("refuses bad options with the field named", async () => {
    const { bus } = await sealedBus(0);
    await expect(verifyAuditTrail(bus, { publicKey: "nope" })).rejects.toThrow(/publicKey/);
    expect(() => sealAuditTrail(bus, { signingKey: keys.publicKey, every: 10 } as never)).toThrow(
      /every.*signingKey|signingKey/s,
    );
    expect(() => sealAuditTrail(bus, { signingKey: keys.privateKey, every: 1000, evry: 1 } as never)).toThrow(/evry/);
  });
});
