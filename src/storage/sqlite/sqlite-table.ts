import type { Event } from "../../event/event.js";
import { unknownCursorError } from "../../event/query.js";
import type { ResolvedPrune } from "../kit/prune-options.js";
import { readWireHeader } from "../kit/stored-event.js";
import type { AppendOutcome, NormalizedEventQuery } from "../types.js";
import { inWriteTransaction, type SqliteDatabase, StatementCache } from "./sqlite-driver.js";
import { buildListStatement, insertParams, insertSql, jsonSelected, rowToEvent, selectByIdSql } from "./sqlite-list.js";
import { chooseDriver } from "./sqlite-list-plan.js";
import { gapFor, pruneEvents } from "./sqlite-prune.js";
import { quoteIdentifier, tableHasBody } from "./sqlite-schema.js";

/** A row of a JSON read. */
interface JsonRow {
  readonly seq: number | bigint;
  readonly body: string;
  readonly built: number | bigint;
}

/**
 * The reads and writes of one events table over one connection, synchronous like the drivers. Setup, error wrapping
 * and the async surface live in `sqliteStorage`.
 */
export class SqliteEventTable {
  private readonly statements: StatementCache;
  private readonly selectByIdSql: string;
  private readonly selectBySeqSql: string;
  private readonly seqByIdSql: string;
  private hasTimeIndex: boolean | undefined;
  /** The SQL that depends on the table's columns, read on first use (after the store's setup has run). */
  private shape: { insertSql: string; jsonSelected: string; selectJsonByIdSql: string; hasBody: boolean } | undefined;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly table: string,
  ) {
    this.statements = new StatementCache(database);
    this.selectByIdSql = selectByIdSql(table);
    this.selectBySeqSql = selectByIdSql(table).replace("WHERE event_id = ?", "WHERE seq = ?");
    this.seqByIdSql = `SELECT seq FROM ${quoteIdentifier(table)} WHERE event_id = ?`;
  }

  /** Stores a batch in one transaction; per event `null`, or the event already stored under its id. */
  append(batch: readonly Event[]): AppendOutcome[] {
    if (batch.length === 0) return [];
    return inWriteTransaction(this.database, () => this.insertAll(batch));
  }

  /** Stores a batch inside the transaction the caller has open on this connection (it commits or rolls back). */
  insertAll(batch: readonly Event[]): AppendOutcome[] {
    const { insertSql, hasBody } = this.columns();
    const insert = this.statements.get(insertSql);
    // Inside the transaction a later duplicate of an earlier event of the same batch already sees it.
    return batch.map((event) => {
      if (Number(insert.run(...insertParams(event, hasBody)).changes) === 1) return null;
      const stored = this.get(event.event_id);
      if (stored === null) throw new Error(`insert of ${event.event_id} was ignored but no row holds that id`);
      return stored;
    });
  }

  get(eventId: string): Event | null {
    const row = this.statements.get(this.selectByIdSql).get(eventId);
    return row === undefined ? null : rowToEvent(row, this.table);
  }

  list(query: NormalizedEventQuery): Event[] {
    return this.read(query, undefined, (row) => rowToEvent(row, this.table));
  }

  /** `list` as wire JSON texts: each row's stored `body`, or one SQLite builds from the columns; nothing is parsed. */
  listJson(query: NormalizedEventQuery): string[] {
    return this.read(query, this.columns().jsonSelected, (row) => this.rowJson(row as JsonRow));
  }

  getJson(eventId: string): string | null {
    const row = this.statements.get(this.columns().selectJsonByIdSql).get(eventId) as JsonRow | undefined;
    return row === undefined ? null : this.rowJson(row);
  }

  private columns() {
    if (this.shape !== undefined) return this.shape;
    const hasBody = tableHasBody(this.database, this.table);
    const selected = jsonSelected(hasBody);
    const shape = { insertSql: insertSql(this.table, hasBody), jsonSelected: selected, hasBody };
    this.shape = { ...shape, selectJsonByIdSql: selectByIdSql(this.table, selected) };
    return this.shape;
  }

  /**
   * The row's stored `body`, which the bus wrote; a JSON built from the columns when its header is in the bus's own
   * form; otherwise (a naive timestamp or an upper-case id written by another tool) the row is read as an event,
   * which normalises it, and serialised.
   */
  private rowJson(row: JsonRow): string {
    if (!row.built || readWireHeader(row.body) !== undefined) return row.body;
    const full = this.statements.get(this.selectBySeqSql).get(row.seq);
    return JSON.stringify(rowToEvent(full, this.table));
  }

  private read<T>(query: NormalizedEventQuery, selected: string | undefined, convert: (row: unknown) => T): T[] {
    const afterSeq = this.cursorSeq("after", query.after);
    const beforeSeq = this.cursorSeq("before", query.before);
    const window = { afterSeq, beforeSeq };
    this.hasTimeIndex ??=
      this.database
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?")
        .get(`${this.table}_timestamp_seq`) !== undefined;
    const driver = chooseDriver(this.statements, this.table, query, window, this.hasTimeIndex);
    const read = buildListStatement(this.table, query, window, driver, selected);
    const items = this.statements
      .get(read.sql)
      .all(...read.params)
      .map(convert);
    return read.oldestFirst ? items : items.reverse();
  }

  /** Retention: see `pruneEvents`. */
  prune(settings: ResolvedPrune): Promise<number> {
    return pruneEvents(this.database, this.statements, this.table, settings);
  }

  /** Drops the prepared statements; the connection itself is the caller's business. */
  release(): void {
    this.statements.clear();
  }

  private cursorSeq(cursor: "after" | "before", eventId: string | undefined): number | undefined {
    if (eventId === undefined) return undefined;
    const row = this.statements.get(this.seqByIdSql).get(eventId) as { seq: number | bigint } | undefined;
    if (row === undefined)
      throw gapFor(this.statements, this.table, cursor, eventId) ?? unknownCursorError(cursor, eventId);
    return Number(row.seq);
  }
}
