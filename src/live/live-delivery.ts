import type { ErrorReporter } from "../bus/bus-errors.js";
import type { EventStorage } from "../storage/types.js";
import {
  DEFAULT_READER_SETTINGS,
  type ReaderMember,
  SharedReader,
  type SharedReaderSettings,
} from "./shared-reader.js";
import { EventTail, type TailHost } from "./tail.js";
import { readTailRequest } from "./tail-query.js";

/**
 * The live side of one bus: makes tails, runs the shared reader while at least one tail is open (started by the
 * first, stopped with everything it holds when the last one ends) and ends every tail on `close()`.
 */
export class LiveDelivery implements TailHost {
  private reader: SharedReader | undefined;
  private closed = false;
  private readonly tails = new Set<EventTail>();

  constructor(
    readonly storage: EventStorage,
    readonly reporter: ErrorReporter,
    private readonly settings: SharedReaderSettings = DEFAULT_READER_SETTINGS,
  ) {}

  /** A new tail; validates the query and options at once (the cursor is checked by the first read). */
  tail(query: unknown, options: unknown): EventTail {
    const tail = new EventTail(this, readTailRequest(query, options));
    return tail;
  }

  enter(member: ReaderMember): SharedReader | undefined {
    if (this.closed) return undefined;
    this.tails.add(member as EventTail);
    if (this.reader === undefined || this.reader.closed) {
      this.reader = new SharedReader(this.storage, this.settings, (error) =>
        this.reporter.report({ source: "tail", error }),
      );
    }
    this.reader.add(member);
    return this.reader;
  }

  leave(member: ReaderMember): void {
    this.tails.delete(member as EventTail);
    const reader = this.reader;
    if (reader === undefined) return;
    reader.remove(member);
    if (reader.size === 0) {
      this.reader = undefined;
      void reader.close();
    }
  }

  /** Ends every tail (their loops finish) and stops the shared reader. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const reader = this.reader;
    this.reader = undefined;
    for (const tail of [...this.tails]) void tail.return();
    await reader?.close();
  }
}
