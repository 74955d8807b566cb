import { constants } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { excerpt, type FileLine, readLines } from "./outbox-lines.js";

interface QueuedWrite {
  readonly text: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A line cut off by a crash mid-write, found (and removed) when the file was opened. */
export interface TornTail {
  readonly offset: number;
  readonly text: string;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * The outbox file: appends with group commit (writes that arrive during a flush share the next write and fsync),
 * rolls a failed write back to the last good size so a half-written line never sits before the next one, and
 * compacts by writing the unconfirmed rest to a temporary file, fsyncing it, renaming it over the file and fsyncing
 * the folder. Every operation that changes the file runs in one queue.
 */
export class OutboxFile {
  readonly path: string;
  private readonly fsync: boolean;
  private handle: FileHandle | undefined;
  /** Bytes of whole, written lines: where the next write goes. */
  private size = 0;
  private queue: QueuedWrite[] = [];
  private flushing = false;
  /** The file was created and its folder entry is not known to be on disk yet. */
  private folderUnsynced = false;
  private operations: Promise<unknown> = Promise.resolve();

  /** Called before each write (one per group of queued appends); throwing fails the group. */
  private readonly beforeWrite: () => void;

  constructor(path: string, fsync: boolean, beforeWrite: () => void = () => {}) {
    this.path = path;
    this.fsync = fsync;
    this.beforeWrite = beforeWrite;
  }

  /** Bytes of whole lines in the file. */
  get byteSize(): number {
    return this.size;
  }

  /** Opens an existing file; cuts off a torn last line (never acknowledged: its write did not finish) and returns it. */
  async open(): Promise<TornTail | undefined> {
    await unlink(`${this.path}.compact`).catch(ignoreMissing); // left by a crash mid-compaction; the file is intact
    try {
      this.handle = await open(this.path, constants.O_RDWR | constants.O_APPEND);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const { size } = await this.handle.stat();
    const wholeEnd = await lastNewlineEnd(this.handle, size);
    this.size = wholeEnd;
    if (wholeEnd === size) return undefined;
    const torn = Buffer.alloc(Math.min(size - wholeEnd, 4096));
    await this.handle.read(torn, 0, torn.length, wholeEnd);
    await this.handle.truncate(wholeEnd);
    if (this.fsync) await this.handle.datasync();
    return { offset: wholeEnd, text: excerpt(torn.toString("utf8"), 4000) };
  }

  /** Appends `text` (whole lines); resolves once it is written and, with `fsync`, on disk. */
  append(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // One macrotask first: emits started together enqueue before the write, and share its fsync.
        this.operations = this.operations.then(() => new Promise(setImmediate)).then(() => this.flush());
      }
    });
  }

  /** The whole lines from byte `start` to byte `end` (default: the size at the time of the call). */
  lines(start = 0, end = this.size): AsyncGenerator<FileLine> | undefined {
    return this.handle === undefined ? undefined : readLines(this.handle, start, end);
  }

  /** Removes the first `confirmed` bytes (whole lines the store has confirmed); appends wait meanwhile. */
  compact(confirmed: number): Promise<void> {
    const run = this.operations.then(() => this.removePrefix(confirmed));
    this.operations = run.catch(() => undefined);
    return run;
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    await this.operations;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        this.beforeWrite();
        await this.writeDurably(batch.map((write) => write.text).join(""));
        for (const write of batch) write.resolve();
      } catch (error) {
        for (const write of batch) write.reject(error);
      }
    }
    this.flushing = false;
  }

  private async writeDurably(text: string): Promise<void> {
    if (this.handle === undefined) {
      this.handle = await open(this.path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
      this.folderUnsynced = true;
    }
    const bytes = Buffer.from(text, "utf8");
    try {
      let written = 0;
      while (written < bytes.length) {
        written += (await this.handle.write(bytes, written, bytes.length - written)).bytesWritten;
      }
      if (this.fsync) await this.handle.datasync();
      if (this.folderUnsynced && this.fsync) await syncFolder(this.path);
      this.folderUnsynced = false;
    } catch (error) {
      // Roll back to whole lines so that the next write does not continue a half-written one.
      await this.handle.truncate(this.size).catch(() => undefined);
      throw error;
    }
    this.size += bytes.length;
  }

  private async removePrefix(confirmed: number): Promise<void> {
    const handle = this.handle;
    if (handle === undefined || confirmed <= 0) return;
    if (confirmed >= this.size) {
      await handle.close();
      this.handle = undefined;
      this.size = 0;
      await unlink(this.path);
      if (this.fsync) await syncFolder(this.path);
      return;
    }
    const temporary = `${this.path}.compact`;
    const target = await open(temporary, "w", 0o600);
    try {
      await copyRange(handle, target, confirmed, this.size);
      if (this.fsync) await target.datasync();
    } finally {
      await target.close();
    }
    await rename(temporary, this.path);
    if (this.fsync) await syncFolder(this.path);
    await handle.close();
    this.handle = await open(this.path, constants.O_RDWR | constants.O_APPEND);
    this.size -= confirmed;
  }
}

/** Makes a created or renamed directory entry durable. */
export async function syncFolder(path: string): Promise<void> {
  const folder = await open(dirname(path), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Byte offset just past the last newline of the first `size` bytes (0 when there is none). */
async function lastNewlineEnd(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at !== -1) return start + at + 1;
    end = start;
  }
  return 0;
}

async function copyRange(source: FileHandle, target: FileHandle, start: number, end: number): Promise<void> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let position = start; position < end; ) {
    const { bytesRead } = await source.read(chunk, 0, Math.min(CHUNK_BYTES, end - position), position);
    if (bytesRead === 0) break;
    let written = 0;
    while (written < bytesRead) written += (await target.write(chunk, written, bytesRead - written)).bytesWritten;
    position += bytesRead;
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}
