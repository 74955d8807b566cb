import type { EventBus } from "../../bus/event-bus.js";
import { eventJson } from "../../bus/read/event-page.js";
import { capIssues, EventGapError, EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { isUuid } from "../../event/query.js";
import { iabJson, readWireFormat, type WireFormat } from "../format-param.js";
import { parseListQuery } from "../query-string.js";
import { type CoreResponse, problem } from "../responses.js";

/** Default interval of the `: keep-alive` comment, in milliseconds. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Default cap on open streams per handler. */
export const DEFAULT_MAX_STREAMS = 1000;
/** Default `retry:` value sent first: how long an `EventSource` waits before reconnecting, in milliseconds. */
export const DEFAULT_RETRY_MS = 3000;
/** `Retry-After` (seconds) of the `503` answered past `maxStreams`. */
const BUSY_RETRY_AFTER_S = "5";

const STREAM_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

/** Where a stream writes: a node response, or a Web `ReadableStream` controller. */
export interface StreamSink {
  /** Queues text; false when the transport's buffer is full and the writer should wait for `drained`. */
  write(text: string): boolean;
  /** Resolves when the buffer has room again, or the client has gone. */
  drained(): Promise<void>;
  /** Ends the response (idempotent). */
  end(): void;
}

/** The settings of the stream route, checked once when the handler is built. */
export interface StreamSettings {
  readonly heartbeatMs: number;
  readonly maxStreams: number;
  readonly retryMs: number;
}

/** A `200` event stream, ready to run on a transport. */
export interface StreamResponse {
  readonly status: 200;
  readonly headers: Readonly<Record<string, string>>;
  readonly stream: LiveEventStream;
}

/** True when the core answered with an event stream rather than a finished response. */
export function isStreamResponse(response: CoreResponse | StreamResponse): response is StreamResponse {
  return "stream" in response;
}

/**
 * One open `GET {base}/stream`: the tail behind it, its heartbeat, and its place in the handler's stream count.
 * `run` writes until the tail ends (bus closed) or `stop` is called (the client left); either way it releases the
 * tail, the timer and its slot, once.
 */
export class LiveEventStream {
  private readonly controller = new AbortController();
  private released = false;

  constructor(
    private readonly tail: AsyncIterator<Event>,
    private readonly settings: StreamSettings,
    private readonly release: () => void,
    private readonly onError: (error: unknown) => void,
    private readonly format: WireFormat = "event",
  ) {}

  /** The signal that the tail watches; aborted by `stop`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Milliseconds between `: keep-alive` comments. */
  get heartbeatMs(): number {
    return this.settings.heartbeatMs;
  }

  /** The first bytes: the reconnection delay for `EventSource`. */
  get preamble(): string {
    return `retry: ${this.settings.retryMs}\n\n`;
  }

  /** The next event as SSE text, or `undefined` once the stream is over. Used by pull-based transports. */
  async nextFrame(): Promise<string | undefined> {
    try {
      const result = await this.tail.next();
      if (result.done) {
        this.stop();
        return undefined;
      }
      return this.format === "iab"
        ? `id: ${result.value.event_id}\ndata: ${iabJson(result.value)}\n\n`
        : frameOf(result.value);
    } catch (error) {
      this.stop();
      if (!this.controller.signal.aborted) this.onError(error);
      return undefined;
    }
  }

  /** Push-based transports (node): writes events and heartbeats, honouring backpressure, until the end. */
  async run(sink: StreamSink): Promise<void> {
    let blocked = !sink.write(this.preamble);
    const heartbeat = setInterval(() => {
      if (!blocked) blocked = !sink.write(": keep-alive\n\n");
    }, this.settings.heartbeatMs);
    try {
      for (;;) {
        if (blocked) {
          await sink.drained();
          blocked = false;
        }
        if (this.controller.signal.aborted) break;
        const frame = await this.nextFrame();
        if (frame === undefined) break;
        blocked = !sink.write(frame);
      }
    } finally {
      clearInterval(heartbeat);
      this.stop();
      sink.end();
    }
  }

  /** The client left, or the stream is over: end the tail and give back the slot (once). */
  stop(): void {
    if (this.released) return;
    this.released = true;
    this.controller.abort();
    void this.tail.return?.();
    this.release();
  }
}

/** One event as SSE: `id:` then one `data:` line of its JSON (JSON text has no raw line breaks). */
export function frameOf(event: Event): string {
  return `id: ${event.event_id}\ndata: ${eventJson(event)}\n\n`;
}

/**
 * Opens `GET {base}/stream` after every check that can fail: the query (the tail's rules), the cursor from
 * `Last-Event-ID` (which wins) or `after`, which must name a stored event, then the stream cap.
 */
export async function openEventStream(
  bus: EventBus,
  request: { readonly method: string; readonly query: string; readonly headers: { get(name: string): string | null } },
  context: { readonly maxLimit: number; readonly settings: StreamSettings; readonly onError: (error: unknown) => void },
  slots: { open: number },
): Promise<CoreResponse | StreamResponse> {
  const { query, issues } = parseListQuery(request.query, context.maxLimit);
  const { format, issue } = readWireFormat(request.query);
  if (issue !== undefined) issues.push(issue);
  const lastEventId = request.headers.get("last-event-id")?.trim() ?? "";
  const resumeFromHeader = lastEventId !== "";
  if (resumeFromHeader) {
    if (isUuid(lastEventId)) (query as { after?: string }).after = lastEventId;
    else issues.push({ path: ["last-event-id"], message: "must be the event_id (a UUID) of a stored event" });
  }
  if (issues.length > 0) return invalid(issues, resumeFromHeader);
  const controller = new AbortController();
  let tail: AsyncIterableIterator<Event>;
  try {
    tail = bus.tail(query, { signal: controller.signal, onError: context.onError });
  } catch (error) {
    if (error instanceof EventValidationError) return invalid(error.issues, resumeFromHeader);
    throw error;
  }
  const refused = await checkCursor(bus, query.after, resumeFromHeader);
  if (refused !== undefined) {
    void tail.return?.();
    return refused;
  }
  if (request.method === "HEAD" || slots.open >= context.settings.maxStreams) {
    void tail.return?.();
    if (request.method === "HEAD") return { status: 200, headers: STREAM_HEADERS, body: "" };
    const busy = problem(503, `More than ${context.settings.maxStreams} event streams are open; try again later`);
    return { ...busy, headers: { ...busy.headers, "retry-after": BUSY_RETRY_AFTER_S } };
  }
  slots.open++;
  const stream = new LiveEventStream(tail, context.settings, () => slots.open--, context.onError, format);
  stream.signal.addEventListener("abort", () => controller.abort(), { once: true });
  return { status: 200, headers: STREAM_HEADERS, stream };
}

/**
 * The cursor must name a stored event, read the way `GET {base}?after=` reads it: unknown is a `400`, pruned by
 * retention a `410 Gone` with where the retained events start. Both before any stream byte.
 */
async function checkCursor(
  bus: EventBus,
  after: string | undefined,
  fromHeader: boolean,
): Promise<CoreResponse | undefined> {
  if (after === undefined || after === "") return undefined;
  try {
    await bus.listEvents({ after, limit: 1 });
    return undefined;
  } catch (error) {
    if (error instanceof EventGapError) {
      return problem(410, error.message.replace(/^\[ad-seller-events\] /, ""), { oldest: error.oldest });
    }
    if (!(error instanceof EventValidationError)) throw error;
    const path = fromHeader ? "last-event-id" : "after";
    return invalid([{ path: [path], message: `no stored event has event_id ${after}` }], fromHeader);
  }
}

function invalid(issues: readonly ValidationIssue[], fromHeader: boolean): CoreResponse {
  // At most MAX_REPORTED_ISSUES are listed, as on GET {base}: a URL full of bad parameters answers a few KB.
  const errors = capIssues(issues).map((issue) => {
    const name = String(issue.path[0] ?? "query");
    const where = name === "last-event-id" || (fromHeader && name === "after") ? "header" : "query";
    return { loc: [where, where === "header" ? "last-event-id" : name], msg: issue.message };
  });
  const detail = errors.map((error) => `${error.loc[1]}: ${error.msg}`).join("; ");
  return problem(400, detail, { errors });
}

/** Reads and checks the stream options of the HTTP handler. */
export function readStreamSettings(options: {
  readonly heartbeatMs?: number | undefined;
  readonly maxStreams?: number | undefined;
  readonly retryMs?: number | undefined;
}): StreamSettings {
  const read = (name: "heartbeatMs" | "maxStreams" | "retryMs", fallback: number, min: number) => {
    const value = options[name] ?? fallback;
    if (!(Number.isInteger(value) && value >= min && value <= 2 ** 31 - 1)) {
      throw EventValidationError.forField(name, `must be an integer of at least ${min}, got ${String(value)}`);
    }
    return value;
  };
  return {
    heartbeatMs: read("heartbeatMs", DEFAULT_HEARTBEAT_MS, 1),
    maxStreams: read("maxStreams", DEFAULT_MAX_STREAMS, 0),
    retryMs: read("retryMs", DEFAULT_RETRY_MS, 0),
  };
}
