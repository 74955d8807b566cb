import { formatCount, type Progress } from "./progress.js";

/**
 * The one line a long command ends with on stderr: what it did, how fast, and whether Ctrl-C cut it short, e.g.
 * `export: 1,000,000 events in 9.8s (102,040/s)` or `import: stopped by Ctrl-C after 52,000 events in 0.6s (...)`.
 */
export function summaryLine(command: string, progress: Progress, stopped: boolean, detail = ""): string {
  const seconds = progress.seconds;
  const rate = seconds > 0 ? Math.round(progress.count / seconds) : 0;
  const what = `${formatCount(progress.count)} events in ${seconds.toFixed(1)}s (${formatCount(rate)}/s)`;
  return stopped ? `${command}: stopped by Ctrl-C after ${what}${detail}` : `${command}: ${what}${detail}`;
}
