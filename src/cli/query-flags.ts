import { EventValidationError } from "../errors/error-classes.js";
import type { EventQuery } from "../event/query.js";
import { type FlagSpecs, listFlag, type ParsedArgs, stringFlag, UsageError } from "./cli-args.js";

/** The filters of `GET /events` as flags: every listing, tail and export takes them. */
export const FILTER_FLAGS: FlagSpecs = {
  type: {
    type: "string",
    multiple: true,
    value: "<type>",
    help: 'event type or pattern ("deal.*", "*"); repeat or comma-separate for several',
  },
  session: { type: "string", value: "<id>", help: "session_id" },
  deal: { type: "string", value: "<id>", help: "deal_id" },
  proposal: { type: "string", value: "<id>", help: "proposal_id" },
  flow: { type: "string", value: "<id>", help: "flow_id" },
  "flow-type": { type: "string", value: "<name>", help: "flow_type" },
  since: { type: "string", value: "<time>", help: "ISO-8601 time, inclusive" },
  until: { type: "string", value: "<time>", help: "ISO-8601 time, exclusive" },
};

/** Which flag each query field comes from, so that a validation error names what the user typed. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  event_type: "--type",
  session_id: "--session",
  deal_id: "--deal",
  proposal_id: "--proposal",
  flow_id: "--flow",
  flow_type: "--flow-type",
  since: "--since",
  until: "--until",
  limit: "--limit",
  after: "--after",
  before: "--before",
};

/** The query the filter flags describe (without a window). */
export function queryFromFlags(args: ParsedArgs, fields: readonly string[] = Object.keys(FILTER_FLAGS)) {
  const query: Record<string, unknown> = {};
  const types = listFlag(args, "type");
  if (fields.includes("type") && types.length > 0) query.event_type = types;
  const pairs = [
    ["session", "session_id"],
    ["deal", "deal_id"],
    ["proposal", "proposal_id"],
    ["flow", "flow_id"],
    ["flow-type", "flow_type"],
    ["since", "since"],
    ["until", "until"],
  ] as const;
  for (const [flag, field] of pairs) {
    const value = fields.includes(flag) ? stringFlag(args, flag) : undefined;
    if (value !== undefined) query[field] = value;
  }
  return query as EventQuery;
}

/**
 * A validation error of the library, restated as a usage error that names the flag (`--type: "deals.*" is not an
 * event type or pattern; did you mean "deal.*"?`); anything else is returned unchanged.
 */
export function asUsageError(error: unknown): unknown {
  if (!(error instanceof EventValidationError)) return error;
  const [issue] = error.issues;
  if (issue === undefined) return error;
  const field = String(issue.path[0] ?? "");
  const flag = FLAG_OF_FIELD[field];
  return flag === undefined ? error : new UsageError(flag, issue.message);
}
