import { generateKeyPairSync } from "node:crypto";
import type { AuditTrailSealer } from "../../src/audit/index.js";
import type { EventBus } from "../../src/bus/event-bus.js";
import type { Event } from "../../src/event/event.js";
import type { EventStorage, NormalizedEventQuery } from "../../src/storage/types.js";

/** One Ed25519 pair for the trail, and another that a forger would sign with. */
export const keys = generateKeyPairSync("ed25519");
export const otherKeys = generateKeyPairSync("ed25519");

/** Emits `count` deal events (alternating audit and non-audit types), returning them in order. */
export async function emitDeals(bus: EventBus, count: number, prefix = "d"): Promise<Event[]> {
  const events: Event[] = [];
  for (let index = 0; index < count; index++) {
    const event_type = index % 2 === 0 ? "deal.created" : "deal.synced";
    events.push(await bus.emitEvent({ event_type, deal_id: `${prefix}-${index}`, payload: { cpm: 10 + index } }));
  }
  return events;
}

/** Seals everything stored now into a digest, failing the test when the sealer cannot. */
export async function sealAll(sealer: AuditTrailSealer): Promise<void> {
  const digest = await sealer.sealNow();
  if (digest === null) throw new Error("the sealer did not seal");
}

/**
 * A store view over a plain array, for tampering in memory: `list` honours the cursors, `limit` and `event_types`
 * only (what verification uses); the digests are the sealed store's.
 */
export function arrayView(source: EventStorage, events: Event[]): EventStorage {
  const index = (id: string) => {
    const at = events.findIndex((event) => event.event_id === id);
    if (at < 0) throw new Error(`unknown cursor ${id}`);
    return at;
  };
  return {
    name: "array",
    digests: source.digests,
    append: async () => [],
    get: async (id) => events.find((event) => event.event_id === id) ?? null,
    close: async () => {},
    async list(query: NormalizedEventQuery) {
      const matching = (event: Event) =>
        query.event_types === undefined || query.event_types.includes(event.event_type);
      if (query.after !== undefined)
        return events
          .slice(index(query.after) + 1)
          .filter(matching)
          .slice(0, query.limit);
      const upTo = query.before === undefined ? events.length : index(query.before);
      return events.slice(0, upTo).filter(matching).slice(-query.limit);
    },
  };
}
