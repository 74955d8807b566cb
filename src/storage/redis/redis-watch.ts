import type { Cluster, Redis } from "ioredis";
import { AppendNotifier } from "../kit/append-notifier.js";
import { MIN_WAKE_GAP_MS, WakeSender } from "../kit/wake-sender.js";
import type { StorageWatch } from "../types.js";

/** Which append script publishes the wake-up: `channel` is `""` for a script that does not. */
export interface WakeTicket {
  /** Appends handed a ticket before this one, plus one: the order their scripts run in on the connection. */
  readonly order: number;
  readonly channel: string;
}

/**
 * Wake-ups for a Redis store, over pub/sub on `{prefix}appended`.
 *
 * Writers: the append script itself publishes (no round trip of its own), one script per millisecond at most.
 * Scripts on one connection run in the order they were sent, so an append whose script does not publish is covered
 * by any script sent after it that does. One that completes uncovered is owed a wake-up: the next publishing script
 * settles it, or, if none is sent within the gap, a plain `PUBLISH` (skipped while the client is not connected). A
 * failed publishing script is treated as owing too. Readers: one subscriber per storage on
 * `client.duplicate()` while anyone watches; after each (re)connect the watchers are woken once, because pub/sub
 * is at-most-once and messages sent while disconnected are gone. A lost message only delays delivery until the
 * tail's safety poll.
 */
export class RedisWatch {
  private readonly notifier = new AppendNotifier();
  private subscriber: Redis | Cluster | undefined;
  private readonly sender: WakeSender;
  private stopped = false;
  private issued = 0;
  private lastPublishing = 0;
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  private owed = false;
  private owedSince = 0;
  private owedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly channel: string,
    private readonly publishOnAppend: boolean,
  ) {
    this.sender = new WakeSender(async () => {
      if (this.client.status === "ready") await this.client.publish(this.channel, "");
    });
  }

  /** Called just before an append script is sent: whether that script publishes (about one a millisecond). */
  ticket(): WakeTicket {
    const order = ++this.issued;
    const now = performance.now();
    if (!this.publishOnAppend || this.stopped || now - this.lastPublishAt < MIN_WAKE_GAP_MS) {
      return { order, channel: "" };
    }
    this.owed = false;
    this.lastPublishing = order;
    this.lastPublishAt = now;
    return { order, channel: this.channel };
  }

  /** The script of `ticket` has run; `stored` when it stored at least one event. */
  appended(ticket: WakeTicket, stored: boolean): void {
    if (stored) this.notifier.notify();
    // Covered when this script published, or a script sent after it will (it runs later on the same connection).
    if (stored && ticket.channel === "" && this.lastPublishing <= ticket.order) this.owe();
  }

  /** The script of `ticket` failed: if it was to publish, the appends it covered are owed a wake-up. */
  failed(ticket: WakeTicket): void {
    if (ticket.channel !== "") this.owe();
  }

  /** A publishing script sent within the gap settles the debt; past it, a plain `PUBLISH` does. */
  private owe(): void {
    if (this.stopped) return;
    if (!this.owed) {
      this.owed = true;
      this.owedSince = performance.now();
    }
    this.owedTimer ??= setTimeout(() => this.settleDebt(), MIN_WAKE_GAP_MS);
  }

  private settleDebt(): void {
    this.owedTimer = undefined;
    if (!this.owed || this.stopped) return;
    const wait = this.owedSince + MIN_WAKE_GAP_MS - performance.now();
    if (wait > 0) {
      this.owedTimer = setTimeout(() => this.settleDebt(), wait);
      return;
    }
    this.owed = false;
    this.sender.appended();
  }

  watch(onAppend: () => void): StorageWatch {
    const stop = this.notifier.watch(onAppend);
    this.subscribe();
    return async () => {
      await stop();
      if (this.notifier.size === 0) this.unsubscribe();
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.owedTimer);
    this.owedTimer = undefined;
    this.notifier.clear();
    this.unsubscribe();
    await this.sender.close();
  }

  private subscribe(): void {
    if (this.subscriber !== undefined || this.stopped) return;
    const subscriber = this.client.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", () => {}); // reconnects on its own; the safety poll covers the gap
    subscriber.on("message", (channel: string) => {
      if (channel === this.channel) this.notifier.notify();
    });
    subscriber.on("ready", () => {
      // Also after a reconnect: subscribe again (idempotent) and catch up on whatever was published meanwhile.
      subscriber.subscribe(this.channel).then(
        () => this.notifier.notify(),
        () => {},
      );
    });
    // A client made with lazyConnect hands that on to its duplicate: connect it, or it never subscribes.
    if (subscriber.status === "wait") subscriber.connect().catch(() => {});
  }

  private unsubscribe(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }
}
