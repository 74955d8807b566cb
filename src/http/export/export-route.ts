import type { EventBus } from "../../bus/event-bus.js";
import { EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { normalizeEventQuery } from "../../event/query.js";
import { parseListQuery } from "../query-string.js";
import { type CoreResponse, problem } from "../responses.js";
import { type ScanProgress, scanNewestFirst } from "../search/event-scan.js";
import { readExtraParams, readSearchTerm, searchMatcher } from "../search/extra-params.js";
import { LiveEventStream, type StreamResponse } from "../sse/stream-route.js";
import { EXPORT_CONTENT_TYPES, type ExportFormat, exportHeader, exportLine } from "./export-rows.js";

/** Default and largest number of rows of one export. */
export const DEFAULT_EXPORT_ROWS = 10_000;
export const MAX_EXPORT_ROWS = 50_000;
/** With `q`, most events read to find the rows: ten times the largest export. */
const MAX_EXPORT_SCAN = 10 * MAX_EXPORT_ROWS;
/** Exports running at once per handler; past it `503`, as for streams. */
export const MAX_EXPORTS = 4;
/** An export writes no heartbeat (a comment line would corrupt the file): the longest timer Node accepts. */
const NO_HEARTBEAT_MS = 2 ** 31 - 1;

/**
 * `GET {base}/export`: the events matching the list's filters (and `q`), newest first, as CSV or JSON Lines,
 * written page by page while the client reads (at most `limit` rows, default 10,000, at most 50,000). Errors
 * found before the first byte (bad parameters, a pruned cursor, a store that is down) are problem documents.
 */
export async function exportEvents(
  bus: EventBus,
  request: { readonly method: string; readonly query: string },
  context: { readonly onError: (error: unknown) => void; readonly slots: { open: number } },
): Promise<CoreResponse | StreamResponse> {
  const { format, term, limit, query } = readExportQuery(request.query);
  const matches = term === undefined ? () => true : searchMatcher(term);
  const progress: ScanProgress = { scanned: 0, exhausted: false, oldestId: "" };
  const scan = scanNewestFirst(bus, query, term === undefined ? limit : MAX_EXPORT_SCAN, progress);
  async function* lines(): AsyncGenerator<string> {
    let written = 0;
    for await (const text of scan) {
      if (!matches(text)) continue;
      yield exportLine(format, text);
      if (++written === limit) return;
    }
  }
  const rows = lines();
  const first = await rows.next(); // the first page is read before answering, so its errors are problems
  const headers = exportHeaders(format);
  if (request.method === "HEAD" || context.slots.open >= MAX_EXPORTS) {
    void rows.return(undefined);
    if (request.method === "HEAD") return { status: 200, headers, body: "" };
    return problem(503, `More than ${MAX_EXPORTS} exports are running; try again later`);
  }
  context.slots.open++;
  const stream = new ExportStream(format, first, rows, () => context.slots.open--, context.onError);
  return { status: 200, headers, stream };
}

/** The export's file, written through the event stream's transports (backpressure and client-gone included). */
class ExportStream extends LiveEventStream {
  constructor(
    private readonly exportFormat: ExportFormat,
    private pending: IteratorResult<string> | undefined,
    private readonly rows: AsyncGenerator<string>,
    release: () => void,
    private readonly report: (error: unknown) => void,
  ) {
    const nothing: AsyncIterator<Event> = { next: async () => ({ done: true, value: undefined }) };
    super(nothing, { heartbeatMs: NO_HEARTBEAT_MS, maxStreams: MAX_EXPORTS, retryMs: 0 }, release, report);
  }

  override get preamble(): string {
    return exportHeader(this.exportFormat);
  }

  override async nextFrame(): Promise<string | undefined> {
    try {
      const result = this.pending ?? (await this.rows.next());
      this.pending = undefined;
      if (result.done !== true) return result.value;
    } catch (error) {
      // The file ends short; the client sees a truncated download, the application sees why.
      if (!this.signal.aborted) this.report(error);
    }
    this.stop();
    return undefined;
  }

  override stop(): void {
    void this.rows.return(undefined);
    super.stop();
  }
}

function readExportQuery(raw: string) {
  const { query, issues } = parseListQuery(raw, MAX_EXPORT_ROWS);
  const extra = readExtraParams(raw, ["q", "format"]);
  issues.push(...extra.issues);
  const term = readSearchTerm(extra.values.q, issues);
  const format = readFormat(extra.values.format, issues);
  const { limit = DEFAULT_EXPORT_ROWS, after, ...filters } = query;
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_EXPORT_ROWS)) {
    issues.push({ path: ["limit"], message: `must be an integer from 1 to ${MAX_EXPORT_ROWS} rows, got ${limit}` });
  }
  if (after !== undefined) issues.push({ path: ["after"], message: "is not accepted: an export pages back" });
  check(filters, issues);
  return { format, term, limit, query: filters };
}

function readFormat(value: string | undefined, issues: ValidationIssue[]): ExportFormat {
  if (value === undefined || value === "jsonl" || value === "csv") return value ?? "jsonl";
  issues.push({ path: ["format"], message: `must be csv or jsonl, got ${JSON.stringify(value.slice(0, 40))}` });
  return "jsonl";
}

/** Runs the list's own checks on the filters, reporting every problem of the request at once. */
function check(filters: object, issues: ValidationIssue[]): void {
  try {
    normalizeEventQuery(filters);
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0) throw new EventValidationError(issues);
}

function exportHeaders(format: ExportFormat): Record<string, string> {
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
  return {
    "content-type": EXPORT_CONTENT_TYPES[format],
    "cache-control": "no-store",
    "content-disposition": `attachment; filename="events-${stamp}Z.${format}"`,
    "x-content-type-options": "nosniff",
  };
}
