import type { KeyObject } from "node:crypto";
import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import { describeBadPattern, type EventType, type EventTypeFilter, typesMatching } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";
import { readEd25519Key } from "./digest-format.js";

/**
 * Options of `sealAuditTrail`.
 *
 * @example
 * ```ts
 * const { privateKey } = generateKeyPairSync("ed25519");
 * const options: SealAuditTrailOptions = { signingKey: privateKey, every: 60_000, types: AUDIT_EVENT_TYPES };
 * ```
 */
export interface SealAuditTrailOptions {
  /** The Ed25519 private key that signs every digest: a `KeyObject` or PEM text. Keep it away from the store. */
  readonly signingKey: KeyObject | string;
  /** Milliseconds per interval: one digest each, even when nothing happened. 100 to 86,400,000 (a day). */
  readonly every: number;
  /** Which events to seal: types or patterns such as `"deal.*"`. Default: every event. */
  readonly types?: EventTypeFilter | undefined;
  /** The trail's name, also the durable consumer's name; several trails may seal one store. Default `"audit-trail"`. */
  readonly name?: string | undefined;
  /** Events per handler call of the consumer, 1 to 10,000. Default 1,000. */
  readonly batchSize?: number | undefined;
  /**
   * After a batch smaller than `batchSize`, wait this long (ms, 0 to 10,000) before taking the next, so that a
   * trickle of emits is sealed in few larger writes instead of one write per emit. Default 200.
   */
  readonly lingerMs?: number | undefined;
  /** The consumer's lease (see `bus.consume`): how soon a standby sealer takes over. Default 10,000. */
  readonly leaseMs?: number | undefined;
  /** Stops sealing when aborted, as `stop()` does. */
  readonly signal?: AbortSignal | undefined;
}

/** The options checked and filled in. */
export interface SealSettings {
  readonly signingKey: KeyObject;
  readonly every: number;
  readonly types: readonly EventType[] | null;
  readonly name: string;
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly leaseMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

const SEAL_OPTION_KEYS: OptionKeys<SealAuditTrailOptions> = {
  signingKey: true,
  every: true,
  types: true,
  name: true,
  batchSize: true,
  lingerMs: true,
  leaseMs: true,
  signal: true,
};

const TRAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Checks every option, reporting all problems in one `EventValidationError`. */
export function readSealSettings(options: SealAuditTrailOptions): SealSettings {
  checkOptionKeys(options, SEAL_OPTION_KEYS, "sealAuditTrail");
  const issues: ValidationIssue[] = [];
  const { every, name = "audit-trail", batchSize = 1000, lingerMs = 200 } = options;
  if (!(Number.isInteger(every) && every >= 100 && every <= 86_400_000)) {
    issues.push({
      path: ["every"],
      message: `must be an integer number of ms from 100 to 86400000, got ${showValue(every)}`,
    });
  }
  if (typeof name !== "string" || !TRAIL_NAME.test(name)) {
    issues.push({ path: ["name"], message: `must be 1-100 letters, digits, ".", "_" or "-", got ${showValue(name)}` });
  }
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000)) {
    issues.push({ path: ["batchSize"], message: `must be an integer from 1 to 10000, got ${showValue(batchSize)}` });
  }
  if (!(Number.isInteger(lingerMs) && lingerMs >= 0 && lingerMs <= 10_000)) {
    issues.push({ path: ["lingerMs"], message: `must be an integer from 0 to 10000, got ${showValue(lingerMs)}` });
  }
  const types = readTypes(options.types, issues);
  const signingKey = readEd25519Key(options.signingKey, "private", "signingKey", issues);
  if (issues.length > 0 || signingKey === undefined) throw new EventValidationError(issues);
  return { signingKey, every, types, name, batchSize, lingerMs, leaseMs: options.leaseMs, signal: options.signal };
}

/** The concrete types a filter stands for, in catalogue order; `null` for every event. */
function readTypes(filter: unknown, issues: ValidationIssue[]): readonly EventType[] | null {
  if (filter === undefined) return null;
  const patterns = Array.isArray(filter) ? filter : [filter];
  if (patterns.length === 0 || patterns.length > 100) {
    issues.push({ path: ["types"], message: 'must name 1 to 100 types or patterns, such as "deal.*"' });
    return null;
  }
  const types = new Set<EventType>();
  patterns.forEach((pattern, index) => {
    const matched = typesMatching(pattern);
    if (matched === undefined)
      issues.push({ path: Array.isArray(filter) ? ["types", index] : ["types"], message: describeBadPattern(pattern) });
    for (const type of matched ?? []) types.add(type);
  });
  return [...types].sort();
}
