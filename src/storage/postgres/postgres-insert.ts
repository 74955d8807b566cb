import type { Pool, PoolClient, QueryResult, QueryResultRow } from "pg";
import type { Event } from "../../event/event.js";
import type { AppendOutcome } from "../types.js";
import {
  type EventText,
  eventSourceSql,
  eventSourceValues,
  INSERTED_COLUMNS,
  type RowCount,
  rowCount,
} from "./postgres-columns.js";
import { EVENT_COLUMNS, type EventRow, rowToEvent } from "./postgres-rows.js";

/** What both a `Pool` and a checked-out client offer: one query at a time. */
export interface Queryable {
  query<Row extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
  query<Row extends QueryResultRow>(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<QueryResult<Row>>;
}

/** Cap on the JSON text of one statement (a group of several calls), far below PostgreSQL's 1 GB limits. */
export const MAX_STATEMENT_CHARS = 16 * 1024 * 1024;

/**
 * The group-commit INSERT as a named statement: each connection parses and plans it once, which matters because
 * the statement runs once per group. One array per column for a group (see `eventSourceSql`): no per-row parameter
 * limit, and the server keeps numbers exact; plain parameters for one event.
 */
function insertStatement(table: string, rows: readonly EventText[]): { name: string; text: string; values: unknown[] } {
  return { ...preparedForRows("insert", table, rows, insertSql), values: eventSourceValues(rows) };
}

/** A named statement's name and text, built once per role and table. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const prepared = new Map<string, PreparedStatement>();

/**
 * The name and text of the statement `role` on `table`, built by `build` the first time and kept (one entry per
 * role and table a process uses): building the text and its name costs a few µs, on every emit otherwise.
 */
export function preparedStatement(role: string, table: string, build: (table: string) => string): PreparedStatement {
  const key = `${role} ${table}`;
  let statement = prepared.get(key);
  if (statement === undefined) {
    statement = Object.freeze({ name: statementName(role, table), text: build(table) });
    prepared.set(key, statement);
  }
  return statement;
}

/**
 * {@link preparedStatement} for a statement storing `rows`, whose text differs for one event and for a group (see
 * `eventSourceSql`): one prepared statement per role, table and {@link RowCount}.
 */
export function preparedForRows(
  role: string,
  table: string,
  rows: readonly unknown[],
  build: (table: string, count: RowCount) => string,
): PreparedStatement {
  const count = rowCount(rows);
  return preparedStatement(`${role}_${count}`, table, (name) => build(name, count));
}

/**
 * The name of one of the adapter's prepared statements for a table: a short, stable digest (statement names must
 * be unique per text and under 64 bytes). The version keeps a process that mixes releases from reusing a name.
 */
export function statementName(role: string, table: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < table.length; index++) hash = Math.imul(hash ^ table.charCodeAt(index), 0x01000193);
  return `ad_seller_events_${role}_v7_${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

function insertSql(table: string, count: RowCount): string {
  return (
    `INSERT INTO ${table} (${INSERTED_COLUMNS}) ${eventSourceSql(1, count)} ` +
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text AS event_id, pg_current_xact_id()::text AS xid"
  );
}

/** Events to store, with their texts, in append order. */
export interface InsertBatch {
  readonly table: string;
  readonly events: readonly Event[];
  readonly texts: readonly EventText[];
  readonly maxRows: number;
}

/** What {@link storeEvents} did: an outcome per input event, and the transaction that stored the new ones. */
export interface StoredBatch {
  readonly outcomes: AppendOutcome[];
  /** The writing transaction's id (`xid8` as text); `undefined` when nothing new was stored. */
  readonly xid: string | undefined;
  /** The last new event in insertion order: the last of them the sequencer numbers. */
  readonly lastId: string | undefined;
  /** True when the new events were stored with their positions (no wait for the sequencer needed). */
  readonly positioned: boolean;
}

/** What one INSERT of a chunk stored: the ids in insertion order, its transaction, and whether they are numbered. */
export interface InsertedChunk {
  readonly ids: readonly string[];
  readonly xid: string | undefined;
  readonly positioned: boolean;
}

/** Runs one INSERT of serialised events (one chunk of a batch). */
export type ChunkInserter = (chunk: readonly EventText[]) => Promise<InsertedChunk>;

/** The plain INSERT on `db`: rows without a position, numbered later by the sequencer. */
export function plainInserter(db: Queryable, table: string): ChunkInserter {
  return async (chunk) => {
    const result = await db.query<{ event_id: string; xid: string }>(insertStatement(table, chunk));
    return { ids: result.rows.map((row) => row.event_id), xid: result.rows[0]?.xid, positioned: false };
  };
}

/**
 * Inserts events in order and reports, per input event, `null` for the one occurrence that was stored or the stored
 * event for an id that was already taken (before this call, by a concurrent writer, or earlier in the same batch).
 * Runs one statement unless the batch is over a cap; the caller wraps such a batch in a transaction.
 */
export async function storeEvents(
  db: Queryable,
  batch: InsertBatch,
  insert: ChunkInserter = plainInserter(db, batch.table),
): Promise<StoredBatch> {
  const { table, events, texts } = batch;
  // Repeated ids are dropped before the INSERT so that it is the first occurrence that gets stored.
  const firstById = new Map<string, EventText>();
  events.forEach((event, index) => {
    const id = event.event_id.toLowerCase();
    if (!firstById.has(id)) firstById.set(id, texts[index] as EventText);
  });
  const inserted = new Set<string>();
  let xid: string | undefined;
  let lastId: string | undefined;
  let positioned = true;
  for (const chunk of chunkTexts([...firstById.values()], batch.maxRows)) {
    const result = await insert(chunk);
    for (const id of result.ids) inserted.add(id);
    if (result.ids.length > 0) {
      xid = result.xid;
      lastId = result.ids.at(-1);
      positioned &&= result.positioned;
    }
  }
  const claimed = new Set<string>();
  const lookups = events.map((event) => {
    const id = event.event_id.toLowerCase();
    if (inserted.has(id) && !claimed.has(id)) {
      claimed.add(id);
      return null;
    }
    return id;
  });
  const wanted = [...new Set(lookups.filter((id) => id !== null))];
  const stored = wanted.length === 0 ? new Map<string, Event>() : await fetchStored(db, table, wanted);
  const outcomes = lookups.map((id) => {
    if (id === null) return null;
    const existing = stored.get(id);
    if (existing === undefined)
      throw new Error(`event ${id} was neither inserted nor found; was it deleted meanwhile?`);
    return existing;
  });
  return { outcomes, xid, lastId, positioned: positioned && lastId !== undefined };
}

/** Groups serialised events into chunks of at most `maxRows` events and about `MAX_STATEMENT_CHARS` each. */
function chunkTexts(parts: readonly EventText[], maxRows: number): EventText[][] {
  const chunks: EventText[][] = [];
  let current: EventText[] = [];
  let chars = 0;
  for (const part of parts) {
    const size = part.body.length;
    if (current.length > 0 && (current.length >= maxRows || chars + size > MAX_STATEMENT_CHARS)) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    current.push(part);
    chars += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function fetchStored(db: Queryable, table: string, ids: readonly string[]): Promise<Map<string, Event>> {
  const result = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM ${table} WHERE event_id = ANY($1::uuid[])`, [
    ids,
  ]);
  return new Map(result.rows.map((row) => [String(row.event_id), rowToEvent(row)]));
}

/** Runs `work` in one transaction on a dedicated client; rolls back and discards a broken connection on failure. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // An error between two of our queries would otherwise be an unhandled 'error' event on the client.
  const onClientError = () => {};
  client.on("error", onClientError);
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    client.removeListener("error", onClientError);
    client.release();
    return result;
  } catch (error) {
    const rollback = await client.query("ROLLBACK").then(
      () => undefined,
      (rollbackError: unknown) => rollbackError,
    );
    client.removeListener("error", onClientError);
    client.release(rollback instanceof Error ? rollback : undefined);
    throw error;
  }
}
