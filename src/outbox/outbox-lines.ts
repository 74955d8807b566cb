import type { FileHandle } from "node:fs/promises";

/** One line of a JSON Lines file, with where it sits. */
export interface FileLine {
  /** The line's text without its newline. */
  readonly text: string;
  /** 1-based line number, counted from where reading started. */
  readonly number: number;
  /** Byte offset of the line's first byte. */
  readonly start: number;
  /** Byte offset just past the line's newline (or past its last byte when `complete` is false). */
  readonly end: number;
  /** False for a last line that has no newline: a write cut short (torn). */
  readonly complete: boolean;
  /** True when the line was longer than the cap: `text` is then empty and the line's bytes were skipped. */
  readonly oversized: boolean;
}

/** Longest line read (128 MiB): an emitEvents batch of 1,000 events of 64 KiB payload and metadata fits. */
export const MAX_LINE_BYTES = 128 * 1024 * 1024;

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads `handle` line by line from byte `start` up to byte `end` (default: the size when reading starts), holding
 * one chunk and the current line in memory, never the file: a 1 GB outbox costs 64 KiB plus its longest line.
 */
export async function* readLines(
  handle: FileHandle,
  start = 0,
  end?: number,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<FileLine> {
  const limit = end ?? (await handle.stat()).size;
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pieces: Buffer[] = [];
  let held = 0;
  let oversized = false;
  let lineStart = start;
  let position = start;
  let number = 0;
  while (position < limit) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, limit - position), position);
    if (bytesRead === 0) break;
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE, 0); at !== -1 && at < bytesRead; at = chunk.indexOf(NEWLINE, from)) {
      oversized ||= held + at - from > maxLineBytes;
      const text = oversized ? "" : Buffer.concat([...pieces, chunk.subarray(from, at)]).toString("utf8");
      const lineEnd = position + at + 1;
      number += 1;
      yield { text, number, start: lineStart, end: lineEnd, complete: true, oversized };
      pieces = [];
      held = 0;
      oversized = false;
      lineStart = lineEnd;
      from = at + 1;
    }
    // The rest of the chunk belongs to a line that continues in the next one: copy it, the chunk is reused.
    if (from < bytesRead) {
      held += bytesRead - from;
      oversized ||= held > maxLineBytes;
      if (oversized) pieces = [];
      else pieces.push(Buffer.from(chunk.subarray(from, bytesRead)));
    }
    position += bytesRead;
  }
  if (held > 0) {
    number += 1;
    const text = oversized ? "" : Buffer.concat(pieces).toString("utf8");
    yield { text, number, start: lineStart, end: position, complete: false, oversized };
  }
}

/** At most `max` characters of a line, for reports. */
export function excerpt(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
