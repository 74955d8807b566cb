// The direct-tampering scenarios every durable store runs: each store file supplies how to change its rows or keys
// behind the library's back, and each scenario checks that verification names what changed.
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/canonical-json.js";
import { parseDigest, signDigest } from "../../src/audit/digest-format.js";
import {
  type AuditDigest,
  type AuditReport,
  sealAuditTrail,
  trailLogs,
  verifyAuditTrail,
} from "../../src/audit/index.js";
import { EventBus } from "../../src/bus/event-bus.js";
import type { Event } from "../../src/event/event.js";
import type { EventStorage } from "../../src/storage/types.js";
import { emitDeals, keys, otherKeys, sealAll } from "./audit-support.js";

/** What a store test gives: raw writes to its own rows or keys, bypassing the library. */
export interface StoreTamper {
  /** Changes the stored payload of an event to `{ "cpm": 1 }`. */
  alterPayload(eventId: string): Promise<void>;
  deleteEvent(eventId: string): Promise<void>;
  /** Stores `event` right after `afterId` in store order (moving later events down). */
  insertAfter(afterId: string, event: Event): Promise<void>;
  /** Exchanges the store-order positions of two events. */
  swap(first: string, second: string): Promise<void>;
  /** Replaces (or, with `null`, deletes) a record of the digest store. */
  setRecord(log: string, key: number, value: string | null): Promise<void>;
}

/** A fresh store of the kind under test, and its tamperer. */
export type OpenTamperable = () => Promise<{ storage: EventStorage; tamper: StoreTamper }>;

const TRAIL = "audit-trail";

/** Three digests: 6, 4 and 2 events. */
async function sealedStore(open: OpenTamperable) {
  const { storage, tamper } = await open();
  const bus = new EventBus({ storage });
  const sealer = sealAuditTrail(bus, { signingKey: keys.privateKey, every: 3_600_000, name: TRAIL });
  const events: Event[] = [];
  const digests: AuditDigest[] = [];
  for (const [count, label] of [
    [6, "a"],
    [4, "b"],
    [2, "c"],
  ] as const) {
    events.push(...(await emitDeals(bus, count, label)));
    const digest = await sealer.sealNow();
    if (digest === null) throw new Error("not sealed");
    digests.push(digest);
  }
  const verify = (anchor?: AuditDigest) => verifyAuditTrail(bus, { publicKey: keys.publicKey, name: TRAIL, anchor });
  const close = async () => {
    await sealer.stop();
    await bus.close();
  };
  return { bus, sealer, events, digests, tamper, verify, close };
}

const found = (report: AuditReport) => report.findings.map((finding) => [finding.kind, finding.event_id]);
const at = (events: readonly Event[], index: number) => (events[index] as Event).event_id;

/** The scenarios, under `describe(name)`; skipped loudly by the caller when the service is missing. */
export function describeTampering(name: string, open: OpenTamperable, timeout = 20_000): void {
  const scenario = (title: string, body: (store: Awaited<ReturnType<typeof sealedStore>>) => Promise<void>) =>
    it(
      title,
      async () => {
        const store = await sealedStore(open);
        try {
          await body(store);
        } finally {
          await store.close();
        }
      },
      timeout,
    );

  describe(`tampering with a ${name} store`, () => {
    scenario("an untouched store verifies as intact", async ({ verify, digests }) => {
      const report = await verify(digests.at(-1));
      expect(report.findings).toEqual([]);
      expect(report.intervals.map((interval) => interval.sealed)).toEqual([6, 4, 2]);
    });

    scenario("an UPDATE of a payload is named as altered", async ({ verify, events, tamper }) => {
      await tamper.alterPayload(at(events, 7));
      expect(found(await verify())).toEqual([["altered", at(events, 7)]]);
    });

    scenario("a DELETE is named as removed", async ({ verify, events, tamper }) => {
      await tamper.deleteEvent(at(events, 2));
      expect(found(await verify())).toEqual([["removed", at(events, 2)]]);
    });

    scenario(
      "an INSERT of a forged event with a valid-looking id is named as inserted",
      async ({ verify, events, tamper }) => {
        const forged = {
          ...(events[3] as Event),
          event_id: "7d444840-9dc0-41d5-9c2f-8b1d6a1e2f3a",
          payload: { cpm: 0.01 },
        };
        await tamper.insertAfter(at(events, 3), forged);
        expect(found(await verify())).toEqual([["inserted", forged.event_id]]);
      },
    );

    scenario("swapped positions are named as reordered", async ({ verify, events, tamper }) => {
      await tamper.swap(at(events, 1), at(events, 8));
      const report = await verify();
      expect(report.intact).toBe(false);
      expect(report.findings.map((finding) => finding.kind)).toEqual(["reordered", "reordered"]);
      expect(report.findings.map((finding) => finding.event_id)).toEqual(expect.arrayContaining([at(events, 1)]));
    });

    scenario("a removed digest is named as missing", async ({ verify, tamper }) => {
      await tamper.setRecord(trailLogs(TRAIL).digests, 2, null);
      expect((await verify()).findings.map((finding) => [finding.kind, finding.digest])).toContainEqual([
        "missing-digest",
        2,
      ]);
    });

    scenario("a digest re-signed with another key is named as forged", async ({ verify, tamper, digests }) => {
      const { signature: _, ...fields } = digests[1] as AuditDigest;
      const resigned = signDigest({ ...fields, entries: { ...fields.entries, count: 3 } }, otherKeys.privateKey);
      await tamper.setRecord(trailLogs(TRAIL).digests, 2, canonicalJson(resigned));
      const report = await verify();
      expect(report.findings.map((finding) => [finding.kind, finding.digest])).toContainEqual(["forged-digest", 2]);
    });

    scenario("an edited seal entry (hiding an altered event) is named", async ({ verify, events, tamper, bus }) => {
      await tamper.alterPayload(at(events, 4));
      const log = trailLogs(TRAIL).entries;
      const [record] = (await bus.storage.digests?.range(log, 3, 1)) ?? [];
      const entry = JSON.parse(record?.value ?? "{}");
      await tamper.setRecord(log, 4, canonicalJson({ ...entry, hash: "0".repeat(64) }));
      const report = await verify();
      expect(found(report)).toContainEqual(["altered-seal", at(events, 4)]);
    });

    scenario(
      "the newest events cut after the anchor are named as truncated",
      async ({ verify, events, digests, tamper }) => {
        const anchor = digests[2] as AuditDigest;
        for (const event of events.slice(10)) await tamper.deleteEvent(event.event_id);
        await tamper.setRecord(trailLogs(TRAIL).digests, 3, null);
        const report = await verify(anchor);
        expect(found(report)).toEqual([["truncated", at(events, 11)]]);
        expect(report.findings[0]?.message).toContain(at(events, 10));
        // Without the anchor the cut is invisible: that is why the latest digest must be kept elsewhere.
        expect((await verify()).intact).toBe(true);
      },
    );

    scenario(
      "events removed by prune are reported as pruned, not tampering",
      async ({ verify, events, bus, sealer }) => {
        const deleted = await bus.storage.prune?.({
          before: new Date(Date.now() + 60_000),
          types: ["deal.synced"],
          // The sealer is a durable consumer: it holds events stamped within a minute of its checkpoint.
          consumers: "ignore",
        });
        expect(deleted).toBe(6);
        await sealAll(sealer);
        const report = await verify();
        expect(report.intact).toBe(true);
        const synced = events
          .filter((event) => event.event_type === "deal.synced")
          .map((event) => ["pruned", event.event_id]);
        expect(found(report)).toEqual(synced);
        // Checked on the stored digest: the prune record is inside the signed part.
        const [last] = (await bus.storage.digests?.range(trailLogs(TRAIL).digests, 3, 1)) ?? [];
        const parsed = parseDigest(last?.value ?? "");
        expect(typeof parsed !== "string" && parsed.pruned.records.length).toBe(1);
      },
    );
  });
}
