import type { NormalizedEventQuery } from "../types.js";
import type { SqliteValue, StatementCache } from "./sqlite-driver.js";
import { quoteIdentifier } from "./sqlite-schema.js";

/**
 * When several filters are given and the counts cannot tell them apart (every probe reached its cap), the first of
 * these present drives the read: a deal or proposal has few events, a flow type very many. `event_type` stands for the
 * union of the query's types and `timestamp` for its time range.
 */
export const DRIVING_ORDER = [
  "deal_id",
  "proposal_id",
  "flow_id",
  "session_id",
  "event_type",
  "flow_type",
  "timestamp",
] as const;

/** What drives a read: one equality column's `(column, seq)` index, the type indexes, or the time index. */
export type ListDriver = (typeof DRIVING_ORDER)[number];

/** The drivers a query could use, in {@link DRIVING_ORDER}. */
export function driverCandidates(query: NormalizedEventQuery): ListDriver[] {
  return DRIVING_ORDER.filter((driver) => {
    if (driver === "event_type") return query.event_types !== undefined;
    if (driver === "timestamp") return query.since !== undefined || query.until !== undefined;
    return query[driver] !== undefined;
  });
}

/** The append-sequence bounds of a window, from the cursors' stored `seq`. */
export interface SeqWindow {
  readonly afterSeq?: number | undefined;
  readonly beforeSeq?: number | undefined;
}

/** Fewest rows a probe counts before it stops: below this, reading a whole candidate costs no more than probing. */
const MIN_PROBE_CAP = 512;

/**
 * Chooses which index drives a `list` read from the size of each candidate inside the cursor window, counted on
 * the `(column, seq)` indexes themselves but capped, so a probe never costs more than a few hundred index entries.
 * SQLite's planner has no per-value statistics (`sqlite_stat1` holds averages), so on its own it walks a
 * low-cardinality `flow_type` index when a rare `event_type` is asked for too. A probe that stops under its cap is an
 * exact count, and the smallest wins; when every probe reaches the cap the static {@link DRIVING_ORDER} decides.
 */
export function chooseDriver(
  statements: StatementCache,
  table: string,
  query: NormalizedEventQuery,
  window: SeqWindow,
  hasTimeIndex = true,
): ListDriver | undefined {
  // A table migrated by hand from an older schema may lack the time index: a time range then never drives.
  const candidates = driverCandidates(query).filter((candidate) => hasTimeIndex || candidate !== "timestamp");
  // One filter and no time bound: nothing to choose. A time bound alone still competes with the plain log scan.
  if (candidates.length <= 1 && !candidates.includes("timestamp")) return candidates[0];
  const cap = Math.max(MIN_PROBE_CAP, query.limit * 4);
  const parts: string[] = [];
  const params: SqliteValue[] = [];
  for (const candidate of candidates) {
    const probes = probesOf(candidate, query);
    parts.push(probes.map((probe) => `(${probeSql(table, probe.sql, window)})`).join(" + "));
    for (const probe of probes) params.push(...probe.params, ...windowParams(window), cap);
  }
  const sql = `SELECT ${parts.map((part, index) => `(${part}) AS c${index}`).join(", ")}`;
  const row = statements.get(sql).get(...params) as Record<string, number | bigint>;
  let best: ListDriver | undefined;
  let bestSize = cap;
  candidates.forEach((candidate, index) => {
    const size = Number(row[`c${index}`]);
    // Types are a sum of several capped counts: at or past the cap it is as unknown as any capped count.
    if (size < bestSize) {
      best = candidate;
      bestSize = size;
    }
  });
  if (best !== undefined) return best;
  // Every candidate is large: a lone time range would be read whole and sorted, so the log scan (no driver) wins.
  return candidates[0] === "timestamp" ? undefined : candidates[0];
}

interface Probe {
  readonly sql: string;
  readonly params: SqliteValue[];
}

function probesOf(candidate: ListDriver, query: NormalizedEventQuery): Probe[] {
  if (candidate === "event_type") {
    return (query.event_types ?? []).map((type) => ({ sql: "event_type = ?", params: [type] }));
  }
  if (candidate === "timestamp") {
    const conditions: string[] = [];
    const params: SqliteValue[] = [];
    if (query.since !== undefined) {
      conditions.push('"timestamp" >= ?');
      params.push(query.since);
    }
    if (query.until !== undefined) {
      conditions.push('"timestamp" < ?');
      params.push(query.until);
    }
    return [{ sql: conditions.join(" AND "), params }];
  }
  return [{ sql: `${quoteIdentifier(candidate)} = ?`, params: [query[candidate] as string] }];
}

function probeSql(table: string, condition: string, window: SeqWindow): string {
  const bounds = `${window.afterSeq === undefined ? "" : " AND seq > ?"}${window.beforeSeq === undefined ? "" : " AND seq < ?"}`;
  return `SELECT count(*) FROM (SELECT 1 FROM ${quoteIdentifier(table)} WHERE ${condition}${bounds} LIMIT ?)`;
}

function windowParams(window: SeqWindow): SqliteValue[] {
  const params: SqliteValue[] = [];
  if (window.afterSeq !== undefined) params.push(window.afterSeq);
  if (window.beforeSeq !== undefined) params.push(window.beforeSeq);
  return params;
}
