import { createPublicKey } from "node:crypto";
import type { EventBus } from "../bus/event-bus.js";
import type { Consumer } from "../consumers/consumer.js";
import type { ConsumerStatus } from "../consumers/consumer-status.js";
import { EventBusError, EventGapError, EventValidationError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import type { EventType } from "../event/event-type.js";
import type { PayloadSchemas } from "../event/payload-schemas.js";
import type { EventStorage } from "../storage/types.js";
import type { AuditDigest } from "./digest-format.js";
import { keyId } from "./digest-format.js";
import { readSealSettings, type SealAuditTrailOptions, type SealSettings } from "./seal-options.js";
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
  const writer = writerFor(bus.storage, settings);
  const query = settings.types === null ? {} : { event_type: settings.types };
  const consumer = startConsumer(bus, settings, writer, query);
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
  const progress: SealProgress = {
    writer,
    consumer,
    isStopped: () => stopped,
    newestAfter: async (after) => {
      const [newest] = await bus.listEvents({ ...query, ...(after === null ? {} : { after }), limit: 1 });
      return newest?.event_id ?? null;
    },
  };

  return {
    name: settings.name,
    status: () => ({ consumer: consumer.status(), last_digest: lastDigest, last_error: lastError }),
    async sealNow(sealOptions = {}) {
      const timeoutMs = sealOptions.timeoutMs ?? 30_000;
      if (!(Number.isInteger(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 86_400_000)) {
        throw EventValidationError.forField(
          "timeoutMs",
          `must be an integer from 0 to 86400000, got ${String(timeoutMs)}`,
        );
      }
      return (await reachedNewest(progress, timeoutMs)) && !stopped ? sealIfActive() : null;
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

/** What `sealNow` watches while it waits for the writer. */
interface SealProgress {
  readonly writer: TrailWriter;
  readonly consumer: Consumer;
  readonly isStopped: () => boolean;
  /** With `null`: the newest matching event's id; with an id: the first match stored after it; `null` when none. */
  readonly newestAfter: (after: string | null) => Promise<string | null>;
}

/**
 * Waits (polling every 5 ms: the consumer hands events over asynchronously) until every event stored now has
 * reached the writer. `false` when this instance will not seal: stopped, failed, or a standby past the deadline.
 */
async function reachedNewest(progress: SealProgress, timeoutMs: number): Promise<boolean> {
  const newest = await progress.newestAfter(null);
  const deadline = Date.now() + timeoutMs;
  while (newest !== null && !(await caughtUp(progress, newest))) {
    const state = progress.consumer.status().state;
    if (progress.isStopped() || state === "stopped" || state === "failed") return false;
    // A standby (another instance holds the lease) seals nothing; one starting up may still take the lease.
    if (Date.now() > deadline && state === "standby") return false;
    if (Date.now() > deadline) {
      throw new EventBusError(`sealNow: timeoutMs: the sealer did not reach ${newest} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** True once the writer holds `newest` or an event after it (nothing matching is stored after its last one). */
async function caughtUp(progress: SealProgress, newest: string): Promise<boolean> {
  const last = progress.writer.lastEventId;
  if (last === null || last === newest) return last === newest;
  try {
    return (await progress.newestAfter(last)) === null;
  } catch (error) {
    // The writer's last event was pruned since: the consumer's own view tells whether it has caught up.
    if (!(error instanceof EventGapError)) throw error;
    const status = progress.consumer.status();
    return status.position === last && status.lag === 0;
  }
}

/** The trail's writer over the store's digests capability (refused, naming `bus`, when the store has none). */
function writerFor(storage: EventStorage, settings: SealSettings): TrailWriter {
  const store = storage.digests;
  if (store === undefined) {
    throw EventValidationError.forField(
      "bus",
      `its ${storage.name} storage has no digests capability; use a built-in adapter`,
    );
  }
  const { name: trail, types, signingKey } = settings;
  return new TrailWriter({ store, trail, types, signingKey, keyId: keyId(createPublicKey(signingKey)) });
}

/** The durable consumer that hands the trail's events to the writer, lingering after a short batch. */
function startConsumer<Schemas extends PayloadSchemas>(
  bus: EventBus<Schemas>,
  settings: SealSettings,
  writer: TrailWriter,
  query: { readonly event_type?: readonly EventType[] },
): Consumer {
  const handle = async (events: readonly Event[], signal: AbortSignal) => {
    await writer.add(events);
    if (events.length < settings.batchSize && settings.lingerMs > 0) await linger(settings.lingerMs, signal);
  };
  const { leaseMs, signal } = settings;
  return bus.consume(settings.name, (events, context) => handle(events as readonly Event[], context.signal), {
    query,
    batchSize: settings.batchSize,
    from: "start",
    ...(leaseMs === undefined ? {} : { leaseMs }),
    ...(signal === undefined ? {} : { signal }),
  });
}
