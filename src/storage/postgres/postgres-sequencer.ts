import type { PoolClient } from "pg";
import { isContentError } from "./postgres-append.js";
import { type EventText, eventSourceValues } from "./postgres-columns.js";
import { withDeadline } from "./postgres-deadline.js";
import { type InsertedChunk, preparedForRows } from "./postgres-insert.js";
import {
  backlogNumberingSql,
  type GuardedRow,
  guardedAppendSql,
  readGuarded,
  type StampedRow,
  stampedAppendSql,
} from "./postgres-stamp.js";

/** Most rows one numbering statement takes: bounds its time, and the rows one migration step touches. */
export const SEQUENCER_BATCH_ROWS = 2000;
/** How often a process that is not the leader checks whether the leader's session is gone. */
const CANDIDATE_MS = 500;
/** How often the leader looks for unnumbered rows nobody told it about (a caller's transaction, a lost NOTIFY). */
const LEADER_POLL_MS = 100;
/** Longest lock wait of a statement on the leader's session (`lock_timeout`); past it the statement gives up. */
const LEADER_LOCK_WAIT_MS = 100;
/** Longest snapshot text sent as an announcement's payload (PostgreSQL caps NOTIFY payloads at 8000 bytes). */
const MAX_ANNOUNCED_SNAPSHOT = 7000;
/** SQLSTATE of a statement that gave up waiting for a lock (`lock_timeout`). */
const LOCK_NOT_AVAILABLE = "55P03";

/** Settings of {@link Sequencer}. */
export interface SequencerSettings {
  /** The quoted, schema-qualified events table. */
  readonly table: string;
  /** Where the leader announces numbered rows (what tails listen to), with its snapshot as payload. */
  readonly positionsChannel: string;
  readonly timeoutMs: number;
  /** Ends a session whose state is unknown (a query past its deadline); the lock ends with it. */
  readonly dropSession: (session: PoolClient) => void;
  /**
   * Told after each numbering statement that was not full, with that statement's snapshot (`pg_current_snapshot()`
   * text): every row written by a transaction that had completed in that snapshot has a position now.
   */
  readonly onNumbered: (snapshot: string) => void;
  /**
   * Tells the other processes' tails of a stamped append that numbered only its own rows, with its snapshot, after
   * its commit (the statement sends no NOTIFY then, see `stampedAppendSql`); may be coalesced and a little late.
   */
  readonly announce: (snapshot: string) => void;
  /** How often the leader looks for rows nobody told it about. Default `LEADER_POLL_MS`. */
  readonly pollMs?: number;
  /** Ends a server backend (and waits for it): a stamped append past its deadline must not commit later. */
  readonly stopBackend: (pid: number) => Promise<void>;
}

/**
 * The table's sequencer: gives committed rows their reading `position`, in the order their commits became visible.
 *
 * Writers insert with no position and no lock. Every process that writes or watches is a candidate, on the one
 * session connection its storage keeps for LISTEN; the candidate whose session holds the table's session advisory
 * lock leads, and another takes over within `CANDIDATE_MS` of the leader's session ending (a crash or a SIGKILL
 * closes it, which releases the lock). The leader numbers, one statement per batch, the rows it can see unnumbered,
 * after the highest position so far. Rows become readable only with their position, and each batch commits before
 * the next starts, so a reader can never see a row appear behind one it has read, however late its writer commits.
 * Woken by writers' NOTIFY, by local appends and by a poll (for writes in callers' transactions, which send none).
 */
export class Sequencer {
  private session: PoolClient | undefined;
  /** Whether the session's own statement and lock timeouts are set (server-side bounds of the leader's work). */
  private bounded = false;
  private leader: PoolClient | undefined;
  /** The highest position given so far (read once on taking the lead). */
  private last: bigint | undefined;
  private candidacy: ReturnType<typeof setInterval> | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private trying = false;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Leader work on the session, one piece at a time: numbering steps and stamped appends. */
  private turn: Promise<unknown> = Promise.resolve();
  /** The session backend while a stamped append runs on it (what a deadline must stop). */
  private stamping: number | undefined;
  /**
   * Whether committed rows may be waiting unnumbered (the last statement that looked found some): picks the stamped
   * append that numbers them, or, when none are expected, the cheaper guarded one (which checks, and leaves its
   * rows to the next step if it was wrong). Only a cost choice: both keep rows committed before ahead.
   */
  private backlogLikely = true;

  constructor(private readonly settings: SequencerSettings) {}

  /** True while this process leads (writers then skip their NOTIFY: the local wake-up is enough). */
  get leading(): boolean {
    return this.leader !== undefined;
  }

  /** The storage's session connection, once it is listening, or `undefined` once it is lost. */
  useSession(session: PoolClient | undefined): void {
    if (this.leader !== undefined && this.leader !== session) this.resign();
    this.session = session;
    this.bounded = false;
    if (session === undefined || this.stopped) return;
    if (this.candidacy === undefined) {
      this.candidacy = setInterval(() => void this.tryToLead(), CANDIDATE_MS);
      this.candidacy.unref();
    }
    void this.tryToLead();
  }

  /** Something may have committed: number it now if this process leads. */
  wake(): void {
    if (this.leader === undefined || this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.exclusive(() => this.numberAll()).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /**
   * Stores serialised events with their positions when this process leads, in one statement that first numbers the
   * backlog (see `stampedAppendSql`); `undefined` when it does not lead (the caller inserts plainly instead).
   * Rejects like an INSERT would; a failure other than the content's costs the lead, as a numbering step's does.
   */
  stamp(chunk: readonly EventText[]): Promise<InsertedChunk | undefined> {
    if (this.leader === undefined || this.stopped) return Promise.resolve(undefined);
    return this.exclusive(() => this.stampNow(chunk));
  }

  /** Ends the session's backend if a stamped append runs on it (an append past its deadline must not commit). */
  async stopBusy(): Promise<void> {
    if (this.stamping !== undefined) await this.settings.stopBackend(this.stamping);
  }

  /** Stops leading and being a candidate; the lock ends with the session, which the storage closes next. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.candidacy);
    clearInterval(this.poll);
    await this.running;
    this.leader = undefined;
  }

  private async tryToLead(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.leader !== undefined || this.trying || this.stopped) return;
    this.trying = true;
    try {
      if (!this.bounded) {
        // The session is this storage's own: a numbering step stuck behind a lock gives up on the server too,
        // instead of holding the lead (and its advisory lock) past the deadline.
        // Its lock waits are kept short: a stamped append parked on a lock (a duplicate id held by an open
        // transaction, a trigger) must not hold every writer's numbering; it falls back to the plain INSERT.
        const limit = String(this.settings.timeoutMs);
        const lockWait = String(Math.min(this.settings.timeoutMs, LEADER_LOCK_WAIT_MS));
        await this.query(
          session,
          "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)",
          [limit, lockWait],
        );
        this.bounded = true;
      }
      const key = `ad-seller-events:sequencer:${this.settings.table}`;
      const got = await this.query(session, "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got", [key]);
      if (got.rows[0]?.got !== true || this.session !== session) return;
      this.leader = session;
      this.last = undefined;
      if (this.stopped) return;
      this.poll = setInterval(() => this.wake(), this.settings.pollMs ?? LEADER_POLL_MS);
      this.poll.unref();
      this.wake();
    } catch {
      // Unknown whether the lock was taken: a fresh session settles it (the next one tries again).
      if (this.session === session) this.settings.dropSession(session);
    } finally {
      this.trying = false;
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => {});
    return next;
  }

  /** The highest position given so far: read once per lead. */
  private async lastPosition(leader: PoolClient): Promise<bigint> {
    if (this.last === undefined) {
      const top = await this.query(
        leader,
        `SELECT coalesce(max(position), 0)::text AS last FROM ${this.settings.table} WHERE position IS NOT NULL`,
        [],
      );
      this.last = BigInt(String(top.rows[0]?.last ?? "0"));
    }
    return this.last;
  }

  private async stampNow(chunk: readonly EventText[]): Promise<InsertedChunk | undefined> {
    const leader = this.leader;
    if (leader === undefined || this.stopped) return undefined;
    const pid = (leader as unknown as { processID?: unknown }).processID;
    try {
      const last = await this.lastPosition(leader);
      const { table, timeoutMs, positionsChannel } = this.settings;
      const full = this.backlogLikely;
      const statement = full
        ? {
            ...preparedForRows("stamp", table, chunk, stampedAppendSql),
            values: [String(last), SEQUENCER_BATCH_ROWS, positionsChannel, ...eventSourceValues(chunk)],
          }
        : {
            ...preparedForRows("guarded", table, chunk, guardedAppendSql),
            values: [String(last), ...eventSourceValues(chunk)],
          };
      this.stamping = typeof pid === "number" ? pid : undefined;
      const result = await withDeadline(leader.query(statement), timeoutMs, "to a stamped append", () =>
        this.stopBusy(),
      );
      const row = full ? (result.rows[0] as StampedRow) : readGuarded(result.rows as GuardedRow[]);
      // Every id was stored before: nothing new to number or announce, and nothing learnt of the backlog.
      if (row === undefined) return { ids: [], xid: undefined, positioned: true };
      if (row.top !== null) this.last = BigInt(row.top);
      this.backlogLikely = row.backlog !== 0;
      if (row.backlog < 0) {
        // A backlog was in sight: the rows went in unnumbered, and the next step numbers them after it.
        queueMicrotask(() => this.wake());
        return { ids: row.ids ?? [], xid: row.xid, positioned: false };
      }
      if (row.backlog >= SEQUENCER_BATCH_ROWS) {
        // A full backlog proves nothing about what is left behind it: the next step finishes it and announces.
        queueMicrotask(() => this.wake());
      } else {
        this.settings.onNumbered(row.snapshot);
        // With a backlog numbered, the statement announced itself (its writers wait); its own rows alone are
        // announced after the commit. A NOTIFY payload holds at most 8000 bytes; an empty one proves nothing.
        if (row.backlog === 0) this.settings.announce(row.snapshot.length < MAX_ANNOUNCED_SNAPSHOT ? row.snapshot : "");
      }
      return { ids: row.ids ?? [], xid: row.xid, positioned: true };
    } catch (error) {
      // Parked on a lock: nothing stored, and the plain INSERT (on the pool, off the sequencer's path) waits instead.
      if (lockTimedOut(error)) return undefined;
      // The content was refused and nothing stored: the session is fine. Anything else leaves its state unknown.
      if (!isContentError(error) && this.leader === leader) {
        this.resign();
        this.settings.dropSession(leader);
      }
      throw error;
    } finally {
      this.stamping = undefined;
    }
  }

  /** Numbers batches until one is not full. Any failure costs the lead (the session is dropped and reopened). */
  private async numberAll(): Promise<void> {
    const leader = this.leader;
    if (leader === undefined) return;
    try {
      await this.lastPosition(leader);
      let announce = false;
      for (;;) {
        const result = await this.query(leader, numberingSql(this.settings.table), [
          String(this.last),
          SEQUENCER_BATCH_ROWS,
          this.settings.positionsChannel,
          announce,
        ]);
        const row = result.rows[0] as { n: number; last: string | null; snapshot: string };
        if (row.n > 0) this.last = BigInt(row.last as string);
        this.backlogLikely = row.n > 0;
        if (row.n < SEQUENCER_BATCH_ROWS) {
          this.settings.onNumbered(row.snapshot);
          return;
        }
        // A full batch proves nothing about what is left: the next one announces its snapshot even if empty.
        announce = true;
      }
    } catch (error) {
      // A lock held elsewhere (DDL, say): nothing was numbered, the lead is intact, the next wake or poll retries.
      if (this.leader !== leader || lockTimedOut(error)) return;
      this.resign();
      this.settings.dropSession(leader);
    }
  }

  private resign(): void {
    this.leader = undefined;
    this.last = undefined;
    this.backlogLikely = true;
    clearInterval(this.poll);
  }

  private query(client: PoolClient, text: string, values: unknown[]) {
    return withDeadline(client.query(text, values), this.settings.timeoutMs, "to the sequencer");
  }
}

/**
 * One numbering step: the oldest unnumbered rows this statement can see (committed ones only), numbered after
 * `$1` in `seq` order (which keeps each append's own order), plus the snapshot that proves what was covered. The
 * NOTIFY is part of the step, so tails hear of the rows as they become readable.
 */
function numberingSql(table: string): string {
  return (
    `WITH ${backlogNumberingSql(table)}, ` +
    "summary AS (SELECT count(*)::int AS n, max(position)::text AS last, pg_current_snapshot()::text AS snapshot FROM done) " +
    "SELECT n, last, snapshot, CASE WHEN n > 0 OR $4::boolean " +
    "THEN pg_notify($3, CASE WHEN n < $2 AND length(snapshot) < 7000 THEN snapshot ELSE '' END) END AS notified " +
    "FROM summary"
  );
}

function lockTimedOut(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE;
}
