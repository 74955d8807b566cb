import type { DigestStore } from "../storage/types.js";
import type { FindingLog } from "./audit-report.js";
import { nextEntry, parseEntry, type SealEntry } from "./digest-format.js";
import type { DigestInfo } from "./digest-scan.js";

/** A sealed event as the event pass needs it: the entry, its key (position in the trail) and its digest. */
export interface SealRef {
  readonly key: number;
  readonly digest: number;
  readonly entry: SealEntry;
}

const PAGE = 1000;

/**
 * Streams the seal entries of the given digests in key order, checking the chain as it goes: each stored entry's
 * chain value must follow from the one before (else that entry was edited: named), each digest's entries must all
 * be there and end at the chain value it signed (else the entries were rewritten: the interval is named).
 */
export async function* scanEntries(
  store: DigestStore,
  log: string,
  digests: readonly DigestInfo[],
  findings: FindingLog,
): AsyncGenerator<SealRef> {
  for (const digest of digests) {
    let chain = digest.chainStart;
    let expected = digest.from;
    const end = digest.from + digest.count;
    while (expected < end) {
      const page = await store.range(log, expected - 1, Math.min(PAGE, end - expected));
      const inDigest = page.filter((record) => record.key < end);
      if (inDigest.length === 0) break;
      for (const record of inDigest) {
        if (record.key > expected) {
          findings.add(
            "altered-seal",
            digest.sequence,
            null,
            `seal entries ${expected} to ${record.key - 1} of digest ${digest.sequence} are missing`,
          );
          chain = "";
        }
        expected = record.key + 1;
        const entry = parseEntry(record.value);
        if (typeof entry === "string") {
          findings.add(
            "altered-seal",
            digest.sequence,
            null,
            `seal entry ${record.key} of digest ${digest.sequence} ${entry}`,
          );
          continue;
        }
        if (chain !== "" && nextEntry(chain, entry).chain !== entry.chain) {
          findings.add(
            "altered-seal",
            digest.sequence,
            entry.event_id,
            `the seal entry of event ${entry.event_id} (digest ${digest.sequence}, position ${record.key}) was changed`,
          );
        }
        chain = entry.chain;
        yield { key: record.key, digest: digest.sequence, entry };
      }
    }
    if (expected < end) {
      findings.add(
        "altered-seal",
        digest.sequence,
        null,
        `seal entries ${expected} to ${end - 1} of digest ${digest.sequence} are missing`,
      );
    } else if (chain !== "" && chain !== digest.chain) {
      findings.add(
        "altered-seal",
        digest.sequence,
        null,
        `the seal entries of digest ${digest.sequence} do not end at the chain value it signed: they were rewritten`,
      );
    }
  }
}
