import { appendFile } from "node:fs/promises";
import type { OutboxSink } from "../bus/write/outbox-contract.js";
import type { Event } from "../event/event.js";
import { parseStoredEvent } from "../storage/kit/stored-event.js";
import type { OutboxFile } from "./outbox-file.js";
import { excerpt, type FileLine, MAX_LINE_BYTES } from "./outbox-lines.js";

/** A line the outbox could not replay, kept in the `.rejected` file beside the outbox. */
export interface RejectedLine {
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

/** What one replay pass needs from the outbox that runs it. */
export interface ReplayPass {
  readonly file: OutboxFile;
  readonly sink: OutboxSink;
  /** Byte offset to start at: what earlier passes confirmed and compaction has not removed yet. */
  readonly start: number;
  /** Most events per `append` call (a batch line is never split, so one may exceed it). */
  readonly groupSize: number;
  /** True once the outbox is closing: the pass stops before its next step. */
  stopped(): boolean;
  /** The first event not yet confirmed, as the pass reaches it. */
  reachedHead(event: Event): void;
  /** `count` events (and rejected lines) are settled and the file is confirmed up to byte `confirmedBytes`. */
  settled(count: number, confirmedBytes: number): void;
  /** Keeps rejected lines (and reports them) before they are removed from the file. */
  reject(lines: readonly RejectedLine[]): Promise<void>;
}

type ParsedLine =
  | { readonly events: readonly Event[]; readonly count: number }
  | { readonly reason: string; readonly count: number };

/**
 * Replays the whole lines the file holds now, in file order, `groupSize` events per `append`. A line counts as
 * settled only once the store confirmed every event before it. Throws the sink's `StorageError` when the store fails;
 * what was settled before stays settled.
 */
export async function replayFile(pass: ReplayPass): Promise<void> {
  const lines = pass.file.lines(pass.start);
  if (lines === undefined) return;
  let group: Event[] = [];
  let groupLines: number[] = [];
  let rejected: RejectedLine[] = [];
  let count = 0;
  let groupEnd = pass.start;
  const settleGroup = async () => {
    if (group.length > 0) rejected.push(...conflicts(group, groupLines, await pass.sink.replay(group)));
    if (rejected.length > 0) await pass.reject(rejected);
    pass.settled(count, groupEnd);
    group = [];
    groupLines = [];
    rejected = [];
    count = 0;
  };
  try {
    for await (const line of lines) {
      if (pass.stopped()) return;
      const parsed = parseOutboxLine(line);
      if ("events" in parsed) {
        if (group.length > 0 && group.length + parsed.events.length > pass.groupSize) await settleGroup();
        if (pass.stopped()) return;
        if (count === 0 && parsed.events[0] !== undefined) pass.reachedHead(parsed.events[0]);
        group.push(...parsed.events);
        for (const _ of parsed.events) groupLines.push(line.number);
      } else if (parsed.count > 0) {
        rejected.push({ line: line.number, reason: parsed.reason, text: excerpt(line.text, 4000) });
      }
      count += parsed.count;
      groupEnd = line.end;
      if (group.length >= pass.groupSize) await settleGroup();
    }
    if (!pass.stopped() && (count > 0 || groupEnd > pass.start)) await settleGroup();
  } finally {
    await lines.return(undefined);
  }
}

/** How many events a line stands for in `pending`: a batch line its events, any other non-empty line one. */
export function countLine(text: string): number {
  if (text.trim() === "") return 0;
  if (!text.startsWith("[")) return 1;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? Math.max(value.length, 1) : 1;
  } catch {
    return 1;
  }
}

/** One outbox line: a wire-format event, or a JSON array of them (an `emitEvents` batch, one unit). */
export function parseOutboxLine(line: FileLine): ParsedLine {
  if (line.oversized) return { reason: `line ${line.number} is longer than ${MAX_LINE_BYTES} bytes`, count: 1 };
  const count = countLine(line.text);
  if (count === 0) return { events: [], count };
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (error) {
    return { reason: `line ${line.number} is not JSON (${(error as Error).message})`, count };
  }
  const records = Array.isArray(value) ? value : [value];
  if (records.length === 0) return { reason: `line ${line.number} is an empty array, not an event`, count };
  try {
    const events = records.map((record, index) =>
      parseStoredEvent(record, Array.isArray(value) ? `line ${line.number}, item ${index}` : `line ${line.number}`),
    );
    return { events, count };
  } catch (error) {
    return { reason: (error as Error).message, count };
  }
}

/** Appends rejected lines to `path` (JSON Lines, fsynced) so that nothing the outbox drops is gone. */
export async function keepRejected(path: string, lines: readonly RejectedLine[], fsync: boolean): Promise<void> {
  const at = new Date().toISOString();
  const text = lines.map((line) => `${JSON.stringify({ rejected_at: at, ...line })}\n`).join("");
  await appendFile(path, text, { mode: 0o600, flush: fsync });
}

/** The events another event's id already held (a conflict is never retried: it cannot succeed). */
function conflicts(group: readonly Event[], lines: readonly number[], outcomes: readonly unknown[]): RejectedLine[] {
  const rejected: RejectedLine[] = [];
  group.forEach((event, index) => {
    const outcome = outcomes[index];
    if (outcome instanceof Error) {
      rejected.push({ line: lines[index] ?? 0, reason: outcome.message, text: JSON.stringify(event) });
    }
  });
  return rejected;
}
