const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Normalises an ISO-8601 timestamp to UTC with milliseconds and `Z` (`2026-11-24T10:15:30.123Z`), or returns
 * `null` when it is not one. Input without a zone, like the Python service's naive UTC
 * (`2026-11-24T10:15:30.123456`), is read as UTC; a date alone means its midnight UTC; digits past the
 * millisecond are truncated. A `Date` is accepted when valid.
 */
export function normalizeTimestamp(input: unknown): string | null {
  if (typeof input === "object" && input !== null) return dateMillis(input);
  // No ISO-8601 timestamp is longer; never run the pattern over a huge string.
  if (typeof input !== "string" || input.length > MAX_TIMESTAMP_LENGTH) return null;
  const match = ISO_TIMESTAMP.exec(input);
  if (match === null) return null;
  const [, year, month, day, hour = "0", minute = "0", second = "0", fraction = "", zone] = match;
  const fields = { year: Number(year), month: Number(month), day: Number(day) };
  const time = { hour: Number(hour), minute: Number(minute), second: Number(second) };
  if (fields.month < 1 || fields.month > 12 || fields.day < 1 || fields.day > daysInMonth(fields.year, fields.month)) {
    return null;
  }
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return null;
  const offsetMinutes = parseZoneOffset(zone);
  if (offsetMinutes === null) return null;
  const date = new Date(0);
  date.setUTCFullYear(fields.year, fields.month - 1, fields.day);
  date.setUTCHours(time.hour, time.minute, time.second, Number(fraction.slice(0, 3).padEnd(3, "0")));
  return formatMillis(date.getTime() - offsetMinutes * 60_000);
}

const MAX_TIMESTAMP_LENGTH = 64;

/**
 * The time of a `Date` (also one from another realm), or `null` for anything else. `Date.prototype.getTime` reads
 * the internal time slot and throws for every other object, a Proxy included, without running any of its traps.
 */
function dateMillis(value: object): string | null {
  try {
    return formatMillis(Date.prototype.getTime.call(value));
  } catch {
    return null;
  }
}

/** Formats epoch milliseconds as the canonical timestamp, or `null` outside years 0000-9999. */
function formatMillis(millis: number): string | null {
  if (!Number.isFinite(millis)) return null;
  const text = new Date(millis).toISOString();
  // Years outside 0000-9999 print as "+010000-..." and would break lexical ordering of timestamps.
  return text.length === 24 ? text : null;
}

function parseZoneOffset(zone: string | undefined): number | null {
  if (zone === undefined || zone === "Z" || zone === "z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}
