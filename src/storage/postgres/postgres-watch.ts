import type { Pool, PoolClient } from "pg";
import { backoffDelay } from "../../live/backoff.js";
import { AppendNotifier } from "../kit/append-notifier.js";
import { WakeSender } from "../kit/wake-sender.js";
import type { StorageWatch } from "../types.js";
import type { PostgresObjectNames } from "./postgres-schema.js";

const MAX_CHANNEL_LENGTH = 63;

/**
 * The notification channel of an events table, the same in every process: `ad_seller_events:<schema>.<table>`, or
 * a hash of it when that is longer than PostgreSQL's 63-byte identifier limit.
 */
export function postgresChannel(names: Pick<PostgresObjectNames, "schema" | "table">): string {
  const readable = `ad_seller_events:${names.schema}.${names.table}`;
  if (readable.length <= MAX_CHANNEL_LENGTH) return readable;
  let hash = 0x811c9dc5;
  for (let index = 0; index < readable.length; index++) {
    hash = Math.imul(hash ^ readable.charCodeAt(index), 0x01000193) >>> 0;
  }
  return `ad_seller_events:${hash.toString(16).padStart(8, "0")}`;
}

/**
 * Wake-ups for a PostgreSQL store.
 *
 * Writers: after an append has committed, one `pg_notify(channel, '')` goes out on the pool, not awaited by the
 * append and coalesced (see `WakeSender`: at most one in flight and one per millisecond). It is sent after the
 * commit, never inside the writing transaction: a NOTIFY inside a transaction takes a cluster-wide lock at commit
 * and serialises every writer's commits (see docs/live-delivery.md for the measurement).
 *
 * Readers: one dedicated client per storage (taken from the pool while anyone watches) runs `LISTEN`. When it is
 * lost (server restart, `pg_terminate_backend`) it is destroyed and replaced with capped backoff, and watchers are
 * woken once the new `LISTEN` is in place, since notifications sent meanwhile are gone. A lost notification only
 * delays delivery until the tail's safety poll.
 */
export class PostgresWatch {
  private readonly notifier = new AppendNotifier();
  private listener: PoolClient | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private readonly sender: WakeSender;
  private stopped = false;

  /**
   * `pool` lends the long-lived LISTEN client; `notifyPool` runs each short `pg_notify` (the adapter passes its
   * deadline-bounded pool, so a notification into a silent server cannot hold a connection forever).
   */
  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly notifyOnAppend: boolean,
    notifyPool: Pick<Pool, "query"> = pool,
  ) {
    this.sender = new WakeSender(() => notifyPool.query("SELECT pg_notify($1, '')", [this.channel]));
  }

  /** An append committed: wake this process's watchers now, and other processes through NOTIFY. */
  appended(): void {
    this.notifier.notify();
    if (this.notifyOnAppend) this.sender.appended();
  }

  watch(onAppend: () => void): StorageWatch {
    const stop = this.notifier.watch(onAppend);
    if (this.listener === undefined && this.connecting === undefined && this.retryTimer === undefined) this.listen();
    return async () => {
      await stop();
      if (this.notifier.size === 0) await this.unlisten();
    };
  }

  /** Stops listening and waits for a notification in flight (before the pool may be ended). */
  async close(): Promise<void> {
    this.stopped = true;
    this.notifier.clear();
    await this.unlisten();
    await this.sender.close();
  }

  private listen(): void {
    if (this.stopped || this.notifier.size === 0) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
  }

  private async connect(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const current = client;
      current.on("notification", (message) => {
        if (message.channel === this.channel) this.notifier.notify();
      });
      current.on("error", () => this.lost(current));
      current.on("end", () => this.lost(current));
      await current.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
      if (this.stopped || this.notifier.size === 0) {
        current.release(true);
        return;
      }
      this.listener = current;
      this.failures = 0;
      this.notifier.notify(); // anything sent before LISTEN took effect was missed
    } catch {
      client?.release(true);
      this.retry();
    }
  }

  private lost(client: PoolClient): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.release(true);
    this.retry();
  }

  private retry(): void {
    if (this.stopped || this.notifier.size === 0 || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.listen();
      },
      backoffDelay(this.failures++),
    );
  }

  private async unlisten(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting;
    const client = this.listener;
    this.listener = undefined;
    // Destroyed, not returned: a pooled connection must not keep listening for someone else.
    client?.release(true);
  }
}
