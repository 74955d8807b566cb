/**
 * A tamper-evident trail of the store, sealed by a durable consumer into signed, chained digests, and verified
 * against a public key. See docs/audit-trail.md.
 *
 * @module ad-seller-events/audit
 */
export type { AuditFinding, AuditFindingKind, AuditReport, AuditSummary, IntervalReport } from "./audit-report.js";
export { canonicalJson } from "./canonical-json.js";
export {
  type AuditDigest,
  DIGEST_FORMAT,
  digestHash,
  eventHash,
  type SealEntry,
  type SealedPruneRecord,
} from "./digest-format.js";
export { type AuditTrailSealer, type AuditTrailStatus, sealAuditTrail } from "./seal-audit-trail.js";
export type { SealAuditTrailOptions } from "./seal-options.js";
export { trailLogs } from "./trail-writer.js";
export { type VerifyAuditTrailOptions, verifyAuditTrail } from "./verify-audit-trail.js";
