import type { OutputStream } from "./command.js";

const REDRAW_MS = 250;

/**
 * A one-line progress meter on stderr (count, rate, ETA once the total is known), redrawn in place at most four
 * times a second, and only when stderr is a terminal: piped or redirected stderr gets the final summary alone.
 */
export class Progress {
  private done = 0;
  private total: number | undefined;
  /** When the line was last drawn; the first count draws at once. */
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly started = performance.now();

  constructor(
    private readonly stderr: OutputStream,
    private readonly verb: string,
    private readonly unit: string = "events",
  ) {}

  /** Sets the expected total, which turns on the ETA. */
  expect(total: number): void {
    this.total = total;
  }

  /** Adds to the count; redraws when due. */
  add(count: number): void {
    this.done += count;
    const now = performance.now();
    if (this.stderr.isTTY !== true || now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    this.stderr.write(`\r\x1b[2K${this.describe(now)}`);
  }

  /** How many were counted so far. */
  get count(): number {
    return this.done;
  }

  /** Seconds since the meter started. */
  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Clears the meter line, so the summary that follows starts on a clean line. */
  clear(): void {
    if (this.drawn) this.stderr.write("\r\x1b[2K");
  }

  private describe(now: number): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const parts = [`${this.verb} ${formatCount(this.done)}`];
    if (this.total !== undefined) parts[0] += ` of ${formatCount(this.total)}`;
    parts[0] += ` ${this.unit}`;
    parts.push(`${formatCount(Math.round(rate))}/s`);
    if (this.total !== undefined && rate > 0) {
      parts.push(`ETA ${formatDuration(Math.max(0, this.total - this.done) / rate)}`);
    }
    return parts.join("  ");
  }
}

/** `1,234,567`. */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const two = (value: number) => String(value).padStart(2, "0");
  if (whole < 3600) return `${Math.floor(whole / 60)}m${two(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h${two(Math.floor((whole % 3600) / 60))}m`;
}
