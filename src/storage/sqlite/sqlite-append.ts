import { EVENT_FIELDS, type Event } from "../../event/event.js";
import type { AppendOutcome } from "../types.js";
import { inWriteTransaction, type SqliteDatabase, type SqliteValue, type StatementCache } from "./sqlite-driver.js";
import type { SqliteEventReader } from "./sqlite-list.js";
import { quoteIdentifier } from "./sqlite-schema.js";

/**
 * The writes of one events table over one connection, synchronous like the drivers. Setup, error wrapping and the
 * async surface live in `sqliteStorage`; the reads in {@link SqliteEventReader}, which also answers a duplicate id.
 */
export class SqliteEventAppender {
  private readonly insertSql: string;

  constructor(
    private readonly database: SqliteDatabase,
    table: string,
    private readonly statements: StatementCache,
    private readonly reader: SqliteEventReader,
  ) {
    this.insertSql = insertSql(table);
  }

  /** Stores a batch in one transaction; per event `null`, or the event already stored under its id. */
  append(batch: readonly Event[]): AppendOutcome[] {
    if (batch.length === 0) return [];
    return inWriteTransaction(this.database, () => this.insertAll(batch));
  }

  /** Stores a batch inside the transaction the caller has open on this connection (it commits or rolls back). */
  insertAll(batch: readonly Event[]): AppendOutcome[] {
    const insert = this.statements.get(this.insertSql);
    // Inside the transaction a later duplicate of an earlier event of the same batch already sees it.
    return batch.map((event) => {
      if (Number(insert.run(...insertParams(event)).changes) === 1) return null;
      const stored = this.reader.get(event.event_id);
      if (stored === null) throw new Error(`insert of ${event.event_id} was ignored but no row holds that id`);
      return stored;
    });
  }
}

/** The SQL that stores one event, leaving an already stored id untouched. */
function insertSql(table: string): string {
  const columns = EVENT_FIELDS.map(quoteIdentifier).join(", ");
  const slots = EVENT_FIELDS.map(() => "?").join(", ");
  return `INSERT INTO ${quoteIdentifier(table)} (${columns}) VALUES (${slots}) ON CONFLICT(event_id) DO NOTHING`;
}

/** The parameters of {@link insertSql} for one event, in column order. */
function insertParams(event: Event): SqliteValue[] {
  return [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.flow_id,
    event.flow_type,
    event.proposal_id,
    event.deal_id,
    event.session_id,
    JSON.stringify(event.payload),
    JSON.stringify(event.metadata),
  ];
}
