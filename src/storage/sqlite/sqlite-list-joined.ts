import type { SqliteStatement, SqliteValue } from "./sqlite-driver.js";

// A JSON page read as one row: SQLite joins the page's stored bodies into one text (`group_concat`), so the driver
// hands over one string instead of building an object per row, which is most of a page read's cost (CPU time
// in-process, 51 rows of 300 bytes: about 65 µs as rows, 30 µs joined).
//
// Bodies are joined with a line feed, which `JSON.stringify` never writes (it escapes control characters in strings
// and adds no whitespace), and the page is split on it again. `group_concat` keeps the order the page read hands
// rows over in practice, but SQLite does not promise it (`group_concat(... ORDER BY seq)` does, through a sort that
// costs more than reading the rows one by one), so the rows' `seq` come joined too and the order is checked. No body
// is built here (`coalesce` with `json_object` costs even unevaluated). A page holding a row without a stored body
// (its header must be checked once built), a body that is not on one line (written by some other tool) or rows out
// of order is answered `undefined`, and the caller reads it row by row.

/** The one row of a joined page read. */
interface JoinedRow {
  readonly bodies: string | null;
  readonly seqs: string | null;
  readonly missing: number | bigint;
}

/** The columns the page read under {@link joinedPageSql} selects: the stored body as it is, nothing built. */
export const JOINED_COLUMNS = "seq, body";

/** Wraps a page read of {@link JOINED_COLUMNS} into the one-row read of {@link readJoinedPage}. */
export function joinedPageSql(pageSql: string): string {
  return `SELECT group_concat(body, char(10)) AS bodies, group_concat(seq) AS seqs, count(*) - count(body) AS missing FROM (${pageSql})`;
}

/**
 * The page's texts oldest first, or `undefined` when it must be read row by row. `oldestFirst` is the order the page
 * read returns rows in (newest first for the newest and `before` windows).
 */
export function readJoinedPage(
  statement: SqliteStatement,
  params: readonly SqliteValue[],
  oldestFirst: boolean,
): string[] | undefined {
  const row = statement.get(...params) as JoinedRow;
  if (Number(row.missing) !== 0) return undefined;
  if (row.bodies === null || row.seqs === null) return [];
  const texts = row.bodies.split("\n");
  const seqs = row.seqs.split(",");
  if (texts.length !== seqs.length || !inOrder(seqs, oldestFirst)) return undefined;
  return oldestFirst ? texts : texts.reverse();
}

function inOrder(seqs: readonly string[], ascending: boolean): boolean {
  let previous = ascending ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const text of seqs) {
    const seq = Number(text);
    if (ascending ? !(seq > previous) : !(seq < previous)) return false;
    previous = seq;
  }
  return true;
}
