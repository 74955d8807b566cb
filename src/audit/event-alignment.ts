import type { Event } from "../event/event.js";
import type { FindingLog } from "./audit-report.js";
import { eventHash, type SealedPruneRecord } from "./digest-format.js";
import type { SealRef } from "./entry-scan.js";

/** Settings of an {@link EventAlignment}. */
export interface AlignmentSettings {
  /** The next sealed entry in trail order, or `null` when there are no more. */
  readonly nextSeal: () => Promise<SealRef | null>;
  readonly findings: FindingLog;
  readonly pruneRecords: readonly SealedPruneRecord[];
  /** Most sealed entries read ahead and not yet matched (bounds memory). */
  readonly window: number;
}

/**
 * Matches the store's events, in store order, against the sealed entries, in trail order, with a bounded look-ahead:
 *
 * - an event found among the entries read ahead is matched; its hash must be the sealed one (else `altered`), and
 *   its position must not come before one already matched (else `reordered`);
 * - an event that matches no entry is held; once a later event matches, the held ones sat among sealed events
 *   (`inserted`); those still held at the end come after everything sealed (`unsealed`, not checked);
 * - an entry that no event matched is `pruned` when a signed prune record covers its type and time, else `removed`.
 *
 * Memory: at most `window` entries and `window` held event ids, whatever the number of events.
 */
export class EventAlignment {
  private readonly ahead = new Map<string, SealRef>();
  private exhausted = false;
  /** Key of the last event confirmed in sealed order. */
  private base = -1;
  /** An event that skipped over unmatched entries: moved earlier, or the entries were removed (decided next). */
  private jumper: { readonly key: number; readonly eventId: string; readonly digest: number } | null = null;
  private held: string[] = [];
  private heldCount = 0;
  /** Matched events per digest. */
  readonly matched = new Map<number, number>();

  constructor(private readonly settings: AlignmentSettings) {}

  /** Events after the last matched one that no entry sealed: not yet sealed. */
  get unsealed(): number {
    return this.heldCount;
  }

  async event(event: Event): Promise<void> {
    const seal = await this.find(event.event_id);
    if (seal === undefined) {
      if (this.held.length < this.settings.window) this.held.push(event.event_id);
      this.heldCount++;
      return;
    }
    this.ahead.delete(event.event_id);
    this.flushHeld(seal);
    this.matched.set(seal.digest, (this.matched.get(seal.digest) ?? 0) + 1);
    const { findings } = this.settings;
    const hash = eventHash(event);
    if (hash !== seal.entry.hash) {
      findings.add(
        "altered",
        seal.digest,
        event.event_id,
        `event ${event.event_id} was altered after digest ${seal.digest} sealed it (sealed hash ${seal.entry.hash}, stored ${hash})`,
      );
    }
    this.placeInOrder(seal, event.event_id);
  }

  /** Reports every entry never matched: removed or pruned. */
  async finish(): Promise<void> {
    for (let seal = await this.next(); seal !== null; seal = await this.next())
      this.ahead.set(seal.entry.event_id, seal);
    for (const seal of this.ahead.values()) this.missing(seal);
    this.ahead.clear();
  }

  private async find(eventId: string): Promise<SealRef | undefined> {
    let seal = this.ahead.get(eventId);
    while (seal === undefined && !this.exhausted) {
      // Full: entries behind the newest match are taken as removed, to make room.
      if (this.ahead.size >= this.settings.window && !this.evictBehind()) break;
      const next = await this.next();
      if (next === null) break;
      this.ahead.set(next.entry.event_id, next);
      if (next.entry.event_id === eventId) seal = next;
    }
    return seal;
  }

  private async next(): Promise<SealRef | null> {
    if (this.exhausted) return null;
    const seal = await this.settings.nextSeal();
    if (seal === null) this.exhausted = true;
    return seal;
  }

  /**
   * Tells moved events from removed ones with one pending decision: an event that skips unmatched entries is held
   * as `jumper`; if a later event fills the gap it skipped, the jumper was moved earlier, otherwise the skipped
   * entries were removed and the jumper is in place. An event behind the last in-order one was moved later.
   */
  private placeInOrder(seal: SealRef, eventId: string): void {
    const jumper = this.jumper;
    if (seal.key < this.base) {
      this.reordered(seal.key, eventId, seal.digest, "later");
      return;
    }
    if (jumper !== null && seal.key < jumper.key) this.reordered(jumper.key, jumper.eventId, jumper.digest, "earlier");
    this.jumper = null;
    const [oldestAhead] = this.ahead.values();
    if (jumper === null && oldestAhead !== undefined && oldestAhead.key < seal.key) {
      this.jumper = { key: seal.key, eventId, digest: seal.digest };
      return;
    }
    this.base = seal.key;
  }

  private reordered(key: number, eventId: string, digest: number, moved: "earlier" | "later"): void {
    this.settings.findings.add(
      "reordered",
      digest,
      eventId,
      `event ${eventId} is sealed at position ${key} (digest ${digest}) but the store returns it ${moved} than that`,
    );
  }

  private evictBehind(): boolean {
    const [oldest] = this.ahead.values();
    if (oldest === undefined || oldest.key > Math.max(this.base, this.jumper?.key ?? -1)) return false;
    this.ahead.delete(oldest.entry.event_id);
    this.missing(oldest);
    return true;
  }

  private flushHeld(seal: SealRef): void {
    for (const eventId of this.held) {
      this.settings.findings.add(
        "inserted",
        seal.digest,
        eventId,
        `event ${eventId} is stored among sealed events (before event ${seal.entry.event_id} of digest ${seal.digest}) but no digest sealed it`,
      );
    }
    const unnamed = this.heldCount - this.held.length;
    if (unnamed > 0)
      this.settings.findings.add(
        "inserted",
        seal.digest,
        null,
        `${unnamed} more events are stored among sealed events but no digest sealed them`,
      );
    this.held = [];
    this.heldCount = 0;
  }

  private missing(seal: SealRef): void {
    const { event_id, event_type, timestamp } = seal.entry;
    const at = `(${event_type} at ${timestamp}, digest ${seal.digest}, position ${seal.key})`;
    const record = this.settings.pruneRecords.find(
      (rule) => timestamp < rule.before && rule.types.includes(event_type),
    );
    if (record !== undefined) {
      this.settings.findings.add(
        "pruned",
        seal.digest,
        event_id,
        `event ${event_id} ${at} was pruned by the retention run recorded at ${record.recorded_at}`,
      );
    } else {
      this.settings.findings.add(
        "removed",
        seal.digest,
        event_id,
        `event ${event_id} ${at} is sealed but missing from the store`,
      );
    }
  }
}
