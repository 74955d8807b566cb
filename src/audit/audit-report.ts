/**
 * What verification found, one kind per way a trail can break. Every kind but `"pruned"` is tampering (or damage):
 *
 * - `altered`: a stored event differs from what its digest sealed.
 * - `inserted`: an event sits among sealed events but no digest sealed it.
 * - `removed`: a sealed event is gone and no signed prune record covers it.
 * - `reordered`: a sealed event comes back at another place in store order.
 * - `pruned`: a sealed event is gone and a signed prune record covers it (retention, not tampering).
 * - `missing-digest`: a digest in the middle of the trail is gone.
 * - `forged-digest`: a digest is unreadable, signed by another key, or differs from the caller's anchor.
 * - `broken-chain`: a digest does not name the previous digest's hash, or its entries do not follow on.
 * - `altered-seal`: the seal entries kept beside the events were changed, removed or added.
 * - `truncated`: the trail ends before the anchor the caller holds: the newest digests (and events) were cut.
 *
 * @example
 * ```ts
 * const tampered = report.findings.filter((finding) => finding.kind !== "pruned");
 * ```
 */
export type AuditFindingKind =
  | "altered"
  | "inserted"
  | "removed"
  | "reordered"
  | "pruned"
  | "missing-digest"
  | "forged-digest"
  | "broken-chain"
  | "altered-seal"
  | "truncated";

/**
 * One finding: its kind, the digest (interval) it belongs to, the event it names when there is one, and a sentence.
 *
 * @example
 * ```ts
 * for (const finding of report.findings) console.log(finding.kind, finding.digest, finding.event_id, finding.message);
 * ```
 */
export interface AuditFinding {
  readonly kind: AuditFindingKind;
  /** The digest's sequence number, or `null` when the finding is about no single interval. */
  readonly digest: number | null;
  readonly event_id: string | null;
  readonly message: string;
}

/**
 * One interval of the trail as verified.
 *
 * @example
 * ```ts
 * const broken = report.intervals.filter((interval) => !interval.intact);
 * ```
 */
export interface IntervalReport {
  readonly sequence: number;
  readonly start: string;
  readonly end: string;
  /** How many events the digest sealed. */
  readonly sealed: number;
  /** Findings in this interval, pruned events included. */
  readonly findings: number;
  /** No finding other than `pruned`. */
  readonly intact: boolean;
}

/**
 * The outcome of `verifyAuditTrail`.
 *
 * @example
 * ```ts
 * const report: AuditReport = await verifyAuditTrail(storage, { publicKey });
 * if (!report.intact) console.error(report.findings.map((finding) => finding.message).join("\n"));
 * ```
 */
export interface AuditReport {
  /** True when nothing but pruning was found. */
  readonly intact: boolean;
  readonly summary: AuditSummary;
  /** One per digest checked, oldest first (empty when `onInterval` was given: they went there). */
  readonly intervals: readonly IntervalReport[];
  /** Every finding up to `maxFindings`, in the order found. */
  readonly findings: readonly AuditFinding[];
}

/**
 * Counts of a verification.
 *
 * @example
 * ```ts
 * console.log(`${report.summary.digests} digests, ${report.summary.sealed_events} sealed events`);
 * ```
 */
export interface AuditSummary {
  readonly digests: number;
  readonly sealed_events: number;
  /** Events read from the store after the last sealed one: not yet sealed, so not checked. */
  readonly unsealed_events: number;
  /** Findings per kind (all of them, also those beyond `maxFindings`). */
  readonly by_kind: Readonly<Partial<Record<AuditFindingKind, number>>>;
  /** True when more findings were made than `findings` holds. */
  readonly findings_truncated: boolean;
  /** The newest digest checked: its sequence and hash (publish these as your next anchor). */
  readonly last_digest: { readonly sequence: number; readonly hash: string } | null;
}

/** Collects findings (bounded), counts them per kind and per interval. */
export class FindingLog {
  readonly findings: AuditFinding[] = [];
  readonly byKind: Partial<Record<AuditFindingKind, number>> = {};
  readonly perDigest = new Map<number, { all: number; tampered: number }>();
  truncated = false;

  constructor(private readonly maxFindings: number) {}

  add(kind: AuditFindingKind, digest: number | null, eventId: string | null, message: string): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (digest !== null) {
      const counts = this.perDigest.get(digest) ?? { all: 0, tampered: 0 };
      counts.all++;
      if (kind !== "pruned") counts.tampered++;
      this.perDigest.set(digest, counts);
    }
    if (this.findings.length < this.maxFindings)
      this.findings.push(Object.freeze({ kind, digest, event_id: eventId, message }));
    else this.truncated = true;
  }

  /** True when something other than pruning was found. */
  get tampered(): boolean {
    return Object.entries(this.byKind).some(([kind, count]) => kind !== "pruned" && (count ?? 0) > 0);
  }
}
