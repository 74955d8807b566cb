import type { KeyObject } from "node:crypto";
import type { DigestStore } from "../storage/types.js";
import type { FindingLog } from "./audit-report.js";
import {
  type AuditDigest,
  digestHash,
  GENESIS,
  parseDigest,
  type SealedPruneRecord,
  signatureValid,
} from "./digest-format.js";

/** What the entry and event passes need of one digest (kept per digest; the digests themselves are not). */
export interface DigestInfo {
  readonly sequence: number;
  readonly start: string;
  readonly end: string;
  /** Entry keys [from, from + count). */
  readonly from: number;
  readonly count: number;
  /** Where the entry chain starts (the previous digest's hash) and the signed value it must end at. */
  readonly chainStart: string;
  readonly chain: string;
  readonly last: string | null;
  readonly types: readonly string[] | null;
}

/** The first pass's result: the digests in range, in order, the signed prune records and the newest digest. */
export interface DigestScan {
  readonly digests: DigestInfo[];
  readonly pruneRecords: SealedPruneRecord[];
  readonly newest: { readonly sequence: number; readonly hash: string } | null;
  /** The digest just before `from`, when `from` > 1 and it was readable. */
  readonly before: DigestInfo | null;
}

/** Settings of {@link scanDigests}. */
export interface DigestScanSettings {
  readonly store: DigestStore;
  readonly log: string;
  readonly trail: string;
  readonly publicKey: KeyObject;
  readonly from: number;
  readonly to: number;
  readonly anchor: AuditDigest | null;
}

const PAGE = 500;

/**
 * Reads every digest of the trail once, oldest first, checking each on its own (readable, signed by the key, of
 * this trail) and against the one before (consecutive sequence, naming its hash, entries following on), and the
 * anchor the caller holds against the digest of the same sequence.
 */
export async function scanDigests(settings: DigestScanSettings, log: FindingLog): Promise<DigestScan> {
  const { store, publicKey, from, to, anchor } = settings;
  const scan: DigestScan & { digests: DigestInfo[]; before: DigestInfo | null } = {
    digests: [],
    pruneRecords: [],
    newest: null,
    before: null,
  };
  let previous: { sequence: number; hash: string; end: number } | null = null;
  let newest: DigestScan["newest"] = null;
  for (let after = 0; ; ) {
    const page = await store.range(settings.log, after, PAGE);
    for (const record of page) {
      after = record.key;
      const digest = parseDigest(record.value);
      const inRange = record.key >= from && record.key <= to;
      if (typeof digest === "string") {
        if (inRange) log.add("forged-digest", record.key, null, `digest ${record.key} is not a digest: ${digest}`);
        continue;
      }
      const hash = digestHash(digest);
      if (inRange) checkDigest(digest, record.key, previous, settings, log);
      if (signatureValid(digest, publicKey)) scan.pruneRecords.push(...digest.pruned.records);
      if (anchor !== null && digest.sequence === anchor.sequence && hash !== digestHash(anchor)) {
        log.add(
          "forged-digest",
          digest.sequence,
          null,
          `digest ${digest.sequence} differs from the anchor you hold (hash ${hash}, anchor ${digestHash(anchor)})`,
        );
      }
      const info = toInfo(digest);
      if (inRange) scan.digests.push(info);
      if (record.key === from - 1) scan.before = info;
      previous = { sequence: digest.sequence, hash, end: digest.entries.from + digest.entries.count };
      newest = { sequence: digest.sequence, hash };
    }
    if (page.length < PAGE) break;
  }
  if (anchor !== null && (newest?.sequence ?? 0) < anchor.sequence) {
    const { first, last, count } = anchor.entries;
    log.add(
      "truncated",
      anchor.sequence,
      last,
      `the trail ends at digest ${newest?.sequence ?? 0} but your anchor is digest ${anchor.sequence}: the newest digests were cut` +
        (count > 0 ? `, with the ${count} events the anchor sealed (${first} to ${last})` : ""),
    );
  }
  return { ...scan, newest };
}

function checkDigest(
  digest: AuditDigest,
  key: number,
  previous: { sequence: number; hash: string; end: number } | null,
  settings: DigestScanSettings,
  log: FindingLog,
): void {
  const { sequence } = digest;
  if (digest.trail !== settings.trail || sequence !== key) {
    log.add("forged-digest", key, null, `digest ${key} claims to be digest ${sequence} of trail "${digest.trail}"`);
  }
  if (!signatureValid(digest, settings.publicKey)) {
    log.add(
      "forged-digest",
      sequence,
      null,
      `digest ${sequence} is not signed by your public key (it names key ${digest.key_id}): forged or re-signed`,
    );
  }
  const expected = previous?.sequence ?? 0;
  if (sequence > expected + 1 && (previous !== null || settings.from <= 1)) {
    const missing = sequence - expected - 1;
    log.add(
      "missing-digest",
      expected + 1,
      null,
      `digest${missing > 1 ? `s ${expected + 1} to ${sequence - 1} are` : ` ${expected + 1} is`} missing`,
    );
  } else if (previous !== null && digest.previous !== previous.hash) {
    log.add(
      "broken-chain",
      sequence,
      null,
      `digest ${sequence} names ${digest.previous} as the previous digest, but digest ${previous.sequence} hashes to ${previous.hash}`,
    );
  } else if (previous === null && settings.from <= 1 && digest.previous !== null) {
    log.add(
      "broken-chain",
      sequence,
      null,
      `digest ${sequence} is the oldest stored but names a previous digest ${digest.previous}`,
    );
  }
  if (previous !== null && digest.entries.from !== previous.end && sequence === expected + 1) {
    log.add(
      "broken-chain",
      sequence,
      null,
      `digest ${sequence} seals entries from ${digest.entries.from}, but the previous digest ended at ${previous.end}`,
    );
  }
}

function toInfo(digest: AuditDigest): DigestInfo {
  return {
    sequence: digest.sequence,
    start: digest.interval.start,
    end: digest.interval.end,
    from: digest.entries.from,
    count: digest.entries.count,
    chainStart: digest.previous ?? GENESIS,
    chain: digest.entries.chain,
    last: digest.entries.last,
    types: digest.types,
  };
}
