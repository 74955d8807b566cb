import type { Event } from "../event/event.js";

/** How events are printed: JSON Lines (piped, or `--json`) or aligned readable lines (a terminal). */
export interface LineStyle {
  readonly json: boolean;
  readonly colour: boolean;
}

/**
 * Chooses the style as operators expect of a Unix tool: readable lines only on a terminal, JSON Lines when the output
 * goes to a pipe or a file (or `--json`); colour only on a terminal, and never when `NO_COLOR` is set
 * (https://no-color.org) or `TERM=dumb`.
 */
export function lineStyle(forceJson: boolean, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): LineStyle {
  const terminal = stream.isTTY === true;
  const json = forceJson || !terminal;
  const colour = !json && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
  return { json, colour };
}

const GROUP_COLOURS: Readonly<Record<string, number>> = {
  proposal: 36, // cyan
  deal: 32, // green
  execution: 35, // magenta
  approval: 33, // yellow
  session: 34, // blue
  package: 96, // bright cyan
  negotiation: 91, // bright red
};
const TYPE_WIDTH = 22; // "negotiation.concluded" and a space
const PAYLOAD_WIDTH = 100;

/** One event as a line: its stored JSON text, or time, type, the ids that are set, and the payload. */
export function eventLine(event: Event, json: string, style: LineStyle): string {
  if (style.json) return json;
  const group = event.event_type.split(".")[0] ?? "";
  const type = event.event_type.padEnd(TYPE_WIDTH);
  const ids = [
    ["session", event.session_id],
    ["deal", event.deal_id],
    ["proposal", event.proposal_id],
    ["flow", event.flow_id],
  ]
    .filter(([, value]) => value !== "")
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
  const payload = JSON.stringify(event.payload);
  const shown = payload.length > PAYLOAD_WIDTH ? `${payload.slice(0, PAYLOAD_WIDTH - 1)}…` : payload;
  const time = localTime(event.timestamp);
  if (!style.colour) return `${time}  ${type}${ids}  ${shown}`;
  const colour = GROUP_COLOURS[group] ?? 0;
  return `\x1b[2m${time}\x1b[0m  \x1b[${colour}m${type}\x1b[0m${ids}  \x1b[2m${shown}\x1b[0m`;
}

/** `2026-11-24 11:15:30.123` in the machine's time zone (TZ), as people read logs. */
export function localTime(timestamp: string): string {
  const date = new Date(timestamp);
  const two = (value: number) => String(value).padStart(2, "0");
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  const clock = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `${day} ${clock}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

/** One event in full for `get` on a terminal: a header line, then the fields and the payload indented. */
export function eventBlock(event: Event, json: string, style: LineStyle): string {
  if (style.json) return json;
  const lines = [eventLine(event, json, style), `  event_id   ${event.event_id}`, `  timestamp  ${event.timestamp}`];
  for (const field of ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const) {
    if (event[field] !== "") lines.push(`  ${field.padEnd(10)} ${event[field]}`);
  }
  const indent = (value: unknown) => JSON.stringify(value, null, 2).replaceAll("\n", "\n  ");
  lines.push(`  payload    ${indent(event.payload)}`, `  metadata   ${indent(event.metadata)}`);
  return lines.join("\n");
}
