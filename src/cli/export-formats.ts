import { EVENT_FIELDS } from "../event/event.js";

/** The formats `export` writes. CloudEvents and IAB come with the interop entry (not yet built). */
export const EXPORT_FORMATS = ["jsonl", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Turns each stored event's JSON text into the lines of one format; `header` goes first, once. */
export interface ExportEncoder {
  readonly header: string | undefined;
  encode(json: string): string;
}

/** JSON Lines: the stored text itself, byte for byte what `GET /events` serves. */
const jsonLines: ExportEncoder = { header: undefined, encode: (json) => json };

/**
 * CSV (RFC 4180): one column per wire field in wire order, `payload` and `metadata` as their JSON text; a field
 * holding a comma, a quote or a line break is quoted, quotes doubled.
 */
const csv: ExportEncoder = {
  header: EVENT_FIELDS.join(","),
  encode(json) {
    const event = JSON.parse(json) as Record<string, unknown>;
    return EVENT_FIELDS.map((field) => {
      const value = event[field];
      return csvField(typeof value === "string" ? value : JSON.stringify(value ?? null));
    }).join(",");
  },
};

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The encoder of a format. */
export function exportEncoder(format: ExportFormat): ExportEncoder {
  return format === "csv" ? csv : jsonLines;
}
