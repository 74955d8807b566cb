import type { Pool } from "pg";
import type { Event } from "../../event/event.js";
import { type EventText, eventText } from "./postgres-columns.js";
import {
  type ChunkInserter,
  type InsertedChunk,
  inTransaction,
  MAX_STATEMENT_CHARS,
  plainInserter,
  type StoredBatch,
  storeEvents,
} from "./postgres-insert.js";
import type { StatisticsKeeper } from "./postgres-statistics.js";

/** Settings of {@link AppendBatcher}. */
export interface AppendBatcherSettings {
  readonly pool: Pool;
  readonly qualifiedTable: string;
  /** Most rows one INSERT statement carries. */
  readonly maxBatchRows: number;
  /** Most INSERT statements in flight at once. */
  readonly maxConcurrentStatements: number;
  /** Told how many rows each group stored, to keep the planner's statistics fresh. */
  readonly statistics?: StatisticsKeeper | undefined;
  /**
   * Stores a one-statement group with its positions when this process leads the sequencer (one commit instead of
   * an INSERT and a numbering step); `undefined` when it does not lead, and the plain INSERT runs instead.
   */
  readonly stamp?: ((chunk: readonly EventText[]) => Promise<InsertedChunk | undefined>) | undefined;
}

interface PendingAppend {
  readonly events: readonly Event[];
  /** Each event's texts, serialised once at submit so that groups can be capped by size too. */
  readonly texts: readonly EventText[];
  readonly chars: number;
  readonly resolve: (stored: StoredBatch) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: `append` calls that arrive while the event loop is busy (or while every statement slot is taken)
 * are coalesced into one multi-row INSERT, because a statement with many rows costs little more than one with a
 * single row. Calls are never split across statements, so each call stays all-or-nothing and contiguous in the
 * insertion order (one statement is one transaction, numbered by the sequencer in one step unless very large).
 */
export class AppendBatcher {
  private readonly settings: AppendBatcherSettings;
  private queue: PendingAppend[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(settings: AppendBatcherSettings) {
    this.settings = settings;
  }

  /**
   * Queues one `append` call; resolves once its statement has committed, with the call's outcomes and its group's
   * transaction (what a wait for positions needs).
   */
  submit(events: readonly Event[]): Promise<StoredBatch> {
    const texts = events.map(eventText);
    const chars = texts.reduce((sum, text) => sum + text.body.length, 0);
    return new Promise((resolve, reject) => {
      this.queue.push({ events, texts, chars, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.settings.maxConcurrentStatements) return;
    this.scheduled = true;
    // Wait one macrotask: callers woken by the previous statement re-submit in microtasks, and should share the next.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.settings.maxConcurrentStatements) {
      const group = this.takeGroup();
      this.inFlight += 1;
      void this.runGroup(group).finally(() => {
        this.inFlight -= 1;
        this.schedule();
        if (this.queue.length === 0 && this.inFlight === 0) {
          for (const wake of this.idleWaiters.splice(0)) wake();
        }
      });
    }
  }

  /** Takes whole calls from the head of the queue up to the row and size caps (a call over a cap goes alone). */
  private takeGroup(): PendingAppend[] {
    let rows = 0;
    let chars = 0;
    let count = 0;
    for (const pending of this.queue) {
      const full =
        rows + pending.events.length > this.settings.maxBatchRows || chars + pending.chars > MAX_STATEMENT_CHARS;
      if (count > 0 && full) break;
      rows += pending.events.length;
      chars += pending.chars;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  /** The leader's stamped INSERT when it can be used, else the plain one on the pool. */
  private inserter(): ChunkInserter {
    const { stamp, pool, qualifiedTable } = this.settings;
    const plain = plainInserter(pool, qualifiedTable);
    if (stamp === undefined) return plain;
    return async (chunk) => (await stamp(chunk)) ?? plain(chunk);
  }

  private async runGroup(group: PendingAppend[]): Promise<void> {
    const { pool, qualifiedTable, maxBatchRows } = this.settings;
    try {
      const only = group.length === 1 ? (group[0] as PendingAppend) : undefined;
      const events = only?.events ?? group.flatMap((call) => call.events);
      const texts = only?.texts ?? group.flatMap((call) => call.texts);
      const batch = { table: qualifiedTable, events, texts, maxRows: maxBatchRows };
      const fitsOneStatement = events.length <= maxBatchRows && (only?.chars ?? 0) <= MAX_STATEMENT_CHARS;
      const stored = fitsOneStatement
        ? await storeEvents(pool, batch, this.inserter())
        : await inTransaction(pool, (client) => storeEvents(client, batch));
      const { outcomes } = stored;
      this.settings.statistics?.noteAppended(outcomes.filter((outcome) => outcome === null).length);
      let offset = 0;
      for (const call of group) {
        call.resolve({ ...stored, outcomes: outcomes.slice(offset, offset + call.events.length) });
        offset += call.events.length;
      }
    } catch (error) {
      if (group.length > 1 && isContentError(error)) {
        // Something in one event's content was refused (and the statement stored nothing): retry each call on its
        // own so that one bad event fails only its own caller.
        for (const call of group) await this.runGroup([call]);
      } else {
        for (const call of group) call.reject(error);
      }
    }
  }
}

/**
 * True for errors caused by one event's content (SQLSTATE class 22 data exception, 23 integrity violation, 54
 * program limit; e.g. a `\u0000` in a string, which PostgreSQL text cannot hold), as opposed to connection or
 * server trouble that would fail any statement.
 */
export function isContentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(22|23|54)/.test(code);
}
