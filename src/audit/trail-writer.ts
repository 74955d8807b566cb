import type { KeyObject } from "node:crypto";
import { EventBusError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { PRUNE_RECORD_LOG, type PruneRecord } from "../storage/kit/prune-records.js";
import type { DigestRecord, DigestStore } from "../storage/types.js";
import { canonicalJson } from "./canonical-json.js";
import {
  type AuditDigest,
  DIGEST_FORMAT,
  digestHash,
  entryJson,
  GENESIS,
  parseDigest,
  parseEntry,
  type SealEntry,
  type SealedPruneRecord,
  sealEntry,
  signDigest,
} from "./digest-format.js";

/**
 * The names of a trail's two logs in the store's digest capability: its seal entries (key: position in the trail,
 * from 0) and its digests (key: sequence, from 1).
 *
 * @example
 * ```ts
 * const { entries, digests } = trailLogs("audit-trail"); // "trail:audit-trail:entries", "trail:audit-trail:digests"
 * ```
 */
export function trailLogs(trail: string): { readonly entries: string; readonly digests: string } {
  return { entries: `trail:${trail}:entries`, digests: `trail:${trail}:digests` };
}

/** What the sealer knows of its trail: read from the store at start and after any lost race, then kept in memory. */
interface TrailState {
  /** The newest digest, or null before the first. */
  digest: AuditDigest | null;
  /** Chain value after the last entry written (the previous digest's hash when the interval has none yet). */
  chain: string;
  /** Key of the first entry of the open interval, and how many it holds so far. */
  from: number;
  count: number;
  first: string | null;
  /** The id of the newest entry of the trail: a batch handed again after a crash is skipped up to it. */
  last: string | null;
  /** Key of the newest prune record already sealed. */
  pruneThrough: number;
  /** Where the open interval began. */
  start: string;
}

/** Settings of a {@link TrailWriter}. */
export interface TrailWriterSettings {
  readonly store: DigestStore;
  readonly trail: string;
  readonly types: readonly string[] | null;
  readonly signingKey: KeyObject;
  readonly keyId: string;
}

/**
 * Writes one trail: appends a seal entry per event handed to it, and seals the open interval into a signed digest.
 * Calls are serialised. Every write is a compare-and-set on keys (an append fails whole when a key is taken), so
 * when two instances overlap during a lease takeover, the loser re-reads the trail and its batch is handed again.
 */
export class TrailWriter {
  private state: TrailState | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly logs: ReturnType<typeof trailLogs>;

  constructor(private readonly settings: TrailWriterSettings) {
    this.logs = trailLogs(settings.trail);
  }

  /** The id of the newest event sealed or pending (null before any). */
  get lastEventId(): string | null {
    return this.state?.last ?? null;
  }

  /** Appends a seal entry for each event not yet in the trail, in the order given (store order). */
  add(events: readonly Event[]): Promise<void> {
    return this.serialised(async () => {
      const state = await this.loaded();
      const seen = state.last === null ? -1 : events.findIndex((event) => event.event_id === state.last);
      const fresh = events.slice(seen + 1);
      if (fresh.length === 0) return;
      let chain = state.chain;
      const records: DigestRecord[] = fresh.map((event, index) => {
        const entry = sealEntry(event, chain);
        chain = entry.chain;
        return { key: state.from + state.count + index, value: entryJson(entry) };
      });
      if (!(await this.settings.store.append(this.logs.entries, records))) this.lostRace("entries");
      state.chain = chain;
      state.count += fresh.length;
      state.first ??= (fresh[0] as Event).event_id;
      state.last = (fresh.at(-1) as Event).event_id;
    });
  }

  /** Seals the open interval (possibly empty) into the next digest; `null` when another instance sealed first. */
  seal(): Promise<AuditDigest | null> {
    return this.serialised(async () => {
      const state = await this.loaded();
      const pruned = await this.pruneRecordsAfter(state.pruneThrough);
      const end = new Date().toISOString();
      const digest = signDigest(
        {
          format: DIGEST_FORMAT,
          trail: this.settings.trail,
          sequence: (state.digest?.sequence ?? 0) + 1,
          interval: { start: state.start, end: end > state.start ? end : state.start },
          previous: state.digest === null ? null : digestHash(state.digest),
          types: this.settings.types === null ? null : [...this.settings.types],
          entries: { from: state.from, count: state.count, first: state.first, last: state.last, chain: state.chain },
          pruned: { through: pruned.at(-1)?.key ?? state.pruneThrough, records: pruned },
          key_id: this.settings.keyId,
        },
        this.settings.signingKey,
      );
      const record = { key: digest.sequence, value: canonicalJson(digest) };
      if (!(await this.settings.store.append(this.logs.digests, [record]))) {
        this.state = undefined;
        return null;
      }
      const hash = digestHash(digest);
      const last = state.last;
      this.state = {
        digest,
        chain: hash,
        from: state.from + state.count,
        count: 0,
        first: null,
        last,
        pruneThrough: digest.pruned.through,
        start: digest.interval.end,
      };
      return digest;
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private lostRace(log: string): never {
    this.state = undefined;
    throw new EventBusError(
      `${this.settings.trail}: another sealer wrote the trail's ${log} first (a lease takeover); the batch is handed again`,
    );
  }

  private async pruneRecordsAfter(key: number): Promise<SealedPruneRecord[]> {
    const found = await this.settings.store.range(PRUNE_RECORD_LOG, key, 1000);
    return found.map((record) => {
      const { before, types, recorded_at } = JSON.parse(record.value) as PruneRecord;
      return { key: record.key, before, types: [...types], recorded_at };
    });
  }

  private async loaded(): Promise<TrailState> {
    this.state ??= await this.load();
    return this.state;
  }

  /** Rebuilds the state from the newest digest and the newest entry. */
  private async load(): Promise<TrailState> {
    const { store, trail } = this.settings;
    const [digestRecord, entryRecord] = await Promise.all([
      store.last(this.logs.digests),
      store.last(this.logs.entries),
    ]);
    const digest = digestRecord === null ? null : readStored(parseDigest(digestRecord.value), trail, "digest");
    const entry = entryRecord === null ? null : readStored(parseEntry(entryRecord.value), trail, "entry");
    const from = digest === null ? 0 : digest.entries.from + digest.entries.count;
    const chain = digest === null ? GENESIS : digestHash(digest);
    const state: TrailState = {
      digest,
      chain,
      from,
      count: 0,
      first: null,
      last: entry?.event_id ?? digest?.entries.last ?? null,
      pruneThrough: digest?.pruned.through ?? 0,
      start: digest?.interval.end ?? new Date().toISOString(),
    };
    if (entryRecord !== null && entry !== null && entryRecord.key >= from) {
      const [firstRecord] = await store.range(this.logs.entries, from - 1, 1);
      state.count = entryRecord.key - from + 1;
      state.chain = entry.chain;
      state.first = readStored(parseEntry(firstRecord?.value ?? ""), trail, "entry").event_id;
    }
    return state;
  }
}

function readStored<T extends AuditDigest | SealEntry>(parsed: T | string, trail: string, what: string): T {
  if (typeof parsed !== "string") return parsed;
  throw new EventBusError(`${trail}: the newest stored ${what} ${parsed}; run verifyAuditTrail before sealing on`);
}
