import type {
  CheckpointStore,
  CheckpointWrite,
  ConsumerLease,
  ConsumerQuery,
  ConsumerRecord,
  DeadLetter,
} from "../types.js";

interface ConsumerState {
  position: string | null;
  owner: string | null;
  generation: number;
  /** `Date.now()` value past which the lease is free. */
  expiresAt: number;
  readonly deadLetters: DeadLetter[];
  /** JSON of the query given with the last lease taken, for retention. */
  query: string | null;
  /** `Date.now()` of the last lease taken or renewed or checkpoint written; 0 before any. */
  lastSeen: number;
}

/**
 * Checkpoints, leases and dead letters of a memory store: one record per consumer name, in this process only.
 * Expiry uses the process clock, which is the only clock the instances of one process share anyway.
 */
export function memoryCheckpoints(checkOpen: () => void): CheckpointStore {
  const records = new Map<string, ConsumerState>();
  const current = (lease: ConsumerLease): ConsumerState | undefined => {
    const record = records.get(lease.name);
    return record?.owner === lease.owner && record.generation === lease.generation ? record : undefined;
  };

  return {
    async acquireLease(
      name: string,
      owner: string,
      leaseMs: number,
      query?: ConsumerQuery,
    ): Promise<ConsumerLease | null> {
      checkOpen();
      const now = Date.now();
      let record = records.get(name);
      if (record === undefined) {
        record = {
          position: null,
          owner: null,
          generation: 0,
          expiresAt: 0,
          deadLetters: [],
          query: null,
          lastSeen: 0,
        };
        records.set(name, record);
      }
      const held = record.owner !== null && record.expiresAt > now;
      if (held && record.owner !== owner) return null;
      if (!held || record.owner !== owner) {
        record.generation += 1;
        record.owner = owner;
      }
      record.expiresAt = now + leaseMs;
      record.lastSeen = now;
      if (query !== undefined) record.query = JSON.stringify(query);
      return { name, owner, generation: record.generation };
    },
    async renewLease(lease: ConsumerLease, leaseMs: number): Promise<boolean> {
      checkOpen();
      const record = current(lease);
      if (record === undefined) return false;
      record.lastSeen = Date.now();
      record.expiresAt = record.lastSeen + leaseMs;
      return true;
    },
    async releaseLease(lease: ConsumerLease): Promise<void> {
      checkOpen();
      const record = current(lease);
      if (record !== undefined) record.expiresAt = 0;
    },
    async readCheckpoint(name: string): Promise<string | null> {
      checkOpen();
      return records.get(name)?.position ?? null;
    },
    async writeCheckpoint(lease: ConsumerLease, write: CheckpointWrite): Promise<boolean> {
      checkOpen();
      const record = current(lease);
      if (record === undefined || record.position !== write.expected) return false;
      record.position = write.position;
      record.lastSeen = Date.now();
      const letters = write.deadLetters ?? [];
      const failedAt = letters.length > 0 ? new Date().toISOString() : "";
      for (const letter of letters) {
        record.deadLetters.push(Object.freeze({ event_id: letter.event_id, error: letter.error, failed_at: failedAt }));
      }
      return true;
    },
    async deadLetters(name: string): Promise<DeadLetter[]> {
      checkOpen();
      return [...(records.get(name)?.deadLetters ?? [])];
    },
    async listConsumers(): Promise<ConsumerRecord[]> {
      checkOpen();
      return [...records].map(([name, record]) => ({
        name,
        position: record.position,
        query: record.query === null ? null : (JSON.parse(record.query) as ConsumerQuery),
        last_seen: record.lastSeen === 0 ? null : new Date(record.lastSeen).toISOString(),
      }));
    },
  };
}
