import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request a test receiver got. */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** How the receiver answers the n-th request (0-based) on a path: a status, optionally after a delay or never. */
export type Answer = { status: number; delayMs?: number; headers?: Record<string, string>; body?: string } | "hang";

/**
 * A real HTTP server on 127.0.0.1 standing in for a buyer's endpoint: records every request and answers as
 * `answer` says. Tracks the most requests ever in flight at once on one path (one subscription).
 */
export async function startReceiver(
  answer: (request: ReceivedRequest, index: number) => Answer = () => ({ status: 204 }),
) {
  const received: ReceivedRequest[] = [];
  const inFlight = new Map<string, number>();
  let maxInFlight = 0;
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry: ReceivedRequest = {
        path: request.url ?? "/",
        headers: Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)])),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const reply = answer(entry, received.length);
      received.push(entry);
      const open = (inFlight.get(entry.path) ?? 0) + 1;
      inFlight.set(entry.path, open);
      maxInFlight = Math.max(maxInFlight, open);
      response.on("close", () => {
        inFlight.set(entry.path, (inFlight.get(entry.path) ?? 1) - 1);
        hanging.delete(response);
      });
      if (reply === "hang") {
        hanging.add(response);
        return;
      }
      setTimeout(() => {
        response.writeHead(reply.status, reply.headers);
        response.end(reply.body ?? "");
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    received,
    get maxInFlight() {
      return maxInFlight;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls `condition` every 10 ms until it holds; fails with `what` after `limitMs` (a deadline, not a timing assertion). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, limitMs = 10_000) {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
