import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { Redis } from "ioredis";
import { servicesRequired } from "./services.js";

/** A redis-server of a test's own, for tests that pause or flush the whole server (others share the main one). */
export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port, keeping nothing on disk. Returns `undefined` (after a loud line)
 * when the binary is missing, and throws instead when `REQUIRE_SERVICES=1`.
 */
export async function startPrivateRedis(): Promise<PrivateRedis | undefined> {
  const port = await freePort();
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const spawned = await new Promise<boolean>((resolve) => {
    server.once("spawn", () => resolve(true));
    server.once("error", () => resolve(false));
  });
  if (!spawned) {
    const message = "redis-server is not installed, so the tests that need a Redis of their own cannot run";
    if (servicesRequired) throw new Error(`${message}, and REQUIRE_SERVICES=1 demands them`);
    console.warn(`\n!!!!! SKIPPING: ${message} !!!!!\n`);
    return undefined;
  }
  const url = `redis://127.0.0.1:${port}`;
  await waitForPing(url, server);
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (server.exitCode !== null) return resolve();
        server.once("exit", () => resolve());
        server.kill("SIGKILL");
      }),
  };
}

async function waitForPing(url: string, server: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode} before answering`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error("redis-server did not answer PING within 5 s");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}
