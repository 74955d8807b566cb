import net from "node:net";

/** Connection URL of the PostgreSQL the service-backed suites use. */
export const PG_URL = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** Connection URL of the Redis the service-backed suites use. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Connection URL of the NATS server (with JetStream) the forwarding suites use. */
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
/** Connection URL of the RabbitMQ the forwarding suites use. */
export const AMQP_URL = process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/** True when `.ci/run` (or the developer) demands that PostgreSQL and Redis suites run, not skip. */
export const servicesRequired = process.env.REQUIRE_SERVICES === "1";

/**
 * Whether a service accepts TCP connections. When it does not, prints a loud skip line, or throws when
 * `REQUIRE_SERVICES=1` so that an unreachable service fails the run instead of silently passing it.
 */
export async function serviceAvailable(
  name: "PostgreSQL" | "Redis" | "NATS" | "RabbitMQ",
  url: string,
): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const reachable = await canConnect(hostname.replace(/^\[|\]$/g, ""), Number(port));
  if (reachable) return true;
  const message = `${name} is not reachable at ${hostname}:${port}`;
  if (servicesRequired) throw new Error(`${message}, and REQUIRE_SERVICES=1 demands it`);
  console.warn(`\n!!!!! SKIPPING ${name} SUITES: ${message} (set REQUIRE_SERVICES=1 to fail instead) !!!!!\n`);
  return false;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}
