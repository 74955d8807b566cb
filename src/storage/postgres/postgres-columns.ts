import { EVENT_FIELDS, type Event } from "../../event/event.js";

/** One event as the INSERT statements send it: the event, its `jsonb` columns as JSON, and its wire JSON (`body`). */
export interface EventText {
  readonly event: Event;
  readonly payload: string;
  readonly metadata: string;
  /** `wireJson(event)`, byte for byte: what the row's `body` keeps and the HTTP routes serve. */
  readonly body: string;
}

/**
 * Serialises an event once for the INSERT: the payload and metadata JSON (the server parses only those into `jsonb`)
 * and the wire JSON built from them, which is exactly `wireJson(event)` (`JSON.stringify` of the same keys in the
 * same order writes each value as `JSON.stringify` of that value), so the payload is serialised once, not twice.
 *
 * @example
 * ```ts
 * const text = eventText(event); // text.body === wireJson(event)
 * ```
 */
export function eventText(event: Event): EventText {
  const payload = JSON.stringify(event.payload);
  const metadata = JSON.stringify(event.metadata);
  const body =
    `{"event_id":${JSON.stringify(event.event_id)},"event_type":${JSON.stringify(event.event_type)},` +
    `"timestamp":${JSON.stringify(event.timestamp)},"flow_id":${JSON.stringify(event.flow_id)},` +
    `"flow_type":${JSON.stringify(event.flow_type)},"proposal_id":${JSON.stringify(event.proposal_id)},` +
    `"deal_id":${JSON.stringify(event.deal_id)},"session_id":${JSON.stringify(event.session_id)},` +
    `"payload":${payload},"metadata":${metadata}}`;
  return { event, payload, metadata, body };
}

/** The event's text fields, the columns before the JSON ones in {@link INSERTED_COLUMNS}, in that order. */
const TEXT_FIELDS = EVENT_FIELDS.slice(0, 8) as readonly Exclude<
  (typeof EVENT_FIELDS)[number],
  "payload" | "metadata"
>[];

/** How many parameters {@link eventRowsSql} reads, from its first one on. */
export const EVENT_ROW_PARAMETERS = 11;

/** The inserted columns, in the order {@link eventRowsSql} produces them. */
export const INSERTED_COLUMNS = `event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload, metadata, body`;

/**
 * A SELECT of one row per event, in input order and in the order of {@link INSERTED_COLUMNS}, from the
 * {@link EVENT_ROW_PARAMETERS} parameters {@link eventRowValues} produces, starting at `$first`; `extra` adds
 * columns, and may use the event's 1-based `ordinal`.
 *
 * One array per column: the server parses only the payload and metadata into `jsonb` (as any INSERT of the row
 * would), not the whole event, and reads no field out of a parsed document (measured for 100 rows: 0.9x a
 * hand-written 100-row VALUES INSERT, where parsing each event's whole JSON ran 0.4x). The JSON columns travel as
 * LF-joined text: `JSON.stringify` never writes a raw line feed, so the server splits them with no escaping on
 * either side (an array literal would escape every quote).
 */
export function eventRowsSql(first: number, extra = ""): string {
  const p = (offset: number) => `$${first + offset}`;
  const lines = (offset: number) => `string_to_array(${p(offset)}::text, E'\\n')`;
  return (
    'SELECT r.event_id, r.event_type, r."timestamp", r.flow_id, r.flow_type, r.proposal_id, r.deal_id, r.session_id, ' +
    `r.payload::jsonb, r.metadata::jsonb, r.body${extra} FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ` +
    `${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::text[], ` +
    `${lines(8)}, ${lines(9)}, ${lines(10)}) WITH ORDINALITY AS r(event_id, event_type, "timestamp", flow_id, ` +
    "flow_type, proposal_id, deal_id, session_id, payload, metadata, body, ordinal) " +
    // Ordered so that the identity numbers the rows of one call in its order; no lock, no wait on other writers.
    "ORDER BY r.ordinal"
  );
}

/** Whether a statement stores one event or a group: the two have different texts (see {@link eventSourceSql}). */
export type RowCount = "one" | "many";

/** The {@link RowCount} of a statement storing `rows`. */
export function rowCount(rows: readonly unknown[]): RowCount {
  return rows.length === 1 ? "one" : "many";
}

/**
 * The source of an INSERT of events, its parameters starting at `$first`: {@link eventRowsSql}'s arrays for a group,
 * or a `VALUES` row of plain parameters for one event. `extra(ordinal)` adds a column from the row's 1-based ordinal.
 *
 * One event is the common statement (an emit at a time), and one-element arrays cost it about 40 µs more on the
 * server (359 against 400 µs a statement, alternated rounds, one row; the raw INSERT 330): eleven array parses, the
 * splits, a function scan and a sort, each for one row.
 */
export function eventSourceSql(first: number, count: RowCount, extra?: (ordinal: string) => string): string {
  if (count === "many") return eventRowsSql(first, extra === undefined ? "" : `, ${extra("r.ordinal")}`);
  const p = (offset: number) => `$${first + offset}`;
  const fields = [`${p(0)}::uuid`, ...[1, 2, 3, 4, 5, 6, 7].map(p), `${p(8)}::jsonb`, `${p(9)}::jsonb`, p(10)];
  return `VALUES (${[...fields, ...(extra === undefined ? [] : [extra("1")])].join(", ")})`;
}

/** The parameters of {@link eventSourceSql} for `rows` (of the statement's {@link rowCount}), in its order. */
export function eventSourceValues(rows: readonly EventText[]): unknown[] {
  const only = rows.length === 1 ? rows[0] : undefined;
  if (only === undefined) return eventRowValues(rows);
  return [...TEXT_FIELDS.map((field) => only.event[field]), only.payload, only.metadata, only.body];
}

/** The parameters of {@link eventRowsSql} for `rows`, in its order. */
export function eventRowValues(rows: readonly EventText[]): unknown[] {
  return [
    ...TEXT_FIELDS.map((field) => rows.map((row) => row.event[field])),
    rows.map((row) => row.payload).join("\n"),
    rows.map((row) => row.metadata).join("\n"),
    rows.map((row) => row.body).join("\n"),
  ];
}
