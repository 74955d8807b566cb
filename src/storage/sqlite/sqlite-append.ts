import { EVENT_FIELDS, type Event } from "../../event/event.js";
import type { AppendOutcome } from "../types.js";
import { inWriteTransaction, type SqliteDatabase, type SqliteValue, type StatementCache } from "./sqlite-driver.js";
import type { SqliteEventReader } from "./sqlite-list.js";
import { quoteIdentifier, tableHasBody } from "./sqlite-schema.js";

/**
 * The writes of one events table over one connection, synchronous like the drivers. Setup, error wrapping and the
 * async surface live in `sqliteStorage`; the reads in {@link SqliteEventReader}, which also answers a duplicate id.
 */
export class SqliteEventAppender {
  /** The insert depends on the table's columns, read on first use (after the store's setup has run). */
  private insert: { readonly sql: string; readonly hasBody: boolean } | undefined;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly table: string,
    private readonly statements: StatementCache,
    private readonly reader: SqliteEventReader,
  ) {}

  /** Stores a batch in one transaction; per event `null`, or the event already stored under its id. */
  append(batch: readonly Event[]): AppendOutcome[] {
    if (batch.length === 0) return [];
    return inWriteTransaction(this.database, () => this.insertAll(batch));
  }

  /** Stores a batch inside the transaction the caller has open on this connection (it commits or rolls back). */
  insertAll(batch: readonly Event[]): AppendOutcome[] {
    if (this.insert === undefined) {
      const hasBody = tableHasBody(this.database, this.table);
      this.insert = { sql: insertSql(this.table, hasBody), hasBody };
    }
    const { sql, hasBody } = this.insert;
    const insert = this.statements.get(sql);
    // Inside the transaction a later duplicate of an earlier event of the same batch already sees it.
    return batch.map((event) => {
      if (Number(insert.run(...insertParams(event, hasBody)).changes) === 1) return null;
      const stored = this.reader.get(event.event_id);
      if (stored === null) throw new Error(`insert of ${event.event_id} was ignored but no row holds that id`);
      return stored;
    });
  }
}

/** The SQL that stores one event (with its wire JSON in `body` when the table has it), leaving a stored id alone. */
function insertSql(table: string, hasBody: boolean): string {
  const fields = hasBody ? [...EVENT_FIELDS, "body"] : EVENT_FIELDS;
  const columns = fields.map(quoteIdentifier).join(", ");
  const slots = fields.map(() => "?").join(", ");
  return `INSERT INTO ${quoteIdentifier(table)} (${columns}) VALUES (${slots}) ON CONFLICT(event_id) DO NOTHING`;
}

/** The parameters of {@link insertSql} for one event, in column order. */
function insertParams(event: Event, hasBody: boolean): SqliteValue[] {
  const payload = JSON.stringify(event.payload);
  const metadata = JSON.stringify(event.metadata);
  const params: SqliteValue[] = [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.flow_id,
    event.flow_type,
    event.proposal_id,
    event.deal_id,
    event.session_id,
    payload,
    metadata,
  ];
  if (hasBody) params.push(wireBody(params, payload, metadata));
  return params;
}

const HEADER_NAMES = EVENT_FIELDS.slice(0, 8).map((field, index) => `${index === 0 ? "{" : ","}"${field}":`);

/**
 * `wireJson(event)` from the already serialised payload and metadata: the same bytes (each string field goes through
 * `JSON.stringify` on its own, in wire order), without serialising the payload a second time.
 */
function wireBody(fields: readonly SqliteValue[], payload: string, metadata: string): string {
  let text = "";
  for (let index = 0; index < HEADER_NAMES.length; index++) {
    text += HEADER_NAMES[index] + JSON.stringify(fields[index]);
  }
  return `${text},"payload":${payload},"metadata":${metadata}}`;
}
