import type { Cluster, Redis } from "ioredis";
import { AppendNotifier } from "../kit/append-notifier.js";
import { WakeSender } from "../kit/wake-sender.js";
import type { StorageWatch } from "../types.js";

/**
 * Wake-ups for a Redis store, over pub/sub on `{prefix}appended`.
 *
 * Writers: after the append script has run, one `PUBLISH` (coalesced by `WakeSender`: at most one in flight and
 * one per millisecond; skipped while the client is not connected). Readers: one subscriber per storage on
 * `client.duplicate()` while anyone watches; after each (re)connect the watchers are woken once, because pub/sub
 * is at-most-once and messages sent while disconnected are gone. A lost message only delays delivery until the
 * tail's safety poll.
 */
export class RedisWatch {
  private readonly notifier = new AppendNotifier();
  private subscriber: Redis | Cluster | undefined;
  private readonly sender: WakeSender;
  private stopped = false;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly channel: string,
    private readonly publishOnAppend: boolean,
  ) {
    this.sender = new WakeSender(async () => {
      if (this.client.status === "ready") await this.client.publish(this.channel, "");
    });
  }

  appended(): void {
    this.notifier.notify();
    if (this.publishOnAppend) this.sender.appended();
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
