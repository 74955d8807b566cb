import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servicesRequired } from "./services.js";

const NATS_SERVER = "/usr/sbin/nats-server";

/** A nats-server with JetStream of a test's own, on disk in a temp dir, that the test may kill and restart. */
export interface PrivateNats {
  readonly url: string;
  /** SIGKILLs the server (what JetStream acked is on disk and survives). */
  kill(): Promise<void>;
  /** Starts it again on the same port and store directory, resolving once it accepts connections. */
  restart(): Promise<void>;
  /** Kills it and removes its store. */
  stop(): Promise<void>;
}

/** Starts a private nats-server, or returns `undefined` (loudly) when the binary is missing; throws under REQUIRE_SERVICES=1. */
export async function startPrivateNats(): Promise<PrivateNats | undefined> {
  const port = await freePort();
  const folder = mkdtempSync(join(tmpdir(), "private-nats-"));
  let server: ChildProcess | undefined;
  const launch = async () => {
    server = spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", folder], { stdio: "ignore" });
    const spawned = await new Promise<boolean>((resolve) => {
      server?.once("spawn", () => resolve(true));
      server?.once("error", () => resolve(false));
    });
    if (!spawned) return false;
    await waitForPort(port, server);
    return true;
  };
  if (!(await launch())) {
    rmSync(folder, { recursive: true, force: true });
    const message = `${NATS_SERVER} is not installed, so the tests that restart a NATS server cannot run`;
    if (servicesRequired) throw new Error(`${message}, and REQUIRE_SERVICES=1 demands them`);
    console.warn(`\n!!!!! SKIPPING: ${message} !!!!!\n`);
    return undefined;
  }
  const kill = () =>
    new Promise<void>((resolve) => {
      if (server === undefined || server.exitCode !== null || server.signalCode !== null) return resolve();
      server.once("exit", () => resolve());
      server.kill("SIGKILL");
    });
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      if (!(await launch())) throw new Error("nats-server did not start again");
    },
    async stop() {
      await kill();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, server: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (server.exitCode !== null) throw new Error(`nats-server exited with ${server.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nats-server never listened on ${port}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
