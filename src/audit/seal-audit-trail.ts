import { createPublicKey } from "node:crypto";
import type { EventBus } from "../bus/event-bus.js";
import type { Consumer, ConsumerStatus } from "../consumers/consumer.js";
import { EventBusError, EventGapError, EventValidationError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import type { PayloadSchemas } from "../event/payload-schemas.js";
import type { AuditDigest } from "./digest-format.js";
import { keyId } from "./digest-format.js";
import { readSealSettings, type SealAuditTrailOptions } from "./seal-options.js";
import { TrailWriter } from "./trail-writer.js";

/**
 * What `sealAuditTrail` returns: the running sealer of one trail.
 *
 * @example
 * ```ts
 * const sealer: AuditTrailSealer = sealAuditTrail(bus, { signingKey, every: 60_000 });
 * process.on("SIGTERM", () => void sealer.stop());
 * ```
 */
export interface AuditTrailSealer {
  /** The trail's name (also its durable consumer's name). */
  readonly name: string;
  /** The consumer's status (`active` in the one instance of the fleet that seals), the newest digest this instance wrote and its last error. */
  status(): AuditTrailStatus;
  /**
   * Waits until every event stored when called is sealed or pending, then seals the open interval now (for a
   * shutdown, a test, or before publishing). `null` when this instance is a standby or another one sealed first.
   */
  sealNow(options?: { readonly timeoutMs?: number | undefined }): Promise<AuditDigest | null>;
  /** Stops the timer and the consumer (no final digest: call `sealNow()` first if you want one). */
  stop(): Promise<void>;
}

/**
 * The sealer's last known state, synchronous.
 *
 * @example
 * ```ts
 * const { consumer, last_digest, last_error } = sealer.status();
 * ```
 */
export interface AuditTrailStatus {
  readonly consumer: ConsumerStatus;
  /** The newest digest this instance wrote, or `null`. */
  readonly last_digest: AuditDigest | null;
  /** The last failure of a timed seal, or `null`. */
  readonly last_error: string | null;
}

/**
 * Seals the bus's store into a tamper-evident trail: a durable consumer (one active instance across the fleet)
 * appends a seal entry per event in store order (the SHA-256 of its RFC 8785 canonical JSON, chained), and every
 * `every` ms writes a digest of the interval, even an empty one, naming the previous digest's hash and signed with
 * Ed25519. Everything is stored beside the events (the store's `digests` capability). Emitting is untouched: the
 * sealer reads behind the writers. Check a trail with `verifyAuditTrail`; see docs/audit-trail.md.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from "node:crypto";
 * import { sealAuditTrail } from "ad-seller-events/audit";
 *
 * const { privateKey, publicKey } = generateKeyPairSync("ed25519");
 * const sealer = sealAuditTrail(bus, { signingKey: privateKey, every: 60_000 });
 * ```
 */
export function sealAuditTrail<Schemas extends PayloadSchemas>(
  bus: EventBus<Schemas>,
  options: SealAuditTrailOptions,
): AuditTrailSealer {
  const settings = readSealSettings(options);
  const store = bus.storage.digests;
  if (store === undefined) {
    throw EventValidationError.forField(
      "bus",
      `its ${bus.storage.name} storage has no digests capability; use a built-in adapter`,
    );
  }
  const writer = new TrailWriter({
    store,
    trail: settings.name,
    types: settings.types,
    signingKey: settings.signingKey,
    keyId: keyId(createPublicKey(settings.signingKey)),
  });
  const query = settings.types === null ? {} : { event_type: settings.types };
  const handle = async (events: readonly Event[], signal: AbortSignal) => {
    await writer.add(events);
    if (events.length < settings.batchSize && settings.lingerMs > 0) await linger(settings.lingerMs, signal);
  };
  const consumer: Consumer = bus.consume(
    settings.name,
    (events, { signal }) => handle(events as readonly Event[], signal),
    {
      query,
      batchSize: settings.batchSize,
      from: "start",
      ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
      ...(settings.signal === undefined ? {} : { signal: settings.signal }),
    },
  );
  let lastDigest: AuditDigest | null = null;
  let lastError: string | null = null;
  let stopped = false;
  const sealIfActive = async (): Promise<AuditDigest | null> => {
    if (consumer.status().state !== "active") return null;
    const digest = await writer.seal();
    if (digest !== null) lastDigest = digest;
    return digest;
  };
  const timer = setInterval(() => {
    sealIfActive().then(
      () => (lastError = null),
      (error: unknown) => (lastError = error instanceof Error ? error.message : String(error)),
    );
  }, settings.every);
  timer.unref();
  const stop = async () => {
    stopped = true;
    clearInterval(timer);
    await consumer.stop();
  };
  settings.signal?.addEventListener("abort", () => void stop(), { once: true });
  /** True once the writer holds `newest` or an event after it (nothing matching is stored after its last one). */
  const caughtUp = async (newest: string): Promise<boolean> => {
    const last = writer.lastEventId;
    if (last === null || last === newest) return last === newest;
    try {
      return (await bus.listEvents({ ...query, after: last, limit: 1 })).length === 0;
    } catch (error) {
      // The writer's last event was pruned since: the consumer's own view tells whether it has caught up.
      if (!(error instanceof EventGapError)) throw error;
      const status = consumer.status();
      return status.position === last && status.lag === 0;
    }
  };

  return {
    name: settings.name,
    status: () => ({ consumer: consumer.status(), last_digest: lastDigest, last_error: lastError }),
    async sealNow(sealOptions = {}) {
      const timeoutMs = sealOptions.timeoutMs ?? 30_000;
      const [newest] = await bus.listEvents({ ...query, limit: 1 });
      const deadline = Date.now() + timeoutMs;
      // The consumer hands events over asynchronously: wait (briefly, polling) until the newest one has reached the writer.
      while (newest !== undefined && !(await caughtUp(newest.event_id))) {
        const state = consumer.status().state;
        if (stopped || state === "stopped" || state === "failed") return null;
        // A standby (another instance holds the lease) seals nothing; one starting up may still take the lease.
        if (Date.now() > deadline && state === "standby") return null;
        if (Date.now() > deadline)
          throw new EventBusError(
            `sealNow: timeoutMs: the sealer did not reach ${newest.event_id} within ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return stopped ? null : sealIfActive();
    },
    stop,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts (a stop or a lost lease never waits for it). */
function linger(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
