import { EVENT_FIELDS } from "../../event/event.js";

/** The export formats of `GET {base}/export`. */
export type ExportFormat = "csv" | "jsonl";

/** The CSV columns: the event's fields in wire order, payload and metadata as JSON text. */
export const CSV_COLUMNS = EVENT_FIELDS;

/** What each format's response says it is. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: "text/csv; charset=utf-8; header=present",
  jsonl: "application/jsonl; charset=utf-8",
};

/** A cell a spreadsheet would run as a formula: `=`, `+`, `-`, `@`, or a leading tab or carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** The first line of the file: the CSV header, nothing for JSON Lines. */
export function exportHeader(format: ExportFormat): string {
  return format === "csv" ? `${CSV_COLUMNS.join(",")}\r\n` : "";
}

/**
 * One event (its JSON text, as the list API serves it) as one line of the file. JSON Lines is the text itself.
 * CSV follows RFC 4180 (CRLF, quotes doubled) and, as OWASP advises for files opened in spreadsheets, a cell that
 * starts like a formula gets a leading `'` so it stays text.
 */
export function exportLine(format: ExportFormat, text: string): string {
  if (format === "jsonl") return `${text}\n`;
  const event = JSON.parse(text) as Record<string, unknown>;
  const cells = CSV_COLUMNS.map((column) => {
    const value = event[column];
    return csvCell(typeof value === "string" ? value : JSON.stringify(value ?? null));
  });
  return `${cells.join(",")}\r\n`;
}

function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
