import type { DigestRecord, DigestStore } from "../types.js";

/**
 * Audit records in this process's memory: one array per log, kept in key order. Appends almost always carry keys
 * above every stored one (the audit trail writes in ascending order), so they are pushes; an out-of-order key is
 * placed by binary search.
 */
export function memoryDigests(): DigestStore {
  const logs = new Map<string, DigestRecord[]>();
  const logOf = (log: string): DigestRecord[] => {
    let records = logs.get(log);
    if (records === undefined) {
      records = [];
      logs.set(log, records);
    }
    return records;
  };

  return {
    async append(log, batch) {
      const records = logOf(log);
      const keys = new Set<number>();
      for (const { key } of batch) {
        const at = firstAbove(records, key - 1);
        if (keys.has(key) || records[at]?.key === key) return false;
        keys.add(key);
      }
      for (const { key, value } of batch) records.splice(firstAbove(records, key), 0, Object.freeze({ key, value }));
      return true;
    },
    async range(log, afterKey, limit) {
      const records = logs.get(log) ?? [];
      const start = firstAbove(records, afterKey);
      return records.slice(start, start + limit);
    },
    async last(log) {
      return logs.get(log)?.at(-1) ?? null;
    },
  };
}

/** Index of the first record whose key is above `key` (binary search over ascending keys). */
function firstAbove(records: readonly DigestRecord[], key: number): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((records[middle] as DigestRecord).key > key) high = middle;
    else low = middle + 1;
  }
  return low;
}
