import type { KeyObject } from "node:crypto";
import { EventBus } from "../bus/event-bus.js";
import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import type { EventType } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";
import type { PayloadSchemas } from "../event/payload-schemas.js";
import type { EventStorage } from "../storage/types.js";
import { type AuditReport, FindingLog, type IntervalReport } from "./audit-report.js";
import { type AuditDigest, parseDigest, readEd25519Key } from "./digest-format.js";
import { type DigestInfo, scanDigests } from "./digest-scan.js";
import { scanEntries } from "./entry-scan.js";
import { EventAlignment } from "./event-alignment.js";
import { eventsInStoreOrder } from "./store-walk.js";
import { trailLogs } from "./trail-writer.js";

/**
 * Options of `verifyAuditTrail`.
 *
 * @example
 * ```ts
 * const options: VerifyAuditTrailOptions = { publicKey, anchor: JSON.parse(readFileSync("latest-digest.json", "utf8")) };
 * ```
 */
export interface VerifyAuditTrailOptions {
  /** The Ed25519 public key the digests must be signed with: a `KeyObject` or PEM text, kept away from the store. */
  readonly publicKey: KeyObject | string;
  /** The newest digest you kept elsewhere (the object or its JSON): catches a cut tail and a rewritten trail. */
  readonly anchor?: AuditDigest | string | undefined;
  /** First digest (sequence) to check; default 1. Events are read from the end of the digest before it. */
  readonly from?: number | undefined;
  /** Last digest (sequence) to check; default the newest. */
  readonly to?: number | undefined;
  /** The trail's name, as given to `sealAuditTrail`. Default `"audit-trail"`. */
  readonly name?: string | undefined;
  /** Most findings kept in the report (all are counted). Default 1,000. */
  readonly maxFindings?: number | undefined;
  /** Most sealed entries read ahead to match moved events: bounds memory. Default 10,000. */
  readonly window?: number | undefined;
}

const VERIFY_OPTION_KEYS: OptionKeys<VerifyAuditTrailOptions> = {
  publicKey: true,
  anchor: true,
  from: true,
  to: true,
  name: true,
  maxFindings: true,
  window: true,
};

/**
 * Re-reads a sealed store and reports, per interval, whether it is intact or what broke: an altered, inserted,
 * removed or reordered event (named), a missing, forged or re-signed digest, rewritten seal entries, and with an
 * `anchor` a cut tail. Events that retention pruned (a signed prune record covers them) are reported as `pruned`,
 * which is not tampering. Streams events and entries a page at a time: memory grows with the number of digests,
 * not of events.
 *
 * @example
 * ```ts
 * import { verifyAuditTrail } from "ad-seller-events/audit";
 *
 * const report = await verifyAuditTrail(bus, { publicKey, anchor: latestPublishedDigest });
 * if (!report.intact) for (const finding of report.findings) console.error(finding.message);
 * ```
 */
export async function verifyAuditTrail<Schemas extends PayloadSchemas>(
  target: EventStorage | EventBus<Schemas>,
  options: VerifyAuditTrailOptions,
): Promise<AuditReport> {
  const settings = readVerifySettings(options);
  const storage: EventStorage = target instanceof EventBus ? target.storage : target;
  const store = storage?.digests;
  if (store === undefined) {
    throw EventValidationError.forField("target", "must be an EventBus or EventStorage with the digests capability");
  }
  const logs = trailLogs(settings.name);
  const findings = new FindingLog(settings.maxFindings);
  const scan = await scanDigests({ store, log: logs.digests, trail: settings.name, ...settings }, findings);
  const types = scan.digests[0]?.types ?? null;
  const entries = scanEntries(store, logs.entries, scan.digests, findings);
  const alignment = new EventAlignment({
    nextSeal: async () => (await entries.next()).value ?? null,
    findings,
    pruneRecords: scan.pruneRecords,
    window: settings.window,
  });
  const after = settings.from > 1 ? await startAfter(storage, scan.before) : null;
  const filter = types === null ? {} : { event_types: types as EventType[] };
  for await (const event of eventsInStoreOrder(storage, filter, after)) await alignment.event(event);
  await alignment.finish();
  const intervals = scan.digests.map((digest) => intervalOf(digest, findings));
  return {
    intact: !findings.tampered,
    summary: {
      digests: scan.digests.length,
      sealed_events: scan.digests.reduce((sum, digest) => sum + digest.count, 0),
      unsealed_events: alignment.unsealed,
      by_kind: { ...findings.byKind },
      findings_truncated: findings.truncated,
      last_digest: scan.newest,
    },
    intervals,
    findings: findings.findings,
  };
}

/** Where the event pass starts for `from` > 1: after the last event of the digest before, when it is still stored. */
async function startAfter(storage: EventStorage, before: DigestInfo | null): Promise<string | null> {
  const last = before?.last ?? null;
  if (last === null) return null;
  return (await storage.get(last)) === null ? null : last;
}

function intervalOf(digest: DigestInfo, findings: FindingLog): IntervalReport {
  const counts = findings.perDigest.get(digest.sequence) ?? { all: 0, tampered: 0 };
  return {
    sequence: digest.sequence,
    start: digest.start,
    end: digest.end,
    sealed: digest.count,
    findings: counts.all,
    intact: counts.tampered === 0,
  };
}

interface VerifySettings {
  readonly publicKey: KeyObject;
  readonly anchor: AuditDigest | null;
  readonly from: number;
  readonly to: number;
  readonly name: string;
  readonly maxFindings: number;
  readonly window: number;
}

function readVerifySettings(options: VerifyAuditTrailOptions): VerifySettings {
  checkOptionKeys(options, VERIFY_OPTION_KEYS, "verifyAuditTrail");
  const issues: ValidationIssue[] = [];
  const count = (field: keyof VerifyAuditTrailOptions, fallback: number, max: number): number => {
    const value = options[field] ?? fallback;
    if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max) return value as number;
    issues.push({ path: [field], message: `must be an integer from 1 to ${max}, got ${showValue(value)}` });
    return fallback;
  };
  const from = count("from", 1, Number.MAX_SAFE_INTEGER);
  const to = count("to", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (to < from) issues.push({ path: ["to"], message: `must not be below from (${from}), got ${to}` });
  const maxFindings = count("maxFindings", 1000, 1_000_000);
  const window = count("window", 10_000, 1_000_000);
  const name = options.name ?? "audit-trail";
  if (typeof name !== "string" || name.length === 0 || name.length > 100) {
    issues.push({ path: ["name"], message: `must be the trail's name, 1-100 characters, got ${showValue(name)}` });
  }
  const anchor = readAnchor(options.anchor, issues);
  const publicKey = readEd25519Key(options.publicKey, "public", "publicKey", issues);
  if (issues.length > 0 || publicKey === undefined) throw new EventValidationError(issues);
  return { publicKey, anchor, from, to, name, maxFindings, window };
}

function readAnchor(value: unknown, issues: ValidationIssue[]): AuditDigest | null {
  if (value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  const parsed = text.length > 1_000_000 ? "is over 1 MB" : parseDigest(text);
  if (typeof parsed !== "string") return parsed;
  issues.push({ path: ["anchor"], message: `must be a digest written by sealAuditTrail (or its JSON): ${parsed}` });
  return null;
}
