import type { ServerResponse } from "node:http";
import type { StreamResponse, StreamSink } from "./stream-route.js";

/**
 * Runs an event stream on a node response (node:http, Express, Connect, Koa's `ctx.res`). Writes wait for `drain`,
 * so a client that stops reading holds at most the socket's buffer; when the client goes (`close`), the tail, the
 * heartbeat and the stream slot are released.
 */
export async function runStreamOnNode(response: StreamResponse, res: ServerResponse): Promise<void> {
  const { stream } = response;
  if (res.destroyed) return stream.stop();
  const onClose = () => stream.stop();
  res.once("close", onClose);
  res.writeHead(response.status, response.headers);
  res.flushHeaders();
  const sink: StreamSink = {
    write: (text) => !res.destroyed && res.write(text),
    drained: () =>
      new Promise<void>((resolve) => {
        if (res.destroyed || !res.writableNeedDrain) return resolve();
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      }),
    end: () => {
      res.off("close", onClose);
      if (!res.writableEnded && !res.destroyed) res.end();
    },
  };
  await stream.run(sink);
}

/**
 * An event stream as a Web `ReadableStream` of UTF-8 bytes, pulled by the runtime: an event is read from the tail
 * only when the consumer has room (at most a few chunks queued), heartbeats are skipped while it is full, and
 * `cancel` (the client left) releases everything.
 */
export function streamToReadable(response: StreamResponse): ReadableStream<Uint8Array> {
  const { stream } = response;
  const encoder = new TextEncoder();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const finish = () => {
    clearInterval(heartbeat);
    stream.stop();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(stream.preamble));
        heartbeat = setInterval(() => {
          if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(": keep-alive\n\n"));
        }, stream.heartbeatMs);
      },
      async pull(controller) {
        const frame = await stream.nextFrame();
        if (frame !== undefined) return controller.enqueue(encoder.encode(frame));
        finish();
        try {
          controller.close();
        } catch {
          // Cancelled meanwhile: nothing left to close.
        }
      },
      cancel: finish,
    },
    { highWaterMark: 4 },
  );
}
