import { toCloudEvent } from "../event/envelopes/cloud-event.js";
import { toIabEvent } from "../event/envelopes/iab-event.js";
import type { Event } from "../event/event.js";
import { exportHeader, exportLine } from "../http/export/export-rows.js";
import { WEBHOOK_CLOUDEVENTS_SOURCE } from "../webhooks/webhook-formats.js";

/** The formats `export` writes. */
export const EXPORT_FORMATS = ["jsonl", "csv", "cloudevents", "iab"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Turns each stored event's JSON text into the lines of one format; `header` goes first, once. */
export interface ExportEncoder {
  readonly header: string | undefined;
  encode(json: string): string;
}

/** JSON Lines: the stored text itself, byte for byte what `GET /events` serves. */
const jsonLines: ExportEncoder = { header: undefined, encode: (json) => json };

/** CSV exactly as `GET {base}/export?format=csv` writes it (formula-looking cells kept as text), one row a line. */
const csv: ExportEncoder = {
  header: exportHeader("csv").slice(0, -2),
  encode: (json) => exportLine("csv", json).slice(0, -2),
};

/** JSON Lines of another envelope, converted from the stored event. */
function envelope(convert: (event: Event) => unknown): ExportEncoder {
  return { header: undefined, encode: (json) => JSON.stringify(convert(JSON.parse(json) as Event)) };
}

const ENCODERS: Readonly<Record<ExportFormat, ExportEncoder>> = {
  jsonl: jsonLines,
  csv,
  // Structured CloudEvents, one a line, with the same source as webhook deliveries.
  cloudevents: envelope((event) => toCloudEvent(event, { source: WEBHOOK_CLOUDEVENTS_SOURCE })),
  iab: envelope(toIabEvent),
};

/** The encoder of a format. */
export function exportEncoder(format: ExportFormat): ExportEncoder {
  return ENCODERS[format];
}
