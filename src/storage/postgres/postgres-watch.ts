import type { Pool, PoolClient } from "pg";
import { backoffDelay } from "../../live/backoff.js";
import { AppendNotifier } from "../kit/append-notifier.js";
import { WakeSender } from "../kit/wake-sender.js";
import type { StorageWatch } from "../types.js";
import { ownClient } from "./postgres-deadline.js";
import type { PostgresObjectNames } from "./postgres-schema.js";

const MAX_CHANNEL_LENGTH = 63;
/** Shortest gap between two announcements of the leader's own appends, in milliseconds. */
const ANNOUNCE_GAP_MS = 5;

/**
 * The notification channel of an events table, the same in every process: `ad_seller_events:<schema>.<table>`, or
 * a hash of it when that is longer than PostgreSQL's 63-byte identifier limit.
 */
export function postgresChannel(names: Pick<PostgresObjectNames, "schema" | "table">): string {
  return channelName("ad_seller_events:", `${names.schema}.${names.table}`);
}

/** The channel writers wake the table's sequencer on: `ad_seller_events_w:<schema>.<table>`, hashed likewise. */
export function sequencerChannel(names: Pick<PostgresObjectNames, "schema" | "table">): string {
  return channelName("ad_seller_events_w:", `${names.schema}.${names.table}`);
}

function channelName(prefix: string, table: string): string {
  const readable = `${prefix}${table}`;
  if (readable.length <= MAX_CHANNEL_LENGTH) return readable;
  let hash = 0x811c9dc5;
  for (let index = 0; index < readable.length; index++) {
    hash = Math.imul(hash ^ readable.charCodeAt(index), 0x01000193) >>> 0;
  }
  return `${prefix}${hash.toString(16).padStart(8, "0")}`;
}

/**
 * Wake-ups for a PostgreSQL store.
 *
 * Writers: after an append has committed, one `pg_notify(wakeChannel, '')` wakes the table's sequencer in whichever
 * process leads, on the pool, not awaited by the append and coalesced (see `WakeSender`: at most one in flight and
 * one per millisecond). It is sent after the commit, never inside the writing transaction: a NOTIFY inside a
 * transaction takes a cluster-wide lock at commit and serialises every writer's commits (see
 * docs/live-delivery.md). The sequencer announces numbered rows on the table's channel, with its snapshot as the
 * payload: that is what tails (and writers waiting for their positions) hear.
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
  private readonly announcer: WakeSender;
  /** The newest snapshot this process's sequencer numbered up to, for the next announcement. */
  private announced = "";
  private stopped = false;
  /** Told each announcement's payload (the sequencer's snapshot, or "" when it proves nothing). */
  onAnnouncement: ((payload: string) => void) | undefined;
  /** Told of each writer's wake-up (for the sequencer, when it leads). */
  onWake: (() => void) | undefined;
  /** Told of the session connection once it listens, and of `undefined` once it is lost or closed. */
  onSession: ((session: PoolClient | undefined) => void) | undefined;

  /**
   * `pool`'s settings open the long-lived session connection (LISTEN, and the sequencer's work when this process
   * leads), outside the pool so that it never takes one of the caller's slots; `notifyPool` runs each short
   * `pg_notify` (the adapter passes its deadline-bounded pool, so a notification into a silent server cannot hold
   * a connection forever).
   */
  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly notifyOnAppend: boolean,
    notifyPool: Pick<Pool, "query"> = pool,
    private readonly wakeChannel = channel,
  ) {
    // The wake carries no data: its commit need not wait for a WAL flush (a wake lost in a server crash is made up
    // for by the sequencer's poll), which takes one disk flush off every append that waits for its position.
    this.sender = new WakeSender(() =>
      notifyPool.query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')", [wakeChannel]),
    );
    // The same for the leader's announcement of its own appends, coalesced to the newest snapshot (which proves
    // everything an older one did) and at most one per ANNOUNCE_GAP_MS: one emit at a time would otherwise pay a
    // notifying transaction per emit on the server. Only other processes' tails wait for it (this process's are
    // woken directly, and writers waiting on a backlog hear the statement's own NOTIFY).
    this.announcer = new WakeSender(
      () =>
        notifyPool.query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)", [
          channel,
          this.announced,
        ]),
      ANNOUNCE_GAP_MS,
    );
  }

  /**
   * The leading process numbered its own rows in a statement that sends no NOTIFY: tell the other processes'
   * tails, after the commit, with the statement's snapshot.
   */
  announce(snapshot: string): void {
    if (this.stopped) return;
    this.announced = snapshot;
    this.announcer.appended();
  }

  /** An append committed: wake the sequencer of another process through NOTIFY. */
  appended(): void {
    if (this.notifyOnAppend) this.sender.appended();
  }

  /** Rows were numbered by this process's sequencer: wake this process's watchers now. */
  numbered(): void {
    this.notifier.notify();
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
    await Promise.all([this.sender.close(), this.announcer.close()]);
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
      client = await openSession(this.pool);
      const current = client;
      current.on("notification", (message) => {
        if (message.channel === this.wakeChannel) this.onWake?.();
        if (message.channel !== this.channel) return;
        this.notifier.notify();
        this.onAnnouncement?.(message.payload ?? "");
      });
      current.on("error", () => this.lost(current));
      current.on("end", () => this.lost(current));
      await current.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
      if (this.wakeChannel !== this.channel) await current.query(`LISTEN "${this.wakeChannel}"`);
      if (this.stopped || this.notifier.size === 0) {
        current.release(true);
        return;
      }
      this.listener = current;
      this.failures = 0;
      this.notifier.notify(); // anything sent before LISTEN took effect was missed
      this.onSession?.(current);
    } catch {
      client?.release(true);
      this.retry();
    }
  }

  /** Drops the session (lost, or in an unknown state) and opens a new one with backoff. */
  lost(client: PoolClient): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.onSession?.(undefined);
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
    if (client !== undefined) this.onSession?.(undefined);
    // Destroyed, not returned: a pooled connection must not keep listening for someone else.
    client?.release(true);
  }
}

/** The session connection: one of its own, outside the caller's pool, released by ending it. */
async function openSession(pool: Pool): Promise<PoolClient> {
  const client = ownClient(pool);
  if (client === undefined) return pool.connect();
  await (client as unknown as { connect(): Promise<void> }).connect();
  // Unreferenced: this connection alone must not keep a process alive (a storage nobody closed, a finished script).
  (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
  const end = () => (client as unknown as { end(): Promise<void> }).end().catch(() => {});
  return Object.assign(client, { release: () => void end() });
}
