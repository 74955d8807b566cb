import type { CheckpointStore, CheckpointWrite, ConsumerLease, DeadLetter } from "../types.js";

interface ConsumerRecord {
  position: string | null;
  owner: string | null;
  generation: number;
  /** `Date.now()` value past which the lease is free. */
  expiresAt: number;
  readonly deadLetters: DeadLetter[];
}

/**
 * Checkpoints, leases and dead letters of a memory store: one record per consumer name, in this process only.
 * Expiry uses the process clock, which is the only clock the instances of one process share anyway.
 */
export function memoryCheckpoints(checkOpen: () => void): CheckpointStore {
  const records = new Map<string, ConsumerRecord>();
  const current = (lease: ConsumerLease): ConsumerRecord | undefined => {
    const record = records.get(lease.name);
    return record?.owner === lease.owner && record.generation === lease.generation ? record : undefined;
  };

  return {
    async acquireLease(name: string, owner: string, leaseMs: number): Promise<ConsumerLease | null> {
      checkOpen();
      const now = Date.now();
      let record = records.get(name);
      if (record === undefined) {
        record = { position: null, owner: null, generation: 0, expiresAt: 0, deadLetters: [] };
        records.set(name, record);
      }
      const held = record.owner !== null && record.expiresAt > now;
      if (held && record.owner !== owner) return null;
      if (!held || record.owner !== owner) {
        record.generation += 1;
        record.owner = owner;
      }
      record.expiresAt = now + leaseMs;
      return { name, owner, generation: record.generation };
    },
    async renewLease(lease: ConsumerLease, leaseMs: number): Promise<boolean> {
      checkOpen();
      const record = current(lease);
      if (record === undefined) return false;
      record.expiresAt = Date.now() + leaseMs;
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
  };
}
