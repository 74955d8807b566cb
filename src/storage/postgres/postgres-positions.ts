import type { Queryable } from "./postgres-insert.js";

/** How long a wait relies on the sequencer's announcements alone before asking the table itself. */
const CHECK_MS = 250;

interface Waiter {
  /** The writing transaction (`xid8`). */
  readonly xid: bigint;
  /** The last event the transaction wrote: numbered last, so its position means all of them have one. */
  readonly lastId: string;
  /** Whether the writer is known to have committed (an ordinary append) or may still roll back (the caller's). */
  readonly committed: boolean;
  readonly since: number;
  readonly settle: (positioned: boolean) => void;
}

/**
 * Waits until rows written by a transaction have their positions (read-your-writes), or, for a caller's
 * transaction, until it is known whether it committed. Answered by the sequencer's snapshots (from this process's
 * leader, or the NOTIFY payload of another's), with a query of the table as the fallback for a lost announcement,
 * a rollback, or a leader hand-over.
 */
export class PositionWaiter {
  private readonly waiters = new Set<Waiter>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private checking = false;

  constructor(
    private readonly db: Queryable,
    private readonly table: string,
  ) {}

  /**
   * Resolves `true` once the rows of `xid` (whose last event is `lastId`) have positions, `false` once the
   * transaction is known to have rolled back, or `false` after `timeoutMs` (when given) or at `close`.
   */
  wait(xid: string, lastId: string, committed: boolean, timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve) => {
      let timeout: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        xid: BigInt(xid),
        lastId,
        committed,
        since: Date.now(),
        settle: (positioned) => {
          clearTimeout(timeout);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.stopTimer();
          resolve(positioned);
        },
      };
      if (timeoutMs !== undefined) timeout = setTimeout(() => waiter.settle(false), timeoutMs);
      this.waiters.add(waiter);
      if (this.timer === undefined) {
        this.timer = setInterval(() => void this.check(false), CHECK_MS);
        this.timer.unref();
      }
    });
  }

  /** The sequencer numbered everything written by the transactions complete in `snapshot` (its text form). */
  numbered(snapshot: string): void {
    const parsed = parseSnapshot(snapshot);
    if (parsed === undefined) return;
    let unknownOutcome = false;
    for (const waiter of [...this.waiters]) {
      if (!completed(waiter.xid, parsed)) continue;
      if (waiter.committed) waiter.settle(true);
      else unknownOutcome = true;
    }
    // Complete is committed or rolled back: only the table can tell which.
    if (unknownOutcome) void this.check(true);
  }

  /** Settles every wait with `false`. */
  close(): void {
    for (const waiter of [...this.waiters]) waiter.settle(false);
  }

  private async check(all: boolean): Promise<void> {
    if (this.checking) return;
    const now = Date.now();
    const due = [...this.waiters].filter((waiter) => all || now - waiter.since >= CHECK_MS);
    if (due.length === 0) return;
    this.checking = true;
    try {
      const result = await this.db.query<{ id: string; status: string | null; positioned: boolean }>(
        "SELECT w.id::text AS id, pg_xact_status(w.xid::xid8) AS status, " +
          `EXISTS (SELECT 1 FROM ${this.table} WHERE event_id = w.id AND position IS NOT NULL) AS positioned ` +
          "FROM unnest($1::text[], $2::uuid[]) AS w(xid, id)",
        [due.map((waiter) => String(waiter.xid)), due.map((waiter) => waiter.lastId)],
      );
      result.rows.forEach((row, index) => {
        const waiter = due[index] as Waiter;
        if (row.positioned) waiter.settle(true);
        else if (row.status === "aborted") waiter.settle(false);
      });
    } catch {
      // The next tick asks again; a wait with a deadline ends there.
    } finally {
      this.checking = false;
    }
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

interface Snapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly running: ReadonlySet<bigint>;
}

/** `pg_snapshot` text: `xmin:xmax:xip,xip,...`. */
function parseSnapshot(text: string): Snapshot | undefined {
  const match = /^(\d+):(\d+):([\d,]*)$/.exec(text);
  if (match === null) return undefined;
  const running = new Set((match[3] as string).split(",").filter(Boolean).map(BigInt));
  return { xmin: BigInt(match[1] as string), xmax: BigInt(match[2] as string), running };
}

/** Whether `xid` had ended (committed or rolled back) when the snapshot was taken (as `pg_visible_in_snapshot`). */
function completed(xid: bigint, snapshot: Snapshot): boolean {
  if (xid < snapshot.xmin) return true;
  if (xid >= snapshot.xmax) return false;
  return !snapshot.running.has(xid);
}
