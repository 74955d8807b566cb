import type { Cluster, Redis } from "ioredis";
import { withDeadline } from "../kit/deadline.js";

/**
 * Watches the caller's ioredis client so that each storage call fails fast, with a clear reason, while Redis is
 * unreachable, instead of sitting in ioredis's offline queue (which by default holds commands until the server is
 * back, however long that takes, and then runs them: an emit that was long given up on would be written late).
 */
export interface ConnectionGuard {
  /** Runs `call` once the client is connected, bounded by the timeout; rejects with the reason otherwise. */
  run<T>(call: () => Promise<T>): Promise<T>;
  /** Stops watching the client. */
  detach(): void;
}

const CONNECTING: ReadonlySet<string> = new Set(["wait", "connecting", "connect"]);

/** Starts watching `client`; messages say what happened, the caller adds which server and store. */
export function guardConnection(client: Redis | Cluster, timeoutMs: number): ConnectionGuard {
  let lastError: Error | undefined;
  const onError = (error: Error) => {
    lastError = error;
  };
  const onReady = () => {
    lastError = undefined;
  };
  // Listening to "error" also keeps ioredis from printing "Unhandled error event" for every failed reconnect: the
  // adapter reports those failures itself, through StorageError, on the calls they affect.
  client.on("error", onError);
  client.on("ready", onReady);

  const unreachable = (status: string) => {
    const reason = lastError ? lastError.message || lastError.name : "the connection was closed";
    return new Error(`Redis is unreachable (ioredis status "${status}"): ${reason}`, { cause: lastError });
  };

  // One shared wait per connection attempt, however many calls arrive meanwhile (no listener pile-up).
  let attempt: Promise<void> | undefined;
  const nextSettled = () =>
    new Promise<void>((resolve, reject) => {
      const settle = () => {
        client.off("ready", settle);
        client.off("close", settle);
        client.off("end", settle);
        attempt = undefined;
        if (client.status === "ready") resolve();
        else reject(unreachable(client.status));
      };
      client.on("ready", settle);
      client.on("close", settle);
      client.on("end", settle);
    });

  async function connected(): Promise<void> {
    if (client.status === "ready") return;
    if (client.status === "end") {
      throw new Error("the ioredis client has been closed (quit or disconnect); give the store a live client");
    }
    if (!CONNECTING.has(client.status)) throw unreachable(client.status);
    if (attempt === undefined) {
      attempt = nextSettled();
      attempt.catch(() => undefined); // observed by the callers that race it
    }
    if (client.status === "wait") client.connect().catch(() => undefined); // lazyConnect: the first call connects
    await attempt;
  }

  return {
    run(call) {
      // The hot path, a connected client, skips the async frames of the wait for a connection.
      if (client.status !== "ready") return runWhenConnected(call);
      return withDeadline(call, timeoutMs, () => noReplyError(timeoutMs), explainDroppedConnection);
    },
    detach() {
      client.off("error", onError);
      client.off("ready", onReady);
    },
  };

  // One deadline covers the wait for a connection and the command, so a call answers within timeoutMs either way.
  function runWhenConnected<T>(call: () => Promise<T>): Promise<T> {
    const whenConnected = async () => {
      await connected();
      return call();
    };
    return withDeadline(whenConnected, timeoutMs, () => noReplyError(timeoutMs), explainDroppedConnection);
  }
}

function noReplyError(timeoutMs: number): Error {
  return new Error(`no reply from Redis within ${timeoutMs} ms (the timeoutMs option)`);
}

/** ioredis's errors for a command cut off by a dropped connection do not say so; ours does. */
function explainDroppedConnection(error: unknown): never {
  const dropped =
    error instanceof Error && (error.name === "MaxRetriesPerRequestError" || error.message === "Connection is closed.");
  if (!dropped) throw error;
  throw new Error(
    `the connection to Redis dropped before it replied, so the command may or may not have run (${error.message})`,
    { cause: error },
  );
}
