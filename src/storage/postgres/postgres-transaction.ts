import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { eventText } from "./postgres-columns.js";
import { type Queryable, type StoredBatch, storeEvents } from "./postgres-insert.js";

/**
 * Inserts events with the caller's own client, inside the transaction it has open: they exist only if it commits.
 * No lock and no NOTIFY are added to the caller's transaction (a NOTIFY would serialise its commit with every other
 * notifying one); the table's sequencer finds the rows on its poll once they are committed.
 */
export function storeInCallerTransaction(
  transaction: unknown,
  table: string,
  events: readonly Event[],
  maxRows: number,
): Promise<StoredBatch> {
  return storeEvents(callerClient(transaction), { table, events, texts: events.map(eventText), maxRows });
}

/** The caller's `transaction` as a client to query, or an `EventValidationError` saying what to pass. */
function callerClient(transaction: unknown): Queryable {
  const candidate = transaction as { query?: unknown; totalCount?: unknown } | null | undefined;
  if (typeof candidate?.query !== "function") {
    throw EventValidationError.forField(
      "transaction",
      "must be a pg client inside BEGIN, e.g. const client = await pool.connect(); await client.query('BEGIN')",
    );
  }
  // A Pool runs each query on whichever connection is free: no transaction can span two of them.
  if (typeof candidate.totalCount === "number") {
    throw EventValidationError.forField(
      "transaction",
      "is a pg Pool, whose queries each take any connection: pass the client of pool.connect() after its BEGIN",
    );
  }
  return candidate as Queryable;
}
