import net from "node:net";

/** A TCP proxy between a client and a server, with an outage switch for fault tests. */
export interface TcpProxy {
  /** Port to point the client at (on 127.0.0.1). */
  readonly port: number;
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  /** Drops every open connection but keeps accepting new ones. */
  dropConnections(): void;
  /**
   * Black hole: keeps every connection open (and accepts new ones) but forwards nothing either way, like a frozen
   * server or a network path that silently drops packets. What arrives meanwhile is buffered, and delivered on
   * `forward()`.
   */
  hold(): void;
  /** Ends a `hold()`: delivers what was held and forwards again. */
  forward(): void;
  /**
   * Keeps forwarding requests to the server but throws its replies away (until `cut()` or `restore()`): a request
   * sent now is carried out (committed) while the client never hears so, as when a connection dies after the
   * server committed and before the reply arrived.
   */
  loseReplies(): void;
  /** Stops listening and drops everything. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on an ephemeral loopback port forwarding to `target`. While cut, new connections are accepted and
 * destroyed at once, so the client sees a reset rather than a hang.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let outage = false;
  let holding = false;
  let losingReplies = false;
  const open = new Set<net.Socket>();
  /** Each connection's two directions, so that hold() can stop them and forward() restart them. */
  const links = new Set<{ pause(): void; resume(): void }>();
  const server = net.createServer((client) => {
    if (outage) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    open.add(client);
    open.add(upstream);
    const link = {
      pause() {
        client.unpipe(upstream);
        client.pause();
        upstream.pause();
      },
      resume() {
        client.pipe(upstream);
        upstream.resume();
      },
    };
    links.add(link);
    const teardown = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      links.delete(link);
    };
    client.on("error", teardown).on("close", teardown);
    upstream.on("error", teardown).on("close", teardown);
    // Replies go through a listener rather than a pipe, so that loseReplies() can throw them away.
    upstream.on("data", (chunk: Buffer) => {
      if (!losingReplies) client.write(chunk);
    });
    if (holding) link.pause();
    else link.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropConnections = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port,
    cut() {
      outage = true;
      losingReplies = false;
      dropConnections();
    },
    restore() {
      outage = false;
      losingReplies = false;
    },
    loseReplies() {
      losingReplies = true;
    },
    dropConnections,
    hold() {
      holding = true;
      for (const link of links) link.pause();
    },
    forward() {
      holding = false;
      for (const link of links) link.resume();
    },
    close() {
      dropConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
