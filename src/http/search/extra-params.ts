import type { ValidationIssue } from "../../errors/error-classes.js";
import type { EventQuery } from "../../event/query.js";
import { decodeFormComponent } from "../query-string.js";

/** Longest accepted `q`: a search names a buyer, an id or a word, never a document. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * Reads parameters that `parseListQuery` leaves alone (`q`, and the export's `format`), each at most once. A key
 * outside `names` is skipped; a repeated or badly encoded one is an issue naming it.
 */
export function readExtraParams<Name extends string>(
  raw: string,
  names: readonly Name[],
): { values: Partial<Record<Name, string>>; issues: ValidationIssue[] } {
  const values: Partial<Record<Name, string>> = {};
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const pair of raw.split("&")) {
    const equals = pair.indexOf("=");
    const key = decodeFormComponent(equals < 0 ? pair : pair.slice(0, equals));
    if (key === undefined || !(names as readonly string[]).includes(key)) continue;
    const name = key as Name;
    const value = decodeFormComponent(equals < 0 ? "" : pair.slice(equals + 1));
    if (seen.has(name)) issues.push({ path: [name], message: "must be given at most once" });
    else if (value === undefined) issues.push({ path: [name], message: "is not valid percent-encoded UTF-8" });
    else values[name] = value;
    seen.add(name);
  }
  return { values, issues };
}

/**
 * The `q` search term, checked: `undefined` for none (absent or blank), otherwise the trimmed text of at most
 * MAX_SEARCH_LENGTH characters without control characters.
 */
export function readSearchTerm(value: string | undefined, issues: ValidationIssue[]): string | undefined {
  const term = value?.trim() ?? "";
  if (term === "") return undefined;
  if (term.length > MAX_SEARCH_LENGTH) {
    issues.push({ path: ["q"], message: `must be at most ${MAX_SEARCH_LENGTH} characters, got ${term.length}` });
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(term)) {
    issues.push({ path: ["q"], message: "must be plain text without control characters (tabs, line breaks)" });
    return undefined;
  }
  return term;
}

/**
 * A predicate over an event's JSON text: true when the text holds `term`, ignoring case. The term is written as
 * JSON would write it (quotes and backslashes escaped), so `q=say "hi"` finds the payload that says it.
 */
export function searchMatcher(term: string): (text: string) => boolean {
  const needle = JSON.stringify(term).slice(1, -1).toLowerCase();
  return (text) => text.toLowerCase().includes(needle);
}

/**
 * The `q` of a list request, or `undefined` when it has none; its problems (and a `q` with the `after` cursor,
 * since a search pages back) go to `issues`.
 */
export function readSearchParam(raw: string, query: EventQuery, issues: ValidationIssue[]): string | undefined {
  if (!/(?:^|&)q(?:=|&|$)/.test(raw)) return undefined;
  const read = readExtraParams(raw, ["q"]);
  issues.push(...read.issues);
  const term = readSearchTerm(read.values.q, issues);
  if (term !== undefined && query.after !== undefined && query.after !== "") {
    issues.push({ path: ["after"], message: "cannot be combined with q: a search pages back with before" });
  }
  return term;
}
