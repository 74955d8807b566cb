import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { OutboxLockedError } from "../errors/error-classes.js";

/** What a lock file holds: who owns the outbox beside it. */
interface LockRecord {
  readonly pid: number;
  readonly token: string;
  readonly host: string;
  readonly since: string;
}

/** A held outbox lock. */
export interface OutboxLock {
  readonly path: string;
  readonly token: string;
  /** True while the lock file still names this owner. */
  held(): boolean;
  /** Removes the lock file if it still names this owner. */
  release(): void;
}

const ATTEMPTS = 5;

/**
 * Takes the lock file `path` for this process. A lock is created whole (written to a private file, fsynced, then
 * hard-linked into place, which fails if the name exists), so a lock file is never half-written. A lock naming a
 * pid on this host that is dead (`kill(pid, 0)` says ESRCH) is taken over; any other owner, including a second
 * outbox on the same path in this process, gets an `OutboxLockedError`. No timeout decides anything.
 */
export function acquireLock(path: string): OutboxLock {
  const record: LockRecord = {
    pid: process.pid,
    token: randomUUID(),
    host: hostname(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (tryCreate(path, record)) return heldLock(path, record.token);
    const current = readLock(path);
    if (current === undefined) continue; // released meanwhile: try again
    if (isAlive(current)) throw lockedError(path, current);
    takeOverStale(path, current, record.token);
  }
  throw new OutboxLockedError(path, `the lock ${path} kept changing hands; another process is starting on it`);
}

function heldLock(path: string, token: string): OutboxLock {
  return {
    path,
    token,
    held: () => readLock(path)?.token === token,
    release() {
      if (readLock(path)?.token === token) unlinkSync(path);
    },
  };
}

function tryCreate(path: string, record: LockRecord): boolean {
  const temporary = `${path}.${record.token}.new`;
  const fd = openSync(temporary, "wx");
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/** The record in the lock file, `undefined` when there is none; throws when the file holds something else. */
function readLock(path: string): LockRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as Partial<LockRecord>;
    if (Number.isInteger(record.pid) && typeof record.token === "string" && typeof record.host === "string") {
      return record as LockRecord;
    }
  } catch {
    // reported below
  }
  throw new OutboxLockedError(
    path,
    `the lock file ${path} does not hold an owner record; make sure no process uses the outbox, then delete it`,
  );
}

/** Alive unless the pid is provably gone; a lock from another host cannot be checked and counts as alive. */
function isAlive(record: LockRecord): boolean {
  if (record.host !== hostname()) return true;
  if (record.pid === process.pid) return true;
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Moves a dead owner's lock aside under a private name and checks that what moved is that lock. If a successor
 * replaced it in between, what moved is the successor's live lock: it is put back and this process gives up.
 */
function takeOverStale(path: string, stale: LockRecord, token: string): void {
  const aside = `${path}.${token}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = readLock(aside);
  if (moved?.token === stale.token) {
    unlinkSync(aside);
    return;
  }
  try {
    linkSync(aside, path);
  } catch (error) {
    // Yet another process created a lock meanwhile; the owner whose lock moved sees it is no longer held.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(aside);
  }
  if (moved !== undefined) throw lockedError(path, moved);
}

function lockedError(path: string, owner: LockRecord): OutboxLockedError {
  const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on host ${owner.host}`;
  return new OutboxLockedError(
    path,
    `the outbox is owned by ${where} (lock ${path}, since ${owner.since}); one outbox file has one owner at a ` +
      "time: give each process its own path, or stop the owner first",
  );
}
