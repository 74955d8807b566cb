/** One line of a stream, with its 1-based number and the bytes read up to its end. */
export interface StreamLine {
  readonly text: string;
  readonly number: number;
  /** Bytes of the stream up to and including this line's newline. */
  readonly end: number;
  /** True when the line was longer than the cap: `text` is then empty and its bytes were skipped. */
  readonly oversized: boolean;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream (a file, or stdin for `import -`) into lines, holding one chunk and the current line, never
 * the stream: a line past `maxLineBytes` is reported as oversized instead of growing memory without bound.
 */
export async function* streamLines(
  chunks: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<StreamLine> {
  let pieces: Buffer[] = [];
  let held = 0;
  let oversized = false;
  let read = 0;
  let number = 0;
  for await (const given of chunks) {
    const chunk = typeof given === "string" ? Buffer.from(given) : given;
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      oversized ||= held + at - from > maxLineBytes;
      const text = oversized ? "" : Buffer.concat([...pieces, chunk.subarray(from, at)]).toString("utf8");
      number += 1;
      yield { text, number, end: read + at + 1, oversized };
      pieces = [];
      held = 0;
      oversized = false;
      from = at + 1;
    }
    if (from < chunk.length) {
      held += chunk.length - from;
      oversized ||= held > maxLineBytes;
      if (oversized) pieces = [];
      else pieces.push(chunk.subarray(from));
    }
    read += chunk.length;
  }
  if (held > 0)
    yield { text: oversized ? "" : Buffer.concat(pieces).toString("utf8"), number: number + 1, end: read, oversized };
}
