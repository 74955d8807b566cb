import { once } from "node:events";
import { createServer } from "node:http";
import type { EventBus } from "../../bus/event-bus.js";
import { createEventsHandler } from "../../http/node.js";
import { booleanFlag, integerFlag, stringFlag, UsageError } from "../cli-args.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";

const BASE = "/events";

/** `serve`: `GET /events`, `/events/{id}`, `/events/stream` and the viewer at `/events/ui`, on node:http. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve the HTTP API (GET /events, /events/{id}, /events/stream) and the viewer (/events/ui) until Ctrl-C",
  usage: "serve [--port <n>] [--host <address>] [--demo]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    port: { type: "string", short: "p", value: "<n>", help: "TCP port (default 8080; 0 picks a free one)" },
    host: { type: "string", value: "<address>", help: "address to listen on (default 127.0.0.1: this machine only)" },
    demo: { type: "boolean", help: "with --store memory:, start with a sample negotiation to look at" },
  },
  examples: [
    "ad-seller-events serve --store sqlite:./events.sqlite --port 8080",
    "ad-seller-events serve --store memory: --demo   # then open http://127.0.0.1:8080/events/ui",
    "ad-seller-events serve --store postgres://localhost/seller --host 0.0.0.0   # no auth: keep it private",
  ],
  async run(context) {
    const port = integerFlag(context.args, "port", 0, 65_535) ?? 8080;
    const host = stringFlag(context.args, "host") ?? "127.0.0.1";
    const demo = booleanFlag(context.args, "demo");
    const bus = await context.openStore({ access: "write", allowMemory: true });
    if (demo && bus.storage.name !== "memory") {
      await bus.close();
      throw new UsageError("--demo", "seeds only a memory: store; it never writes sample events into a real one");
    }
    const handler = createEventsHandler(bus, {
      viewer: true,
      onError: (error) => context.note(`serve: ${String(error)}`),
    });
    const server = createServer((request, response) => {
      if (request.url === "/" || request.url === "") {
        response.writeHead(302, { location: `${BASE}/ui` }).end();
        return;
      }
      void handler(request, response);
    });
    try {
      if (demo) await seedDemo(bus);
      server.listen(port, host);
      await Promise.race([once(server, "listening"), once(server, "error").then(([error]) => Promise.reject(error))]);
      const address = server.address();
      const actual = typeof address === "object" && address !== null ? address.port : port;
      const shown = host.includes(":") ? `[${host}]` : host;
      context.note(
        `serve: http://${shown}:${actual}${BASE} (viewer: http://${shown}:${actual}${BASE}/ui); Ctrl-C to stop`,
      );
      if (!context.signal.aborted) await once(context.signal, "abort");
      context.note("serve: stopping");
      return EXIT_OK;
    } finally {
      server.close();
      server.closeAllConnections();
      await bus.close();
    }
  },
};

/** A short negotiation that ends in a deal, so that the viewer has something to show. */
async function seedDemo(bus: EventBus): Promise<void> {
  const scope = bus.scope({ session_id: "demo-session", proposal_id: "demo-proposal", deal_id: "demo-deal" });
  await scope.emitEvent({ event_type: "session.created" });
  await scope.emitEvent({ event_type: "proposal.received", payload: { buyer: "demo-buyer", cpm: 9.5 } });
  await scope.emitEvent({ event_type: "negotiation.started", payload: { floor_cpm: 11 } });
  for (const [round, cpm] of [
    [1, 10],
    [2, 10.75],
    [3, 11.25],
  ] as const) {
    await scope.emitEvent({ event_type: "negotiation.round", payload: { round, cpm } });
  }
  await scope.emitEvent({ event_type: "negotiation.concluded", payload: { outcome: "accepted", cpm: 11.25 } });
  await scope.emitEvent({ event_type: "deal.created", payload: { cpm: 11.25 } });
}
