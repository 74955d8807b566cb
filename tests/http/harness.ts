import { spawn } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import { EventBus, type EventStorage, memoryStorage } from "ad-seller-events";
import {
  createEventsFetchHandler,
  createEventsHandler,
  createEventsKoaMiddleware,
  type EventsHttpOptions,
} from "ad-seller-events/http";
import express from "express";
import { Hono } from "hono";
import Koa from "koa";

/** Every way the tests mount the events routes. `prefix` is where the app puts them before `basePath`. */
export const SERVER_KINDS = [
  { kind: "node:http", prefix: "" },
  { kind: "express", prefix: "" },
  { kind: "express under /api", prefix: "/api" },
  { kind: "koa", prefix: "" },
  { kind: "fetch (node:http bridge)", prefix: "" },
  { kind: "fetch (hono)", prefix: "" },
] as const;

export type ServerKind = (typeof SERVER_KINDS)[number]["kind"];

/** A listening test server on 127.0.0.1. `url` includes the mount prefix, so `${url}/events` is the list. */
export interface TestServer {
  readonly kind: ServerKind;
  readonly url: string;
  /** The underlying node:http server. */
  readonly server: Server;
  close(): Promise<void>;
}

/** Room for a 100 KB query string, so that the handler (not Node's header limit) answers it. */
export const LARGE_HEADER_LIMIT = 1024 * 1024;

/**
 * Starts a real server of `kind` serving `bus`. Every server also answers `GET /after` (or `/api/after`) with
 * `fell through`, proving that paths outside basePath reach the next handler where the framework has one.
 */
export async function startServer(
  kind: ServerKind,
  bus: EventBus,
  options: EventsHttpOptions = {},
  serverOptions: { maxHeaderSize?: number } = { maxHeaderSize: LARGE_HEADER_LIMIT },
): Promise<TestServer> {
  const server = createServer(serverOptions, listenerFor(kind, bus, options));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const prefix = SERVER_KINDS.find((entry) => entry.kind === kind)?.prefix ?? "";
  return { kind, url: `http://127.0.0.1:${port}${prefix}`, server, close: () => closeServer(server) };
}

function listenerFor(kind: ServerKind, bus: EventBus, options: EventsHttpOptions): Parameters<typeof createServer>[1] {
  switch (kind) {
    case "node:http": {
      const handler = createEventsHandler(bus, options);
      return (req, res) => handler(req, res);
    }
    case "express":
    case "express under /api": {
      const app = express();
      app.use(kind === "express" ? "/" : "/api", createEventsHandler(bus, options));
      app.get(kind === "express" ? "/after" : "/api/after", (_req, res) => {
        res.type("text/plain").send("fell through");
      });
      return app;
    }
    case "koa": {
      const app = new Koa();
      // Koa logs a client's connection reset through its default error handler; the tests read answers, not logs.
      app.silent = true;
      app.use(createEventsKoaMiddleware(bus, options));
      app.use((ctx) => {
        if (ctx.path === "/after") ctx.body = "fell through";
      });
      return app.callback();
    }
    case "fetch (node:http bridge)":
      return getRequestListener(createEventsFetchHandler(bus, options));
    case "fetch (hono)": {
      const handler = createEventsFetchHandler(bus, options);
      const app = new Hono();
      app.all("/events", (c) => handler(c.req.raw));
      app.all("/events/*", (c) => handler(c.req.raw));
      app.get("/after", (c) => c.text("fell through"));
      return getRequestListener(app.fetch);
    }
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An answer as the client saw it. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly text: string;
  json(): unknown;
}

/**
 * Sends one request with `node:http`, which sends the path exactly as given (no `..` or `//` normalising, unlike
 * `fetch`), so path tricks reach the server untouched.
 */
export function send(
  baseUrl: string,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "GET",
        path: `${url.pathname.replace(/\/$/, "")}${path}`,
        headers: options.headers,
        agent: false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", reject);
        incoming.on("end", () => {
          const body = Buffer.concat(chunks);
          const text = body.toString("utf8");
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body,
            text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

export const SESSION_A = "5f0c7a52-3c8e-4a7e-9d55-0d8f1f7c2a01";
export const SESSION_B = "9b1d3e44-71aa-4c0f-8e2b-6a5c4d3e2f10";

/** Event ids of the fixture, `id(1)` to `id(8)`, in append order. */
export const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/**
 * Eight events over two sessions, two proposals and one deal, one minute apart from 10:00, appended in id order.
 * A payload with multi-byte text checks Content-Length.
 */
export async function seedFixture(bus: EventBus): Promise<void> {
  const rows = [
    { event_type: "session.created", session_id: SESSION_A, flow_id: "flow-a", flow_type: "buyer_session" },
    { event_type: "proposal.received", session_id: SESSION_A, flow_id: "flow-a", proposal_id: "prop-1" },
    { event_type: "negotiation.round", session_id: SESSION_A, flow_id: "flow-a", proposal_id: "prop-1" },
    { event_type: "negotiation.round", session_id: SESSION_A, flow_id: "flow-a", proposal_id: "prop-1" },
    { event_type: "deal.created", session_id: SESSION_A, flow_id: "flow-b", deal_id: "deal-1", flow_type: "booking" },
    { event_type: "session.created", session_id: SESSION_B, flow_id: "flow-c", flow_type: "buyer_session" },
    { event_type: "proposal.received", session_id: SESSION_B, flow_id: "flow-c", proposal_id: "prop-2" },
    { event_type: "deal.synced", session_id: SESSION_A, flow_id: "flow-b", deal_id: "deal-1", flow_type: "booking" },
  ] as const;
  for (const [index, row] of rows.entries()) {
    await bus.emitEvent({
      ...row,
      event_id: id(index + 1),
      timestamp: `2026-11-24T10:0${index}:00.000Z`,
      payload: { n: index + 1, note: "prix négocié ✓ 🤝" },
    });
  }
}

/** A fresh bus holding the fixture. */
export async function fixtureBus(storage: EventStorage = memoryStorage()): Promise<EventBus> {
  const bus = new EventBus({ storage });
  await seedFixture(bus);
  return bus;
}

/** Ids of a list answer, in order. */
export function listedIds(answer: Answer): string[] {
  return (answer.json() as { events: { event_id: string }[] }).events.map((event) => event.event_id);
}

/** A script started with tsx, as a user would run it. */
export interface RunningScript {
  /** Everything printed to stdout so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `npx tsx <file>` from the repository root and resolves once stdout matches `ready`. Rejects with the output
 * when the script exits first.
 */
export function runScript(
  file: string,
  options: { args?: string[]; env?: Record<string, string>; cwd?: string; ready: RegExp },
): Promise<RunningScript> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const child = spawn(
    process.execPath,
    [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, file), ...(options.args ?? [])],
    {
      cwd: options.cwd ?? root,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, "tsconfig.json"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.ready.test(stdout)) {
        resolve({
          output: () => stdout,
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`${file} exited with ${code} before it was ready:\n${stdout}\n${stderr}`)));
  });
}
