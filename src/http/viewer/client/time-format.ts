/** Times as people at the desk read them: in their own zone, with the stored UTC time kept for the hover. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The preset ranges of the filter form: each sets `since` and clears `until`. */
export const PRESETS = { hour: "Last hour", today: "Today", week: "7 days" } as const;
export type Preset = keyof typeof PRESETS;

/** `14:05:32` for today, else `24 Nov 14:05:32` (with the year when it is not this year), in the reader's zone. */
export function localTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date.toDateString() === now.toDateString()) return time;
  const year = date.getFullYear() === now.getFullYear() ? undefined : "numeric";
  return `${date.toLocaleDateString(undefined, { day: "numeric", month: "short", year })} ${time}`;
}

/** The hover text of a time: the stored UTC value, said to be UTC. */
export function utcTitle(iso: string): string {
  return `${iso} (UTC)`;
}

/** How long ago, in the two largest units: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function ageOf(iso: string, now: number): string {
  const ms = Math.max(0, now - Date.parse(iso));
  if (ms < MINUTE) return `${Math.floor(ms / 1000)} s`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ${Math.floor((ms % HOUR) / MINUTE)} min`;
  return `${Math.floor(ms / DAY)} d ${Math.floor((ms % DAY) / HOUR)} h`;
}

/** The `since` of a preset, as the ISO-8601 UTC text the API reads. */
export function presetSince(preset: Preset, now = new Date()): string {
  if (preset === "hour") return new Date(now.getTime() - HOUR).toISOString();
  if (preset === "week") return new Date(now.getTime() - 7 * DAY).toISOString();
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  return midnight.toISOString();
}
